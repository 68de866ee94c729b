/* worker.c — placeholder */
typedef int tq_placeholder_worker_t;

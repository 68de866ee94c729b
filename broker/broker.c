/* broker.c — placeholder */
typedef int tq_placeholder_broker_t;

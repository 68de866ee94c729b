/* client.c — placeholder */
typedef int tq_placeholder_client_t;

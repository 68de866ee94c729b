/* wire.c — placeholder */
typedef int tq_placeholder_wire_t;

/* json_util.c — placeholder */
typedef int tq_placeholder_json_t;

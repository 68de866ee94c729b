/* log.h — leveled logging to stderr: "TIME LEVEL name[pid] message".
 * Callers must never pass secrets; log lines are not scrubbed. */
#ifndef TQ_LOG_H
#define TQ_LOG_H

typedef enum { TQ_LOG_DEBUG, TQ_LOG_INFO, TQ_LOG_WARN, TQ_LOG_ERROR } tq_log_level_t;

void tq_log_init(const char *name, tq_log_level_t level);
/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int tq_log_level_parse(const char *s, tq_log_level_t *out);
void tq_log(tq_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tq_debug(...) tq_log(TQ_LOG_DEBUG, __VA_ARGS__)
#define tq_info(...) tq_log(TQ_LOG_INFO, __VA_ARGS__)
#define tq_warn(...) tq_log(TQ_LOG_WARN, __VA_ARGS__)
#define tq_err(...) tq_log(TQ_LOG_ERROR, __VA_ARGS__)

#endif

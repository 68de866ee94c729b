/* log.c — the one place that writes diagnostic lines (stderr, line-buffered). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char s_name[32] = "toolq";
static tq_log_level_t s_level = TQ_LOG_INFO;

void tq_log_init(const char *name, tq_log_level_t level)
{
    snprintf(s_name, sizeof s_name, "%s", name);
    s_level = level;
}

int tq_log_level_parse(const char *s, tq_log_level_t *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (tq_log_level_t)i;
            return 0;
        }
    return -1;
}

void tq_log(tq_log_level_t level, const char *fmt, ...)
{
    if (level < s_level) return;
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03dZ %-5s %s[%d] ",
                  (int)(tv.tv_usec / 1000), tags[level], s_name, (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    n = (m < 0) ? n : (n + m >= (int)sizeof line - 1 ? (int)sizeof line - 2 : n + m);
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

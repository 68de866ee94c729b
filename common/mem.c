/* mem.c — allocation that cannot fail (mem.h): out of memory logs and
 * aborts. Owns no memory of its own; never returns NULL. */
#include "mem.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

void tq_oom(void)
{
    tq_err("out of memory");
    abort();
}

static void *checked(void *p)
{
    if (!p) tq_oom();
    return p;
}

void *tq_xmalloc(size_t n)
{
    return checked(malloc(n ? n : 1));
}

void *tq_xcalloc(size_t count, size_t size)
{
    return checked(calloc(count ? count : 1, size ? size : 1));
}

void *tq_xrealloc(void *p, size_t n)
{
    return checked(realloc(p, n ? n : 1));
}

char *tq_xstrndup(const char *s, size_t n)
{
    char *d = tq_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *tq_xstrdup(const char *s)
{
    return tq_xstrndup(s ? s : "", s ? strlen(s) : 0);
}

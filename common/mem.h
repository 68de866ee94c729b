/* mem.h — the one out-of-memory policy of the processes (broker, worker,
 * CLI; CONVENTIONS.md "Out of memory"): allocation that cannot fail. On
 * failure it logs "out of memory" and aborts; the broker restarts a worker
 * and rescues its jobs. Owns no memory. Must never be used by the code that
 * others load (libtoolq, plugins): they report out of memory instead
 * (scripts/check-deps keeps libtoolq off common/). Sizes that come from input
 * are bounded before they get here. */
#ifndef TQ_MEM_H
#define TQ_MEM_H

#include <stddef.h>

/* New, never NULL: free() the result. tq_xmalloc(0) returns a valid
 * pointer. */
void *tq_xmalloc(size_t n);
void *tq_xcalloc(size_t count, size_t size);
/* p: stolen; the result replaces it. */
void *tq_xrealloc(void *p, size_t n);
/* New copy of s (NULL copies as ""); free() it. */
char *tq_xstrdup(const char *s);
/* New copy of s[0..n) plus a NUL; free() it. */
char *tq_xstrndup(const char *s, size_t n);

/* Logs "out of memory" and aborts: for an allocation made elsewhere (a
 * library's init, asprintf) that reports failure. */
void tq_oom(void) __attribute__((noreturn));

#endif

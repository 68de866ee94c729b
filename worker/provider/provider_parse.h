/* provider_parse.h — runs the importer (tq_openapi_parse) and the encoding of
 * its tools, and other heavy provider work, off the worker's event loop, on a
 * small pool of threads
 * (worker.import_threads), so heartbeats and other jobs never wait for an
 * import. The outcome comes back to the loop thread. */
#ifndef TQ_PROVIDER_PARSE_H
#define TQ_PROVIDER_PARSE_H

#include "op.h"
#include "openapi/openapi.h"

/* Called in the loop thread with the import result (parsed, NULL on error)
 * without its "tools" and "defs" but with "tool_count", and those two
 * encoded as compact JSON (tools_text, defs_text, malloc'd; the callee owns
 * all three), or err. Never called for a job dropped meanwhile. */
typedef void (*tq_provider_parsed_fn)(tq_job_t *job, void *arg, json_t *parsed, char *tools_text,
                                      char *defs_text, const tq_error_t *err);

/* Stores a parse result from the pool thread (tq_provider_pool_db gives its
 * connection): 0, or -1 with err (the job then fails with it). */
typedef int (*tq_provider_store_fn)(void *arg, const json_t *parsed, const char *tools_text,
                                    const char *defs_text, tq_error_t *err);

/* The calling pool thread's own database connection (database.url),
 * connected on first use and after a loss. Only from pool threads. */
PGconn *tq_provider_pool_db(tq_error_t *err);

/* Parses buf[0..len) with opts (copied; what it points to, and buf, must stay
 * valid until done runs or arg is freed: the task keeps a reference to the
 * job's payload for them). The job's deadline (its timeout) applies inside
 * the parse, remote fetches included (opts.deadline_ms, opts.fetch_ctx is set
 * here to a context read from the configuration now). free_arg(arg) runs
 * instead of done when the job is dropped (worker shutdown). store, when not
 * NULL, runs in the thread after a successful parse (the large insert stays
 * off the loop too). Returns 0, or -1 with err (the pool could not start). */
int tq_provider_parse_start(tq_job_t *job, const tq_openapi_opts_t *opts, const char *buf,
                            size_t len, tq_provider_store_fn store, tq_provider_parsed_fn done,
                            void (*free_arg)(void *), void *arg, tq_error_t *err);

/* Any other heavy provider work (building a large tools.list page): work(arg)
 * runs in a pool thread and must touch nothing but arg; then done(job, arg)
 * runs in the loop thread, or free_arg(arg) when the job was dropped. The
 * task keeps a reference to the job's payload. Returns 0 or -1 with err. */
int tq_provider_pool_run(tq_job_t *job, void (*work)(void *arg),
                         void (*done)(tq_job_t *job, void *arg), void (*free_arg)(void *),
                         void *arg, tq_error_t *err);

#endif

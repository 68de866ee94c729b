/* provider_cache.h — a worker's cache of provider rows for the invoke hot
 * path: id, sealed credentials and the tools indexed by operation id (their
 * input schemas carrying the provider's definitions as "$defs"), so an
 * invoke costs no query and no re-parse of tools_str. Kept fresh by the
 * toolq_providers NOTIFY channel (schemas/005_provider_notify.sql); bounded by
 * worker.provider_cache_size (when full it starts over). Never holds a
 * decrypted secret. */
#ifndef TQ_PROVIDER_CACHE_H
#define TQ_PROVIDER_CACHE_H

#include "op.h"

typedef struct {
    char *id;          /* provider uuid */
    char *credentials; /* credentials_str, sealed */
    json_t *tools;     /* {"operation_id": bundle, ...} */
    json_t *origins;   /* where its tools go, sorted (tq_provider_tool_origins): what a
                          provider key without a recorded binding is bound to */
} tq_provider_entry_t;

/* The tenant's provider by name, from the cache or the database. Borrowed:
 * valid until control returns to the event loop. NULL with err
 * (provider_not_found, db_unavailable, ...). */
const tq_provider_entry_t *tq_provider_cache_get(tq_job_t *job, const char *name, tq_error_t *err);

#endif

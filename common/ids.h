/* ids.h — identifiers: time-ordered job ids (UUIDv7) and tenant ids.
 * Tenant ids in the seed's tables are uuids; a tenant given by name is mapped
 * to a stable name-based uuid (UUIDv5 in toolq's namespace), so
 * `--tenant acme` and `--tenant <its uuid>` mean the same tenant. */
#ifndef TQ_IDS_H
#define TQ_IDS_H

#include <stdbool.h>

#define TQ_UUID_STR_LEN 36

/* New UUIDv7 (48-bit unix ms + random) as lower-case text. Strictly
 * increasing within the process, also for many ids in one millisecond or
 * after the wall clock stepped back (then they carry the last id's time).
 * Thread-safe. */
void tq_uuid_v7(char out[TQ_UUID_STR_LEN + 1]);
/* True when s is a canonical 8-4-4-4-12 hex uuid (any case). */
bool tq_uuid_valid(const char *s);
/* Tenant id -> uuid text: a uuid is lower-cased; any other non-empty string
 * up to 255 bytes becomes UUIDv5(toolq namespace, name). -1 when invalid. */
int tq_tenant_uuid(const char *tenant, char out[TQ_UUID_STR_LEN + 1]);

#endif

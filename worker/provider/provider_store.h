/* provider_store.h — rows of tool_api_providers: parameterized SQL, always
 * scoped by tenant_id, and the vault sealing of credentials_str (AAD = tenant,
 * "tool_api_providers", "credentials_str", provider id). The only place that
 * writes or reads that table for the provider ops. */
#ifndef TQ_PROVIDER_STORE_H
#define TQ_PROVIDER_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"
#include "ids.h"
#include "vault.h"

#define TQ_NIL_UUID "00000000-0000-0000-0000-000000000000"

typedef struct {
    char id[TQ_UUID_STR_LEN + 1]; /* generated before sealing, so the AAD binds it */
    const char *tenant_id;        /* uuid */
    const char *name;
    const char *user_id;           /* uuid */
    const char *icon;              /* "" when none */
    const char *schema;            /* entry document text; NULL on update = keep */
    const char *schema_type;       /* openapi | swagger | openai_plugin */
    const char *tools;             /* JSON array of bundles */
    const char *description;       /* NULL on update = keep */
    const char *privacy_policy;    /* NULL = SQL NULL (insert) or keep (update) */
    const char *custom_disclaimer; /* NULL = "" (insert) or keep (update) */
    const char *credentials;       /* sealed text; NULL on update = keep */
    const char *defs;              /* JSON object of shared definitions; NULL = "{}" (insert)
                                      or keep (update) */
} tq_provider_row_t;

/* Columns of tq_provider_store_get's result, in order. */
enum {
    TQ_PCOL_ID,
    TQ_PCOL_NAME,
    TQ_PCOL_USER_ID,
    TQ_PCOL_ICON,
    TQ_PCOL_SCHEMA_TYPE,
    TQ_PCOL_TOOLS,
    TQ_PCOL_CREDENTIALS,
    TQ_PCOL_DESCRIPTION,
    TQ_PCOL_PRIVACY_POLICY,
    TQ_PCOL_CUSTOM_DISCLAIMER,
    TQ_PCOL_DEFS,
    TQ_PCOL_CREATED_AT,
    TQ_PCOL_UPDATED_AT,
    TQ_PCOL_SCHEMA, /* only with with_schema */
};

/* Seals the credentials JSON for row id of tenant; malloc'd "tqv1:..." text. */
char *tq_provider_seal_creds(tq_vault_t *vault, const char *tenant_id, const char *id,
                             const json_t *creds, tq_error_t *err);
/* Opens credentials_str; a new JSON object or NULL with err. */
json_t *tq_provider_open_creds(tq_vault_t *vault, const char *tenant_id, const char *id,
                               const char *sealed, tq_error_t *err);

/* 0 inserted, 1 a provider of that name exists in the tenant, -1 err. */
int tq_provider_store_insert(PGconn *db, const tq_provider_row_t *row, tq_error_t *err);
/* The id of the tenant's provider named name into id. 0, or -1 with err
 * (provider_not_found). */
int tq_provider_store_id(PGconn *db, const char *tenant_id, const char *name,
                         char id[TQ_UUID_STR_LEN + 1], tq_error_t *err);
/* Updates the row row->id of row->tenant_id; NULL fields are kept.
 * 0, or -1 with err (provider_not_found when the row is gone). */
int tq_provider_store_update(PGconn *db, const tq_provider_row_t *row, tq_error_t *err);
/* One provider by name (for_update: inside a transaction, locks the row).
 * NULL with provider_not_found when the tenant has no such provider. */
PGresult *tq_provider_store_get(PGconn *db, const char *tenant_id, const char *name,
                                bool with_schema, bool for_update, tq_error_t *err);
/* Deletes by name; id receives the deleted row's id. 0 or -1 (provider_not_found). */
int tq_provider_store_delete(PGconn *db, const char *tenant_id, const char *name,
                             char id[TQ_UUID_STR_LEN + 1], tq_error_t *err);
/* id, name, schema_type_str, tool count, description, updated_at; by name. */
PGresult *tq_provider_store_list(PGconn *db, const char *tenant_id, tq_error_t *err);
/* id, name, tools_str, defs_str of one provider (name) or of all (name NULL),
 * by name. */
PGresult *tq_provider_store_tools(PGconn *db, const char *tenant_id, const char *name,
                                  tq_error_t *err);
/* id, JSON array of operation ids, for the providers among ids (a Postgres
 * uuid[] literal such as "{a-b-..,..}") that the tenant has. */
PGresult *tq_provider_store_operation_ids(PGconn *db, const char *tenant_id, const char *ids,
                                          tq_error_t *err);

int tq_provider_store_begin(PGconn *db, tq_error_t *err);
int tq_provider_store_commit(PGconn *db, tq_error_t *err);
void tq_provider_store_rollback(PGconn *db);

#endif

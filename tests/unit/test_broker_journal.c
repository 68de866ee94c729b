/* test_broker_journal.c — journal sealing (review F15): a result sealed by
 * the journal uses the key of the day (version day * 1000 + system key
 * version) and opens again; a row sealed the old way (the system key itself)
 * still opens; a ciphertext moved to another job or tenant does not. Rows are
 * fabricated PGresults (no server needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"

#define JOB_ID "0190a3c2-7b1e-7cde-8f00-0123456789ab"

/* Vaults of one "database": the same master key and the same stored
 * (wrapped) system data key, as two processes would load it. */
static unsigned char *s_wrapped;
static size_t s_wrapped_len;

static tq_vault_t *vault_with_system_key(void)
{
    unsigned char master[TQ_MASTER_KEY_LEN];
    memset(master, 7, sizeof master);
    tq_vault_t *v = tq_vault_new(master);
    tq_error_t err = {0};
    if (!s_wrapped)
        assert_int_equal(
            tq_vault_generate_key(v, TQ_JOURNAL_SCOPE, 1, &s_wrapped, &s_wrapped_len, &err), 0);
    assert_int_equal(tq_vault_add_key(v, TQ_JOURNAL_SCOPE, 1, s_wrapped, s_wrapped_len, &err), 0);
    return v;
}

/* A LOOKUP row: id, tenant_id, op, state, attempts, result (bytea text). */
static PGresult *lookup_row(const char *id, const char *tenant, const char *result_hex)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[8];
    memset(attrs, 0, sizeof attrs);
    static const char *names[8] = {"id",       "tenant_id", "op",         "state",
                                   "attempts", "result",    "error_code", "error_message"};
    for (int i = 0; i < 8; i++)
        attrs[i].name = (char *)names[i];
    assert_int_equal(PQsetResultAttrs(res, 8, attrs), 1);
    const char *vals[6] = {id, tenant, "ping", "succeeded", "1", result_hex};
    for (int i = 0; i < 6; i++)
        assert_int_equal(PQsetvalue(res, 0, i, (char *)vals[i], (int)strlen(vals[i])), 1);
    PQsetvalue(res, 0, 6, NULL, -1);
    PQsetvalue(res, 0, 7, NULL, -1);
    return res;
}

static char *to_hex(const unsigned char *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    strcpy(s, "\\x");
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 + 2 * i, "%02x", p[i]);
    return s;
}

/* The result ciphertext of a journal UPDATE batch, as bytea text. */
static char *journal_sealed_result(tq_vault_t *v, const char *tenant, const char *result)
{
    tq_bjob_t *j = tq_bjob_new();
    strcpy(j->id, JOB_ID);
    j->tenant = strdup(tenant);
    j->result = strdup(result);
    j->result_len = strlen(result);
    j->state = TQ_JOB_SUCCEEDED;
    char *params[TQ_JOURNAL_UPDATE_NPARAMS];
    tq_error_t err = {0};
    assert_int_equal(tq_journal_update_params(v, &j, 1, params, &err), 0);
    const char *x = strstr(params[4], "\\\\x"); /* {"\\x..."} */
    assert_non_null(x);
    x += 3;
    size_t n = strcspn(x, "\"");
    char *hex = malloc(n + 3);
    strcpy(hex, "\\x");
    memcpy(hex + 2, x, n);
    hex[n + 2] = '\0';
    tq_journal_free_params(params, TQ_JOURNAL_UPDATE_NPARAMS);
    tq_bjob_free(j);
    return hex;
}

static void day_key_round_trip(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with_system_key();
    char *hex = journal_sealed_result(v, "acme", "{\"r\":1}");
    unsigned version = 0;
    sscanf(hex + 2, "%*2x%8x", &version);
    assert_int_equal(version, (unsigned)(time(NULL) / 86400) * 1000 + 1);
    assert_int_equal(tq_journal_today_version(v), (int)version);

    /* a fresh process (same stored system key, no day key yet) opens it */
    tq_vault_t *fresh = vault_with_system_key();
    PGresult *res = lookup_row(JOB_ID, "acme", hex);
    tq_msg_t m;
    tq_error_t err = {0};
    assert_int_equal(tq_journal_row_to_msg(fresh, res, 0, &m, &err), 0);
    assert_string_equal(m.result, "{\"r\":1}");
    tq_msg_reset(&m);
    PQclear(res);

    /* moved to another tenant: refused */
    res = lookup_row(JOB_ID, "evil", hex);
    assert_int_equal(tq_journal_row_to_msg(fresh, res, 0, &m, &err), -1);
    assert_string_equal(err.code, "vault_decrypt_failed");
    PQclear(res);
    free(hex);
    tq_vault_destroy(&fresh);
    tq_vault_destroy(&v);
}

static void legacy_rows_still_open(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with_system_key();
    /* sealed as before day keys: the system key itself, AAD scope *system* */
    char row[128];
    snprintf(row, sizeof row, "acme/%s", JOB_ID);
    tq_aad_t aad = {TQ_JOURNAL_SCOPE, "tq_jobs", "result", row};
    unsigned char *ct;
    size_t ctn;
    tq_error_t err = {0};
    assert_int_equal(tq_vault_seal(v, &aad, "{\"old\":true}", 12, &ct, &ctn, &err), 0);
    assert_int_equal(tq_vault_sealed_version(ct, ctn), 1);
    char *hex = to_hex(ct, ctn);
    free(ct);
    PGresult *res = lookup_row(JOB_ID, "acme", hex);
    tq_msg_t m;
    assert_int_equal(tq_journal_row_to_msg(v, res, 0, &m, &err), 0);
    assert_string_equal(m.result, "{\"old\":true}");
    tq_msg_reset(&m);
    PQclear(res);
    free(hex);
    tq_vault_destroy(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(day_key_round_trip),
        cmocka_unit_test(legacy_rows_still_open),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(s_wrapped);
    return rc;
}

/* journal.c — SQL and batch parameters for the tq_jobs journal (journal.h).
 * Arrays travel as text array literals: every element is quoted and escaped,
 * so no value can change the statement. */
#include "journal.h"

#include "buf.h"

#include "loop.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The batch's commit mode: $N is "on" or "off", set for this statement's
 * transaction only (is_local), read by PostgreSQL when it commits. */
#define SYNC_COMMIT(n) "(SELECT set_config('synchronous_commit', $" n "::text, true)) AS sc"
#define FINAL_STATES "('succeeded','failed','dead','cancelled')"

/* Inserts each job in the state it has when the batch is built (queued,
 * running, or already final with its outcome). RETURNING the ids it
 * inserted; an id missing from the answer hit an idempotency key held by
 * another job. A job's first try: its id is new, so that is all there is. */
#define INSERT_ROWS                                                                                \
    "WITH ins AS (INSERT INTO tq_jobs (id, tenant_id, op, state, max_attempts, priority,"          \
    " timeout_ms, idempotency_key, payload, attempts, rescues, result, error_code,"                \
    " error_message, started_at, finished_at, run_after)"                                          \
    " SELECT u.id, u.tn, u.op, u.st, u.ma, u.pr, u.tm, u.ik, u.pl, u.at, u.rs, u.res, u.ec, u.em," \
    " to_timestamp(u.started / 1000.0),"                                                           \
    " CASE WHEN u.st IN " FINAL_STATES " THEN now() END,"                                          \
    " now() + u.delay * interval '1 millisecond'"                                                  \
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[],"            \
    " $7::text[], $8::bytea[], $9::text[], $10::int[], $11::int[], $12::bytea[], $13::text[],"     \
    " $14::text[], $15::bigint[], $16::bigint[])"                                                  \
    " AS u(id, tn, op, ma, pr, tm, ik, pl, st, at, rs, res, ec, em, started, "                     \
    "delay), " SYNC_COMMIT("17") " ON CONFLICT DO NOTHING RETURNING id)"
const char *const TQ_JOURNAL_INSERT_SQL = INSERT_ROWS " SELECT id FROM ins";
/* A retry (the statement failed, or its answer was lost after COMMIT): also
 * the ids a previous try inserted (the outer SELECT sees the snapshot
 * before the INSERT), so a committed row counts as written. */
const char *const TQ_JOURNAL_INSERT_RETRY_SQL =
    INSERT_ROWS " SELECT id FROM ins UNION ALL SELECT id FROM tq_jobs WHERE id = ANY($1::uuid[])";

const char *const TQ_JOURNAL_UPDATE_SQL =
    "UPDATE tq_jobs j SET state = u.st, attempts = u.at, rescues = u.rs,"
    " result = coalesce(u.res, j.result), error_code = u.ec, error_message = u.em,"
    " started_at = coalesce(j.started_at, to_timestamp(u.started / 1000.0)),"
    " finished_at = CASE WHEN u.st IN " FINAL_STATES " THEN now() END,"
    " run_after = now() + u.delay * interval '1 millisecond'"
    " FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[], $5::bytea[], $6::text[],"
    " $7::text[], $8::bigint[], $9::bigint[]) AS u(id, st, at, rs, res, ec, em, started, "
    "delay), " SYNC_COMMIT("10") " WHERE j.id = u.id AND j.attempts <= u.at"
                                 " AND j.state NOT IN " FINAL_STATES;

#define LOOKUP_COLUMNS                                                                             \
    "SELECT id, tenant_id, op, state, attempts, result, error_code, error_message FROM tq_jobs "
/* $2: the tenant the asking client is scoped to, or NULL for an unscoped
 * (trusted) client. */
const char *const TQ_JOURNAL_LOOKUP_SQL =
    LOOKUP_COLUMNS "WHERE id = $1::uuid AND ($2::text IS NULL OR tenant_id = $2)";
const char *const TQ_JOURNAL_LOOKUP_IKEY_SQL =
    LOOKUP_COLUMNS "WHERE tenant_id = $1 AND idempotency_key = $2";
const char *const TQ_JOURNAL_COUNTS_SQL = "SELECT state, count(*) FROM tq_jobs GROUP BY state";
/* In slices, so a large purge never holds the misc lane for long. */
const char *const TQ_JOURNAL_PURGE_SQL =
    "DELETE FROM tq_jobs WHERE id IN (SELECT id FROM tq_jobs"
    " WHERE finished_at < now() - $1::int * interval '1 hour' LIMIT 5000)";

/* --- array literal builder ---------------------------------------------------- */

/* On common/buf.h: one element after another, "{a,b,...}". */

static void sb_open(tq_buf_t *b)
{
    tq_buf_add(b, "{", 1);
}

static void sb_sep(tq_buf_t *b)
{
    if (b->len > 1) tq_buf_add(b, ",", 1);
}

static char *sb_close(tq_buf_t *b)
{
    tq_buf_add(b, "}", 1);
    return tq_buf_take(b);
}

/* A quoted text element (NULL -> unquoted NULL). */
static void sb_text(tq_buf_t *b, const char *v)
{
    sb_sep(b);
    if (!v) {
        tq_buf_add(b, "NULL", 4);
        return;
    }
    tq_buf_add(b, "\"", 1);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') tq_buf_add(b, "\\", 1);
        tq_buf_add(b, p, 1);
    }
    tq_buf_add(b, "\"", 1);
}

static void sb_int(tq_buf_t *b, long long v)
{
    char t[32];
    sb_sep(b);
    tq_buf_add(b, t, (size_t)snprintf(t, sizeof t, "%lld", v));
}

/* bytea element in hex form: "\\xABCD" inside the array literal. */
static void sb_bytea(tq_buf_t *b, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sb_sep(b);
    if (!p) {
        tq_buf_add(b, "NULL", 4);
        return;
    }
    tq_buf_add(b, "\"\\\\x", 4);
    char chunk[128];
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        chunk[c++] = hex[p[i] >> 4];
        chunk[c++] = hex[p[i] & 15];
        if (c == sizeof chunk) {
            tq_buf_add(b, chunk, c);
            c = 0;
        }
    }
    tq_buf_add(b, chunk, c);
    tq_buf_add(b, "\"", 1);
}

void tq_journal_free_params(char **params, int n)
{
    for (int i = 0; i < n; i++) {
        free(params[i]);
        params[i] = NULL;
    }
}

/* Journal keys. Rows are sealed under the vault scope TQ_JOURNAL_DAY_SCOPE
 * with a key of the day: version = day number (UTC days since the epoch) *
 * DAY_VERSION_BASE + the system data key version it is derived from, key =
 * HKDF-SHA256(system data key, "toolq journal YYYY-MM-DD v<version>"). Rows
 * sealed before day keys existed carry a version below DAY_VERSION_BASE and
 * open with the system key itself. The job's tenant is bound through the row
 * id ("tenant/job id") so a ciphertext cannot move between tenants or rows. */
#define TQ_JOURNAL_DAY_SCOPE "*journal*"
#define DAY_VERSION_BASE 1000

static int journal_day_key(tq_vault_t *vault, int version, tq_error_t *err)
{
    time_t t = (time_t)(version / DAY_VERSION_BASE) * 86400;
    struct tm tm;
    char info[80];
    gmtime_r(&t, &tm);
    int n = (int)strftime(info, sizeof info, "toolq journal %Y-%m-%d", &tm);
    snprintf(info + n, sizeof info - (size_t)n, " v%d", version % DAY_VERSION_BASE);
    return tq_vault_derive_key(vault, TQ_JOURNAL_SCOPE, version % DAY_VERSION_BASE, info,
                               TQ_JOURNAL_DAY_SCOPE, version, err);
}

int tq_journal_today_version(const tq_vault_t *vault)
{
    int sys = 0;
    if (!tq_vault_has_tenant(vault, TQ_JOURNAL_SCOPE, &sys) || sys >= DAY_VERSION_BASE) return -1;
    return (int)(time(NULL) / 86400) * DAY_VERSION_BASE + sys;
}

/* The key of today is installed (once per day and process). */
static int ensure_today(tq_vault_t *vault, tq_error_t *err)
{
    static int s_installed = 0;
    int v = tq_journal_today_version(vault);
    if (v < 0)
        return tq_error_set(err, "vault_no_key", "the journal's system key is not installed");
    if (v == s_installed) return 0;
    if (journal_day_key(vault, v, err)) return -1;
    s_installed = v;
    return 0;
}

static tq_aad_t journal_aad(const char *scope, const char *tenant, const char *id,
                            const char *column, char row[TQ_JOB_ID_LEN + TQ_WIRE_STR_MAX + 2])
{
    snprintf(row, TQ_JOB_ID_LEN + TQ_WIRE_STR_MAX + 2, "%s/%s", tenant, id);
    return (tq_aad_t){scope, "tq_jobs", column, row};
}

static int seal(tq_vault_t *vault, const tq_bjob_t *j, const char *column, const char *text,
                size_t len, unsigned char **out, size_t *out_len, tq_error_t *err)
{
    if (ensure_today(vault, err)) return -1;
    char row[TQ_JOB_ID_LEN + TQ_WIRE_STR_MAX + 2];
    tq_aad_t aad = journal_aad(TQ_JOURNAL_DAY_SCOPE, j->tenant, j->id, column, row);
    return tq_vault_seal(vault, &aad, text, len, out, out_len, err);
}

/* The batch's synchronous_commit: off only when every row is async. */
static const char *sync_param(tq_bjob_t *const *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!jobs[i]->async) return "on";
    return "off";
}

/* The state columns both statements write: st, at, rs, res, ec, em,
 * started, delay (b[0..7]). */
static int put_state(tq_vault_t *vault, const tq_bjob_t *j, tq_buf_t *b, int64_t now,
                     tq_error_t *err)
{
    unsigned char *ct = NULL;
    size_t ctn = 0;
    if (j->result && j->state == TQ_JOB_SUCCEEDED &&
        seal(vault, j, "result", j->result, j->result_len, &ct, &ctn, err))
        return -1;
    sb_text(&b[0], tq_job_state_name(j->state));
    sb_int(&b[1], j->attempts);
    sb_int(&b[2], j->rescues);
    sb_bytea(&b[3], ct, ctn);
    sb_text(&b[4], j->err_code);
    sb_text(&b[5], j->err_msg);
    if (j->started_wall_ms)
        sb_int(&b[6], j->started_wall_ms);
    else
        sb_text(&b[6], NULL);
    sb_int(&b[7], j->state == TQ_JOB_QUEUED && j->run_after_ms > now ? j->run_after_ms - now : 0);
    free(ct);
    return 0;
}

static int close_params(tq_buf_t *b, int nparams, const char *sync, char **params, tq_error_t *err)
{
    for (int k = 0; k < nparams - 1; k++)
        params[k] = sb_close(&b[k]);
    if (!(params[nparams - 1] = strdup(sync))) {
        tq_journal_free_params(params, nparams);
        return tq_error_set(err, "internal", "out of memory building a journal batch");
    }
    return 0;
}

int tq_journal_insert_params(tq_vault_t *vault, tq_bjob_t *const *jobs, size_t n, char **params,
                             tq_error_t *err)
{
    tq_buf_t b[TQ_JOURNAL_INSERT_NPARAMS] = {0};
    for (int k = 0; k < TQ_JOURNAL_INSERT_NPARAMS - 1; k++)
        sb_open(&b[k]);
    int64_t now = tq_now_ms();
    for (size_t i = 0; i < n; i++) {
        const tq_bjob_t *j = jobs[i];
        unsigned char *ct;
        size_t ctn;
        if (seal(vault, j, "payload", j->payload, j->payload_len, &ct, &ctn, err)) {
            for (int k = 0; k < TQ_JOURNAL_INSERT_NPARAMS; k++)
                tq_buf_free(&b[k]);
            return -1;
        }
        sb_text(&b[0], j->id);
        sb_text(&b[1], j->tenant);
        sb_text(&b[2], j->op);
        sb_int(&b[3], j->max_attempts);
        sb_int(&b[4], j->priority);
        sb_int(&b[5], j->timeout_ms);
        sb_text(&b[6], j->ikey);
        sb_bytea(&b[7], ct, ctn);
        free(ct);
        if (put_state(vault, j, b + 8, now, err)) {
            for (int k = 0; k < TQ_JOURNAL_INSERT_NPARAMS; k++)
                tq_buf_free(&b[k]);
            return -1;
        }
    }
    return close_params(b, TQ_JOURNAL_INSERT_NPARAMS, sync_param(jobs, n), params, err);
}

int tq_journal_update_params(tq_vault_t *vault, tq_bjob_t *const *jobs, size_t n, char **params,
                             tq_error_t *err)
{
    tq_buf_t b[TQ_JOURNAL_UPDATE_NPARAMS] = {0};
    for (int k = 0; k < TQ_JOURNAL_UPDATE_NPARAMS - 1; k++)
        sb_open(&b[k]);
    int64_t now = tq_now_ms();
    for (size_t i = 0; i < n; i++) {
        sb_text(&b[0], jobs[i]->id);
        if (put_state(vault, jobs[i], b + 1, now, err)) {
            for (int k = 0; k < TQ_JOURNAL_UPDATE_NPARAMS; k++)
                tq_buf_free(&b[k]);
            return -1;
        }
    }
    return close_params(b, TQ_JOURNAL_UPDATE_NPARAMS, sync_param(jobs, n), params, err);
}

/* --- reading back ------------------------------------------------------------- */

static int open_column(tq_vault_t *vault, PGresult *res, int row, int col, const char *tenant,
                       const char *id, const char *column, char **out, size_t *out_len,
                       tq_error_t *err)
{
    *out = NULL;
    *out_len = 0;
    if (PQgetisnull(res, row, col)) return 0;
    size_t n;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
    if (!raw) return tq_error_set(err, "internal", "out of memory");
    int version = tq_vault_sealed_version(raw, n);
    bool day_key = version >= DAY_VERSION_BASE;
    if (day_key && journal_day_key(vault, version, err)) {
        PQfreemem(raw);
        return -1;
    }
    char rowid[TQ_JOB_ID_LEN + TQ_WIRE_STR_MAX + 2];
    tq_aad_t aad =
        journal_aad(day_key ? TQ_JOURNAL_DAY_SCOPE : TQ_JOURNAL_SCOPE, tenant, id, column, rowid);
    unsigned char *plain;
    size_t pn;
    int rc = tq_vault_open(vault, &aad, raw, n, &plain, &pn, err);
    PQfreemem(raw);
    if (rc) return -1;
    *out = malloc(pn + 1);
    if (!*out) {
        free(plain);
        return tq_error_set(err, "internal", "out of memory");
    }
    memcpy(*out, plain, pn);
    (*out)[pn] = '\0';
    *out_len = pn;
    free(plain);
    return 0;
}

static tq_job_state_t parse_state(const char *s)
{
    for (int i = TQ_JOB_QUEUED; i <= TQ_JOB_CANCELLED; i++)
        if (strcmp(tq_job_state_name((tq_job_state_t)i), s) == 0) return (tq_job_state_t)i;
    return TQ_JOB_QUEUED;
}

long tq_journal_recover(PGconn *db, tq_vault_t *vault, tq_jobs_t *jobs, int64_t now_ms,
                        tq_error_t *err)
{
    PGresult *res = PQexec(db, "SELECT id, tenant_id, op, state, attempts, rescues,"
                               " max_attempts, priority, timeout_ms, idempotency_key, payload,"
                               " greatest(0, extract(epoch FROM run_after - now()) * 1000)::bigint"
                               " FROM tq_jobs WHERE state IN ('queued', 'running')"
                               " ORDER BY created_at, id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        tq_error_set(err, "db_error", "recovering jobs: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    long n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        tq_bjob_t *j = tq_bjob_new();
        snprintf(j->id, sizeof j->id, "%s", PQgetvalue(res, r, 0));
        j->tenant = strdup(PQgetvalue(res, r, 1));
        j->op = strdup(PQgetvalue(res, r, 2));
        bool was_running = parse_state(PQgetvalue(res, r, 3)) == TQ_JOB_RUNNING;
        j->attempts = atoi(PQgetvalue(res, r, 4));
        j->rescues = atoi(PQgetvalue(res, r, 5));
        j->max_attempts = atoi(PQgetvalue(res, r, 6));
        j->priority = atoi(PQgetvalue(res, r, 7));
        j->timeout_ms = atoi(PQgetvalue(res, r, 8));
        j->ikey = PQgetisnull(res, r, 9) ? NULL : strdup(PQgetvalue(res, r, 9));
        j->persisted = true; /* a new job is queued (tq_bjob_new): no transition */
        j->journaled = true;
        j->row_written = true;
        j->run_after_ms = now_ms + atoll(PQgetvalue(res, r, 11));
        if (open_column(vault, res, r, 10, j->tenant, j->id, "payload", &j->payload,
                        &j->payload_len, err)) {
            tq_error_prefix(err, "job %s", j->id);
            tq_bjob_free(j);
            PQclear(res);
            return -1;
        }
        if (was_running)
            tq_info("job %s was running when the previous broker stopped: re-queued", j->id);
        tq_jobs_add(jobs, j);
        tq_jobs_enqueue(jobs, j, now_ms);
    }
    PQclear(res);
    return n;
}

int tq_journal_row_to_msg(tq_vault_t *vault, PGresult *res, int row, tq_msg_t *m, tq_error_t *err)
{
    tq_msg_init(m, TQ_MSG_RESULT);
    snprintf(m->id, sizeof m->id, "%s", PQgetvalue(res, row, 0));
    const char *tenant = PQgetvalue(res, row, 1);
    tq_msg_set(&m->op, PQgetvalue(res, row, 2));
    tq_msg_set(&m->state, PQgetvalue(res, row, 3));
    m->attempt = atoi(PQgetvalue(res, row, 4));
    if (!PQgetisnull(res, row, 6)) tq_msg_set(&m->err_code, PQgetvalue(res, row, 6));
    if (!PQgetisnull(res, row, 7)) tq_msg_set(&m->err_msg, PQgetvalue(res, row, 7));
    if (open_column(vault, res, row, 5, tenant, m->id, "result", &m->result, &m->result_len, err)) {
        tq_msg_reset(m);
        return -1;
    }
    return 0;
}

/* test_keystore.c — tests of common/keystore.c against a real PostgreSQL:
 * the master key check, tenant key creation (also racing processes), key
 * versions and master rotation (including its rollback).
 *
 * Needs TOOLQ_TEST_DB_ADMIN_URL (libpq conninfo or URI of a database where
 * it may CREATE DATABASE). Without it the test FAILS, never skips. It creates
 * tq_test_keystore_<pid> with the two vault tables copied from
 * schemas/001_init.sql (it must not depend on the migration runner), and
 * drops it at the end. Must never touch any other database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENV_URL "TOOLQ_TEST_DB_ADMIN_URL"
#define RACERS 12

/* Copied verbatim from schemas/001_init.sql. */
static const char *SCHEMA = "CREATE TABLE tq_vault_meta (\n"
                            "    id           int         PRIMARY KEY CHECK (id = 1),\n"
                            "    master_check bytea       NOT NULL,\n"
                            "    created_at   timestamptz NOT NULL DEFAULT now(),\n"
                            "    rotated_at   timestamptz\n"
                            ");\n"
                            "\n"
                            "CREATE TABLE tq_tenant_keys (\n"
                            "    tenant_id   text        NOT NULL,\n"
                            "    version     int         NOT NULL CHECK (version > 0),\n"
                            "    wrapped_key bytea       NOT NULL,\n"
                            "    created_at  timestamptz NOT NULL DEFAULT now(),\n"
                            "    PRIMARY KEY (tenant_id, version)\n"
                            ");\n";

static const unsigned char MASTER_A[TQ_MASTER_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const unsigned char MASTER_B[TQ_MASTER_KEY_LEN] = "fedcba9876543210fedcba9876543210";
static const unsigned char MASTER_C[TQ_MASTER_KEY_LEN] = "ccccccccccccccccdddddddddddddddd";

static const char *g_admin_url;
static char g_dbname[64];
static PGconn *g_admin, *g_db;

/* --- database helpers ---------------------------------------------------------- */

/* Connects to g_dbname using the admin URL's other settings. */
static PGconn *connect_test_db(void)
{
    const char *keys[] = {"dbname", "dbname", NULL};
    const char *values[] = {g_admin_url, g_dbname, NULL};
    return PQconnectdbParams(keys, values, 1);
}

static void exec_ok(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQerrorMessage(db));
    PQclear(res);
}

static int query_int(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("SQL failed: %s: %s", sql, PQerrorMessage(db));
    int v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* The whole key state as text, to prove a failed rotation changed nothing. */
static char *snapshot(PGconn *db)
{
    PGresult *res = PQexec(db, "SELECT string_agg(tenant_id || ':' || version || ':' || "
                               "encode(wrapped_key, 'hex'), ',' ORDER BY tenant_id, version) || "
                               "'|' || (SELECT encode(master_check, 'hex') FROM tq_vault_meta) "
                               "FROM tq_tenant_keys");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    char *s = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return s;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dbname, sizeof g_dbname, "tq_test_keystore_%d", (int)getpid());
    g_admin = PQconnectdb(g_admin_url);
    if (PQstatus(g_admin) != CONNECTION_OK) {
        fprintf(stderr, "test_keystore: cannot connect with %s: %s", ENV_URL,
                PQerrorMessage(g_admin));
        return -1;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", g_dbname);
    PGresult *res = PQexec(g_admin, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        fprintf(stderr, "test_keystore: %s: %s", sql, PQerrorMessage(g_admin));
        return -1;
    }
    g_db = connect_test_db();
    res = PQstatus(g_db) == CONNECTION_OK ? PQexec(g_db, SCHEMA) : NULL;
    ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) fprintf(stderr, "test_keystore: creating the schema: %s", PQerrorMessage(g_db));
    return ok ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(g_db);
    g_db = NULL;
    int ok = 1;
    if (g_admin && PQstatus(g_admin) == CONNECTION_OK) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_dbname);
        PGresult *res = PQexec(g_admin, sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) fprintf(stderr, "test_keystore: %s: %s", sql, PQerrorMessage(g_admin));
        PQclear(res);
    }
    PQfinish(g_admin);
    g_admin = NULL;
    return ok ? 0 : -1;
}

/* --- vault helpers -------------------------------------------------------------- */

static tq_vault_t *vault(const unsigned char *master)
{
    tq_vault_t *v = tq_vault_new(master);
    assert_non_null(v);
    return v;
}

static void ensure(tq_vault_t *v, const char *tenant)
{
    tq_error_t err = {0};
    if (tq_keystore_ensure_tenant(g_db, v, tenant, &err) != 0)
        fail_msg("ensure_tenant(%s): %s: %s", tenant, err.code, err.message);
}

static void seal(const tq_vault_t *v, const char *tenant, const char *row, const char *plain,
                 unsigned char **out, size_t *out_len)
{
    tq_aad_t aad = {tenant, "tq_test", "secret", row};
    tq_error_t err = {0};
    if (tq_vault_seal(v, &aad, plain, strlen(plain), out, out_len, &err) != 0)
        fail_msg("seal: %s: %s", err.code, err.message);
}

/* Opens and compares; returns 0, or -1 with err filled when it does not open. */
static int open_is(const tq_vault_t *v, const char *tenant, const char *row, const unsigned char *s,
                   size_t n, const char *expect, tq_error_t *err)
{
    tq_aad_t aad = {tenant, "tq_test", "secret", row};
    unsigned char *out = NULL;
    size_t out_len = 0;
    if (tq_vault_open(v, &aad, s, n, &out, &out_len, err) != 0) return -1;
    assert_int_equal(out_len, strlen(expect));
    assert_memory_equal(out, expect, out_len);
    free(out);
    return 0;
}

static int version_of(const unsigned char *s)
{
    return (int)(((uint32_t)s[1] << 24) | ((uint32_t)s[2] << 16) | ((uint32_t)s[3] << 8) | s[4]);
}

/* --- tests ------------------------------------------------------------------------ */

static void test_check_master(void **state)
{
    (void)state;
    tq_vault_t *a = vault(MASTER_A), *b = vault(MASTER_B);
    tq_error_t err = {0};

    /* Tenant keys but no check row: refused, nothing recorded. */
    exec_ok(g_db, "INSERT INTO tq_tenant_keys VALUES ('stray', 1, '\\x00')");
    assert_int_equal(tq_keystore_check_master(g_db, a, &err), -1);
    assert_string_equal(err.code, "master_key_mismatch");
    assert_int_equal(query_int(g_db, "SELECT count(*) FROM tq_vault_meta"), 0);
    exec_ok(g_db, "DELETE FROM tq_tenant_keys");

    /* Fresh: records; same key passes; another key is refused. */
    assert_int_equal(tq_keystore_check_master(g_db, a, &err), 0);
    assert_int_equal(query_int(g_db, "SELECT count(*) FROM tq_vault_meta"), 1);
    assert_int_equal(query_int(g_db, "SELECT length(master_check) FROM tq_vault_meta"), 32);
    assert_int_equal(tq_keystore_check_master(g_db, a, &err), 0);
    tq_vault_t *a2 = vault(MASTER_A);
    assert_int_equal(tq_keystore_check_master(g_db, a2, &err), 0);
    assert_int_equal(tq_keystore_check_master(g_db, b, &err), -1);
    assert_string_equal(err.code, "master_key_mismatch");
    assert_non_null(strstr(err.message, "orphan"));
    assert_int_equal(query_int(g_db, "SELECT count(*) FROM tq_vault_meta"), 1);
    assert_int_equal(PQtransactionStatus(g_db), PQTRANS_IDLE);
    tq_vault_destroy(&a);
    tq_vault_destroy(&a2);
    tq_vault_destroy(&b);
}

static void test_ensure_tenant(void **state)
{
    (void)state;
    tq_vault_t *first = vault(MASTER_A);
    int cur = 0;
    ensure(first, "tenant-a");
    assert_int_equal(tq_vault_has_tenant(first, "tenant-a", &cur), 1);
    assert_int_equal(cur, 1);
    assert_int_equal(
        query_int(g_db, "SELECT count(*) FROM tq_tenant_keys WHERE tenant_id = 'tenant-a'"), 1);
    /* Stored wrapped, never the raw 32 bytes. */
    assert_int_equal(query_int(g_db, "SELECT length(wrapped_key) FROM tq_tenant_keys "
                                     "WHERE tenant_id = 'tenant-a'"),
                     61);
    unsigned char *s = NULL;
    size_t n = 0;
    seal(first, "tenant-a", "row-1", "s3cret one", &s, &n);

    /* Another process (vault instance) loads the same key. */
    tq_vault_t *second = vault(MASTER_A);
    tq_error_t err = {0};
    assert_int_equal(tq_vault_has_tenant(second, "tenant-a", NULL), 0);
    assert_int_equal(open_is(second, "tenant-a", "row-1", s, n, "s3cret one", &err), -1);
    assert_string_equal(err.code, "vault_no_key");
    ensure(second, "tenant-a");
    assert_int_equal(open_is(second, "tenant-a", "row-1", s, n, "s3cret one", &err), 0);
    ensure(first, "tenant-a"); /* again: idempotent */
    assert_int_equal(
        query_int(g_db, "SELECT count(*) FROM tq_tenant_keys WHERE tenant_id = 'tenant-a'"), 1);

    /* A wrapped key copied to another tenant's row does not unwrap. */
    exec_ok(g_db, "INSERT INTO tq_tenant_keys (tenant_id, version, wrapped_key) "
                  "SELECT 'tenant-copy', version, wrapped_key FROM tq_tenant_keys "
                  "WHERE tenant_id = 'tenant-a'");
    assert_int_equal(tq_keystore_ensure_tenant(g_db, second, "tenant-copy", &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    assert_int_equal(tq_vault_has_tenant(second, "tenant-copy", NULL), 0);
    exec_ok(g_db, "DELETE FROM tq_tenant_keys WHERE tenant_id = 'tenant-copy'");

    assert_int_equal(tq_keystore_ensure_tenant(g_db, second, "", &err), -1);
    assert_string_equal(err.code, "invalid_argument");
    free(s);
    tq_vault_destroy(&first);
    tq_vault_destroy(&second);
}

/* Every racer ensures each of ROUNDS fresh tenants (more chances to collide
 * on the insert) and seals one fixed-size record per tenant. */
#define ROUNDS 10
#define RACE_PLAIN "racer %02d s3cret"
#define RACE_SEALED (33 + 15)

static void race_names(int round, int racer, char tenant[32], char row[16], char plain[32])
{
    snprintf(tenant, 32, "tenant-race-%d", round);
    snprintf(row, 16, "row-%d", racer);
    snprintf(plain, 32, RACE_PLAIN, racer);
}

/* One racer: connects, waits for the start signal, then ensures and seals
 * on its own connection, writing the ciphertexts to out_fd. */
static int racer(int go_fd, int out_fd, int i)
{
    PGconn *db = connect_test_db(); /* before the signal: the slow part */
    tq_vault_t *v = tq_vault_new(MASTER_A);
    tq_error_t err = {0};
    int rc = PQstatus(db) == CONNECTION_OK ? 0 : 11;
    char c;
    if (read(go_fd, &c, 1) != 0) rc = 10;
    for (int k = 0; k < ROUNDS && rc == 0; k++) {
        char tenant[32], row[16], plain[32];
        race_names(k, i, tenant, row, plain);
        tq_aad_t aad = {tenant, "tq_test", "secret", row};
        unsigned char *s = NULL;
        size_t n = 0;
        if (tq_keystore_ensure_tenant(db, v, tenant, &err) != 0)
            rc = 12;
        else if (tq_vault_seal(v, &aad, plain, strlen(plain), &s, &n, &err) != 0)
            rc = 13;
        else if (n != RACE_SEALED || write(out_fd, s, n) != (ssize_t)n)
            rc = 14;
        free(s);
    }
    if (rc) fprintf(stderr, "racer %d failed (%d): %s %s\n", i, rc, err.code, err.message);
    tq_vault_destroy(&v);
    PQfinish(db);
    return rc;
}

typedef int (*racer_fn)(int go_fd, int out_fd, int i);

/* Forks n racers, starts them at once, reads each one's output (exactly
 * out_len bytes into out + i * out_len) and checks every one exited 0. */
static void run_racers(int n, racer_fn fn, unsigned char *out, size_t out_len)
{
    int go[2], pipes[RACERS][2];
    pid_t pids[RACERS];
    assert_true(n <= RACERS);
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(pipe(pipes[i]), 0);
        fflush(NULL);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(pipes[i][0]);
            _exit(fn(go[0], pipes[i][1], i)); /* _exit: leave the parent's state alone */
        }
        close(pipes[i][1]);
    }
    close(go[0]);
    usleep(200 * 1000); /* let every racer connect */
    close(go[1]);       /* all start at once */
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        ssize_t r;
        unsigned char *mine = out + (size_t)i * out_len;
        while (len < out_len && (r = read(pipes[i][0], mine + len, out_len - len)) > 0)
            len += (size_t)r;
        close(pipes[i][0]);
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(len, out_len);
    }
}

static void test_concurrent_ensure(void **state)
{
    (void)state;
    static unsigned char sealed[RACERS][ROUNDS * RACE_SEALED];
    run_racers(RACERS, racer, &sealed[0][0], sizeof sealed[0]);
    assert_int_equal(query_int(g_db, "SELECT count(*) FROM tq_tenant_keys "
                                     "WHERE tenant_id LIKE 'tenant-race-%'"),
                     ROUNDS);

    /* Everyone ended with the one stored key of each tenant. */
    tq_vault_t *v = vault(MASTER_A);
    tq_error_t err = {0};
    for (int k = 0; k < ROUNDS; k++) {
        for (int i = 0; i < RACERS; i++) {
            char tenant[32], row[16], plain[32];
            race_names(k, i, tenant, row, plain);
            if (i == 0) ensure(v, tenant);
            if (open_is(v, tenant, row, sealed[i] + k * RACE_SEALED, RACE_SEALED, plain, &err))
                fail_msg("racer %d, %s: %s: %s", i, tenant, err.code, err.message);
        }
    }
    tq_vault_destroy(&v);
}

static void test_add_version(void **state)
{
    (void)state;
    tq_vault_t *v = vault(MASTER_A), *stale = vault(MASTER_A);
    tq_error_t err = {0};
    ensure(v, "tenant-v");
    ensure(stale, "tenant-v");
    unsigned char *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    seal(v, "tenant-v", "row-1", "v1 s3cret", &s1, &n1);
    assert_int_equal(version_of(s1), 1);

    assert_int_equal(tq_keystore_add_version(g_db, v, "tenant-v", &err), 2);
    int cur = 0;
    assert_int_equal(tq_vault_has_tenant(v, "tenant-v", &cur), 1);
    assert_int_equal(cur, 2);
    seal(v, "tenant-v", "row-2", "v2 s3cret", &s2, &n2);
    assert_int_equal(version_of(s2), 2);
    assert_int_equal(open_is(v, "tenant-v", "row-1", s1, n1, "v1 s3cret", &err), 0);
    assert_int_equal(open_is(v, "tenant-v", "row-2", s2, n2, "v2 s3cret", &err), 0);

    /* A process loaded before the new version: vault_no_key, then reload. */
    assert_int_equal(open_is(stale, "tenant-v", "row-2", s2, n2, "v2 s3cret", &err), -1);
    assert_string_equal(err.code, "vault_no_key");
    ensure(stale, "tenant-v");
    assert_int_equal(open_is(stale, "tenant-v", "row-2", s2, n2, "v2 s3cret", &err), 0);
    assert_int_equal(open_is(stale, "tenant-v", "row-1", s1, n1, "v1 s3cret", &err), 0);
    assert_int_equal(tq_vault_has_tenant(stale, "tenant-v", &cur), 1);
    assert_int_equal(cur, 2);

    /* Versions keep counting, from any process; a fresh tenant starts at 1. */
    assert_int_equal(tq_keystore_add_version(g_db, stale, "tenant-v", &err), 3);
    assert_int_equal(tq_keystore_add_version(g_db, v, "tenant-v", &err), 4);
    assert_int_equal(tq_vault_has_tenant(v, "tenant-v", &cur), 1);
    assert_int_equal(cur, 4);
    assert_int_equal(tq_keystore_add_version(g_db, v, "tenant-new", &err), 1);
    assert_int_equal(
        query_int(g_db, "SELECT count(*) FROM tq_tenant_keys WHERE tenant_id = 'tenant-v'"), 4);
    free(s1);
    free(s2);
    tq_vault_destroy(&v);
    tq_vault_destroy(&stale);
}

/* Racers adding versions at once each get their own, distinct version. */
static int version_racer(int go_fd, int out_fd, int i)
{
    (void)i;
    PGconn *db = connect_test_db();
    tq_vault_t *v = tq_vault_new(MASTER_A);
    tq_error_t err = {0};
    int version = -1;
    char c;
    if (PQstatus(db) == CONNECTION_OK && read(go_fd, &c, 1) == 0)
        version = tq_keystore_add_version(db, v, "tenant-addrace", &err);
    if (version < 0) fprintf(stderr, "version racer %d: %s %s\n", i, err.code, err.message);
    int rc = version > 0 && write(out_fd, &version, sizeof version) == sizeof version ? 0 : 1;
    tq_vault_destroy(&v);
    PQfinish(db);
    return rc;
}

static void test_concurrent_add_version(void **state)
{
    (void)state;
    enum { N = 6 };
    tq_vault_t *v = vault(MASTER_A);
    ensure(v, "tenant-addrace");
    int versions[N];
    run_racers(N, version_racer, (unsigned char *)versions, sizeof versions[0]);
    int seen[N + 2] = {0};
    for (int i = 0; i < N; i++) {
        assert_in_range(versions[i], 2, N + 1);
        assert_int_equal(seen[versions[i]]++, 0);
    }
    ensure(v, "tenant-addrace");
    int cur = 0;
    assert_int_equal(tq_vault_has_tenant(v, "tenant-addrace", &cur), 1);
    assert_int_equal(cur, N + 1);
    tq_vault_destroy(&v);
}

/* A failing rotation (a key the old master cannot open, or the wrong old
 * master) changes nothing and leaves no transaction open. */
static void test_rotate_rolls_back(void **state)
{
    (void)state;
    tq_vault_t *a = vault(MASTER_A), *b = vault(MASTER_B), *c = vault(MASTER_C);
    tq_error_t err = {0};
    char *before = snapshot(g_db);

    assert_int_equal(tq_keystore_rotate_master(g_db, b, c, &err), -1);
    assert_string_equal(err.code, "master_key_mismatch");
    assert_int_equal(PQtransactionStatus(g_db), PQTRANS_IDLE);

    /* 'zzz' sorts last: earlier rows are already updated when it fails. */
    exec_ok(g_db, "INSERT INTO tq_tenant_keys VALUES ('zzz-garbage', 1, "
                  "decode(repeat('ab', 61), 'hex'))");
    char *with_garbage = snapshot(g_db);
    assert_int_equal(tq_keystore_rotate_master(g_db, a, b, &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    assert_int_equal(PQtransactionStatus(g_db), PQTRANS_IDLE);
    char *after = snapshot(g_db);
    assert_string_equal(after, with_garbage);
    exec_ok(g_db, "DELETE FROM tq_tenant_keys WHERE tenant_id = 'zzz-garbage'");
    free(after);
    after = snapshot(g_db);
    assert_string_equal(after, before);

    /* Refused inside a caller's transaction (it would commit it). */
    exec_ok(g_db, "BEGIN");
    assert_int_equal(tq_keystore_rotate_master(g_db, a, b, &err), -1);
    assert_string_equal(err.code, "invalid_argument");
    exec_ok(g_db, "ROLLBACK");
    assert_int_equal(tq_keystore_check_master(g_db, a, &err), 0);

    free(before);
    free(with_garbage);
    free(after);
    tq_vault_destroy(&a);
    tq_vault_destroy(&b);
    tq_vault_destroy(&c);
}

static void test_rotate_master(void **state)
{
    (void)state;
    tq_vault_t *a = vault(MASTER_A);
    tq_error_t err = {0};
    const char *tenants[] = {"tenant-a", "tenant-race-0", "tenant-v", "tenant-rot"};
    enum { NT = sizeof tenants / sizeof *tenants };
    unsigned char *s[NT];
    size_t n[NT];
    for (int i = 0; i < NT; i++) {
        ensure(a, tenants[i]);
        seal(a, tenants[i], "row-rot", tenants[i], &s[i], &n[i]);
    }
    unsigned char *old_v1 = NULL;
    size_t old_v1_len = 0;
    seal(a, "tenant-rot", "row-old", "old version s3cret", &old_v1, &old_v1_len);
    assert_int_equal(tq_keystore_add_version(g_db, a, "tenant-rot", &err), 2);

    int total = query_int(g_db, "SELECT count(*) FROM tq_tenant_keys");
    assert_true(total >= NT + 1);
    tq_vault_t *b = vault(MASTER_B);
    assert_int_equal(tq_keystore_rotate_master(g_db, a, b, &err), total);
    assert_int_equal(PQtransactionStatus(g_db), PQTRANS_IDLE);
    assert_int_equal(
        query_int(g_db, "SELECT count(*) FROM tq_vault_meta WHERE rotated_at IS NOT NULL"), 1);

    /* The old master is refused now; the new one is accepted. */
    assert_int_equal(tq_keystore_check_master(g_db, a, &err), -1);
    assert_string_equal(err.code, "master_key_mismatch");
    assert_int_equal(tq_keystore_check_master(g_db, b, &err), 0);
    tq_vault_t *a2 = vault(MASTER_A);
    assert_int_equal(tq_keystore_ensure_tenant(g_db, a2, "tenant-a", &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");

    /* The new master opens everything sealed before the rotation. */
    for (int i = 0; i < NT; i++) {
        ensure(b, tenants[i]);
        if (open_is(b, tenants[i], "row-rot", s[i], n[i], tenants[i], &err) != 0)
            fail_msg("%s after rotation: %s: %s", tenants[i], err.code, err.message);
        free(s[i]);
    }
    assert_int_equal(
        open_is(b, "tenant-rot", "row-old", old_v1, old_v1_len, "old version s3cret", &err), 0);
    /* And the rotation can go on (b -> a again). */
    assert_int_equal(tq_keystore_rotate_master(g_db, b, a, &err), total);
    assert_int_equal(tq_keystore_check_master(g_db, a, &err), 0);
    free(old_v1);
    tq_vault_destroy(&a);
    tq_vault_destroy(&a2);
    tq_vault_destroy(&b);
}

int main(void)
{
    g_admin_url = getenv(ENV_URL);
    if (!g_admin_url || !g_admin_url[0]) {
        fprintf(stderr,
                "test_keystore: FAILED: %s is not set. This test needs PostgreSQL: set it to a "
                "libpq conninfo of an admin database, e.g. \"host=/tmp/tqdev port=5499 "
                "user=toolq dbname=postgres\" (scripts/pgcluster starts one).\n",
                ENV_URL);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_master),           cmocka_unit_test(test_ensure_tenant),
        cmocka_unit_test(test_concurrent_ensure),      cmocka_unit_test(test_add_version),
        cmocka_unit_test(test_concurrent_add_version), cmocka_unit_test(test_rotate_rolls_back),
        cmocka_unit_test(test_rotate_master),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* test_migrations.c — the migration runner (common/migrations.c) against a
 * real PostgreSQL: migrations apply once, in order, each with its checksum;
 * an applied migration whose text changed is refused at start
 * (migration_changed, naming the file) and nothing after it is applied; a
 * database from before checksums gains the column and today's checksums;
 * the embedded schemas/ apply to an empty database and a second run is a
 * no-op.
 *
 * Needs TOOLQ_TEST_DB_ADMIN_URL (a database where it may CREATE DATABASE).
 * Without it the test FAILS, never skips. Creates tq_test_migrations_<pid>
 * and _<pid>_real, drops them at the end; never touches another database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "migrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENV_URL "TOOLQ_TEST_DB_ADMIN_URL"

static const char *g_admin_url;
static PGconn *g_admin;
static char g_names[2][64];

static PGconn *connect_db(const char *name)
{
    const char *keys[] = {"dbname", "dbname", NULL};
    const char *values[] = {g_admin_url, name, NULL};
    PGconn *db = PQconnectdbParams(keys, values, 1);
    if (PQstatus(db) != CONNECTION_OK) fail_msg("connect %s: %s", name, PQerrorMessage(db));
    return db;
}

static void admin(const char *fmt, const char *name)
{
    char sql[256]; /* the longest format (46) and a name of up to 63: never truncated */
    snprintf(sql, sizeof sql, fmt, name);
    PGresult *res = PQexec(g_admin, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) fail_msg("%s: %s", sql, PQerrorMessage(g_admin));
}

static void exec_ok(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQerrorMessage(db));
    PQclear(res);
}

/* The first value of a one-row query, as text ("" for NULL); caller frees. */
static char *query(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("SQL failed: %s: %s", sql, PQerrorMessage(db));
    char *v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static void assert_query(PGconn *db, const char *sql, const char *want)
{
    char *v = query(db, sql);
    assert_string_equal(v, want);
    free(v);
}

static const tq_migration_t V1[] = {
    {"001_a.sql", "CREATE TABLE a (x int);"},
    {"002_b.sql", "CREATE TABLE b (y int);"},
    {NULL, NULL},
};
/* 001 edited after it was applied, and a new 003 */
static const tq_migration_t V2_EDITED[] = {
    {"001_a.sql", "CREATE TABLE a (x int, z int);"},
    {"002_b.sql", "CREATE TABLE b (y int);"},
    {"003_c.sql", "CREATE TABLE c (w int);"},
    {NULL, NULL},
};
static const tq_migration_t V2[] = {
    {"001_a.sql", "CREATE TABLE a (x int);"},
    {"002_b.sql", "CREATE TABLE b (y int);"},
    {"003_c.sql", "CREATE TABLE c (w int);"},
    {NULL, NULL},
};

static void fresh_then_edited(void **state)
{
    (void)state;
    PGconn *db = connect_db(g_names[0]);
    tq_error_t err = {0};
    assert_int_equal(tq_migrate_list(db, V1, &err), 2);
    assert_int_equal(tq_migrate_list(db, V1, &err), 0); /* second start: nothing */
    /* the checksum is the SHA-256 of the text */
    assert_query(db,
                 "SELECT checksum = encode(sha256('CREATE TABLE a (x int);'), 'hex') "
                 "FROM tq_migrations WHERE name = '001_a.sql'",
                 "t");
    assert_query(db, "SELECT count(*) FROM tq_migrations WHERE checksum IS NULL", "0");

    assert_int_equal(tq_migrate_list(db, V2_EDITED, &err), -1);
    assert_string_equal(err.code, "migration_changed");
    assert_non_null(strstr(err.message, "schemas/001_a.sql"));
    /* nothing after the edited file was applied, and the table is unchanged */
    assert_query(db, "SELECT count(*) FROM tq_migrations", "2");
    assert_query(db, "SELECT to_regclass('c') IS NULL", "t");
    assert_query(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'a'", "1");
    /* the advisory lock was released: the restored file goes on */
    tq_error_clear(&err);
    assert_int_equal(tq_migrate_list(db, V2, &err), 1);
    assert_query(db, "SELECT to_regclass('c') IS NOT NULL", "t");
    PQfinish(db);
}

/* A database migrated by a toolq without checksums. */
static void legacy_rows_get_checksums(void **state)
{
    (void)state;
    PGconn *db = connect_db(g_names[0]);
    exec_ok(db, "DROP TABLE IF EXISTS a, b, c, tq_migrations");
    exec_ok(db, "CREATE TABLE tq_migrations (name text PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())");
    exec_ok(db, "CREATE TABLE a (x int)");
    exec_ok(db, "INSERT INTO tq_migrations (name) VALUES ('001_a.sql')");
    tq_error_t err = {0};
    assert_int_equal(tq_migrate_list(db, V1, &err), 1); /* 002 only */
    assert_query(db, "SELECT count(*) FROM tq_migrations WHERE checksum IS NULL", "0");
    assert_query(db,
                 "SELECT checksum = encode(sha256('CREATE TABLE a (x int);'), 'hex') "
                 "FROM tq_migrations WHERE name = '001_a.sql'",
                 "t");
    /* from now on an edit is caught */
    assert_int_equal(tq_migrate_list(db, V2_EDITED, &err), -1);
    assert_string_equal(err.code, "migration_changed");
    PQfinish(db);
}

static void embedded_schemas(void **state)
{
    (void)state;
    PGconn *db = connect_db(g_names[1]);
    tq_error_t err = {0};
    int n = 0;
    for (const tq_migration_t *m = tq_migrations; m->name; m++)
        n++;
    assert_true(n >= 5);
    int applied = tq_migrate(db, &err);
    if (applied < 0) fail_msg("%s: %s", err.code, err.message);
    assert_int_equal(applied, n);
    assert_int_equal(tq_migrate(db, &err), 0);
    assert_query(db, "SELECT bool_and(checksum ~ '^[0-9a-f]{64}$') FROM tq_migrations", "t");
    PQfinish(db);
}

static int group_setup(void **state)
{
    (void)state;
    g_admin_url = getenv(ENV_URL);
    if (!g_admin_url || !*g_admin_url) {
        fprintf(stderr, "test_migrations: %s is not set (run through scripts/test)\n", ENV_URL);
        return -1;
    }
    g_admin = PQconnectdb(g_admin_url);
    if (PQstatus(g_admin) != CONNECTION_OK) {
        fprintf(stderr, "test_migrations: cannot connect: %s", PQerrorMessage(g_admin));
        return -1;
    }
    snprintf(g_names[0], sizeof g_names[0], "tq_test_migrations_%d", (int)getpid());
    snprintf(g_names[1], sizeof g_names[1], "tq_test_migrations_%d_real", (int)getpid());
    for (int i = 0; i < 2; i++)
        admin("CREATE DATABASE %s", g_names[i]);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        admin("DROP DATABASE IF EXISTS %s WITH (FORCE)", g_names[i]);
    PQfinish(g_admin);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_then_edited),
        cmocka_unit_test(legacy_rows_get_checksums),
        cmocka_unit_test(embedded_schemas),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

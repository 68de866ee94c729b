/* test_broker_api.c — the pieces of the HTTP API with no I/O: API key text
 * (common/apitoken.c), the on-behalf-of principal the broker accepts only
 * from its own process (broker/principal.c), the HTTP status of error codes
 * (broker/api.c), the generated OpenAPI description (broker/api_openapi.c)
 * and the wire fields that carry the principal (common/msg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apitoken.h"
#include "opcat.h"
#include "principal.h"
#include "msg.h"

static void test_apitoken(void **state)
{
    (void)state;
    char a[TQ_APITOKEN_LEN + 1], b[TQ_APITOKEN_LEN + 1], h[65];
    assert_int_equal(tq_apitoken_new(a), 0);
    assert_int_equal(tq_apitoken_new(b), 0);
    assert_int_equal(strlen(a), 47);
    assert_true(tq_apitoken_shape_ok(a));
    assert_string_not_equal(a, b);
    tq_apitoken_hash(a, h);
    assert_true(tq_apitoken_hash_ok(h));
    tq_apitoken_hash("abc", h); /* SHA-256 test vector */
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    a[5] = '+';
    assert_false(tq_apitoken_shape_ok(a));
    assert_false(tq_apitoken_shape_ok("tqk_short"));
    assert_false(tq_apitoken_shape_ok(NULL));
    assert_false(tq_apitoken_hash_ok("ABC"));
}

static tq_principal_t broker_principal(void)
{
    tq_principal_t p = {0};
    p.role = TQ_ROLE_BROKER;
    p.known = true;
    snprintf(p.name, sizeof p.name, "uid 0");
    return p;
}

static void test_on_behalf(void **state)
{
    (void)state;
    tq_error_t err = {0};
    tq_principal_t p = broker_principal();
    /* from the broker's own process: becomes the key's principal */
    assert_int_equal(tq_principal_on_behalf(&p, true, "tenant", "acme", "API key a1", &err), 0);
    assert_int_equal(p.role, TQ_ROLE_TENANT);
    assert_string_equal(p.tenant, "acme");
    assert_false(p.known); /* whoami shows no uid or pid of the broker's */
    const char *tenant = NULL;
    /* and the usual rules apply to it: no system op, no other tenant */
    assert_int_equal(
        tq_principal_may_submit(&p, TQ_OP_admin_rotate_master, false, &tenant, NULL, &err), -1);
    assert_string_equal(err.code, "forbidden");
    tenant = "beta";
    assert_int_equal(tq_principal_may_submit(&p, TQ_OP_ping, false, &tenant, NULL, &err), -1);
    assert_string_equal(err.code, "forbidden");
    tenant = NULL;
    assert_int_equal(tq_principal_may_submit(&p, TQ_OP_ping, false, &tenant, NULL, &err), 0);
    assert_string_equal(tenant, "acme");
    const char *scope = NULL;
    assert_int_equal(tq_principal_job_scope(&p, NULL, &scope, &err), 0);
    assert_string_equal(scope, "acme");
    /* a broker worker (same uid, another process) may not */
    p = broker_principal();
    assert_int_equal(tq_principal_on_behalf(&p, false, "operator", "acme", "x", &err), -1);
    assert_string_equal(err.code, "forbidden");
    assert_int_equal(p.role, TQ_ROLE_BROKER);
    /* nor an operator, a tenant or an unknown peer */
    tq_role_t others[] = {TQ_ROLE_OPERATOR, TQ_ROLE_INTEGRATOR, TQ_ROLE_TENANT, TQ_ROLE_NONE};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        tq_principal_t o = {0};
        o.role = others[i];
        assert_int_equal(tq_principal_on_behalf(&o, true, "operator", "acme", "x", &err), -1);
        assert_string_equal(err.code, "forbidden");
        assert_int_equal(o.role, others[i]);
    }
    /* only the three roles, and a tenant principal needs a tenant */
    p = broker_principal();
    assert_int_equal(tq_principal_on_behalf(&p, true, "broker", "acme", "x", &err), -1);
    assert_string_equal(err.code, "invalid_argument");
    assert_int_equal(tq_principal_on_behalf(&p, true, "tenant", "", "x", &err), -1);
    assert_int_equal(tq_principal_on_behalf(&p, true, "tenant", "*system*", "x", &err), -1);
    assert_int_equal(p.role, TQ_ROLE_BROKER);
}

static void test_status_of(void **state)
{
    (void)state;
    assert_int_equal(tq_api_status_of("unauthorized"), 401);
    assert_int_equal(tq_api_status_of("forbidden"), 403);
    assert_int_equal(tq_api_status_of("not_found"), 404);
    assert_int_equal(tq_api_status_of("provider_not_found"), 404);
    assert_int_equal(tq_api_status_of("invalid_request"), 400);
    assert_int_equal(tq_api_status_of("unknown_op"), 400);
    assert_int_equal(tq_api_status_of("provider_exists"), 409);
    assert_int_equal(tq_api_status_of("rate_limited"), 429);
    assert_int_equal(tq_api_status_of("payload_too_large"), 413);
    assert_int_equal(tq_api_status_of("unsupported_media_type"), 415);
    assert_int_equal(tq_api_status_of("db_unavailable"), 503);
    assert_int_equal(tq_api_status_of("ssrf_blocked"), 403);
    assert_int_equal(tq_api_status_of("remote_ref_failed"), 502);
    assert_int_equal(tq_api_status_of("internal"), 500);
    assert_int_equal(tq_api_status_of("no_such_code_anywhere"), 500);
}

static void test_openapi(void **state)
{
    (void)state;
    char *text = tq_api_openapi("http://127.0.0.1:8765");
    json_t *d = json_loads(text, 0, NULL);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "openapi")), "3.1.0");
    json_t *paths = json_object_get(d, "paths");
    const char *routes[] = {"/v1/jobs",
                            "/v1/jobs/{id}",
                            "/v1/providers",
                            "/v1/tools",
                            "/v1/credentials",
                            "/v1/openapi.json",
                            "/v1/providers/{provider}/tools/{tool}:invoke"};
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        assert_non_null(json_object_get(paths, routes[i]));
    json_t *en = json_object_get(paths, "/v1/jobs");
    const char *walk[] = {"post",   "requestBody", "content", "application/json",
                          "schema", "properties"};
    for (size_t i = 0; i < sizeof walk / sizeof *walk; i++)
        en = json_object_get(en, walk[i]);
    json_t *ops = json_object_get(json_object_get(en, "op"), "enum");
    size_t n = 0, listed = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        size_t k;
        json_t *v;
        json_array_foreach(ops, k, v) found |= strcmp(json_string_value(v), all[i].name) == 0;
        assert_true(found == !(all[i].flags & TQ_OPF_TEST)); /* every op but the test ops */
        listed += found;
    }
    assert_int_equal(listed, json_array_size(ops));
    json_decref(d);
    free(text);
}

static void test_wire_on_behalf(void **state)
{
    (void)state;
    tq_msg_t m, back;
    tq_error_t err = {0};
    tq_msg_init(&m, TQ_MSG_SUBMIT);
    m.rid = 7;
    m.op = "ping";
    m.ob_role = "tenant";
    m.ob_tenant = "acme";
    m.ob_name = "API key a1";
    unsigned char *buf = NULL;
    size_t len = 0;
    assert_int_equal(tq_msg_encode(&m, &buf, &len), 0);
    assert_int_equal(tq_msg_decode(buf, len, 1 << 20, &back, &err), 0);
    assert_string_equal(back.ob_role, "tenant");
    assert_string_equal(back.ob_tenant, "acme");
    assert_string_equal(back.ob_name, "API key a1");
    tq_msg_reset(&back);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apitoken),       cmocka_unit_test(test_on_behalf),
        cmocka_unit_test(test_status_of),      cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_wire_on_behalf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

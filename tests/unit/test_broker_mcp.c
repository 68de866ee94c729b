/* test_broker_mcp.c — the MCP engine (mcp/mcp.c) on the messages it
 * answers without the broker: revision negotiation, JSON-RPC envelope errors,
 * methods before initialize, notifications and client responses (no answer),
 * tool-limit patterns (parsing and matching). Calls that need jobs are
 * covered end to end by tests/integration/test_mcp_*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "mcp.h"

static tq_mcp_t *engine(const char *tools)
{
    tq_mcp_opts_t o = {.endpoint = "ipc:///nonexistent/toolq-test.sock",
                       .tenant = "acme",
                       .tools = tools,
                       .list_changed = true};
    tq_error_t err = {0};
    tq_mcp_t *m = tq_mcp_new(&o, &err);
    assert_non_null(m);
    return m;
}

static json_t *ask(tq_mcp_t *m, const char *text)
{
    json_t *msg = json_loads(text, 0, NULL);
    assert_non_null(msg);
    json_t *r = tq_mcp_handle(m, msg, NULL, NULL);
    json_decref(msg);
    return r;
}

static json_int_t err_code(json_t *r)
{
    return json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static void test_initialize_negotiates(void **state)
{
    (void)state;
    const char *cases[][2] = {{"2025-03-26", "2025-03-26"},
                              {"2025-06-18", "2025-06-18"},
                              {"2025-11-25", "2025-11-25"},
                              {"2024-11-05", "2025-11-25"},
                              {"2099-01-01", "2025-11-25"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tq_mcp_t *m = engine(NULL);
        assert_null(tq_mcp_version(m));
        char req[300];
        snprintf(req, sizeof req,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                 "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
                 "\"version\":\"1\"}}}",
                 cases[i][0]);
        json_t *r = ask(m, req);
        json_t *res = json_object_get(r, "result");
        assert_string_equal(json_string_value(json_object_get(res, "protocolVersion")),
                            cases[i][1]);
        assert_true(json_is_true(json_object_get(
            json_object_get(json_object_get(res, "capabilities"), "tools"), "listChanged")));
        assert_string_equal(tq_mcp_version(m), cases[i][1]);
        json_decref(r);
        r = ask(m, req); /* a second initialize is refused */
        assert_int_equal(err_code(r), -32600);
        json_decref(r);
        tq_mcp_destroy(&m);
    }
}

static void test_envelope_errors(void **state)
{
    (void)state;
    tq_mcp_t *m = engine(NULL);
    json_t *r = ask(m, "[1,2]");
    assert_int_equal(err_code(r), -32600);
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}");
    assert_int_equal(err_code(r), -32600);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}");
    assert_int_equal(err_code(r), -32600);
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"}"); /* before initialize */
    assert_true(json_is_object(json_object_get(r, "result")));
    assert_string_equal(json_string_value(json_object_get(r, "id")), "a");
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    assert_int_equal(err_code(r), -32600); /* initialize first: no job */
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":[]}");
    assert_int_equal(err_code(r), -32602);
    json_decref(r);
    /* notifications and client responses get no answer */
    assert_null(ask(m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
    assert_null(ask(m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                       "\"params\":{\"requestId\":99}}"));
    assert_null(ask(m, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}"));
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\",\"params\":"
               "{\"protocolVersion\":\"2025-06-18\"}}");
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/list\"}");
    assert_int_equal(err_code(r), -32601);
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\",\"params\":{\"cursor\":"
               "\"x1\"}}");
    assert_int_equal(err_code(r), -32602);
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{}}");
    assert_int_equal(err_code(r), -32602); /* no name */
    json_decref(r);
    r = ask(m, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":"
               "\"x\",\"arguments\":[1]}}");
    assert_int_equal(err_code(r), -32602);
    json_decref(r);
    tq_mcp_destroy(&m);
}

static void test_tool_patterns(void **state)
{
    (void)state;
    assert_true(tq_mcp_tool_allowed(NULL, "github", "getRepo"));
    assert_true(tq_mcp_tool_allowed("", "github", "getRepo"));
    const char *p = "github/*,petstore/getPetById";
    assert_true(tq_mcp_tool_allowed(p, "github", "getRepo"));
    assert_true(tq_mcp_tool_allowed(p, "petstore", "getPetById"));
    assert_false(tq_mcp_tool_allowed(p, "petstore", "deletePet"));
    assert_false(tq_mcp_tool_allowed(p, "githubx", "getRepo"));
    assert_false(tq_mcp_tool_allowed(p, "gitlab", "getRepo"));
    assert_true(tq_mcp_tool_allowed("*/get*", "any", "getX"));
    assert_false(tq_mcp_tool_allowed("*/get*", "any", "postX"));
    const char *bad[] = {"github", "github/", "/op", "a/b/c", "a/b,,c/d", "a/b,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tq_mcp_opts_t o = {.tools = bad[i]};
        tq_error_t err = {0};
        tq_mcp_t *m = tq_mcp_new(&o, &err);
        assert_null(m);
        assert_string_equal(err.code, "invalid_argument");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_negotiates),
        cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_tool_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

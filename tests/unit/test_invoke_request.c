/* test_invoke_request.c — the invoker's request builder, table-driven:
 * bundles imported from tests/data/invoke/echo.yaml (through the real
 * importer) plus arguments -> the exact request bytes (request line, headers,
 * body) for every parameter style x type x media type; argument validation
 * and coercion (all problems at once); auth edits applied; redaction;
 * Retry-After parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "invoke/invoke_args.h"
#include "buf.h"
#include "invoke/invoke_call.h"
#include "invoke/invoke_request.h"
#include "invoke/invoke_result.h"
#include "openapi/openapi.h"
#include "ssrf.h"

static json_t *s_tools;

static int load(void **state)
{
    (void)state;
    const char *src = getenv("TOOLQ_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/invoke/echo.yaml", src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    tq_openapi_opts_t o;
    tq_openapi_opts_default(&o);
    o.server_url = "http://h";
    json_t *out = NULL;
    tq_error_t err = {0};
    if (tq_openapi_parse(buf, n, &o, &out, &err)) {
        fprintf(stderr, "import: %s %s\n", err.code, err.message);
        return -1;
    }
    s_tools = json_incref(json_object_get(out, "tools"));
    json_decref(out);
    return 0;
}

static int unload(void **state)
{
    (void)state;
    json_decref(s_tools);
    return 0;
}

static const json_t *bundle(const char *op)
{
    size_t i;
    json_t *b;
    json_array_foreach(
        s_tools, i,
        b) if (!strcmp(json_string_value(json_object_get(b, "operation_id")), op)) return b;
    fail_msg("no tool %s", op);
    return NULL;
}

/* Builds op with args (JSON text); returns the dump or "ERR code: message". */
static char *build(const char *op, const char *args_json)
{
    const json_t *b = bundle(op);
    json_t *args = json_loads(args_json, 0, NULL);
    assert_non_null(args);
    tq_error_t err = {0};
    json_t *coerced = tq_invoke_args_check(json_object_get(b, "input_schema"), args, NULL, &err);
    json_decref(args);
    char *out = NULL;
    if (!coerced) {
        if (asprintf(&out, "ERR %s: %s", err.code, err.message) < 0) abort();
        return out;
    }
    tq_invoke_build_opts_t o = {.boundary = "BOUNDARY"};
    tq_httpc_request_t *r = tq_invoke_request_build(b, coerced, &o, &err);
    json_decref(coerced);
    if (!r) {
        if (asprintf(&out, "ERR %s: %s", err.code, err.message) < 0) abort();
        return out;
    }
    out = tq_httpc_request_dump(r);
    tq_httpc_request_destroy(&r);
    return out;
}

typedef struct {
    const char *op, *args, *expect;
} row_t;

static const row_t ROWS[] = {
    /* path: simple, percent-encoded; '/' and '?' cannot change the path */
    {"getItem", "{\"id\":\"a/b?c d\"}", "GET /items/a%2Fb%3Fc%20d\n\n"},
    {"getItem", "{\"id\":\"caf\\u00e9\"}", "GET /items/caf%C3%A9\n\n"},
    {"getItem", "{\"id\":42}", "GET /items/42\n\n"},
    /* dot segments: a value cannot climb out of its segment (F10) */
    {"echoTail", "{\"x\":\"..\"}", "GET /echo/%2E%2E/tail\n\n"},
    {"echoTail", "{\"x\":\".\"}", "GET /echo/%2E/tail\n\n"},
    {"echoTail", "{\"x\":\"a..b\"}", "GET /echo/a..b/tail\n\n"},
    {"styles", "{\"ids\":[3],\"m\":{\"a\":\"..\",\"..\":\"x\"}}",
     "GET /label/.3/matrix/;a=%2E%2E;%2E%2E=x\n\n"},
    /* query: form explode (default) and not, arrays, booleans, integers */
    {"getItem", "{\"id\":\"1\",\"tags\":[\"x\",\"y z\"]}", "GET /items/1?tags=x&tags=y%20z\n\n"},
    {"getItem", "{\"id\":\"1\",\"tags\":\"solo\"}", "GET /items/1?tags=solo\n\n"},
    {"getItem", "{\"id\":\"1\",\"csv\":[1,\"2\"]}", "GET /items/1?csv=1,2\n\n"},
    {"getItem", "{\"id\":\"1\",\"csv\":\"[3,4]\"}", "GET /items/1?csv=3,4\n\n"},
    {"getItem", "{\"id\":\"1\",\"space\":[\"a\",\"b\"]}", "GET /items/1?space=a%20b\n\n"},
    {"getItem", "{\"id\":\"1\",\"pipe\":[\"a\",\"b\"]}", "GET /items/1?pipe=a|b\n\n"},
    {"getItem", "{\"id\":\"1\",\"filter\":{\"color\":\"red\",\"size\":\"3\"}}",
     "GET /items/1?filter[color]=red&filter[size]=3\n\n"},
    {"getItem", "{\"id\":\"1\",\"flag\":\"true\",\"limit\":\"5\"}",
     "GET /items/1?flag=true&limit=5\n\n"},
    {"getItem", "{\"id\":\"1\",\"flag\":false}", "GET /items/1?flag=false\n\n"},
    {"getItem", "{\"id\":\"1\",\"mode\":null,\"limit\":null}", "GET /items/1\n\n"},
    {"getItem", "{\"id\":\"1\",\"tags\":[\"a&b=c\"]}", "GET /items/1?tags=a%26b%3Dc\n\n"},
    /* header and cookie */
    {"getItem", "{\"id\":\"1\",\"X-Trace\":\"abc\",\"session\":\"s 1\"}",
     "GET /items/1\nX-Trace: abc\nCookie: session=s%201\n\n"},
    {"getItem", "{\"id\":\"1\",\"X-Trace\":\"a\\r\\nHost: evil\"}",
     "ERR invalid_argument: X-Trace: a header value cannot hold a line break"},
    /* label and matrix */
    {"styles", "{\"ids\":[3,4,5],\"m\":{\"a\":\"x\",\"b\":\"y/z\"}}",
     "GET /label/.3,4,5/matrix/;a=x;b=y%2Fz\n\n"},
    /* JSON body: coercion "5" -> 5, "true" -> true, JSON text for arrays/objects */
    {"createPet",
     "{\"name\":\"rex\",\"age\":\"5\",\"vaccinated\":\"true\",\"tags\":\"[\\\"a\\\"]\","
     "\"owner\":\"{\\\"first\\\":\\\"Ann\\\"}\",\"Idempotency-Key\":\"k1\"}",
     "POST /pets\nIdempotency-Key: k1\nContent-Type: application/json; charset=utf-8\n\n"
     "{\"name\":\"rex\",\"age\":5,\"vaccinated\":true,\"tags\":[\"a\"],\"owner\":{\"first\":"
     "\"Ann\"}}"},
    {"createPet", "{\"name\":\"\\u00e9t\\u00e9\"}",
     "POST /pets\nContent-Type: application/json; "
     "charset=utf-8\n\n{\"name\":\"\xc3\xa9t\xc3\xa9\"}"},
    /* urlencoded with deepObject encoding and exploded arrays */
    {"postForm",
     "{\"to\":\"+1 555\",\"body\":\"hi & bye\",\"meta\":{\"k\":\"v\"},\"list\":[\"a\",\"b\"]}",
     "POST /form\nContent-Type: application/x-www-form-urlencoded\n\n"
     "to=%2B1%20555&body=hi%20%26%20bye&meta[k]=v&list=a&list=b"},
    /* multipart with a file */
    {"upload",
     "{\"note\":\"hello\",\"file\":{\"filename\":\"a.txt\",\"content_type\":\"text/plain\","
     "\"data\":\"aGk=\"}}",
     "POST /upload\nContent-Type: multipart/form-data; boundary=BOUNDARY\n\n"
     "--BOUNDARY\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
     "--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
     "Content-Type: text/plain\r\n\r\nhi\r\n--BOUNDARY--\r\n"},
    /* text/plain and octet-stream */
    {"putText", "{\"body\":\"plain words\"}", "PUT /text\nContent-Type: text/plain\n\nplain words"},
    {"putRaw", "{\"body\":{\"data\":\"AAEC\"}}",
     "POST /raw\nContent-Type: application/octet-stream\n\n\x00\x01\x02"},
    {"deleteStatus", "{\"code\":204}", "DELETE /status/204\n\n"},
    /* validation: every problem at once */
    {"getItem", "{\"limit\":\"x\",\"mode\":\"bogus\",\"nope\":1}",
     "ERR invalid_argument: 4 problems with the arguments: limit: expected integer, got string; "
     "mode: not one of the allowed values [\"fast\",\"slow\"]; nope: unknown argument; id: "
     "missing required argument"},
    {"createPet", "{\"age\":1.5}",
     "ERR invalid_argument: 2 problems with the arguments: age: expected integer, got number; "
     "name: missing required argument"},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        char *got = build(ROWS[i].op, ROWS[i].args);
        size_t elen = strlen(ROWS[i].expect);
        if (!strcmp(ROWS[i].op, "putRaw")) elen += 3; /* bytes with NULs */
        int same = !strncmp(ROWS[i].expect, "ERR", 3)
                       ? !strcmp(got, ROWS[i].expect)
                       : !memcmp(got, ROWS[i].expect, elen) &&
                             (elen != strlen(ROWS[i].expect) || strlen(got) == elen);
        if (!same)
            fail_msg("row %zu (%s %s):\n got: %s\nwant: %s", i, ROWS[i].op, ROWS[i].args, got,
                     ROWS[i].expect);
        free(got);
    }
}

static void test_unfilled_placeholder(void **state)
{
    (void)state;
    json_t *b = json_deep_copy(bundle("status"));
    json_object_set_new(b, "path", json_string("/status/{code}/{other}"));
    json_t *args = json_pack("{s:i}", "code", 200);
    tq_error_t err = {0};
    tq_httpc_request_t *r = tq_invoke_request_build(b, args, NULL, &err);
    assert_null(r);
    assert_string_equal(err.code, "invalid_argument");
    assert_non_null(strstr(err.message, "{other}"));
    json_decref(args);
    json_decref(b);
}

static void test_method_and_server(void **state)
{
    (void)state;
    json_t *b = json_deep_copy(bundle("status"));
    json_t *args = json_pack("{s:i}", "code", 200);
    tq_error_t err = {0};
    json_object_set_new(b, "method", json_string("trace"));
    assert_null(tq_invoke_request_build(b, args, NULL, &err));
    assert_string_equal(err.code, "unsupported_method");
    json_object_set_new(b, "method", json_string("get"));
    json_object_set_new(b, "server_url", json_string("/relative"));
    assert_null(tq_invoke_request_build(b, args, NULL, &err));
    assert_string_equal(err.code, "invalid_url");
    json_decref(args);
    json_decref(b);
}

/* A path template without a leading '/' cannot let a value extend the host:
 * the built URL must keep the server URL's scheme, host and port. */
static void test_origin_kept(void **state)
{
    (void)state;
    json_t *b = json_deep_copy(bundle("echoTail"));
    json_object_set_new(b, "server_url", json_string("http://h"));
    json_object_set_new(b, "path", json_string("{x}"));
    json_t *args = json_pack("{s:s}", "x", ".evil.example");
    tq_error_t err = {0};
    assert_null(tq_invoke_request_build(b, args, NULL, &err));
    assert_string_equal(err.code, "invalid_url");
    json_object_set_new(b, "server_url", json_string("http://h:80"));
    json_object_set_new(b, "path", json_string("/a/{x}"));
    json_object_set_new(args, "x", json_string("b"));
    tq_httpc_request_t *r = tq_invoke_request_build(b, args, NULL, &err);
    assert_non_null(r); /* the default port is the same origin */
    tq_httpc_request_destroy(&r);
    char o[TQ_ORIGIN_MAX];
    assert_int_equal(tq_ssrf_url_origin("HTTPS://Api.Example:443/x?y", o, sizeof o), 0);
    assert_string_equal(o, "https://api.example:443");
    json_decref(args);
    json_decref(b);
}

static void test_forbidden_header(void **state)
{
    (void)state;
    json_t *b = json_deep_copy(bundle("getItem"));
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(b, "parameters"), i,
                       p) if (!strcmp(json_string_value(json_object_get(p, "name")), "X-Trace"))
        json_object_set_new(p, "name", json_string("Host"));
    json_t *args = json_pack("{s:s,s:s}", "id", "1", "Host", "evil.example");
    tq_error_t err = {0};
    assert_null(tq_invoke_request_build(b, args, NULL, &err));
    assert_string_equal(err.code, "invalid_argument");
    json_decref(args);
    json_decref(b);
}

static void test_edits(void **state)
{
    (void)state;
    json_t *args = json_pack("{s:s}", "id", "1");
    tq_error_t err = {0};
    tq_httpc_request_t *r = tq_invoke_request_build(bundle("getItem"), args, NULL, &err);
    assert_non_null(r);
    tq_plugin_edits_t *e = tq_plugin_edits_new();
    tq_plugin_request_edit_t *sink = tq_plugin_edits_sink(e);
    assert_int_equal(sink->set_header(sink, "Authorization", "Bearer t0k"), 0);
    assert_int_equal(sink->add_query(sink, "api key", "a&b"), 0);
    assert_int_equal(sink->add_cookie(sink, "sid", "x y"), 0);
    tq_invoke_request_apply_edits(r, e);
    char *d = tq_httpc_request_dump(r);
    assert_string_equal(d, "GET /items/1?api%20key=a%26b\nAuthorization: Bearer t0k\n"
                           "Cookie: sid=x%20y\n\n");
    free(d);
    tq_plugin_edits_destroy(&e);
    tq_httpc_request_destroy(&r);
    json_decref(args);
}

static void test_redact_and_retry_after(void **state)
{
    (void)state;
    const char *secrets[] = {"s3cret-key", NULL};
    size_t n;
    char *r = tq_invoke_redact("a s3cret-key b s3cret-key", 25, secrets, &n);
    assert_string_equal(r, "a [REDACTED] b [REDACTED]");
    free(r);
    assert_null(tq_invoke_redact("nothing", 7, secrets, &n));
    assert_int_equal(tq_invoke_retry_after_ms("3", 0), 3000);
    assert_int_equal(tq_invoke_retry_after_ms("soon", 0), -1);
    assert_int_equal(tq_invoke_retry_after_ms("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480000LL),
                     10000);
    assert_true(tq_invoke_media_is_json("application/problem+json; charset=utf-8"));
    assert_true(tq_invoke_media_is_text("text/html"));
    assert_false(tq_invoke_media_is_text("image/png"));
}

/* F5: a reflected secret is redacted in every form the result can carry it:
 * raw, percent-encoded, base64 / base64url at any alignment (inside a longer
 * encoded text), JSON keys, header names, and inside a base64 body. */
static void test_redaction_forms(void **state)
{
    (void)state;
    const char *secret = "VICTIM-BEARER-SECRET-42";
    tq_invoke_secrets_t sec = {0};
    tq_invoke_secrets_add(&sec, secret);
    tq_invoke_secrets_add(&sec, "ab"); /* too short: ignored */
    assert_true(sec.n >= 4);
    const char *const *v = (const char *const *)sec.v;

    /* octet-stream echo of the request, as in the review's reproduction */
    tq_httpc_response_t r = {.status = 200};
    static char ct_name[] = "content-type", ct_val[] = "application/octet-stream";
    char hname[64], hval[128];
    snprintf(hname, sizeof hname, "x-%s", secret);
    snprintf(hval, sizeof hval, "token=p%%2Fss%%2Bw0rd-SECRET"); /* percent-encoded */
    tq_invoke_secrets_add(&sec, "p/ss+w0rd-SECRET");
    tq_httpc_header_t hs[] = {{ct_name, ct_val}, {hname, hval}};
    r.headers = hs;
    r.nheaders = 2;
    const char raw[] = "\xff\xfeGET /echo\r\nAuthorization: Bearer VICTIM-BEARER-SECRET-42\r\n";
    tq_buf_add(&r.body, raw, sizeof raw - 1);
    json_t *res = tq_invoke_result_new(&r, 1, 0, 1, v, 100);
    char *text = json_dumps(res, JSON_COMPACT);
    assert_string_equal(json_string_value(json_object_get(res, "body_encoding")), "base64");
    unsigned char *dec;
    size_t dlen;
    assert_int_equal(tq_base64_decode(json_string_value(json_object_get(res, "body")), &dec, &dlen),
                     0);
    assert_null(memmem(dec, dlen, secret, strlen(secret)));
    assert_non_null(memmem(dec, dlen, "[REDACTED]", 10));
    free(dec);
    assert_null(strstr(text, "SECRET")); /* header name and percent-encoded value too */
    free(text);
    json_decref(res);
    tq_buf_free(&r.body);

    /* JSON: the secret as a key, and base64 of "Authorization: Bearer <secret>"
     * (the secret at an odd offset inside a longer encoded text) */
    static char json_ct[] = "application/json";
    tq_httpc_header_t hj[] = {{ct_name, json_ct}};
    r.headers = hj;
    r.nheaders = 1;
    for (int off = 0; off < 3; off++) {
        char plain[128], body[512];
        snprintf(plain, sizeof plain, "%.*sAuthorization: Bearer %s", off, "xy", secret);
        char *b64 = tq_base64_encode((const unsigned char *)plain, strlen(plain));
        snprintf(body, sizeof body, "{\"%s\": true, \"data\": \"%s\"}", secret, b64);
        free(b64);
        r.body = (tq_buf_t){0};
        tq_buf_adds(&r.body, body);
        res = tq_invoke_result_new(&r, 1, 0, 1, v, 100);
        json_t *b = json_object_get(res, "body");
        assert_null(json_object_get(b, secret));
        assert_non_null(json_object_get(b, "[REDACTED]"));
        const char *data = json_string_value(json_object_get(b, "data"));
        assert_non_null(strstr(data, "[REDACTED]"));
        json_decref(res);
        tq_buf_free(&r.body);
    }
    tq_invoke_secrets_wipe(&sec);
    assert_int_equal(sec.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_unfilled_placeholder),
        cmocka_unit_test(test_method_and_server),
        cmocka_unit_test(test_origin_kept),
        cmocka_unit_test(test_forbidden_header),
        cmocka_unit_test(test_edits),
        cmocka_unit_test(test_redact_and_retry_after),
        cmocka_unit_test(test_redaction_forms),
    };
    return cmocka_run_group_tests(tests, load, unload);
}

/* test_openapi.c — the OpenAPI/Swagger importer on small documents: golden
 * petstore (3.0 and 2.0 give the same tools), exact input schemas, refs,
 * servers, operation ids, media types, argument naming, the malformed
 * battery, plugin manifests, filters and the function-calling form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "openapi/openapi.h"
#include "openapi/openapi_opid.h"

static char *read_data(const char *name, size_t *len)
{
    const char *src = getenv("TOOLQ_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/openapi/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s (set TOOLQ_SOURCE_DIR)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static json_t *parse_with(const char *text, const tq_openapi_opts_t *opts)
{
    json_t *out = NULL;
    tq_error_t err = {0};
    if (tq_openapi_parse(text, strlen(text), opts, &out, &err) != 0)
        fail_msg("unexpected error %s: %s", err.code, err.message);
    return out;
}

static json_t *parse(const char *text)
{
    return parse_with(text, NULL);
}

static void parse_fail(const char *text, size_t len, const char *code, const char *in_message)
{
    json_t *out = NULL;
    tq_error_t err = {0};
    assert_int_equal(tq_openapi_parse(text, len, NULL, &out, &err), -1);
    assert_null(out);
    if (strcmp(err.code, code) || (in_message && !strstr(err.message, in_message)))
        fail_msg("got %s \"%s\", wanted %s with \"%s\"", err.code, err.message, code,
                 in_message ? in_message : "");
}

static json_t *tool(const json_t *res, const char *id)
{
    size_t i;
    json_t *t;
    json_array_foreach(
        json_object_get(res, "tools"), i,
        t) if (!strcmp(json_string_value(json_object_get(t, "operation_id")), id)) return t;
    fail_msg("no tool %s", id);
    return NULL;
}

static int has_warning(const json_t *res, const char *code, const char *in_message)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(res, "warnings"), i, w)
    {
        if (!strcmp(json_string_value(json_object_get(w, "code")), code) &&
            (!in_message || strstr(json_string_value(json_object_get(w, "message")), in_message)))
            return 1;
    }
    return 0;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_error_t je;
    json_t *want = json_loads(want_text, 0, &je);
    if (!want) fail_msg("bad expected JSON: %s", je.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
        fprintf(stderr, "got:  %s\nwant: %s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

/* --- golden petstore ------------------------------------------------------ */

static void test_petstore_editions_equal(void **state)
{
    (void)state;
    size_t l3, l2;
    char *v3 = read_data("petstore-3.0.yaml", &l3), *v2 = read_data("petstore-2.0.json", &l2);
    json_t *a = parse(v3), *b = parse(v2);
    assert_string_equal(json_string_value(json_object_get(a, "schema_type")), "openapi");
    assert_string_equal(json_string_value(json_object_get(b, "schema_type")), "swagger");
    assert_int_equal(json_array_size(json_object_get(a, "tools")), 5);
    assert_true(
        json_equal(json_object_get(a, "security_schemes"), json_object_get(b, "security_schemes")));
    json_t *ta = json_object_get(a, "tools"), *tb = json_object_get(b, "tools");
    for (size_t i = 0; i < json_array_size(ta); i++) {
        json_t *x = json_array_get(ta, i), *y = json_array_get(tb, i);
        if (!json_equal(x, y)) {
            char *sx = json_dumps(x, JSON_SORT_KEYS | JSON_COMPACT);
            char *sy = json_dumps(y, JSON_SORT_KEYS | JSON_COMPACT);
            fprintf(stderr, "3.0: %s\n2.0: %s\n", sx, sy);
            free(sx);
            free(sy);
            fail();
        }
    }
    assert_string_equal(json_string_value(json_object_get(a, "server_url")),
                        "https://petstore.example.com/v1");
    json_decref(a);
    json_decref(b);
    free(v3);
    free(v2);
}

static void test_petstore_exact_schemas(void **state)
{
    (void)state;
    size_t len;
    char *text = read_data("petstore-3.0.yaml", &len);
    json_t *res = parse(text);
    assert_string_equal(json_string_value(json_object_get(res, "version")), "3.0.3");
    json_t *list = tool(res, "listPets");
    assert_json(json_object_get(list, "input_schema"),
                "{\"type\":\"object\",\"required\":[],\"properties\":{"
                "\"limit\":{\"type\":\"integer\",\"format\":\"int32\",\"maximum\":100,"
                "\"description\":\"max items\"},"
                "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}");
    assert_json(json_object_get(list, "parameters"),
                "[{\"name\":\"limit\",\"in\":\"query\",\"required\":false,\"style\":\"form\","
                "\"explode\":true,\"allow_reserved\":false},"
                "{\"name\":\"tags\",\"in\":\"query\",\"required\":false,\"style\":\"form\","
                "\"explode\":true,\"allow_reserved\":false}]");
    assert_json(json_object_get(list, "security"), "[{\"api_key\":[]}]");
    json_t *create = tool(res, "createPet");
    /* Body hoisted; readOnly "id" is not an input. */
    assert_json(json_object_get(create, "input_schema"),
                "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{"
                "\"name\":{\"type\":\"string\"},\"tag\":{\"type\":\"string\"},"
                "\"status\":{\"type\":\"string\",\"enum\":[\"available\",\"sold\"],"
                "\"default\":\"available\"}}}");
    assert_json(json_object_get(create, "request_body"),
                "{\"media_type\":\"application/json\",\"required\":true,\"hoisted\":true}");
    json_t *show = tool(res, "showPetById");
    assert_json(json_object_get(show, "input_schema"),
                "{\"type\":\"object\",\"required\":[\"petId\"],\"properties\":{"
                "\"petId\":{\"type\":\"integer\",\"format\":\"int64\"}}}");
    assert_json(json_object_get(show, "responses"),
                "{\"200\":{\"description\":\"a pet\",\"content_types\":[\"application/json\"]}}");
    /* No operationId: generated from method and path. */
    json_t *del = tool(res, "delete_pets_petId");
    assert_string_equal(json_string_value(json_object_get(del, "method")), "delete");
    json_t *up = tool(res, "uploadPhoto");
    assert_json(json_object_get(up, "request_body"),
                "{\"media_type\":\"multipart/form-data\",\"required\":true,\"hoisted\":true}");
    assert_json(json_object_get(json_object_get(up, "input_schema"), "properties"),
                "{\"petId\":{\"type\":\"integer\",\"format\":\"int64\"},"
                "\"file\":{\"type\":\"string\",\"format\":\"binary\",\"description\":\"photo\"},"
                "\"caption\":{\"type\":\"string\"}}");
    json_decref(res);
    free(text);
}

/* --- refs ----------------------------------------------------------------- */

#define HEAD "openapi: 3.0.0\ninfo: {title: t, version: 1}\nservers: [{url: 'https://x.test'}]\n"

static void test_refs(void **state)
{
    (void)state;
    json_t *res = parse(
        HEAD "paths:\n"
             "  /a:\n"
             "    get:\n"
             "      operationId: a\n"
             "      parameters: [{$ref: '#/components/parameters/P1'}]\n"
             "  /b:\n"
             "    $ref: '#/x-items/b~1c%7Bd%7D'\n"
             "x-items:\n"
             "  b/c{d}:\n"
             "    post:\n"
             "      operationId: b\n"
             "      requestBody: {$ref: '#/components/requestBodies/B'}\n"
             "components:\n"
             "  parameters:\n"
             "    P1: {$ref: '#/components/parameters/P2'}\n"
             "    P2: {name: q, in: query, schema: {$ref: '#/components/schemas/S'}}\n"
             "  requestBodies:\n"
             "    B: {content: {application/json: {schema: {$ref: '#/components/schemas/Node'}}}}\n"
             "  schemas:\n"
             "    S: {type: string, enum: [x, y]}\n"
             "    Node:\n"
             "      type: object\n"
             "      properties:\n"
             "        value: {type: string}\n"
             "        children: {type: array, items: {$ref: '#/components/schemas/Node'}}\n");
    /* refs become shared definitions; a tool carries the ones it reaches */
    assert_json(json_object_get(json_object_get(tool(res, "a"), "input_schema"), "properties"),
                "{\"q\":{\"$ref\":\"#/$defs/S\"}}");
    json_t *defs = json_object_get(res, "defs");
    assert_json(json_object_get(defs, "S"), "{\"type\":\"string\",\"enum\":[\"x\",\"y\"]}");
    json_t *b = json_object_get(json_object_get(tool(res, "b"), "input_schema"), "properties");
    assert_json(json_object_get(b, "children"),
                "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/Node\"}}");
    assert_json(
        json_object_get(json_object_get(json_object_get(defs, "Node"), "properties"), "children"),
        "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/Node\"}}");
    json_t *view = tq_openapi_tool_view(tool(res, "a"), defs, -1);
    assert_json(json_object_get(json_object_get(view, "input_schema"), "$defs"),
                "{\"S\":{\"type\":\"string\",\"enum\":[\"x\",\"y\"]}}");
    json_decref(view);
    /* inlining is depth-bounded and cuts cycles */
    json_t *in = tq_openapi_inline(json_object_get(defs, "Node"), defs, 1);
    assert_json(json_object_get(json_object_get(in, "properties"), "children"),
                "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                "\"value\":{\"type\":\"string\"},\"children\":{\"type\":\"array\","
                "\"items\":{\"description\":\"(recursive: Node, not inlined)\"}}}}}");
    json_decref(in);
    json_decref(res);
}

static void test_ref_failures_cost_one_operation(void **state)
{
    (void)state;
    json_t *res = parse(HEAD "paths:\n"
                             "  /ok: {get: {operationId: ok}}\n"
                             "  /dangling:\n"
                             "    post:\n"
                             "      operationId: dangling\n"
                             "      requestBody: {content: {application/json: {schema: {$ref: "
                             "'#/components/schemas/Nope'}}}}\n"
                             "  /cycle:\n"
                             "    get:\n"
                             "      operationId: cycle\n"
                             "      parameters: [{$ref: '#/components/parameters/A'}]\n"
                             "  /remote:\n"
                             "    get:\n"
                             "      operationId: remote\n"
                             "      parameters: [{$ref: 'https://evil.test/p.yaml#/P'}]\n"
                             "  /file:\n"
                             "    get:\n"
                             "      operationId: file\n"
                             "      parameters: [{$ref: 'common.yaml#/Limit'}]\n"
                             "components:\n"
                             "  parameters:\n"
                             "    A: {$ref: '#/components/parameters/B'}\n"
                             "    B: {$ref: '#/components/parameters/A'}\n");
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 1);
    assert_json(json_object_get(res, "skipped"),
                "[\"POST /dangling\", \"GET /cycle\", \"GET /remote\", \"GET /file\"]");
    assert_true(has_warning(res, "ref_not_found", "Nope"));
    assert_true(has_warning(res, "ref_cycle", NULL));
    assert_true(has_warning(res, "remote_ref_refused", "evil.test"));
    assert_true(has_warning(res, "ref_not_found", "common.yaml"));
    json_decref(res);
}

static void test_relative_file_refs(void **state)
{
    (void)state;
    size_t len;
    char *common = read_data("common.yaml", &len);
    tq_openapi_opts_t opts;
    tq_openapi_opts_default(&opts);
    json_t *files = json_pack("{s:s}", "specs/common.yaml", common);
    opts.files = files;
    opts.document_path = "specs/api.yaml";
    json_t *res = parse_with(HEAD "paths:\n  /file:\n    get:\n      operationId: file\n"
                                  "      parameters: [{$ref: './sub/../common.yaml#/Limit'}]\n",
                             &opts);
    json_t *view = tq_openapi_inline(json_object_get(tool(res, "file"), "input_schema"),
                                     json_object_get(res, "defs"), 8);
    assert_json(json_object_get(view, "properties"),
                "{\"limit\":{\"type\":\"integer\",\"minimum\":1}}");
    json_decref(view);
    json_decref(res);
    json_decref(files);
    free(common);
}

/* Operation objects given by $ref in another file (issue 9): followed, with
 * their own relative refs; a missing one is skipped, one that reaches a
 * missing example is degraded. */
static void test_operation_refs(void **state)
{
    (void)state;
    const char *names[] = {"openapi.yaml",
                           "resources/items/list.yml",
                           "resources/items/create.yml",
                           "resources/items/item.yml",
                           "resources/items/get.yml",
                           "resources/items/degraded.yml",
                           "parameters/limit.yml",
                           "responses/items.yml",
                           "bodies/item.yml",
                           "schemas/item.yml",
                           NULL};
    json_t *files = json_object();
    char *entry = NULL;
    for (int i = 0; names[i]; i++) {
        char rel[256];
        size_t len;
        snprintf(rel, sizeof rel, "../multifile-oprefs/%s", names[i]);
        char *text = read_data(rel, &len);
        if (i == 0)
            entry = text;
        else {
            json_object_set_new(files, names[i], json_stringn(text, len));
            free(text);
        }
    }
    tq_openapi_opts_t opts;
    tq_openapi_opts_default(&opts);
    opts.files = files;
    opts.document_path = "openapi.yaml";
    json_t *res = parse_with(entry, &opts);
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 4);
    json_t *list = tool(res, "listItems");
    assert_string_equal(json_string_value(json_object_get(list, "summary")), "List items");
    assert_json(json_object_get(list, "input_schema"),
                "{\"type\":\"object\",\"properties\":{\"limit\":{\"type\":\"integer\","
                "\"minimum\":1},\"tag\":{\"type\":\"string\"}},\"required\":[\"limit\"]}");
    assert_json(
        json_object_get(json_object_get(tool(res, "createItem"), "input_schema"), "required"),
        "[\"name\"]");
    assert_json(json_object_get(json_object_get(tool(res, "getItem"), "input_schema"), "required"),
                "[\"id\"]");
    assert_non_null(tool(res, "getDegraded"));
    assert_json(json_object_get(res, "skipped"), "[\"GET /broken\"]");
    assert_json(json_object_get(res, "degraded"), "[\"GET /degraded\"]");
    assert_true(has_warning(res, "ref_not_found", "resources/missing.yml"));
    assert_true(has_warning(res, "ref_not_found", "examples/nope.yml"));
    json_decref(res);
    json_decref(files);
    free(entry);
}

/* F10: path keys that are URLs, relative, or hold dot segments are refused. */
static void test_unsafe_paths(void **state)
{
    (void)state;
    json_t *res = parse(HEAD "paths:\n"
                             "  /ok/..x/{id}.json: {get: {operationId: ok}}\n"
                             "  http://evil.example/x: {get: {operationId: url}}\n"
                             "  //evil.example/x: {get: {operationId: proto}}\n"
                             "  relative/x: {get: {operationId: rel}}\n"
                             "  '{host}/x': {get: {operationId: tmpl}}\n"
                             "  /a/%2e%2E/admin: {get: {operationId: enc}}\n"
                             "  /a/../admin: {get: {operationId: dots}}\n"
                             "  /a/./b: {get: {operationId: dot}}\n");
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 1);
    assert_non_null(tool(res, "ok"));
    assert_int_equal(json_array_size(json_object_get(res, "skipped")), 7);
    assert_true(has_warning(res, "unsafe_path", "%2e%2E"));
    assert_true(has_warning(res, "unsafe_path", "http://evil.example/x"));
    json_decref(res);
}

/* --- servers, ids, parameters, media types -------------------------------- */

static void test_servers(void **state)
{
    (void)state;
    const char *doc = "openapi: 3.1.0\ninfo: {title: t, version: 1}\n"
                      "servers:\n  - url: '{scheme}://{host}/api/'\n"
                      "    variables: {scheme: {default: https}, host: {default: h.test}}\n"
                      "paths:\n  /a: {get: {operationId: a}}\n"
                      "  /b:\n    servers: [{url: /rel}]\n    get: {operationId: b}\n";
    json_t *res = parse(doc);
    assert_string_equal(json_string_value(json_object_get(tool(res, "a"), "server_url")),
                        "https://h.test/api");
    assert_string_equal(json_string_value(json_object_get(tool(res, "b"), "server_url")), "/rel");
    assert_true(has_warning(res, "relative_server_url", "/rel"));
    json_decref(res);
    tq_openapi_opts_t opts;
    tq_openapi_opts_default(&opts);
    opts.document_url = "https://docs.test/specs/openapi.yaml";
    res = parse_with(doc, &opts);
    assert_string_equal(json_string_value(json_object_get(tool(res, "b"), "server_url")),
                        "https://docs.test/rel");
    json_decref(res);
    opts.server_url = "https://override.test/v2";
    res = parse_with(doc, &opts);
    assert_string_equal(json_string_value(json_object_get(tool(res, "b"), "server_url")),
                        "https://override.test/v2");
    json_decref(res);
}

static void test_operation_ids(void **state)
{
    (void)state;
    char out[TQ_OA_NAME_MAX + 1], again[TQ_OA_NAME_MAX + 1];
    tq_oa_opid_generate("get", "/", out);
    assert_string_equal(out, "get_root");
    tq_oa_opid_generate("get", "/api/resources", out);
    assert_string_equal(out, "get_api_resources");
    tq_oa_opid_generate("get", "/pets/{petId}/photo-urls", out);
    assert_string_equal(out, "get_pets_petId_photo_urls");
    const char *longp = "/very/long/path/with/many/segments/that/goes/on/and/on/and/on/forever/x";
    tq_oa_opid_generate("get", longp, out);
    tq_oa_opid_generate("get", longp, again);
    assert_int_equal(strlen(out), 64);
    assert_string_equal(out, again);
    tq_oa_opid_generate(
        "get", "/very/long/path/with/many/segments/that/goes/on/and/on/and/on/forever/y", again);
    assert_int_equal(strlen(again), 64);
    assert_string_not_equal(out, again);
    json_t *res = parse(HEAD "paths:\n"
                             "  /:\n    get: {}\n"
                             "  /api/resources:\n    get: {}\n"
                             "  /x:\n    get: {operationId: dup}\n    post: {operationId: dup}\n"
                             "  /y:\n    get: {operationId: get_api_resources}\n"
                             "  /z:\n    get: {operationId: 'list pets!'}\n");
    json_t *tools = json_object_get(res, "tools");
    const char *want[] = {"get_root", "get_api_resources_2", "dup",
                          "dup_2",    "get_api_resources",   "list_pets"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(tools, i), "operation_id")), want[i]);
    assert_true(has_warning(res, "duplicate_operation_id", "dup"));
    assert_true(has_warning(res, "missing_summary", NULL));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(tools, 5), "original_operation_id")),
        "list pets!");
    json_decref(res);
}

static void test_parameters(void **state)
{
    (void)state;
    json_t *res =
        parse(HEAD "paths:\n"
                   "  /items/{id}:\n"
                   "    parameters:\n"
                   "      - {name: id, in: path, required: true, schema: {type: string}}\n"
                   "      - {name: v, in: query, schema: {type: string}}\n"
                   "    put:\n"
                   "      operationId: put\n"
                   "      parameters:\n"
                   "        - {name: v, in: query, schema: {type: integer}}\n"
                   "        - {name: id, in: query, schema: {type: integer}}\n"
                   "        - {name: X-Trace, in: header, schema: {type: string}}\n"
                   "        - {name: f, in: query, style: deepObject, explode: true,"
                   " schema: {type: object, properties: {a: {type: string}}}}\n"
                   "        - {name: bad, in: body}\n"
                   "        - {name: X-Trace, in: header, schema: {type: string}}\n"
                   "      requestBody:\n"
                   "        content:\n"
                   "          application/xml: {schema: {type: object}}\n"
                   "          application/x-www-form-urlencoded: {schema: {type: object,"
                   " properties: {id: {type: string}}}}\n"
                   "          application/json; charset=utf-8: {schema: {type: object,"
                   " properties: {id: {type: string}}}}\n");
    json_t *t = tool(res, "put");
    json_t *params = json_object_get(t, "parameters");
    assert_int_equal(json_array_size(params), 6);
    /* Path-level v overridden by the operation's. */
    assert_json(
        json_object_get(json_object_get(json_object_get(t, "input_schema"), "properties"), "v"),
        "{\"type\":\"integer\"}");
    assert_json(json_array_get(params, 2), "{\"name\":\"query_id\",\"original_name\":\"id\","
                                           "\"in\":\"query\",\"required\":false,\"style\":\"form\","
                                           "\"explode\":true,\"allow_reserved\":false}");
    assert_json(json_array_get(params, 4), "{\"name\":\"f\",\"in\":\"query\",\"required\":false,"
                                           "\"style\":\"deepObject\",\"explode\":true,"
                                           "\"allow_reserved\":false}");
    /* JSON with charset chosen; its "id" collides, so the body stays one argument. */
    assert_json(json_object_get(t, "request_body"),
                "{\"media_type\":\"application/json; charset=utf-8\",\"required\":false,"
                "\"hoisted\":false,\"argument\":\"body\"}");
    assert_json(json_array_get(params, 5), "{\"name\":\"body\",\"in\":\"body\",\"required\":false,"
                                           "\"content_type\":\"application/json; charset=utf-8\"}");
    assert_true(has_warning(res, "unsupported_parameter_location", "bad"));
    assert_true(has_warning(res, "duplicate_parameter", "X-Trace"));
    json_decref(res);
}

static void test_media_preference(void **state)
{
    (void)state;
    json_t *res =
        parse(HEAD "paths:\n  /a:\n    post:\n      operationId: a\n"
                   "      requestBody:\n        content:\n"
                   "          multipart/form-data: {schema: {type: object}}\n"
                   "          application/x-www-form-urlencoded: {schema: {type: object,"
                   " properties: {n: {type: string}}}}\n"
                   "  /b:\n    post:\n      operationId: b\n"
                   "      requestBody:\n        content:\n"
                   "          text/plain: {schema: {type: string}}\n"
                   "          application/vnd.api+json: {schema: {type: array, items: {}}}\n"
                   "  /c:\n    post:\n      operationId: c\n"
                   "      requestBody:\n        required: true\n        content:\n"
                   "          application/octet-stream: {}\n");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(tool(res, "a"), "request_body"), "media_type")),
                        "application/x-www-form-urlencoded");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(tool(res, "b"), "request_body"), "media_type")),
                        "application/vnd.api+json");
    assert_json(json_object_get(tool(res, "c"), "input_schema"),
                "{\"type\":\"object\",\"required\":[\"body\"],\"properties\":{\"body\":"
                "{\"type\":\"string\",\"format\":\"binary\"}}}");
    json_decref(res);
}

static void test_schema_keywords(void **state)
{
    (void)state;
    json_t *res = parse(HEAD "paths:\n  /a:\n    post:\n      operationId: a\n"
                             "      requestBody:\n        content:\n          application/json:\n"
                             "            schema:\n"
                             "              type: object\n"
                             "              properties:\n"
                             "                n: {type: number, nullable: true, minimum: 0,"
                             " exclusiveMinimum: true}\n"
                             "                u: {oneOf: [{type: string}, {type: integer}]}\n"
                             "                m: {allOf: [{type: object, properties: {x: {type:"
                             " string}}, required: [x]}, {properties: {y: {type: integer}}}]}\n"
                             "                extra: {type: object, additionalProperties: {type:"
                             " string}}\n");
    assert_json(json_object_get(json_object_get(tool(res, "a"), "input_schema"), "properties"),
                "{\"n\":{\"type\":[\"number\",\"null\"],\"exclusiveMinimum\":0},"
                "\"u\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]},"
                "\"m\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"},"
                "\"y\":{\"type\":\"integer\"}},\"required\":[\"x\"]},"
                "\"extra\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}}");
    json_decref(res);
}

/* --- malformed battery ------------------------------------------------------ */

static void test_malformed(void **state)
{
    (void)state;
    const char *bad_json = "{\"openapi\": \"3.0.0\", \"info\": {]}";
    parse_fail(bad_json, strlen(bad_json), "invalid_document", "line 1");
    parse_fail("openapi: 3.0.0\ninfo: [\n", 23, "invalid_document", "line");
    const char *bomb =
        "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
    parse_fail(bomb, strlen(bomb), "document_alias_bomb", NULL);
    char *deep = malloc(20002);
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    deep[20000] = '\0';
    parse_fail(deep, 20000, "document_too_deep", NULL);
    free(deep);
    parse_fail("[1, 2]", 6, "invalid_schema", "found an array");
    parse_fail("\"just a string\"", 15, "invalid_schema", "found a string");
    parse_fail("just a string", 13, "invalid_schema", "found a string");
    parse_fail("openapi: 4.0\ninfo: {}\npaths: {}\n", 31, "invalid_schema", "openapi: 4.0");
    parse_fail("swagger: '1.2'\ninfo: {}\npaths: {}\n", 33, "invalid_schema", "swagger: 1.2");
    parse_fail("openapi: 3.0.0\npaths: {}\n", 24, "invalid_schema", "info");
    parse_fail("openapi: 3.0.0\ninfo: {title: t}\n", 31, "invalid_schema", "paths");
    parse_fail("swagger: '2.0'\ninfo: {title: t}\n", 31, "invalid_schema", "paths");
    parse_fail("openapi: 3.0.0\ninfo: {title: t}\npaths: [1]\n", 42, "invalid_schema",
               "found an array");
    parse_fail("openapi: 3.0.0\ninfo: 5\npaths: {}\n", 32, "invalid_schema", "info");
    parse_fail("{\"kind\": \"Pod\"}", 15, "invalid_schema", "expected an OpenAPI 3.x");
    /* Wrong types inside: warnings, not crashes. */
    json_t *res = parse(HEAD "paths:\n  /a: 5\n  /b: {get: 7, post: {operationId: p,"
                             " parameters: [3, {name: x}], requestBody: {content: 9},"
                             " responses: [1]}}\n");
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 1);
    assert_true(has_warning(res, "invalid_path_item", NULL));
    assert_true(has_warning(res, "invalid_operation", NULL));
    assert_true(has_warning(res, "invalid_parameter", NULL));
    json_decref(res);
    /* Circular refs everywhere: imports, cut. */
    res = parse(HEAD "paths:\n  /a:\n    post:\n      operationId: a\n"
                     "      requestBody: {content: {application/json: {schema: {$ref: "
                     "'#/components/schemas/A'}}}}\n"
                     "components:\n  schemas:\n"
                     "    A: {type: object, properties: {b: {$ref: '#/components/schemas/B'}}}\n"
                     "    B: {type: object, properties: {a: {$ref: '#/components/schemas/A'}},"
                     " allOf: [{$ref: '#/components/schemas/B'}]}\n");
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 1);
    json_decref(res);
    /* 40 MiB */
    size_t big = (size_t)40 * 1024 * 1024;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, "{\"openapi\": \"3.0.0\"}", 20);
    huge[big] = '\0';
    parse_fail(huge, big, "document_too_large", "import.max_document_bytes");
    free(huge);
}

static void test_webhooks_only(void **state)
{
    (void)state;
    json_t *res = parse("openapi: 3.1.0\ninfo: {title: t, version: '1'}\n"
                        "webhooks:\n  ping: {post: {responses: {'200': {description: ok}}}}\n");
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 0);
    assert_true(has_warning(res, "no_operations", NULL));
    json_decref(res);
}

/* --- plugin, filters, function form ----------------------------------------- */

static void test_plugin_manifest(void **state)
{
    (void)state;
    size_t l1, l2;
    char *manifest = read_data("plugin-manifest.json", &l1);
    char *doc = read_data("petstore-3.0.yaml", &l2);
    json_t *out = NULL;
    tq_error_t err = {0};
    assert_int_equal(tq_openapi_parse(manifest, l1, NULL, &out, &err), -1);
    assert_string_equal(err.code, "invalid_schema");
    assert_non_null(strstr(err.message, "was not supplied"));
    tq_openapi_opts_t opts;
    tq_openapi_opts_default(&opts);
    json_t *files = json_pack("{s:s}", "https://petstore.example.com/openapi.yaml", doc);
    opts.files = files;
    json_t *res = parse_with(manifest, &opts);
    assert_string_equal(json_string_value(json_object_get(res, "schema_type")), "openai_plugin");
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 5);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(res, "plugin"), "name_for_model")),
        "pets");
    json_decref(res);
    json_decref(files);
    const char *other = "{\"api\": {\"type\": \"graphql\", \"url\": \"x\"}}";
    parse_fail(other, strlen(other), "invalid_schema", "graphql");
    free(manifest);
    free(doc);
}

static void test_filters(void **state)
{
    (void)state;
    size_t len;
    char *text = read_data("petstore-3.0.yaml", &len);
    tq_openapi_opts_t opts;
    tq_openapi_opts_default(&opts);
    json_t *f = json_pack("{s:[s]}", "exclude_tags", "admin");
    opts.filter = f;
    json_t *res = parse_with(text, &opts);
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 4);
    json_decref(res);
    json_decref(f);
    f = json_pack("{s:[s],s:[s]}", "include_paths", "/pets/*", "methods", "GET");
    opts.filter = f;
    res = parse_with(text, &opts);
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 1);
    tool(res, "showPetById");
    json_decref(res);
    json_decref(f);
    f = json_pack("{s:[s]}", "exclude_operation_ids", "createPet");
    opts.filter = f;
    res = parse_with(text, &opts);
    assert_int_equal(json_array_size(json_object_get(res, "tools")), 4);
    json_decref(res);
    json_decref(f);
    f = json_pack("{s:s}", "tags", "x");
    opts.filter = f;
    json_t *out = NULL;
    tq_error_t err = {0};
    assert_int_equal(tq_openapi_parse(text, len, &opts, &out, &err), -1);
    assert_string_equal(err.code, "invalid_filter");
    json_decref(f);
    free(text);
}

static void test_functions(void **state)
{
    (void)state;
    size_t len;
    char *text = read_data("petstore-3.0.yaml", &len);
    json_t *res = parse(text);
    json_t *tools = json_object_get(res, "tools");
    /* A long description, cut on a character boundary. */
    json_t *first = json_array_get(tools, 0);
    char desc[3000] = "";
    for (int i = 0; i < 600; i++)
        strcat(desc, "\xC3\xA9t");
    json_object_set_new(first, "description", json_string(desc));
    json_t *providers = json_pack("[{s:s,s:O},{s:s,s:O}]", "provider", "pets", "tools", tools,
                                  "provider", "pets copy", "tools", tools);
    tq_openapi_fn_opts_t fo;
    tq_openapi_fn_opts_default(&fo);
    tq_error_t err = {0};
    json_t *fns = tq_openapi_functions(providers, &fo, &err);
    assert_non_null(fns);
    json_t *list = json_object_get(fns, "tools");
    assert_int_equal(json_array_size(list), 10);
    json_t *fn = json_object_get(json_array_get(list, 0), "function");
    assert_string_equal(json_string_value(json_object_get(fn, "name")), "pets_listPets");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(list, 5), "function"), "name")),
                        "pets_copy_listPets");
    const char *d = json_string_value(json_object_get(fn, "description"));
    assert_int_equal(strlen(d), 1024 / 2 * 3);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(fns, "names"), "pets_copy_listPets"), "provider")),
        "pets copy");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(list, 1), "function"), "description")),
                        "Create a pet");
    json_decref(fns);
    /* One provider: no prefix unless asked. */
    json_t *one = json_pack("[{s:s,s:O}]", "provider", "pets", "tools", tools);
    fns = tq_openapi_functions(one, &fo, &err);
    fn = json_object_get(json_array_get(json_object_get(fns, "tools"), 0), "function");
    assert_string_equal(json_string_value(json_object_get(fn, "name")), "listPets");
    json_decref(fns);
    fo.prefix = TQ_OPENAPI_PREFIX_ALWAYS;
    json_t *filter = json_pack("{s:[s]}", "operation_ids", "createPet");
    fo.filter = filter;
    fns = tq_openapi_functions(one, &fo, &err);
    assert_int_equal(json_array_size(json_object_get(fns, "tools")), 1);
    fn = json_object_get(json_array_get(json_object_get(fns, "tools"), 0), "function");
    assert_string_equal(json_string_value(json_object_get(fn, "name")), "pets_createPet");
    json_decref(fns);
    json_decref(filter);
    json_decref(one);
    json_decref(providers);
    assert_null(tq_openapi_functions(json_object_get(res, "title"), &fo, &err));
    assert_string_equal(err.code, "invalid_argument");
    json_decref(res);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_petstore_editions_equal),
        cmocka_unit_test(test_petstore_exact_schemas),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_ref_failures_cost_one_operation),
        cmocka_unit_test(test_relative_file_refs),
        cmocka_unit_test(test_operation_refs),
        cmocka_unit_test(test_unsafe_paths),
        cmocka_unit_test(test_servers),
        cmocka_unit_test(test_operation_ids),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_media_preference),
        cmocka_unit_test(test_schema_keywords),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_webhooks_only),
        cmocka_unit_test(test_plugin_manifest),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

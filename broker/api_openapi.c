/* api_openapi.c — the OpenAPI 3.1 description of the /v1 API (api.h,
 * tq_api_openapi), served at GET /v1/openapi.json. Generated: the routes are
 * a table here (they mirror api.c's router), the ops POST /v1/jobs accepts
 * and the roles they need come from the op catalogue (common/ops.def), the
 * error codes of the problem schema from the error registry's classes.
 * toolq can import this description as a provider of its own (the test
 * test_api.sh does, and calls GET /v1/tools through it).
 * Owns nothing at run time. Must never: describe a route api.c does not
 * serve. */
#include "api.h"

#include "opcat.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *ref(const char *name)
{
    char r[128];
    snprintf(r, sizeof r, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", r);
}

static json_t *json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

/* Responses: the success status with its schema, and the problem for errors. */
static json_t *responses(const char *ok, const char *desc, json_t *schema)
{
    json_t *r = json_object();
    json_object_set_new(r, ok,
                        json_pack("{s:s,s:o}", "description", desc, "content",
                                  json_content(schema ? schema : json_object())));
    json_object_set_new(r, "default",
                        json_pack("{s:s,s:{s:{s:o}}}", "description",
                                  "an error: RFC 9457 problem details with toolq's code", "content",
                                  "application/problem+json", "schema", ref("Problem")));
    return r;
}

static json_t *param(const char *name, const char *in, bool required, const char *desc)
{
    return json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", name, "in", in, "required", required,
                     "description", desc, "schema", "type", "string");
}

static json_t *body(json_t *schema, bool required)
{
    return json_pack("{s:b,s:o}", "required", required, "content", json_content(schema));
}

static void op(json_t *paths, const char *path, const char *method, const char *id,
               const char *summary, json_t *params, json_t *req, json_t *resp)
{
    json_t *item = json_object_get(paths, path);
    if (!item) {
        item = json_object();
        json_object_set_new(paths, path, item);
    }
    json_t *o =
        json_pack("{s:s,s:s,s:o}", "operationId", id, "summary", summary, "responses", resp);
    if (params) json_object_set_new(o, "parameters", params);
    if (req) json_object_set_new(o, "requestBody", req);
    json_object_set_new(item, method, o);
}

static json_t *any_object(const char *desc)
{
    return json_pack("{s:s,s:s}", "type", "object", "description", desc);
}

char *tq_api_openapi(const char *server)
{
    json_t *paths = json_object();
    size_t nops = 0;
    const tq_opinfo_t *ops = tq_opcat_all(&nops);
    json_t *names = json_array(), *roles = json_object();
    for (size_t i = 0; i < nops; i++) {
        if (ops[i].flags & TQ_OPF_TEST) continue;
        json_array_append_new(names, json_string(ops[i].name));
        json_object_set_new(roles, ops[i].name,
                            json_pack("{s:s,s:s,s:b}", "role", tq_role_name(ops[i].role), "doc",
                                      ops[i].doc, "read_only",
                                      (ops[i].flags & TQ_OPF_READ_ONLY) != 0));
    }
    json_t *idem = param("Idempotency-Key", "header", false,
                         "per tenant: a second submit with the same key returns the first job");
    json_t *prefer = param("Prefer", "header", false,
                           "wait=N: wait up to N seconds (http.max_wait_s) for the outcome");
    op(paths, "/v1/jobs", "post", "submitJob", "submit a job (any op of the catalogue)",
       json_pack("[o,o]", idem, prefer),
       body(json_pack("{s:s,s:[s],s:{s:{s:s,s:o},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s}}}", "type",
                      "object", "required", "op", "properties", "op", "type", "string", "enum",
                      names, "payload", "type", "object", "tenant", "type", "string",
                      "max_attempts", "type", "integer", "priority", "type", "integer",
                      "timeout_ms", "type", "integer"),
            true),
       responses("200", "the job, ended (with Prefer: wait); 202 while open", ref("Job")));
    json_t *id = param("id", "path", true, "the job id");
    op(paths, "/v1/jobs/{id}", "get", "getJob", "a job; ?wait=N long-polls until it ends",
       json_pack("[o,o]", json_incref(id),
                 param("wait", "query", false, "seconds to wait for the job to end")),
       NULL, responses("200", "the job", ref("Job")));
    op(paths, "/v1/jobs/{id}", "delete", "cancelJob", "cancel a queued or running job",
       json_pack("[o]", id), NULL, responses("200", "the job, cancelled", ref("Job")));
    op(paths, "/v1/providers", "get", "listProviders", "the tenant's providers", NULL, NULL,
       responses("200", "providers", any_object("{providers: [...]}")));
    op(paths, "/v1/providers", "post", "importProvider",
       "import an API document as a provider (the body is the document; or multipart with "
       "several files, the first the entry)",
       json_pack("[o,o]", param("name", "query", false, "provider name (default info.title)"),
                 param("server_url", "query", false, "base URL of the API")),
       json_pack("{s:b,s:{s:{s:{s:s}},s:{s:{s:s}},s:{s:{s:s}}}}", "required", 1, "content",
                 "application/json", "schema", "type", "object", "application/yaml", "schema",
                 "type", "string", "multipart/form-data", "schema", "type", "object"),
       responses("201", "the imported provider", any_object("{id, name, tools, warnings}")));
    json_t *name = param("name", "path", true, "provider name");
    op(paths, "/v1/providers/{name}", "get", "getProvider", "one provider (credentials masked)",
       json_pack("[o]", json_incref(name)), NULL, responses("200", "the provider", NULL));
    op(paths, "/v1/providers/{name}", "put", "updateProvider", "replace a provider's document",
       json_pack("[o]", json_incref(name)),
       json_pack("{s:b,s:{s:{s:{s:s}},s:{s:{s:s}}}}", "required", 1, "content", "application/json",
                 "schema", "type", "object", "application/yaml", "schema", "type", "string"),
       responses("200", "the updated provider", NULL));
    op(paths, "/v1/providers/{name}", "delete", "deleteProvider", "delete a provider",
       json_pack("[o]", name), NULL, responses("200", "deleted", NULL));
    op(paths, "/v1/tools", "get", "listTools", "the tenant's tools (toolq bundles or OpenAI form)",
       json_pack("[o,o,o,o,o,o,o,o]", param("format", "query", false, "toolq (default) or openai"),
                 param("provider", "query", false, "one provider"),
                 param("include_tags", "query", false, "comma list"),
                 param("exclude_tags", "query", false, "comma list"),
                 param("methods", "query", false, "comma list"),
                 param("prefix", "query", false, "on_collision, always or never"),
                 param("limit", "query", false, "page size (1..1000); pages have next_cursor"),
                 param("cursor", "query", false, "next_cursor of the previous page")),
       NULL, responses("200", "tools", any_object("{tools: [...], next_cursor?}")));
    op(paths, "/v1/providers/{provider}/tools/{tool}:invoke", "post", "invokeTool",
       "call one tool; the body is its arguments",
       json_pack("[o,o,o]", param("provider", "path", true, "provider name"),
                 param("tool", "path", true, "tool name"),
                 param("credential", "query", false, "a named credential to use")),
       body(any_object("the tool's arguments"), false),
       responses("200", "the call's structured result", NULL));
    op(paths, "/v1/credentials", "get", "listCredentials", "named credentials (masked)", NULL, NULL,
       responses("200", "credentials", NULL));
    op(paths, "/v1/credentials", "post", "createCredential", "store a named credential", NULL,
       body(any_object("{name, type, plugin?, fields}"), true),
       responses("201", "the credential (masked)", NULL));
    json_t *cname = param("name", "path", true, "credential name");
    op(paths, "/v1/credentials/{name}", "get", "getCredential", "one credential (masked)",
       json_pack("[o]", json_incref(cname)), NULL, responses("200", "the credential", NULL));
    op(paths, "/v1/credentials/{name}", "delete", "deleteCredential", "delete a credential",
       json_pack("[o]", cname), NULL, responses("200", "deleted", NULL));
    op(paths, "/v1/oauth/authorize", "post", "authorizeOAuth",
       "start an OAuth authorization (returns the start URL)", NULL,
       body(any_object("{plugin, provider?, credential_name?, scopes?, headless?}"), true),
       responses("200", "{start_url, ...}", NULL));
    op(paths, "/v1/whoami", "get", "whoami", "the principal of this API key", NULL, NULL,
       responses("200", "{principal, role, tenant, key_id}", NULL));
    op(paths, "/v1/openapi.json", "get", "getOpenAPI", "this description", NULL, NULL,
       responses("200", "OpenAPI 3.1", NULL));

    json_t *doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:[{s:[]}],s:o,s:{s:{s:{s:s,s:s}},s:{s:o,s:o}},s:o}",
        "openapi", "3.1.0", "info", "title", "toolq", "version", "1", "description",
        "toolq's HTTP API: jobs, providers, tools, tool calls, credentials (docs/api.md)",
        "servers", "url", server, "security", "bearer", "paths", paths, "components",
        "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "schemas", "Job",
        json_pack("{s:s,s:[s,s],s:{s:{s:s},s:{s:s},s:{s:s,s:[s,s,s,s,s,s]},s:{s:s},s:{},s:{}}}",
                  "type", "object", "required", "id", "state", "properties", "id", "type", "string",
                  "op", "type", "string", "state", "type", "string", "enum", "queued", "running",
                  "succeeded", "failed", "dead", "cancelled", "attempts", "type", "integer",
                  "result", "error"),
        "Problem",
        json_pack("{s:s,s:[s,s],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s}}}", "type",
                  "object", "required", "code", "status", "properties", "type", "type", "string",
                  "title", "type", "string", "status", "type", "integer", "detail", "type",
                  "string", "code", "type", "string", "job", "type", "string"),
        "x-toolq-ops", roles);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

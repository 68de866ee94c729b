/* test_oauth_plugins.c — the OAuth plugins (oauth2, github, google, slack,
 * notion, microsoft) loaded as built, through the host bridge
 * (worker/oauth/oauth_plugin.h): authorization URLs (PKCE, scope
 * separators, fixed extra parameters, tenant in the URL), token requests
 * (client_secret_basic form-encoded before base64 per RFC 6749 §2.3.1,
 * client_secret_post, JSON body), parsing of each provider's documented
 * token responses and errors (errors in HTTP 200, nested Slack user tokens,
 * form-encoded GitHub answers), discovery, revocation, apply_auth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "oauth/oauth_plugin.h"
#include "plugin/plugin_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tq_plugin_host_t *s_host;

static int load_host(void **state)
{
    (void)state;
    const char *path = getenv("TOOLQ_PLUGIN_PATH");
    if (!path || !*path) return -1;
    s_host = tq_plugin_host_new(path);
    return s_host ? 0 : -1;
}

static int unload_host(void **state)
{
    (void)state;
    tq_plugin_host_destroy(&s_host);
    return 0;
}

static const tq_plugin_t *plugin(const char *id)
{
    const tq_plugin_t *p = tq_plugin_host_find(s_host, id);
    assert_non_null(p);
    assert_true(tq_oauth_plugin_supported(p));
    return p;
}

/* defaults merged under the given params (what the worker does). */
static json_t *merged(const tq_plugin_t *p, json_t *params)
{
    tq_error_t err = {0};
    json_t *d = tq_oauth_plugin_defaults(p, params, &err);
    assert_non_null(d);
    json_object_update(d, params);
    json_decref(params);
    return d;
}

static json_t *parse(const tq_plugin_t *p, int status, const char *body)
{
    tq_error_t err = {0};
    json_t *o = tq_oauth_plugin_parse_token(p, status, NULL, 0, body, strlen(body), &err);
    assert_non_null(o);
    return o;
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *header(const tq_httpc_request_t *r, const char *name)
{
    return tq_httpc_request_header(r, name);
}

static void test_generic_authorize_and_basic_auth(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("oauth2");
    json_t *params = merged(
        p, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "client_id", "my client",
                     "client_secret", "p@ss:w/rd", "authorize_url", "https://as.example/auth?x=1",
                     "token_url", "https://as.example/token", "redirect_uri",
                     "http://127.0.0.1:8765/oauth/callback", "scope", "openid offline_access",
                     "state", "abc", "code_challenge", "CH", "code_challenge_method", "S256"));
    tq_error_t err = {0};
    char *url = tq_oauth_plugin_authorize_url(p, params, &err);
    assert_non_null(url);
    assert_string_equal(url, "https://as.example/auth?x=1&response_type=code&client_id=my%20client"
                             "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Foauth%2Fcallback"
                             "&state=abc&code_challenge=CH&code_challenge_method=S256"
                             "&scope=openid%20offline_access");
    free(url);
    json_object_set_new(params, "grant_type", json_string("authorization_code"));
    json_object_set_new(params, "code", json_string("c0de"));
    json_object_set_new(params, "code_verifier", json_string("v"));
    json_object_set_new(params, "token_auth_method", json_string("client_secret_basic"));
    tq_httpc_request_t *r = tq_oauth_plugin_token_request(p, params, &err);
    assert_non_null(r);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "https://as.example/token");
    /* base64("my%20client:p%40ss%3Aw%2Frd") */
    assert_string_equal(header(r, "authorization"), "Basic bXklMjBjbGllbnQ6cCU0MHNzJTNBdyUyRnJk");
    assert_string_equal(header(r, "content-type"), "application/x-www-form-urlencoded");
    assert_string_equal((char *)r->body, "grant_type=authorization_code&code=c0de&redirect_uri="
                                         "http%3A%2F%2F127.0.0.1%3A8765%2Foauth%2Fcallback"
                                         "&code_verifier=v");
    tq_httpc_request_destroy(&r);
    /* client_secret_post: both in the body, no Authorization */
    json_object_set_new(params, "token_auth_method", json_string("client_secret_post"));
    json_object_set_new(params, "grant_type", json_string("refresh_token"));
    json_object_set_new(params, "refresh_token", json_string("rt1"));
    r = tq_oauth_plugin_token_request(p, params, &err);
    assert_non_null(r);
    assert_null(header(r, "authorization"));
    assert_non_null(strstr((char *)r->body, "client_secret=p%40ss%3Aw%2Frd"));
    assert_non_null(strstr((char *)r->body, "grant_type=refresh_token&refresh_token=rt1"));
    tq_httpc_request_destroy(&r);
    json_decref(params);
}

static void test_generic_parse(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("oauth2");
    json_t *o = parse(p, 200,
                      "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":120,"
                      "\"refresh_token\":\"rt\",\"scope\":\"openid offline_access\"}");
    assert_string_equal(s(o, "access_token"), "at");
    assert_string_equal(s(o, "expires_in"), "120");
    assert_string_equal(s(o, "refresh_token"), "rt");
    assert_string_equal(s(o, "scope"), "openid offline_access");
    json_decref(o);
    o = parse(p, 400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}");
    assert_string_equal(s(o, "error"), "invalid_grant");
    assert_null(s(o, "access_token"));
    json_decref(o);
    o = parse(p, 503, "<html>down</html>");
    assert_string_equal(s(o, "error"), "temporarily_unavailable");
    json_decref(o);
    o = parse(p, 200, "{\"token_type\":\"Bearer\"}");
    assert_string_equal(s(o, "error"), "invalid_token_response");
    json_decref(o);
}

static void test_discovery(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("oauth2");
    tq_error_t err = {0};
    json_t *params = json_pack("{s:s}", "issuer", "https://as.example/tenant1/");
    json_t *urls = tq_oauth_plugin_discovery_urls(p, params, &err);
    assert_non_null(urls);
    assert_string_equal(json_string_value(json_array_get(urls, 0)),
                        "https://as.example/tenant1/.well-known/openid-configuration");
    assert_string_equal(json_string_value(json_array_get(urls, 1)),
                        "https://as.example/.well-known/oauth-authorization-server/tenant1");
    json_decref(urls);
    json_decref(params);
    const char *doc = "{\"issuer\":\"http://127.0.0.1:9400\",\"authorization_endpoint\":"
                      "\"http://127.0.0.1:9400/auth\",\"token_endpoint\":\"http://127.0.0.1:9400/"
                      "token\",\"revocation_endpoint\":\"http://127.0.0.1:9400/token/revocation\","
                      "\"authorization_response_iss_parameter_supported\":true,"
                      "\"code_challenge_methods_supported\":[\"S256\"],"
                      "\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\","
                      "\"client_secret_post\",\"none\"]}";
    json_t *d = tq_oauth_plugin_parse_discovery(p, 200, doc, strlen(doc), &err);
    assert_non_null(d);
    assert_string_equal(s(d, "token_url"), "http://127.0.0.1:9400/token");
    assert_string_equal(s(d, "authorize_url"), "http://127.0.0.1:9400/auth");
    assert_string_equal(s(d, "revocation_url"), "http://127.0.0.1:9400/token/revocation");
    assert_string_equal(s(d, "iss_parameter_supported"), "1");
    assert_string_equal(s(d, "pkce"), "S256");
    assert_string_equal(s(d, "token_auth_methods"), "client_secret_basic client_secret_post none");
    json_decref(d);
    assert_null(tq_oauth_plugin_parse_discovery(p, 404, "", 0, &err));
}

static void test_github(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("github");
    tq_error_t err = {0};
    json_t *params =
        merged(p, json_pack("{s:s,s:s,s:s,s:s}", "client_id", "Iv1.abc", "client_secret", "sec",
                            "scope", "repo read:user", "state", "st"));
    char *url = tq_oauth_plugin_authorize_url(p, params, &err);
    assert_non_null(url);
    assert_non_null(strstr(url, "https://github.com/login/oauth/authorize?"));
    assert_non_null(strstr(url, "scope=repo%2Cread%3Auser")); /* comma-separated */
    free(url);
    json_object_set_new(params, "grant_type", json_string("authorization_code"));
    json_object_set_new(params, "code", json_string("c"));
    tq_httpc_request_t *r = tq_oauth_plugin_token_request(p, params, &err);
    assert_non_null(r);
    assert_string_equal(header(r, "accept"), "application/json");
    assert_non_null(strstr((char *)r->body, "client_secret=sec"));
    tq_httpc_request_destroy(&r);
    /* errors arrive with HTTP 200 */
    json_t *o =
        parse(p, 200,
              "{\"error\":\"bad_verification_code\",\"error_description\":\"The code "
              "passed is incorrect or expired.\",\"error_uri\":\"https://docs.github.com\"}");
    assert_string_equal(s(o, "error"), "invalid_grant");
    assert_string_equal(s(o, "provider_error"), "bad_verification_code");
    json_decref(o);
    o = parse(p, 200, "{\"error\":\"bad_refresh_token\"}");
    assert_string_equal(s(o, "error"), "invalid_grant");
    json_decref(o);
    /* OAuth App: no expiry, comma scopes */
    o = parse(p, 200,
              "{\"access_token\":\"gho_16C7e42F292c6912E7710c838347Ae178B4a\","
              "\"scope\":\"repo,gist\",\"token_type\":\"bearer\"}");
    assert_string_equal(s(o, "scope"), "repo gist");
    assert_null(s(o, "expires_in"));
    assert_null(s(o, "refresh_token"));
    json_decref(o);
    /* GitHub App user token: expiring + rotating refresh token */
    o = parse(p, 200,
              "{\"access_token\":\"ghu_x\",\"expires_in\":28800,\"refresh_token\":"
              "\"ghr_y\",\"refresh_token_expires_in\":15811200,\"scope\":\"\","
              "\"token_type\":\"bearer\"}");
    assert_string_equal(s(o, "expires_in"), "28800");
    assert_string_equal(s(o, "refresh_token_expires_in"), "15811200");
    json_decref(o);
    /* without Accept: application/json GitHub answers form-encoded */
    o = parse(p, 200, "access_token=gho_abc&scope=repo%2Cgist&token_type=bearer");
    assert_string_equal(s(o, "access_token"), "gho_abc");
    assert_string_equal(s(o, "scope"), "repo gist");
    json_decref(o);
    /* revocation: DELETE /applications/{client_id}/grant, Basic auth */
    json_object_set_new(params, "token", json_string("gho_abc"));
    json_object_set_new(params, "token_type_hint", json_string("access_token"));
    r = tq_oauth_plugin_revoke_request(p, params, &err);
    assert_non_null(r);
    assert_string_equal(r->method, "DELETE");
    assert_string_equal(r->url, "https://api.github.com/applications/Iv1.abc/grant");
    assert_non_null(header(r, "authorization"));
    assert_string_equal((char *)r->body, "{\"access_token\":\"gho_abc\"}");
    tq_httpc_request_destroy(&r);
    json_decref(params);
}

static void test_google(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("google");
    tq_error_t err = {0};
    json_t *params =
        merged(p, json_pack("{s:s,s:s,s:s}", "client_id", "id.apps.googleusercontent.com",
                            "client_secret", "sec", "state", "st"));
    char *url = tq_oauth_plugin_authorize_url(p, params, &err);
    assert_non_null(url);
    assert_non_null(strstr(url, "https://accounts.google.com/o/oauth2/v2/auth?"));
    assert_non_null(strstr(url, "access_type=offline"));
    assert_non_null(strstr(url, "prompt=consent"));
    free(url);
    /* refresh response without refresh_token (Google does not rotate) */
    json_t *o = parse(p, 200,
                      "{\"access_token\":\"ya29.a0\",\"expires_in\":3599,\"scope\":"
                      "\"https://www.googleapis.com/auth/drive.metadata.readonly openid\","
                      "\"token_type\":\"Bearer\"}");
    assert_null(s(o, "refresh_token"));
    assert_string_equal(s(o, "expires_in"), "3599");
    json_decref(o);
    o = parse(p, 400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been "
              "expired or revoked.\"}");
    assert_string_equal(s(o, "error"), "invalid_grant");
    json_decref(o);
    json_object_set_new(params, "token", json_string("1//rt"));
    tq_httpc_request_t *r = tq_oauth_plugin_revoke_request(p, params, &err);
    assert_non_null(r);
    assert_string_equal(r->url, "https://oauth2.googleapis.com/revoke");
    tq_httpc_request_destroy(&r);
    json_decref(params);
}

static void test_slack(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("slack");
    tq_error_t err = {0};
    json_t *params =
        merged(p, json_pack("{s:s,s:s,s:s,s:s,s:s}", "client_id", "123.456", "client_secret", "sec",
                            "scope", "chat:write channels:read", "user_scope", "search:read",
                            "state", "st"));
    json_t *d = tq_oauth_plugin_defaults(p, params, &err);
    assert_string_equal(s(d, "pkce"), "none");
    json_decref(d);
    char *url = tq_oauth_plugin_authorize_url(p, params, &err);
    assert_non_null(url);
    assert_non_null(strstr(url, "scope=chat%3Awrite%2Cchannels%3Aread"));
    assert_non_null(strstr(url, "user_scope=search%3Aread"));
    assert_null(strstr(url, "code_challenge"));
    free(url);
    /* bot token on top, metadata kept, no webhook URL */
    json_t *o = parse(p, 200,
                      "{\"ok\":true,\"access_token\":\"xoxb-17653672481\",\"token_type\":"
                      "\"bot\",\"scope\":\"commands,incoming-webhook\",\"bot_user_id\":"
                      "\"U0KRQLJ9H\",\"app_id\":\"A0KRD7HC3\",\"team\":{\"name\":\"Slack "
                      "Softball Team\",\"id\":\"T9TK3CUKW\"},\"enterprise\":{\"name\":"
                      "\"slack-sports\",\"id\":\"E12345678\"},\"authed_user\":{\"id\":"
                      "\"U1234\",\"scope\":\"chat:write\",\"access_token\":\"xoxp-1234\","
                      "\"token_type\":\"user\"},\"incoming_webhook\":{\"url\":"
                      "\"https://hooks.slack.com/TXXXXX/BXXXXX/XXXXXXXXXX\"}}");
    assert_string_equal(s(o, "access_token"), "xoxb-17653672481");
    assert_string_equal(s(o, "scope"), "commands incoming-webhook");
    assert_string_equal(s(o, "meta.team.id"), "T9TK3CUKW");
    assert_string_equal(s(o, "meta.bot_user_id"), "U0KRQLJ9H");
    assert_string_equal(s(o, "meta.authed_user.id"), "U1234");
    char *all = json_dumps(o, 0);
    assert_null(strstr(all, "hooks.slack.com"));
    free(all);
    json_decref(o);
    /* user-only install: the token is under authed_user (rotation on) */
    o = parse(p, 200,
              "{\"ok\":true,\"app_id\":\"A1\",\"authed_user\":{\"id\":\"U1\",\"scope\":"
              "\"search:read\",\"access_token\":\"xoxe.xoxp-1\",\"token_type\":\"user\","
              "\"refresh_token\":\"xoxe-1-r\",\"expires_in\":43200},\"team\":{\"id\":"
              "\"T1\"}}");
    assert_string_equal(s(o, "access_token"), "xoxe.xoxp-1");
    assert_string_equal(s(o, "refresh_token"), "xoxe-1-r");
    assert_string_equal(s(o, "expires_in"), "43200");
    json_decref(o);
    /* errors are HTTP 200 with ok:false */
    o = parse(p, 200, "{\"ok\":false,\"error\":\"invalid_refresh_token\"}");
    assert_string_equal(s(o, "error"), "invalid_grant");
    json_decref(o);
    o = parse(p, 200, "{\"ok\":false,\"error\":\"bad_client_secret\"}");
    assert_string_equal(s(o, "error"), "invalid_client");
    json_decref(o);
    json_decref(params);
}

static void test_notion(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("notion");
    tq_error_t err = {0};
    json_t *params =
        merged(p, json_pack("{s:s,s:s,s:s,s:s,s:s}", "client_id", "cid", "client_secret", "csec",
                            "state", "st", "grant_type", "authorization_code", "code", "c1"));
    char *url = tq_oauth_plugin_authorize_url(p, params, &err);
    assert_non_null(url);
    assert_non_null(strstr(url, "owner=user"));
    free(url);
    json_object_set_new(params, "redirect_uri",
                        json_string("http://127.0.0.1:8765/oauth/callback"));
    tq_httpc_request_t *r = tq_oauth_plugin_token_request(p, params, &err);
    assert_non_null(r);
    assert_string_equal(header(r, "authorization"), "Basic Y2lkOmNzZWM=");
    assert_string_equal(header(r, "content-type"), "application/json");
    assert_string_equal((char *)r->body,
                        "{\"code\":\"c1\",\"grant_type\":\"authorization_code\",\"redirect_uri\":"
                        "\"http://127.0.0.1:8765/oauth/callback\"}");
    tq_httpc_request_destroy(&r);
    json_t *o = parse(p, 200,
                      "{\"access_token\":\"secret_abc\",\"token_type\":\"bearer\","
                      "\"refresh_token\":\"nrt\",\"bot_id\":\"b1\",\"workspace_name\":"
                      "\"WS\",\"workspace_icon\":null,\"workspace_id\":\"w1\",\"owner\":"
                      "{\"type\":\"user\",\"user\":{\"id\":\"u1\"}},"
                      "\"duplicated_template_id\":null}");
    assert_string_equal(s(o, "meta.workspace_id"), "w1");
    assert_string_equal(s(o, "meta.bot_id"), "b1");
    assert_string_equal(s(o, "meta.owner.user.id"), "u1");
    assert_string_equal(s(o, "refresh_token"), "nrt");
    json_decref(o);
    json_decref(params);
}

static void test_microsoft(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("microsoft");
    tq_error_t err = {0};
    json_t *params = merged(p, json_pack("{s:s,s:s,s:s,s:s}", "client_id", "cid", "tenant",
                                         "contoso.onmicrosoft.com", "scope",
                                         "https://graph.microsoft.com/.default", "state", "s"));
    char *url = tq_oauth_plugin_authorize_url(p, params, &err);
    assert_non_null(url);
    assert_non_null(strstr(url, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/"
                                "v2.0/authorize?"));
    assert_non_null(strstr(url, "scope=offline_access%20https%3A%2F%2Fgraph.microsoft.com%2F."
                                "default"));
    assert_non_null(strstr(url, "response_mode=query"));
    free(url);
    json_object_del(params, "tenant");
    json_t *d = tq_oauth_plugin_defaults(p, params, &err);
    json_object_update_missing(params, d);
    json_decref(d);
    json_object_set_new(params, "client_secret", json_string("x"));
    json_object_set_new(params, "grant_type", json_string("refresh_token"));
    json_object_set_new(params, "refresh_token", json_string("r"));
    tq_httpc_request_t *r = tq_oauth_plugin_token_request(p, params, &err);
    assert_non_null(r);
    assert_string_equal(r->url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    tq_httpc_request_destroy(&r);
    json_t *o = parse(p, 400,
                      "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS700082: "
                      "The refresh token has expired due to inactivity.\",\"error_codes\":"
                      "[700082]}");
    assert_string_equal(s(o, "error"), "invalid_grant");
    assert_non_null(strstr(s(o, "error_description"), "AADSTS700082"));
    json_decref(o);
    json_decref(params);
}

static void test_apply_bearer(void **state)
{
    (void)state;
    const char *ids[] = {"oauth2", "github", "google", "slack", "notion", "microsoft"};
    for (size_t i = 0; i < 6; i++) {
        const tq_plugin_t *p = plugin(ids[i]);
        tq_plugin_kv_t f[] = {{"access_token", "tok123"}, {"token_type", "bearer"}};
        tq_plugin_credential_t c = {"oauth2", f, 2};
        tq_plugin_request_t req = {.method = "GET", .url = "https://api.example/x"};
        tq_plugin_edits_t *e = tq_plugin_edits_new();
        tq_error_t err = {0};
        assert_int_equal(tq_plugin_apply_auth(p, &req, &c, e, &err), 0);
        assert_string_equal(tq_plugin_edits_at(e, 0)->value, "Bearer tok123");
        tq_plugin_edits_destroy(&e);
        tq_plugin_kv_t g[] = {{"access_token", "tok123"}, {"token_type", "mac"}};
        c.fields = g;
        e = tq_plugin_edits_new();
        assert_int_equal(tq_plugin_apply_auth(p, &req, &c, e, &err), -1);
        assert_null(strstr(err.message, "tok123"));
        tq_plugin_edits_destroy(&e);
    }
}

static void test_errors_hide_secrets(void **state)
{
    (void)state;
    const tq_plugin_t *p = plugin("oauth2");
    tq_error_t err = {0};
    json_t *params = json_pack("{s:s,s:s,s:s}", "client_secret", "TOPSECRET", "grant_type",
                               "authorization_code", "token_url", "https://as/t");
    assert_null(tq_oauth_plugin_token_request(p, params, &err)); /* no client_id, no code */
    assert_null(strstr(err.message, "TOPSECRET"));
    json_decref(params);
}

int main(void)
{
    if (!getenv("TOOLQ_PLUGIN_PATH") || !*getenv("TOOLQ_PLUGIN_PATH")) {
        fprintf(stderr, "test_oauth_plugins: TOOLQ_PLUGIN_PATH is not set (run through ctest)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic_authorize_and_basic_auth),
        cmocka_unit_test(test_generic_parse),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_github),
        cmocka_unit_test(test_google),
        cmocka_unit_test(test_slack),
        cmocka_unit_test(test_notion),
        cmocka_unit_test(test_microsoft),
        cmocka_unit_test(test_apply_bearer),
        cmocka_unit_test(test_errors_hide_secrets),
    };
    return cmocka_run_group_tests(tests, load_host, unload_host);
}

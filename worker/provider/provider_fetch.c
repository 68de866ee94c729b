/* provider_fetch.c — blocking, SSRF-guarded GET (http/httpc_get.h) of a remote document for the
 * importer (provider_fetch.h), run in an import thread. Never sends
 * credentials; never follows a redirect without checking its target; never
 * reads the configuration (its context is filled in the loop thread). */
#include "provider_fetch.h"

#include "buf.h"
#include "http/httpc_get.h"
#include "loop.h"
#include "ssrf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void tq_provider_fetch_ctx_init(tq_provider_fetch_ctx_t *fc, tq_config_t *cfg, int64_t deadline_ms)
{
    const char *allow = tq_config_str(cfg, "ssrf.allow");
    const char *proxy = tq_config_str(cfg, "invoke.proxy");
    fc->ssrf_allow = allow ? strdup(allow) : NULL;
    fc->proxy = strdup(proxy ? proxy : "");
    fc->connect_timeout_ms = (long)tq_config_int(cfg, "invoke.connect_timeout_ms");
    fc->timeout_ms = (long)tq_config_int(cfg, "invoke.timeout_ms");
    fc->max_redirects = (long)tq_config_int(cfg, "invoke.max_redirects");
    fc->max_bytes = (size_t)tq_config_int(cfg, "import.max_document_bytes");
    fc->deadline_ms = deadline_ms;
}

void tq_provider_fetch_ctx_clear(tq_provider_fetch_ctx_t *fc)
{
    free(fc->ssrf_allow);
    free(fc->proxy);
    memset(fc, 0, sizeof *fc);
}

/* One GET (http/httpc_get.h) under the job's deadline; its errors in the
 * importer's words. */
static int get_once(const tq_ssrf_t *guard, const tq_provider_fetch_ctx_t *fc, tq_httpc_get_t *get,
                    const char *url, tq_buf_t *sink, long *status, char **location, tq_error_t *err)
{
    long timeout = fc->timeout_ms;
    if (fc->deadline_ms) {
        int64_t left = fc->deadline_ms - tq_now_ms();
        if (left <= 0)
            return tq_error_set(err, "timeout",
                                "the import did not finish within the job's "
                                "timeout");
        if (left < timeout) timeout = (long)left;
    }
    tq_httpc_get_opts_t o = {.ssrf = guard,
                             .proxy = fc->proxy,
                             .connect_timeout_ms = fc->connect_timeout_ms,
                             .timeout_ms = timeout};
    if (tq_httpc_get(get, url, &o, sink, status, location, err) == 0) return 0;
    char shown[512]; /* error messages are stored in clear: no userinfo, no query */
    if (!strcmp(err->code, "response_too_large"))
        return tq_error_set(err, "document_too_large",
                            "%s is larger than %zu bytes "
                            "(import.max_document_bytes)",
                            tq_ssrf_url_for_message(url, shown, sizeof shown), sink->max);
    if (!strcmp(err->code, "network_error")) {
        tq_error_t e = *err; /* the message already says "GET <url>: <reason>" */
        return tq_error_set(err, "remote_ref_failed", "%s", e.message);
    }
    return -1;
}

int tq_provider_fetch(void *ctx, const char *url, char **body, size_t *len, tq_error_t *err)
{
    const tq_provider_fetch_ctx_t *fc = ctx;
    tq_ssrf_t *guard = tq_ssrf_new(fc->ssrf_allow, err);
    tq_httpc_get_t *get = guard ? tq_httpc_get_new() : NULL;
    if (!get) {
        tq_ssrf_destroy(&guard);
        return err && err->code[0] ? -1 : tq_error_set(err, "internal", "out of memory");
    }
    tq_buf_t sink = {.max = fc->max_bytes};
    int hops = (int)fc->max_redirects;
    char *current = strdup(url);
    int rc = -1;
    for (int hop = 0; current; hop++) {
        long status = 0;
        char *next = NULL;
        if (get_once(guard, fc, get, current, &sink, &status, &next, err)) break;
        if (status >= 300 && status < 400 && next) {
            free(current);
            current = next;
            if (hop + 1 > hops) {
                char shown[512];
                tq_error_set(err, "remote_ref_failed", "%s: more than %d redirects",
                             tq_ssrf_url_for_message(url, shown, sizeof shown), hops);
                break;
            }
            continue;
        }
        free(next);
        if (status != 200) {
            char shown[512];
            tq_error_set(err, "remote_ref_failed", "GET %s: HTTP %ld",
                         tq_ssrf_url_for_message(current, shown, sizeof shown), status);
            break;
        }
        *body = sink.data ? sink.data : strdup("");
        *len = sink.len;
        sink.data = NULL;
        rc = 0;
        break;
    }
    free(current);
    free(sink.data);
    tq_httpc_get_destroy(&get);
    tq_ssrf_destroy(&guard);
    return rc;
}

/* invoke_oauth.c — the refresh-before-use and refresh-on-401 hooks of the
 * invoke op (the due rule: oauth_refresh.h; a token without a refresh
 * token: tq_oauth_cred_use_until_expiry). Owns no SQL (the refresh engine
 * and the credential store do). Never logs a token. */
#include "invoke_oauth.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "oauth/oauth_cred.h"
#include "oauth/oauth_refresh.h"
#include "mem.h"

typedef struct {
    tq_job_t *job;
    tq_oauth_refresh_t *r;
    tq_invoke_restart_fn *restart;
    int flags;
    long long expires_at_ms;
} pending_t;

static long long unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void on_drop(tq_job_t *job, void *arg)
{
    (void)job;
    pending_t *p = arg;
    tq_oauth_refresh_cancel(&p->r);
    free(p);
}

static void on_refreshed(const tq_oauth_refresh_result_t *res, void *arg)
{
    pending_t *p = arg;
    tq_job_t *job = p->job;
    tq_job_on_drop(job, NULL, NULL);
    int flags = p->flags;
    tq_invoke_restart_fn *restart = p->restart;
    long long exp = p->expires_at_ms;
    free(p);
    /* a transient failure before use, or a refresh refused because the
     * client's token endpoint changed: the old token still works until it
     * expires (it only ever goes to the API) */
    bool keep = res->kind == TQ_OAUTH_TRANSIENT || !strcmp(res->err.code, "oauth_client_changed");
    if (!res->outcome && (!keep || (exp && exp <= unix_ms()) || (flags & TQ_INVOKE_OAUTH_RETRY))) {
        tq_job_fail_err(job, &res->err, res->retryable);
        return;
    }
    restart(job, flags);
}

static void start(tq_job_t *job, const tq_oauth_refresh_req_t *req, int flags,
                  long long expires_at_ms, tq_invoke_restart_fn *restart)
{
    pending_t *p = tq_xcalloc(1, sizeof *p);
    p->job = job;
    p->flags = flags;
    p->restart = restart;
    p->expires_at_ms = expires_at_ms;
    p->r = tq_oauth_refresh_start(job, req, on_refreshed, p);
    tq_job_on_drop(job, on_drop, p);
}

int tq_invoke_oauth_before_use(tq_job_t *job, const tq_credstore_cred_t *c, int flags,
                               tq_invoke_restart_fn *restart)
{
    if (strcmp(c->type, "oauth2") || (flags & (TQ_INVOKE_OAUTH_PRE | TQ_INVOKE_OAUTH_RETRY)))
        return 0;
    if (!c->expires_at_ms) return 0;
    int64_t base = tq_config_int(tq_job_config(job), "oauth.refresh_before_use_s");
    long long now = unix_ms();
    if (c->expires_at_ms > now + tq_oauth_refresh_window_ms(tq_job_config(job), base,
                                                            tq_oauth_lifetime_s(c->metadata)))
        return 0;
    if (tq_oauth_cred_use_until_expiry(c->fields, c->metadata, c->expires_at_ms, now)) return 0;
    /* renewed since we loaded it (expiry changed, or refreshed after now):
     * the engine answers already_renewed and we restart with the new token */
    tq_oauth_refresh_req_t req = {.name = c->name,
                                  .window_s = (int)base,
                                  .expect_expires_ms = c->expires_at_ms,
                                  .not_before_ms = now};
    start(job, &req, flags | TQ_INVOKE_OAUTH_PRE, c->expires_at_ms, restart);
    return 1;
}

int tq_invoke_oauth_wants_retry(const tq_httpc_response_t *r)
{
    if (r->status != 401) return 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, "www-authenticate")) continue;
        const char *v = r->headers[i].value;
        const char *e = strcasestr(v, "error=");
        if (!e) return 1; /* a 401 that says nothing */
        return strncasecmp(e + 6, "\"invalid_token\"", 15) == 0 ||
               strncasecmp(e + 6, "invalid_token", 13) == 0;
    }
    return 1;
}

void tq_invoke_oauth_retry(tq_job_t *job, const char *name, long long loaded_ms, int flags,
                           tq_invoke_restart_fn *restart)
{
    tq_oauth_refresh_req_t req = {
        .name = name, .force = true, .window_s = 0, .not_before_ms = loaded_ms};
    start(job, &req, flags | TQ_INVOKE_OAUTH_RETRY, 0, restart);
}

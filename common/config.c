/* config.c — the settings table and the effective configuration built from it:
 * defaults < YAML file < environment < flags, whatever order the layers are
 * loaded in; "${home}" expansion at read time; the masked listing.
 * Owns the table. Never reads a file other than the one it is handed, never
 * reads an environment variable outside the table, never logs, and never puts
 * the value of a secret setting into an error message. Not thread-safe: one
 * owner per tq_config_t (reads fill a cache). */
#include "config.h"
#include "buf.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* Bounds on what a config file, a variable or a flag may hold. */
#define TQ_CONFIG_FILE_MAX (1024 * 1024) /* bytes in a config file */
#define TQ_CONFIG_DEPTH_MAX 8            /* nested mappings */
#define TQ_CONFIG_NAME_MAX 128           /* length of a dotted name */
#define TQ_CONFIG_VALUE_MAX 8192         /* length of one value */
#define TQ_CONFIG_ECHO_MAX 64            /* characters of a bad value quoted in an error */

typedef enum { TQ_CFG_STR, TQ_CFG_INT, TQ_CFG_BOOL, TQ_CFG_FRAC } tq_cfg_type_t;

#define TQ_CONFIG_FRAC_ONE 1000000 /* fractions are stored in millionths */

typedef struct {
    const char *name;   /* dotted, lower case; never also a prefix of another name */
    const char *env;    /* environment variable, or NULL */
    tq_cfg_type_t type; /* string, integer (k/M/G suffixes), boolean or fraction (0..1) */
    const char *def;    /* default, as text: parsed like any other value */
    int secret;         /* masked whole by tq_config_print */
    const char *doc;    /* one line, for docs/toolq.example.yaml and humans */
    int64_t min, max;   /* an integer's range (INT: any int64) */
} tq_setting_t;

/* One row per setting. Add a setting here, then document it in
 * docs/toolq.example.yaml (a unit test keeps the two in step). */
/* clang-format off */
#define STR(name, env, def, doc)    {name, env, TQ_CFG_STR, def, 0, doc, 0, 0}
#define SECRET(name, env, def, doc) {name, env, TQ_CFG_STR, def, 1, doc, 0, 0}
#define INT(name, env, def, doc)    {name, env, TQ_CFG_INT, #def, 0, doc, INT64_MIN, INT64_MAX}
/* An integer with a range: a value outside it is refused where it is read
 * (file, environment, flag), naming the setting and the range. */
#define INTR(name, env, def, lo, hi, doc) {name, env, TQ_CFG_INT, #def, 0, doc, lo, hi}
#define BOOL(name, env, def, doc)   {name, env, TQ_CFG_BOOL, #def, 0, doc, 0, 0}
#define FRAC(name, env, def, doc)   {name, env, TQ_CFG_FRAC, #def, 0, doc, 0, 0}
/* clang-format on */

static const tq_setting_t s_settings[] = {
    STR("home", "TOOLQ_HOME", "./.toolq", "run folder: sockets, master key, embedded database"),
    STR("config", "TOOLQ_CONFIG", "", "YAML config file to read (loaded by the programs)"),
    STR("log.level", "TOOLQ_LOG_LEVEL", "info", "debug, info, warn, error"),
    STR("database.url", "TOOLQ_DATABASE_URL", "host=${home}/pg port=5433 user=toolq dbname=toolq",
        "libpq conninfo or URL; the default is the embedded cluster scripts/run starts"),
    STR("master_key_file", "TOOLQ_MASTER_KEY_FILE", "${home}/master.key",
        "base64 32-byte key; never invented for an existing database"),
    STR("broker.frontend", "TOOLQ_BROKER", "ipc://${home}/broker.sock",
        "client endpoint (ipc:// only, owner-only; tcp:// goes in broker.frontend_tcp)"),
    STR("frontend.operators", "TOOLQ_FRONTEND_OPERATORS", "",
        "users (names or uids, comma-separated) with the operator role; the broker's own "
        "user always has it"),
    STR("frontend.integrators", "TOOLQ_FRONTEND_INTEGRATORS", "",
        "users with the integrator role: act for any tenant they name, no system op"),
    STR("frontend.tenants", "TOOLQ_FRONTEND_TENANTS", "",
        "user=tenant pairs (comma-separated): that user acts for that one tenant"),
    STR("frontend.group", "TOOLQ_FRONTEND_GROUP", "",
        "group admitted to connect to the frontend socket (socket 0660, folder 0710); "
        "empty = the broker's user only"),
    STR("broker.backend", "TOOLQ_BACKEND", "ipc://${home}/backend.sock",
        "worker endpoint (ipc:// only; only workers the broker forked may register); "
        "toolq-worker --broker sets it"),
    STR("broker.frontend_tcp", NULL, "",
        "client endpoints over tcp:// (comma-separated), CURVE only: keys in curve.allow_dir"),
    STR("broker.backend_tcp", NULL, "",
        "remote worker endpoints over tcp:// (comma-separated), CURVE only: worker keys"),
    INT("broker.takeover_ms", NULL, 3000,
        "a standby broker (database lock held by another) takes over within this; 0 = no standby "
        "(broker_running)"),
    STR("curve.secret_key_file", NULL, "${home}/curve/broker.key_secret",
        "the broker's CURVE key pair (toolq keygen; must be 0600)"),
    STR("curve.allow_dir", NULL, "${home}/curve/allowed",
        "public keys admitted on tcp:// (NAME.key files; metadata role); remove one to revoke"),
    STR("curve.server_key_file", "TOOLQ_CURVE_SERVER_KEY", "",
        "worker/client side of tcp://: the broker's public key file"),
    STR("curve.key_file", "TOOLQ_CURVE_KEY", "",
        "worker/client side of tcp://: this side's secret key file (.key_secret)"),
    INT("broker.workers", "TOOLQ_WORKERS", 0, "local workers to fork; 0 = number of cores"),
    STR("broker.worker_binary", "TOOLQ_WORKER_BINARY", "",
        "path of toolq-worker; empty = beside toolq-broker"),
    INTR("broker.heartbeat_ms", NULL, 1000, 10, 3600000,
         "interval between heartbeats with each worker"),
    INTR("broker.heartbeat_liveness", NULL, 3, 1, 1000, "missed heartbeats before a peer is dead"),
    INT("broker.shutdown_grace_ms", NULL, 10000, "drain time on SIGTERM"),
    INT("broker.max_queued", NULL, 1000000,
        "jobs held in memory before SUBMIT is rejected (queue_full)"),
    INT("broker.max_frame_bytes", NULL, 16777216, "largest wire frame accepted"),
    INTR("broker.max_batch_frames", NULL, 256, 1, 65536,
         "frames (messages) one ZeroMQ message may carry; the rest are refused"),
    INTR("broker.batch_max", NULL, 2000, 1, 100000, "rows per group-commit statement"),
    INTR("broker.commit_linger_ms", NULL, 10, 0, 1000,
         "how long a running job's INSERT may wait for its outcome (one row write and one "
         "commit for both); 0 = never"),
    INT("broker.restart_backoff_max_ms", NULL, 30000,
        "longest wait before restarting a crashed worker"),
    INT("broker.crash_loop_restarts", NULL, 5,
        "restarts within a minute that count as a crash loop"),
    INTR("jobs.max_attempts", NULL, 5, 1, 1000, "attempts before a failing job is dead"),
    INT("jobs.max_rescues", NULL, 3, "worker crashes a job may cause before it is dead"),
    INTR("jobs.timeout_ms", NULL, 60000, 1, INT32_MAX, "default job lease"),
    BOOL("jobs.journal_reads", NULL, false,
         "journal read-only ops (ping, tools.list, ...) even when a submit does not ask"),
    STR("jobs.async_ops", NULL, "",
        "ops whose default durability is async (comma-separated); the others are sync"),
    INT("jobs.backoff_base_ms", NULL, 200, "first retry delay; doubles with each attempt"),
    INT("jobs.backoff_max_ms", NULL, 60000, "longest retry delay"),
    INT("jobs.retention_hours", NULL, 168, "finished jobs older than this are purged"),
    INTR("jobs.purge_interval_s", NULL, 3600, 1, 604800, "how often finished jobs are purged"),
    INT("quota.queued_jobs", NULL, 100000,
        "open (queued or running) jobs one tenant may hold (quota_exceeded)"),
    INT("quota.payload_bytes", NULL, 1G,
        "payload bytes of one tenant's open jobs (quota_exceeded)"),
    INT("quota.running", NULL, 0,
        "jobs of one tenant running at once, over all workers; 0 = no limit"),
    INT("quota.max_sleep_ms", NULL, 60000, "longest sleep job (quota_exceeded)"),
    INTR("worker.concurrency", "TOOLQ_WORKER_CONCURRENCY", 128, 1, 100000,
         "jobs in flight per worker (its credit)"),
    INT("worker.provider_cache_size", NULL, 256,
        "providers a worker keeps parsed in memory for invoke (refreshed by NOTIFY)"),
    INT("worker.import_threads", NULL, 2,
        "threads per worker that parse imports off its event loop"),
    BOOL("worker.test_ops", "TOOLQ_WORKER_TEST_OPS", false,
         "enable the test.crash and test.fail ops (reliability tests only)"),
    STR("plugins.path", "TOOLQ_PLUGIN_PATH", "",
        "colon-separated plugin folders; empty = installed default"),
    STR("http.listen", "TOOLQ_HTTP_LISTEN", "127.0.0.1:8765",
        "HTTP API (/v1), OAuth callback, /healthz, /metrics; \"\" disables"),
    INTR("http.callback_timeout_ms", NULL, 30000, 100, 600000,
         "how long GET /oauth/callback waits for its oauth.exchange job"),
    INTR("http.stats_cache_ms", NULL, 2000, 0, 60000,
         "/healthz and /metrics reuse one STATS answer this long (0 = ask every time)"),
    INTR("http.oauth_rate_per_minute", NULL, 30, 0, 1000000,
         "GET /oauth/start and /oauth/callback per client address and minute (0 = no limit)"),
    INTR("http.oauth_rate_burst", NULL, 10, 1, 1000000,
         "requests a client address may make at once"),
    STR("http.allowed_hosts", NULL, "",
        "Host headers accepted besides oauth.redirect_uri's host and http.listen (comma list)"),
    INTR("http.max_connections", NULL, 128, 1, 10000,
         "HTTP connections open at once (one thread each)"),
    INTR("http.connection_timeout_s", NULL, 30, 1, 3600,
         "an idle HTTP connection is closed after this"),
    INTR("http.max_body_bytes", NULL, 16M, 1024, 1073741824,
         "largest HTTP request body (413 payload_too_large)"),
    INTR("http.max_wait_s", NULL, 60, 0, 3600, "longest Prefer: wait=N or ?wait=N of the HTTP API"),
    STR("http.tls_cert", "TOOLQ_HTTP_TLS_CERT", "", "PEM certificate file: serve HTTPS"),
    STR("http.tls_key", "TOOLQ_HTTP_TLS_KEY", "", "PEM private key file of http.tls_cert"),
    BOOL("http.allow_plaintext", NULL, false,
         "serve plain HTTP on a non-loopback http.listen (else TLS is required)"),
    INTR("apikey.cache_ms", NULL, 1000, 0, 60000,
         "a verified API key is trusted this long (a revoked key is refused after at most this)"),
    INTR("apikey.rate_per_second", NULL, 100, 0, 1000000,
         "HTTP API requests per key and second (0 = no limit)"),
    INTR("apikey.rate_burst", NULL, 200, 1, 1000000, "HTTP API requests a key may make at once"),
    INTR("mcp.max_sessions", NULL, 256, 1, 100000, "MCP sessions open at once on /mcp"),
    INTR("mcp.session_idle_s", NULL, 3600, 1, 604800, "an MCP session unused this long is ended"),
    INTR("mcp.page_size", NULL, 100, 1, 10000, "tools per MCP tools/list page"),
    INTR("mcp.call_timeout_ms", NULL, 300000, 100, 86400000,
         "longest wait for an MCP tools/call (isError timeout after it; the job goes on)"),
    STR("ssrf.allow", "TOOLQ_SSRF_ALLOW", "",
        "comma-separated CIDRs and host names allowed past the SSRF guard"),
    INT("invoke.connect_timeout_ms", NULL, 10000, "connect timeout of a tool call"),
    INT("invoke.timeout_ms", "TOOLQ_INVOKE_TIMEOUT_MS", 60000,
        "total time of one attempt of a tool call (payload timeout_ms overrides)"),
    INT("invoke.max_response_bytes", NULL, 10M,
        "largest response body of a tool call (response_too_large)"),
    INT("invoke.max_redirects", NULL, 5, "redirects followed by a tool call"),
    INT("invoke.max_retries", NULL, 3,
        "retries of an idempotent call on transport errors and 429/502/503/504"),
    INT("invoke.retry_after_max_ms", NULL, 30000,
        "longest Retry-After a call waits for; longer ones are reported"),
    STR("invoke.proxy", "TOOLQ_INVOKE_PROXY", "",
        "outbound proxy URL for tool calls; empty = direct"),
    INT("invoke.body_excerpt_bytes", NULL, 2048, "bytes of the body quoted in an http_error"),
    STR("oauth.redirect_uri", "TOOLQ_OAUTH_REDIRECT_URI", "http://127.0.0.1:8765/oauth/callback",
        "redirect URI sent in every OAuth authorization and code exchange (fixed, RFC 9700)"),
    INT("oauth.state_ttl_s", NULL, 600, "lifetime of an OAuth state (single use)"),
    INT("oauth.refresh_before_use_s", NULL, 60,
        "an invoke refreshes an OAuth credential expiring within this many seconds first"),
    INT("oauth.refresh_ahead_s", NULL, 600,
        "sweeps refresh OAuth credentials expiring within this window (per-plugin override)"),
    FRAC("oauth.refresh_fraction", NULL, 0.5,
         "refresh windows are capped at this fraction of the token's lifetime (expires_in)"),
    INTR("oauth.sweep_interval_s", NULL, 60, 0, 604800,
         "how often the broker submits refresh.sweep; 0 = never"),
    INT("oauth.sweep_max_in_flight", NULL, 64, "refresh jobs a sweep keeps in flight at once"),
    INT("oauth.refresh_batch_max", NULL, 512,
        "concurrent refreshes whose lease or result one statement writes at most"),
    INT("oauth.client_cache_ttl_s", NULL, 60,
        "how long a worker reuses a resolved OAuth client configuration; 0 = never"),
    STR("oauth.return_url", "TOOLQ_OAUTH_RETURN_URL", "",
        "where the OAuth callback page redirects (with status and credential); empty = HTML page"),
    INT("import.max_document_bytes", "TOOLQ_IMPORT_MAX_DOCUMENT_BYTES", 32M,
        "largest document accepted by an import, bundled files included (document_too_large)"),
    INT("import.max_depth", NULL, 256, "nesting levels of a document (document_too_deep)"),
    INT("import.max_alias_nodes", NULL, 100000,
        "nodes reachable through YAML aliases (document_alias_bomb)"),
    INT("import.max_ref_hops", NULL, 64, "hops in one chain of $refs (ref_cycle warning)"),
    INT("import.max_description", NULL, 1024,
        "characters of a function description in the function-calling form"),
    BOOL("import.allow_remote_refs", NULL, false,
         "follow http(s) $refs through the SSRF-guarded client"),
#ifdef TQ_CONFIG_TEST_ROWS
    TQ_CONFIG_TEST_ROWS /* tests/unit/test_config.c adds rows of the types above */
#endif
};

#undef STR
#undef SECRET
#undef INT
#undef BOOL
#undef FRAC

#define TQ_NSETTINGS (sizeof s_settings / sizeof s_settings[0])

typedef enum { TQ_SRC_DEFAULT, TQ_SRC_FILE, TQ_SRC_ENV, TQ_SRC_FLAG } tq_source_t;
static const char *const s_source_names[] = {"default", "file", "env", "flag"};

typedef struct {
    char *value;        /* text from a file, variable or flag; NULL: the default */
    int64_t num;        /* parsed value of an int or bool setting */
    tq_source_t source; /* a layer only overwrites a value from a layer ranked <= it */
    char *shown;        /* cached tq_config_str result (${home} expanded), or NULL */
} tq_slot_t;

struct tq_config_t {
    tq_slot_t slot[TQ_NSETTINGS];
    /* Strings tq_config_str handed out before a set replaced them. They stay
     * alive until destroy, as config.h promises; sets are rare, so this is small. */
    char **retired;
    size_t nretired, retired_cap;
};

/* --- small helpers ------------------------------------------------------- */

/* Copies s for an error message: control characters become '?', long text is
 * cut with "...". */
static void echo(char *out, size_t size, const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] && n < max && n + 4 < size; n++)
        out[n] = (iscntrl((unsigned char)s[n])) ? '?' : s[n];
    if (s[n]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* --- the table ----------------------------------------------------------- */

static int find_setting(const char *name)
{
    for (size_t i = 0; i < TQ_NSETTINGS; i++)
        if (strcmp(s_settings[i].name, name) == 0) return (int)i;
    return -1;
}

/* True when name is a group of settings (some setting is "name.something"). */
static int is_section(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < TQ_NSETTINGS; i++)
        if (strncmp(s_settings[i].name, name, n) == 0 && s_settings[i].name[n] == '.') return 1;
    return 0;
}

/* Reads of unknown settings, or with the wrong type, are programming bugs. */
static size_t must_find(const char *name, int type)
{
    int i = name ? find_setting(name) : -1;
    if (i < 0) {
        fprintf(stderr, "toolq: config: unknown setting \"%s\" (programming error)\n",
                name ? name : "(null)");
        abort();
    }
    if (type >= 0 && s_settings[i].type != (tq_cfg_type_t)type) {
        fprintf(stderr, "toolq: config: setting \"%s\" read with the wrong type\n", name);
        abort();
    }
    return (size_t)i;
}

/* Integers: optional sign, decimal digits, optional binary suffix k/K, M, G. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    int neg = (*p == '-');
    if (*p == '-' || *p == '+') p++;
    if (!isdigit((unsigned char)*p)) return -1;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -2;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    if (*p == 'k' || *p == 'K')
        shift = 10;
    else if (*p == 'M')
        shift = 20;
    else if (*p == 'G')
        shift = 30;
    if (shift) p++;
    if (*p) return -1;
    if (v > ((uint64_t)INT64_MAX >> shift)) return -2;
    v <<= shift;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* Fractions: a decimal between 0 and 1 ("0.5", "1", ".25"), at most six
 * decimals, stored in millionths. */
static int parse_frac(const char *s, int64_t *out)
{
    int64_t whole = 0, part = 0, scale = TQ_CONFIG_FRAC_ONE;
    const char *p = s;
    if (*p == '0' || *p == '1')
        whole = *p++ - '0';
    else if (*p != '.')
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        for (; isdigit((unsigned char)*p); p++) {
            if (scale == 1) return -1;
            scale /= 10;
            part += (*p - '0') * scale;
        }
    }
    if (*p) return -1;
    int64_t v = whole * TQ_CONFIG_FRAC_ONE + part;
    if (v > TQ_CONFIG_FRAC_ONE) return -2;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int64_t *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Checks text against the setting's type; stores the number for int/bool.
 * On failure writes "<name> expects ..., got ..." into why (if given). */
static int check_value(const tq_setting_t *s, const char *text, int64_t *num, char *why,
                       size_t why_size)
{
    char clip[TQ_CONFIG_ECHO_MAX + 8], shown[TQ_CONFIG_ECHO_MAX + 16];
    echo(clip, sizeof clip, text, TQ_CONFIG_ECHO_MAX);
    if (s->secret)
        snprintf(shown, sizeof shown, "a value that is not shown");
    else if (*text)
        snprintf(shown, sizeof shown, "\"%s\"", clip);
    else
        snprintf(shown, sizeof shown, "an empty value");

    if (strlen(text) > TQ_CONFIG_VALUE_MAX) {
        if (why)
            snprintf(why, why_size, "%s: value longer than %d bytes", s->name, TQ_CONFIG_VALUE_MAX);
        return -1;
    }
    *num = 0;
    switch (s->type) {
    case TQ_CFG_STR:
        return 0;
    case TQ_CFG_INT: {
        int rc = parse_int(text, num);
        if (rc == 0 && (*num < s->min || *num > s->max)) {
            if (why)
                snprintf(why, why_size, "%s must be from %lld to %lld, got %s", s->name,
                         (long long)s->min, (long long)s->max, shown);
            return -1;
        }
        if (rc == 0) return 0;
        if (why && rc == -2)
            snprintf(why, why_size, "%s: %s is out of range", s->name, shown);
        else if (why)
            snprintf(why, why_size, "%s expects an integer (optional suffix k, M or G), got %s",
                     s->name, shown);
        return -1;
    }
    case TQ_CFG_FRAC: {
        int rc = parse_frac(text, num);
        if (rc == 0) return 0;
        if (why)
            snprintf(why, why_size, "%s expects a fraction between 0 and 1 (e.g. 0.5), got %s",
                     s->name, shown);
        return -1;
    }
    case TQ_CFG_BOOL:
        if (parse_bool(text, num) == 0) return 0;
        if (why)
            snprintf(why, why_size,
                     "%s expects a boolean (true/false, yes/no, on/off, 1/0), got %s", s->name,
                     shown);
        return -1;
    }
    return -1;
}

/* --- the object ---------------------------------------------------------- */

static void retire(tq_config_t *self, char **p)
{
    if (!*p) return;
    if (self->nretired == self->retired_cap) {
        size_t cap = self->retired_cap ? self->retired_cap * 2 : 16;
        char **r = tq_xrealloc(self->retired, cap * sizeof *r);
        self->retired = r;
        self->retired_cap = cap;
    }
    self->retired[self->nretired++] = *p;
    *p = NULL;
}

static const char *raw_value(const tq_config_t *self, size_t i)
{
    return self->slot[i].value ? self->slot[i].value : s_settings[i].def;
}

tq_config_t *tq_config_new(void)
{
    tq_config_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        char why[TQ_ERROR_MSG_MAX];
        if (check_value(&s_settings[i], s_settings[i].def, &self->slot[i].num, why, sizeof why) !=
            0) {
            fprintf(stderr, "toolq: config: bad default in the table: %s\n", why);
            abort();
        }
    }
    return self;
}

void tq_config_destroy(tq_config_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_config_t *self = *self_p;
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        free(self->slot[i].value);
        free(self->slot[i].shown);
    }
    for (size_t i = 0; i < self->nretired; i++)
        free(self->retired[i]);
    free(self->retired);
    free(self);
    *self_p = NULL;
}

/* Stores an already checked value unless a higher-ranked layer set it. */
static void apply(tq_config_t *self, size_t i, const char *text, tq_source_t source)
{
    tq_slot_t *slot = &self->slot[i];
    if (source < slot->source) return;
    int64_t num = 0;
    check_value(&s_settings[i], text, &num, NULL, 0);
    char *copy = tq_xstrdup(text);
    free(slot->value);
    slot->value = copy;
    slot->num = num;
    slot->source = source;
    if (strcmp(s_settings[i].name, "home") == 0) {
        for (size_t j = 0; j < TQ_NSETTINGS; j++)
            retire(self, &self->slot[j].shown);
    } else {
        retire(self, &slot->shown);
    }
}

int tq_config_set(tq_config_t *self, const char *name, const char *value, tq_error_t *err)
{
    char shown[TQ_CONFIG_NAME_MAX + 8];
    echo(shown, sizeof shown, name ? name : "", TQ_CONFIG_NAME_MAX);
    int i = name ? find_setting(name) : -1;
    if (i < 0) return tq_error_set(err, "invalid_config", "unknown setting \"%s\"", shown);
    if (!value) return tq_error_set(err, "invalid_config", "%s: no value given", shown);
    char why[TQ_ERROR_MSG_MAX];
    int64_t num;
    if (check_value(&s_settings[i], value, &num, why, sizeof why) != 0)
        return tq_error_set(err, "invalid_config", "%s", why);
    apply(self, (size_t)i, value, TQ_SRC_FLAG);
    return 0;
}

int tq_config_load_env(tq_config_t *self, tq_error_t *err)
{
    /* Check every variable first so a bad one changes nothing. */
    const char *values[TQ_NSETTINGS];
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        values[i] = s_settings[i].env ? getenv(s_settings[i].env) : NULL;
        if (values[i] && !*values[i]) values[i] = NULL; /* empty counts as unset */
        char why[TQ_ERROR_MSG_MAX - 64];
        int64_t num;
        if (values[i] && check_value(&s_settings[i], values[i], &num, why, sizeof why) != 0)
            return tq_error_set(err, "invalid_config", "environment variable %s: %s",
                                s_settings[i].env, why);
    }
    for (size_t i = 0; i < TQ_NSETTINGS; i++)
        if (values[i]) apply(self, i, values[i], TQ_SRC_ENV);
    return 0;
}

/* --- the YAML file --------------------------------------------------------- */

typedef struct {
    size_t idx;
    char *value;
    size_t line;
} tq_staged_t;

/* Settings are staged while the file is parsed and applied only when the whole
 * file is valid, so a bad file changes nothing. */
typedef struct {
    yaml_parser_t parser;
    const char *path;
    tq_error_t *err;
    tq_staged_t *items;
    size_t n, cap;
} tq_loader_t;

static int next_event(tq_loader_t *ld, yaml_event_t *ev)
{
    if (yaml_parser_parse(&ld->parser, ev)) return 0;
    const yaml_parser_t *p = &ld->parser;
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->error == YAML_MEMORY_ERROR)
        return tq_error_set(ld->err, "invalid_config", "%s: out of memory while parsing", ld->path);
    if (p->error == YAML_READER_ERROR)
        return tq_error_set(ld->err, "invalid_config", "%s: byte %zu: malformed YAML: %s", ld->path,
                            p->problem_offset, problem);
    if (p->context)
        return tq_error_set(ld->err, "invalid_config",
                            "%s:%zu:%zu: malformed YAML: %s (%s at line %zu)", ld->path,
                            p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
                            p->context, p->context_mark.line + 1);
    return tq_error_set(ld->err, "invalid_config", "%s:%zu:%zu: malformed YAML: %s", ld->path,
                        p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
}

static size_t line_of(const yaml_event_t *ev)
{
    return ev->start_mark.line + 1;
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static int is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

/* Error for a name that is not a setting; what = what the file gave it. */
static int not_a_setting(tq_loader_t *ld, const char *name, size_t line, const char *what)
{
    char shown[TQ_CONFIG_NAME_MAX + 8];
    echo(shown, sizeof shown, name, TQ_CONFIG_NAME_MAX);
    if (find_setting(name) >= 0)
        return tq_error_set(ld->err, "invalid_config", "%s:%zu: %s expects a single value, got %s",
                            ld->path, line, shown, what);
    if (is_section(name) && strcmp(what, "a mapping") != 0)
        return tq_error_set(ld->err, "invalid_config",
                            "%s:%zu: %s is a group of settings, not a setting", ld->path, line,
                            shown);
    return tq_error_set(ld->err, "invalid_config", "%s:%zu: unknown setting \"%s\"", ld->path, line,
                        shown);
}

static int stage(tq_loader_t *ld, const char *name, size_t key_line, const yaml_event_t *ev)
{
    int i = find_setting(name);
    if (i < 0) return not_a_setting(ld, name, key_line, "a value");
    const char *text = (const char *)ev->data.scalar.value;
    if (strlen(text) != ev->data.scalar.length)
        return tq_error_set(ld->err, "invalid_config", "%s:%zu: %s: value contains a NUL byte",
                            ld->path, line_of(ev), name);
    if (is_null(ev)) text = "";
    char why[TQ_ERROR_MSG_MAX - 64];
    int64_t num;
    if (check_value(&s_settings[i], text, &num, why, sizeof why) != 0)
        return tq_error_set(ld->err, "invalid_config", "%s:%zu: %s", ld->path, line_of(ev), why);
    for (size_t k = 0; k < ld->n; k++)
        if (ld->items[k].idx == (size_t)i)
            return tq_error_set(ld->err, "invalid_config",
                                "%s:%zu: %s is set twice (first on line %zu)", ld->path, key_line,
                                name, ld->items[k].line);
    if (ld->n == ld->cap) {
        size_t cap = ld->cap ? ld->cap * 2 : 16;
        tq_staged_t *p = tq_xrealloc(ld->items, cap * sizeof *p);
        ld->items = p;
        ld->cap = cap;
    }
    ld->items[ld->n++] = (tq_staged_t){(size_t)i, tq_xstrdup(text), key_line};
    return 0;
}

/* Reads "key: value" pairs until the end of the mapping; prefix is the dotted
 * name of the enclosing keys ("" at the top). */
static int parse_mapping(tq_loader_t *ld, const char *prefix, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(ld, &ev) != 0) return -1;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        size_t line = line_of(&ev);
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            return tq_error_set(ld->err, "invalid_config", "%s:%zu: keys must be plain names",
                                ld->path, line);
        }
        const char *key = (const char *)ev.data.scalar.value;
        size_t klen = ev.data.scalar.length;
        size_t plen = strlen(prefix);
        char name[TQ_CONFIG_NAME_MAX + 1];
        int bad = klen == 0 || strlen(key) != klen || plen + 1 + klen > TQ_CONFIG_NAME_MAX;
        if (!bad) snprintf(name, sizeof name, "%s%s%s", prefix, plen ? "." : "", key);
        yaml_event_delete(&ev);
        if (bad)
            return tq_error_set(ld->err, "invalid_config", "%s:%zu: empty, too long or binary key",
                                ld->path, line);

        if (next_event(ld, &ev) != 0) return -1;
        int rc;
        switch (ev.type) {
        case YAML_SCALAR_EVENT:
            rc = stage(ld, name, line, &ev);
            break;
        case YAML_MAPPING_START_EVENT:
            if (!is_section(name))
                rc = not_a_setting(ld, name, line, "a mapping");
            else if (depth + 1 >= TQ_CONFIG_DEPTH_MAX)
                rc = tq_error_set(ld->err, "invalid_config", "%s:%zu: nested too deeply", ld->path,
                                  line);
            else
                rc = parse_mapping(ld, name, depth + 1);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = not_a_setting(ld, name, line, "a list");
            break;
        default:
            rc = tq_error_set(ld->err, "invalid_config",
                              "%s:%zu: aliases (*name) are not supported", ld->path, line);
            break;
        }
        yaml_event_delete(&ev);
        if (rc != 0) return -1;
    }
}

/* One document whose top level is a mapping (or nothing at all). */
static int parse_stream(tq_loader_t *ld)
{
    yaml_event_t ev;
    if (next_event(ld, &ev) != 0) /* stream start */
        return -1;
    yaml_event_delete(&ev);
    if (next_event(ld, &ev) != 0) return -1;
    int type = ev.type;
    yaml_event_delete(&ev);
    if (type == YAML_STREAM_END_EVENT) /* empty file, or comments only */
        return 0;

    if (next_event(ld, &ev) != 0) /* the document's root */
        return -1;
    if (ev.type == YAML_MAPPING_START_EVENT) {
        yaml_event_delete(&ev);
        if (parse_mapping(ld, "", 0) != 0) return -1;
    } else if (is_null(&ev)) {
        yaml_event_delete(&ev);
    } else {
        size_t line = line_of(&ev);
        yaml_event_delete(&ev);
        return tq_error_set(ld->err, "invalid_config",
                            "%s:%zu: the top level must be a mapping of settings", ld->path, line);
    }

    if (next_event(ld, &ev) != 0) /* document end */
        return -1;
    yaml_event_delete(&ev);
    if (next_event(ld, &ev) != 0) return -1;
    type = ev.type;
    size_t line = line_of(&ev);
    yaml_event_delete(&ev);
    if (type != YAML_STREAM_END_EVENT)
        return tq_error_set(ld->err, "invalid_config", "%s:%zu: only one YAML document is allowed",
                            ld->path, line);
    return 0;
}

/* Reads the whole file, at most TQ_CONFIG_FILE_MAX bytes. */
static char *read_file(const char *path, size_t *len, tq_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tq_error_set(err, "invalid_config", "cannot read config file %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    char *buf = tq_xmalloc(TQ_CONFIG_FILE_MAX + 1);
    size_t n = fread(buf, 1, TQ_CONFIG_FILE_MAX + 1, f);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        tq_error_set(err, "invalid_config", "cannot read config file %s: %s", path,
                     strerror(saved));
        free(buf);
        return NULL;
    }
    if (n > TQ_CONFIG_FILE_MAX) {
        tq_error_set(err, "invalid_config", "cannot read config file %s: larger than %d bytes",
                     path, TQ_CONFIG_FILE_MAX);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int tq_config_load_file(tq_config_t *self, const char *path, tq_error_t *err)
{
    if (!path || !*path)
        return tq_error_set(err, "invalid_config", "cannot read config file: no path given");
    size_t len = 0;
    char *text = read_file(path, &len, err);
    if (!text) return -1;

    tq_loader_t ld = {.path = path, .err = err};
    if (!yaml_parser_initialize(&ld.parser)) tq_oom();
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
    int rc = parse_stream(&ld);
    yaml_parser_delete(&ld.parser);
    free(text);

    for (size_t k = 0; k < ld.n; k++) {
        if (rc == 0) apply(self, ld.items[k].idx, ld.items[k].value, TQ_SRC_FILE);
        free(ld.items[k].value);
    }
    free(ld.items);
    return rc;
}

/* --- reads --------------------------------------------------------------- */

/* Replaces every "${home}" in s by home. */
static char *expand_home(const char *s, const char *home)
{
    static const char token[] = "${home}";
    tq_buf_t b = {0};
    const char *p;
    while ((p = strstr(s, token)) != NULL) {
        tq_buf_add(&b, s, (size_t)(p - s));
        tq_buf_adds(&b, home);
        s = p + sizeof token - 1;
    }
    tq_buf_adds(&b, s);
    return tq_buf_take(&b);
}

const char *tq_config_str(tq_config_t *self, const char *name)
{
    size_t i = must_find(name, -1);
    tq_slot_t *slot = &self->slot[i];
    if (!slot->shown) {
        size_t home = must_find("home", TQ_CFG_STR);
        /* home itself is never expanded: "${home}" inside it stays literal. */
        slot->shown = (i == home) ? tq_xstrdup(raw_value(self, i))
                                  : expand_home(raw_value(self, i), raw_value(self, home));
    }
    return slot->shown;
}

int64_t tq_config_int(tq_config_t *self, const char *name)
{
    return self->slot[must_find(name, TQ_CFG_INT)].num;
}

int tq_config_bool(tq_config_t *self, const char *name)
{
    return self->slot[must_find(name, TQ_CFG_BOOL)].num != 0;
}

double tq_config_fraction(tq_config_t *self, const char *name)
{
    return (double)self->slot[must_find(name, TQ_CFG_FRAC)].num / TQ_CONFIG_FRAC_ONE;
}

const char *tq_config_source(tq_config_t *self, const char *name)
{
    return s_source_names[self->slot[must_find(name, -1)].source];
}

/* --- masking and printing ---------------------------------------------------- */

char *tq_mask_secret(const char *value)
{
    if (!value) value = "";
    /* Count characters, not bytes, so UTF-8 is never cut inside a character. */
    size_t len = strlen(value), chars = 0;
    for (size_t k = 0; k < len; k++)
        chars += ((unsigned char)value[k] & 0xC0) != 0x80;
    /* The one masking rule: under 8 characters nothing shows; under 16 at
     * most 2 (the first and the last); from 16 on the first 2 and last 2. */
    if (chars < 8) return tq_xstrdup("******");
    size_t show = chars < 16 ? 1 : 2;
    size_t head = 0, seen = 0;
    for (; head < len; head++)
        if (((unsigned char)value[head] & 0xC0) != 0x80 && seen++ == show) break;
    size_t tail = len;
    for (seen = 0; tail > 0;)
        if (((unsigned char)value[--tail] & 0xC0) != 0x80 && ++seen == show) break;
    tq_buf_t b = {0};
    tq_buf_add(&b, value, head);
    tq_buf_adds(&b, "***");
    tq_buf_add(&b, value + tail, len - tail);
    return tq_buf_take(&b);
}

static void add_masked(tq_buf_t *b, const char *s, size_t n)
{
    char *clear = tq_xstrndup(s, n);
    char *masked = tq_mask_secret(clear);
    tq_buf_adds(b, masked);
    free(masked);
    free(clear);
}

int tq_mask_name_is_secret(const char *key, size_t n)
{
    static const char *const words[] = {"password", "passwd",  "secret",
                                        "token",    "private", "assertion"};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t wl = strlen(words[w]);
        for (size_t k = 0; k + wl <= n; k++)
            if (strncasecmp(key + k, words[w], wl) == 0) return 1;
    }
    return 0;
}

json_t *tq_mask_object(const json_t *obj, int (*is_secret)(const char *key))
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (json_is_string(v) && is_secret(k)) {
            char *m = tq_mask_secret(json_string_value(v));
            json_object_set_new(out, k, json_string(m));
            free(m);
        } else {
            json_object_set_new(out, k, json_deep_copy(v)); /* a copy: the source may be wiped */
        }
    }
    return out;
}

/* Masks passwords inside a non-secret value: "scheme://user:PASS@host" and
 * "password=PASS" (libpq conninfo, also 'quoted'; query strings). */
static char *scrub(const char *s)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    tq_buf_t b = {0};
    size_t i = 0;
    while (s[i]) {
        if (strncmp(s + i, "://", 3) == 0) {
            size_t a = i + 3, e = a + strcspn(s + a, "/?# \t\n"), at = e;
            while (at > a && s[at - 1] != '@')
                at--;
            tq_buf_add(&b, s + i, 3);
            i = a;
            if (at > a) { /* userinfo is s[a, at-1) */
                const char *colon = memchr(s + a, ':', at - 1 - a);
                if (colon) {
                    size_t c = (size_t)(colon - s);
                    tq_buf_add(&b, s + a, c + 1 - a);
                    add_masked(&b, s + c + 1, at - 1 - (c + 1));
                    i = at - 1; /* continue at the '@' */
                }
            }
            continue;
        }
        if (i == 0 || strchr(" \t\n?&;", s[i - 1])) {
            size_t k = strspn(s + i, letters), j = i + k;
            while (s[j] == ' ' || s[j] == '\t')
                j++;
            if (k > 0 && s[j] == '=' && tq_mask_name_is_secret(s + i, k)) {
                for (j++; s[j] == ' ' || s[j] == '\t'; j++)
                    ;
                tq_buf_add(&b, s + i, j - i);
                size_t v = j;
                if (s[j] == '\'') {
                    for (j++; s[j] && s[j] != '\''; j++)
                        if (s[j] == '\\' && s[j + 1]) j++;
                    tq_buf_adds(&b, "'");
                    add_masked(&b, s + v + 1, j - v - 1);
                    tq_buf_adds(&b, "'");
                    if (s[j] == '\'') j++;
                } else {
                    j += strcspn(s + j, " \t\n&;");
                    add_masked(&b, s + v, j - v);
                }
                i = j;
                continue;
            }
        }
        tq_buf_add(&b, s + i, 1);
        i++;
    }
    return tq_buf_take(&b);
}

/* A YAML double-quoted scalar. */
static char *yaml_quote(const char *s)
{
    tq_buf_t b = {0};
    tq_buf_adds(&b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
            tq_buf_adds(&b, esc);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            tq_buf_adds(&b, esc);
        } else {
            tq_buf_add(&b, s, 1);
        }
    }
    tq_buf_adds(&b, "\"");
    return tq_buf_take(&b);
}

static char *format_value(tq_config_t *self, size_t i)
{
    const tq_setting_t *s = &s_settings[i];
    char num[32];
    switch (s->type) {
    case TQ_CFG_INT:
        snprintf(num, sizeof num, "%" PRId64, self->slot[i].num);
        return tq_xstrdup(num);
    case TQ_CFG_BOOL:
        return tq_xstrdup(self->slot[i].num ? "true" : "false");
    case TQ_CFG_FRAC:
        snprintf(num, sizeof num, "%g", (double)self->slot[i].num / TQ_CONFIG_FRAC_ONE);
        return tq_xstrdup(num);
    case TQ_CFG_STR:
        break;
    }
    const char *v = tq_config_str(self, s->name);
    char *shown = s->secret ? (*v ? tq_mask_secret(v) : tq_xstrdup("")) : scrub(v);
    char *quoted = yaml_quote(shown);
    free(shown);
    return quoted;
}

/* Prints the settings under prefix (its first plen characters, "" or ending
 * in '.') as a nested mapping, in table order. */
static void print_section(tq_config_t *self, FILE *out, const char *prefix, size_t plen, int indent)
{
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        const char *name = s_settings[i].name;
        if (strncmp(name, prefix, plen) != 0) continue;
        const char *seg = name + plen;
        size_t seglen = strcspn(seg, ".");
        int printed = 0; /* an earlier row opened the same segment */
        for (size_t j = 0; j < i && !printed; j++) {
            const char *o = s_settings[j].name;
            printed = strncmp(o, prefix, plen) == 0 && strncmp(o + plen, seg, seglen) == 0 &&
                      (o[plen + seglen] == '.' || o[plen + seglen] == '\0');
        }
        if (printed) continue;
        if (seg[seglen] == '.') {
            fprintf(out, "%*s%.*s:\n", indent, "", (int)seglen, seg);
            print_section(self, out, name, plen + seglen + 1, indent + 2);
            continue;
        }
        char *value = format_value(self, i);
        int n = fprintf(out, "%*s%s: %s", indent, "", seg, value);
        fprintf(out, "%*s# %s\n", n < 46 ? 48 - n : 2, "", s_source_names[self->slot[i].source]);
        free(value);
    }
}

void tq_config_print(tq_config_t *self, FILE *out)
{
    fputs("# toolq effective configuration; the comment on each line says where the value\n"
          "# came from: default, file, env or flag. Secrets are masked.\n",
          out);
    print_section(self, out, "", 0, 0);
}

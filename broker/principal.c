/* principal.c — the frontend's principals and access decisions (see
 * principal.h and docs/security.md). */
#include "principal.h"

#include "log.h"

#include <ctype.h>
#include <czmq.h>
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    uid_t uid;
    tq_role_t role;
    char *tenant; /* TQ_ROLE_TENANT */
} grant_t;

typedef struct {
    char z85[41]; /* CURVE public key */
    char name[48];
    tq_role_t role;
    bool worker;
    char *tenant; /* TQ_ROLE_TENANT */
} key_grant_t;

struct tq_principals_t {
    uid_t self_uid;
    grant_t *grants;
    size_t ngrants;
    key_grant_t *keys;
    size_t nkeys;
    struct timespec keys_mtime; /* of the allowlist folder when last read */
    bool keys_loaded;
};

bool tq_tenant_reserved(const char *tenant)
{
    return tenant && tenant[0] == '*';
}

bool tq_ikey_reserved(const char *key)
{
    return key && (strncmp(key, "sweep:", 6) == 0 || strncmp(key, "refresh:", 8) == 0);
}

static int resolve_uid(const char *who, uid_t *out, tq_error_t *err)
{
    char *end = NULL;
    unsigned long v = strtoul(who, &end, 10);
    if (*who && end && *end == '\0' && v < (unsigned long)(uid_t)-1) {
        *out = (uid_t)v;
        return 0;
    }
    char buf[4096];
    struct passwd pw, *res = NULL;
    if (getpwnam_r(who, &pw, buf, sizeof buf, &res) != 0 || !res)
        return tq_error_set(err, "invalid_config", "frontend: no such user '%.64s'", who);
    *out = res->pw_uid;
    return 0;
}

static int add_grant(tq_principals_t *s, const char *who, tq_role_t role, const char *tenant,
                     tq_error_t *err)
{
    uid_t uid;
    if (resolve_uid(who, &uid, err)) return -1;
    for (size_t i = 0; i < s->ngrants; i++)
        if (s->grants[i].uid == uid)
            return tq_error_set(err, "invalid_config",
                                "frontend: user '%.64s' is given more than one role", who);
    grant_t *g = realloc(s->grants, (s->ngrants + 1) * sizeof *g);
    if (!g) return tq_error_set(err, "internal", "out of memory");
    s->grants = g;
    g[s->ngrants] = (grant_t){uid, role, tenant ? strdup(tenant) : NULL};
    s->ngrants++;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* "a, b, c" (roles) or "user=tenant, ..." (tenants). */
static int parse_list(tq_principals_t *s, const char *setting, const char *text, tq_role_t role,
                      tq_error_t *err)
{
    char *copy = strdup(text ? text : "");
    if (!copy) return tq_error_set(err, "internal", "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *who = trim(tok), *tenant = NULL;
        if (!*who) continue;
        if (role == TQ_ROLE_TENANT) {
            char *eq = strchr(who, '=');
            if (!eq) {
                rc = tq_error_set(err, "invalid_config", "%s: '%.64s' is not user=tenant", setting,
                                  who);
                break;
            }
            *eq = '\0';
            tenant = trim(eq + 1);
            who = trim(who);
            if (!*tenant || strlen(tenant) > 255 || tq_tenant_reserved(tenant)) {
                rc = tq_error_set(err, "invalid_config",
                                  "%s: tenant of '%.64s' must be 1-255 characters and not "
                                  "reserved (*...*)",
                                  setting, who);
                break;
            }
        }
        rc = add_grant(s, who, role, tenant, err);
    }
    free(copy);
    return rc;
}

tq_principals_t *tq_principals_new(tq_config_t *cfg, tq_error_t *err)
{
    tq_principals_t *s = calloc(1, sizeof *s);
    if (!s) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    s->self_uid = geteuid();
    if (parse_list(s, "frontend.operators", tq_config_str(cfg, "frontend.operators"),
                   TQ_ROLE_OPERATOR, err) ||
        parse_list(s, "frontend.integrators", tq_config_str(cfg, "frontend.integrators"),
                   TQ_ROLE_INTEGRATOR, err) ||
        parse_list(s, "frontend.tenants", tq_config_str(cfg, "frontend.tenants"), TQ_ROLE_TENANT,
                   err)) {
        tq_principals_destroy(&s);
        return NULL;
    }
    for (size_t i = 0; i < s->ngrants; i++)
        if (s->grants[i].uid == s->self_uid && s->grants[i].role != TQ_ROLE_OPERATOR) {
            tq_error_set(err, "invalid_config",
                         "frontend: the broker's own user is always operator; it cannot be "
                         "given another role");
            tq_principals_destroy(&s);
            return NULL;
        }
    return s;
}

void tq_principals_destroy(tq_principals_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_principals_t *s = *self_p;
    for (size_t i = 0; i < s->ngrants; i++)
        free(s->grants[i].tenant);
    free(s->grants);
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i].tenant);
    free(s->keys);
    free(s);
    *self_p = NULL;
}

/* A key file's `role`: operator, integrator, tenant:<name> or worker. */
static bool parse_key_role(const char *role, key_grant_t *k)
{
    if (!role) return false;
    if (strcmp(role, "operator") == 0) {
        k->role = TQ_ROLE_OPERATOR;
    } else if (strcmp(role, "integrator") == 0) {
        k->role = TQ_ROLE_INTEGRATOR;
    } else if (strcmp(role, "worker") == 0) {
        k->role = TQ_ROLE_NONE; /* no role on the frontend */
        k->worker = true;
    } else if (strncmp(role, "tenant:", 7) == 0 && role[7] && strlen(role + 7) <= 255 &&
               !tq_tenant_reserved(role + 7)) {
        k->role = TQ_ROLE_TENANT;
        k->tenant = strdup(role + 7);
        return k->tenant != NULL;
    } else {
        return false;
    }
    return true;
}

int tq_principals_load_keys(tq_principals_t *s, const char *dir, bool force, tq_error_t *err)
{
    struct stat st;
    if (!dir || !*dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tq_error_set(err, "invalid_config", "curve.allow_dir: no folder '%.200s'",
                            dir ? dir : "");
    if (!force && s->keys_loaded && st.st_mtim.tv_sec == s->keys_mtime.tv_sec &&
        st.st_mtim.tv_nsec == s->keys_mtime.tv_nsec)
        return (int)s->nkeys;
    DIR *d = opendir(dir);
    if (!d)
        return tq_error_set(err, "invalid_config", "curve.allow_dir: cannot read '%.200s'", dir);
    key_grant_t *keys = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".key") != 0 || e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        zcert_t *cert = zcert_load(path);
        key_grant_t k = {0};
        snprintf(k.name, sizeof k.name, "%.*s", (int)(len - 4), e->d_name);
        if (!cert || !parse_key_role(zcert_meta(cert, "role"), &k)) {
            tq_warn("curve.allow_dir: %s has no valid role (operator, integrator, tenant:<name>, "
                    "worker): its key is refused",
                    path);
            zcert_destroy(&cert);
            continue;
        }
        snprintf(k.z85, sizeof k.z85, "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
        key_grant_t *grown = realloc(keys, (n + 1) * sizeof *keys);
        if (!grown) {
            free(k.tenant);
            break;
        }
        keys = grown;
        keys[n++] = k;
    }
    closedir(d);
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i].tenant);
    free(s->keys);
    s->keys = keys;
    s->nkeys = n;
    s->keys_mtime = st.st_mtim;
    s->keys_loaded = true;
    return (int)n;
}

static const key_grant_t *find_key(const tq_principals_t *s, const char *z85)
{
    for (size_t i = 0; z85 && i < s->nkeys; i++)
        if (strcmp(s->keys[i].z85, z85) == 0) return &s->keys[i];
    return NULL;
}

bool tq_principals_key(const tq_principals_t *s, const char *z85, bool *is_worker,
                       const char **name)
{
    const key_grant_t *k = find_key(s, z85);
    if (!k) return false;
    if (is_worker) *is_worker = k->worker;
    if (name) *name = k->name;
    return true;
}

/* ":uid:gid:pid" at the end of the Peer-Address (libzmq, ipc + SO_PEERCRED). */
static bool parse_peer(const char *addr, uid_t *uid, pid_t *pid)
{
    if (!addr) return false;
    const char *c[3] = {NULL, NULL, NULL};
    const char *p = addr + strlen(addr);
    for (int k = 2; k >= 0; k--) {
        while (p > addr && p[-1] != ':')
            p--;
        if (p == addr) return false;
        c[k] = p;
        p--;
    }
    char *end;
    unsigned long u = strtoul(c[0], &end, 10);
    if (end == c[0] || *end != ':') return false;
    long pd = strtol(c[2], &end, 10);
    if (end == c[2] || *end != '\0' || pd <= 0) return false;
    *uid = (uid_t)u;
    *pid = (pid_t)pd;
    return true;
}

void tq_principals_identify(const tq_principals_t *s, const char *user_id, const char *peer_address,
                            bool (*is_broker_pid)(pid_t pid, void *arg), void *arg,
                            tq_principal_t *out)
{
    memset(out, 0, sizeof *out);
    if (user_id && *user_id) { /* CURVE: the ZAP handler admitted this key */
        const key_grant_t *k = find_key(s, user_id);
        out->curve = true;
        out->known = k != NULL;
        snprintf(out->name, sizeof out->name, "key %.48s", k ? k->name : "(revoked)");
        if (k) {
            out->role = k->role;
            if (k->tenant) snprintf(out->tenant, sizeof out->tenant, "%s", k->tenant);
        }
        return;
    }
    if (!parse_peer(peer_address, &out->uid, &out->pid)) {
        snprintf(out->name, sizeof out->name, "unknown peer");
        return;
    }
    out->known = true;
    snprintf(out->name, sizeof out->name, "uid %u", (unsigned)out->uid);
    if (out->uid == s->self_uid) {
        out->role =
            is_broker_pid && is_broker_pid(out->pid, arg) ? TQ_ROLE_BROKER : TQ_ROLE_OPERATOR;
        return;
    }
    for (size_t i = 0; i < s->ngrants; i++)
        if (s->grants[i].uid == out->uid) {
            out->role = s->grants[i].role;
            if (s->grants[i].tenant)
                snprintf(out->tenant, sizeof out->tenant, "%s", s->grants[i].tenant);
            return;
        }
}

const char *tq_principal_display(const tq_principal_t *p, char buf[TQ_PRINCIPAL_DISPLAY])
{
    char pwbuf[1024];
    struct passwd pw, *res = NULL;
    if (p->known && !p->curve && getpwuid_r(p->uid, &pw, pwbuf, sizeof pwbuf, &res) == 0 && res)
        snprintf(buf, TQ_PRINCIPAL_DISPLAY, "%s (%.40s)", p->name, res->pw_name);
    else
        snprintf(buf, TQ_PRINCIPAL_DISPLAY, "%s", p->name);
    return buf;
}

static int forbidden(tq_error_t *err, const tq_principal_t *p, const char *what, const char *need)
{
    char who[TQ_PRINCIPAL_DISPLAY];
    return tq_error_set(err, "forbidden", "%s needs the %s role; %s is %s", what, need,
                        tq_principal_display(p, who),
                        p->role == TQ_ROLE_NONE ? "not granted any (frontend.* settings)"
                                                : tq_role_name(p->role));
}

int tq_principal_may_submit(const tq_principal_t *p, const char *op, bool test_ops,
                            const char **tenant, const char *ikey, tq_error_t *err)
{
    char who[TQ_PRINCIPAL_DISPLAY];
    const tq_opinfo_t *info = tq_opcat_find(op);
    if (!info || ((info->flags & TQ_OPF_TEST) && !test_ops))
        return tq_error_set(err, "unknown_op", "no op named '%.64s'%s", op ? op : "",
                            info ? " (test ops are off: worker.test_ops)" : "");
    if (p->role == TQ_ROLE_NONE) return forbidden(err, p, op, "tenant, integrator or operator");
    if (ikey && tq_ikey_reserved(ikey) && p->role != TQ_ROLE_BROKER)
        return tq_error_set(err, "forbidden",
                            "idempotency keys starting with sweep: or refresh: are reserved for "
                            "the broker (%s is %s)",
                            tq_principal_display(p, who), tq_role_name(p->role));
    if (info->role == TQ_ROLE_OPERATOR) {
        if (p->role < TQ_ROLE_OPERATOR) return forbidden(err, p, op, "operator");
        *tenant = TQ_SYSTEM_TENANT; /* a system op belongs to no tenant */
        return 0;
    }
    if (p->role == TQ_ROLE_TENANT) {
        if (*tenant && strcmp(*tenant, p->tenant) != 0)
            return tq_error_set(err, "forbidden",
                                "acting for another tenant needs the integrator role; %s acts "
                                "for tenant '%s' only",
                                tq_principal_display(p, who), p->tenant);
        *tenant = p->tenant;
        return 0;
    }
    if (!*tenant || !**tenant)
        return tq_error_set(err, "invalid_argument",
                            "tenant is required (1-255 printable characters)");
    if (tq_tenant_reserved(*tenant) && p->role != TQ_ROLE_BROKER)
        return tq_error_set(err, "forbidden",
                            "tenant names starting with '*' are reserved for the broker (%s is %s)",
                            tq_principal_display(p, who), tq_role_name(p->role));
    return 0;
}

int tq_principal_job_scope(const tq_principal_t *p, const char *requested, const char **scope,
                           tq_error_t *err)
{
    char who[TQ_PRINCIPAL_DISPLAY];
    switch (p->role) {
    case TQ_ROLE_OPERATOR:
    case TQ_ROLE_BROKER:
        *scope = requested && *requested ? requested : NULL;
        return 0;
    case TQ_ROLE_INTEGRATOR:
        if (!requested || !*requested)
            return tq_error_set(err, "forbidden",
                                "a job request without its tenant needs the operator role; %s "
                                "is integrator (name the tenant)",
                                tq_principal_display(p, who));
        *scope = requested;
        return 0;
    case TQ_ROLE_TENANT:
        if (requested && *requested && strcmp(requested, p->tenant) != 0)
            return tq_error_set(err, "forbidden",
                                "acting for another tenant needs the integrator role; %s acts "
                                "for tenant '%s' only",
                                tq_principal_display(p, who), p->tenant);
        *scope = p->tenant;
        return 0;
    default:
        return forbidden(err, p, "a job request", "tenant, integrator or operator");
    }
}

int tq_principal_may_stats(const tq_principal_t *p, tq_error_t *err)
{
    return p->role >= TQ_ROLE_OPERATOR ? 0 : forbidden(err, p, "STATS", "operator");
}

int tq_principal_on_behalf(tq_principal_t *p, bool own_process, const char *role,
                           const char *tenant, const char *name, tq_error_t *err)
{
    if (p->role != TQ_ROLE_BROKER || !own_process)
        return tq_error_set(err, "forbidden",
                            "requests on behalf of another principal are the broker's own; %s "
                            "is %s",
                            p->name, tq_role_name(p->role));
    tq_role_t r = tq_role_parse(role);
    if (r == TQ_ROLE_NONE)
        return tq_error_set(err, "invalid_argument",
                            "on-behalf role must be tenant, integrator "
                            "or operator");
    if (r == TQ_ROLE_TENANT && (!tenant || !*tenant || tq_tenant_reserved(tenant)))
        return tq_error_set(err, "invalid_argument",
                            "an on-behalf tenant principal needs its "
                            "tenant");
    p->role = r;
    p->known = false; /* the broker's uid and pid are not this principal's */
    snprintf(p->tenant, sizeof p->tenant, "%s", tenant ? tenant : "");
    snprintf(p->name, sizeof p->name, "%.63s", name && *name ? name : "an API key");
    return 0;
}

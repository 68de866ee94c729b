/* curve.c — CURVE server endpoints and the ZAP handler (see curve.h). */
#include "curve.h"

#include "curvekey.h"
#include "log.h"
#include "vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define DOMAIN_FRONT "toolq-frontend"
#define DOMAIN_BACK "toolq-backend"

struct tq_curve_t {
    tq_loop_t *loop;
    void *zap;
    tq_principals_t *principals;
    char *allow_dir;
    char *secret_file;
};

static int load_dir(tq_curve_t *c, bool force)
{
    tq_error_t err = {0};
    int n = tq_principals_load_keys(c->principals, c->allow_dir, force, &err);
    if (n < 0) tq_warn("%s (every CURVE peer is refused)", err.message);
    return n;
}

/* One ZAP request: version, request id, domain, address, identity,
 * mechanism, credentials (RFC 27). The answer's user id is the Z85 key. */
static void on_zap(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    (void)revents;
    tq_curve_t *c = arg;
    for (;;) {
        zmq_msg_t f[8];
        int n = 0;
        bool more = true;
        while (more) {
            zmq_msg_t tmp;
            zmq_msg_init(&tmp);
            if (zmq_msg_recv(&tmp, c->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&tmp);
                if (n == 0) return;
                break;
            }
            more = zmq_msg_more(&tmp);
            if (n < 8)
                f[n++] = tmp;
            else
                zmq_msg_close(&tmp);
        }
        char domain[64] = "", address[128] = "", key[TQ_CURVE_Z85_LEN + 1] = "";
        if (n >= 7) {
            snprintf(domain, sizeof domain, "%.*s", (int)zmq_msg_size(&f[2]),
                     (char *)zmq_msg_data(&f[2]));
            snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&f[3]),
                     (char *)zmq_msg_data(&f[3]));
            if (zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
                zmq_msg_size(&f[6]) == 32)
                zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
        }
        const char *status = "400", *text = "no CURVE key";
        bool is_worker = false;
        const char *name = NULL;
        bool back = strcmp(domain, DOMAIN_BACK) == 0;
        load_dir(c, false);
        if (key[0] && !tq_principals_key(c->principals, key, &is_worker, &name)) {
            text = "key not allowed";
        } else if (key[0] && is_worker != back) {
            text = back ? "not a worker key" : "a worker key is for the backend only";
        } else if (key[0]) {
            status = "200";
            text = "OK";
        }
        if (status[0] == '2')
            tq_debug("CURVE: admitted key %s (%s) from %s on %s", key, name, address, domain);
        else
            tq_warn("CURVE: refused %s from %s on %s: %s", key[0] ? key : "a peer", address,
                    domain[0] ? domain : "?", text);
        /* reply: version, request id, status, text, user id, metadata */
        zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
        if (n >= 2)
            zmq_send(c->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        else
            zmq_send(c->zap, "", 0, ZMQ_SNDMORE);
        zmq_send(c->zap, status, 3, ZMQ_SNDMORE);
        zmq_send(c->zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(c->zap, status[0] == '2' ? key : "", status[0] == '2' ? strlen(key) : 0,
                 ZMQ_SNDMORE);
        zmq_send(c->zap, "", 0, 0);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
}

tq_curve_t *tq_curve_new(void *ctx, tq_loop_t *loop, tq_principals_t *principals, tq_config_t *cfg,
                         tq_error_t *err)
{
    tq_curve_t *c = calloc(1, sizeof *c);
    if (!c) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->principals = principals;
    c->allow_dir = strdup(tq_config_str(cfg, "curve.allow_dir"));
    c->secret_file = strdup(tq_config_str(cfg, "curve.secret_key_file"));
    struct stat st;
    if (stat(c->secret_file, &st) != 0) {
        tq_error_set(err, "invalid_config",
                     "curve.secret_key_file: no file '%.200s' (toolq keygen broker --dir ...)",
                     c->secret_file);
        goto fail;
    }
    if (st.st_mode & 0077) {
        tq_error_set(err, "invalid_config",
                     "curve.secret_key_file: '%.200s' is readable by others (chmod 600)",
                     c->secret_file);
        goto fail;
    }
    if (tq_principals_load_keys(principals, c->allow_dir, true, err) < 0) goto fail;
    c->zap = zmq_socket(ctx, ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(c->zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(c->zap, ZAP_ENDPOINT) != 0) {
        tq_error_set(err, "bind_failed", "cannot start the ZAP handler: %s",
                     zmq_strerror(zmq_errno()));
        goto fail;
    }
    tq_loop_add_socket(loop, c->zap, ZMQ_POLLIN, on_zap, c);
    return c;
fail:
    tq_curve_destroy(&c);
    return NULL;
}

void tq_curve_destroy(tq_curve_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_curve_t *c = *self_p;
    if (c->zap) {
        tq_loop_remove_socket(c->loop, c->zap);
        zmq_close(c->zap);
    }
    free(c->allow_dir);
    free(c->secret_file);
    free(c);
    *self_p = NULL;
}

int tq_curve_bind(tq_curve_t *c, void *sock, const char *endpoints, bool role_worker,
                  tq_error_t *err)
{
    char pub[TQ_CURVE_Z85_LEN + 1], sec[TQ_CURVE_Z85_LEN + 1], why[300];
    if (tq_curve_read(c->secret_file, pub, sec, why, sizeof why))
        return tq_error_set(err, "invalid_config", "curve.secret_key_file: %s", why);
    int one = 1;
    const char *domain = role_worker ? DOMAIN_BACK : DOMAIN_FRONT;
    int rc = zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
             zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, TQ_CURVE_Z85_LEN) ||
             zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain));
    tq_secure_wipe(sec, sizeof sec);
    if (rc) return tq_error_set(err, "invalid_config", "CURVE: %s", zmq_strerror(zmq_errno()));
    char *list = strdup(endpoints), *save = NULL;
    if (!list) return tq_error_set(err, "internal", "out of memory");
    rc = 0;
    for (char *e = strtok_r(list, ",", &save); e && !rc; e = strtok_r(NULL, ",", &save)) {
        while (*e == ' ')
            e++;
        if (!*e) continue;
        if (!tq_curve_endpoint(e))
            rc =
                tq_error_set(err, "invalid_config", "%s: broker.%s_tcp takes tcp:// endpoints only",
                             e, role_worker ? "backend" : "frontend");
        else if (zmq_bind(sock, e) != 0)
            rc = tq_error_set(err, "bind_failed", "cannot bind %s: %s", e,
                              zmq_strerror(zmq_errno()));
        else
            tq_info("%s on %s (CURVE)", role_worker ? "remote workers" : "tcp clients", e);
    }
    free(list);
    return rc;
}

void tq_curve_refresh(tq_curve_t *c)
{
    if (c) load_dir(c, false);
}

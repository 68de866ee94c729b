/* curvekey.c — CURVE key files and client options (see curvekey.h). */
#include "curvekey.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

/* The quoted Z85 value of `name = "..."` on a line of f. */
static bool find_value(FILE *f, const char *name, char out[TQ_CURVE_Z85_LEN + 1])
{
    char line[512];
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strlen(name);
        if (strncmp(p, name, n) != 0) continue;
        p += n;
        while (*p == ' ' || *p == '=')
            p++;
        if (*p != '"') continue;
        char *end = strchr(p + 1, '"');
        if (!end || end - (p + 1) != TQ_CURVE_Z85_LEN) continue;
        memcpy(out, p + 1, TQ_CURVE_Z85_LEN);
        out[TQ_CURVE_Z85_LEN] = '\0';
        OPENSSL_cleanse(line, sizeof line); /* it may have held a secret key */
        return true;
    }
    OPENSSL_cleanse(line, sizeof line);
    return false;
}

int tq_curve_read(const char *path, char pub[TQ_CURVE_Z85_LEN + 1], char sec[TQ_CURVE_Z85_LEN + 1],
                  char *errbuf, size_t errlen)
{
    FILE *f = path && *path ? fopen(path, "r") : NULL;
    if (!f) {
        snprintf(errbuf, errlen, "cannot read the CURVE key file '%.200s'", path ? path : "");
        return -1;
    }
    bool ok = find_value(f, "public-key", pub) && (!sec || find_value(f, "secret-key", sec));
    fclose(f);
    if (!ok)
        snprintf(errbuf, errlen, "'%.200s' is not a CURVE %s file (toolq keygen writes them)", path,
                 sec ? "secret key (.key_secret)" : "key");
    return ok ? 0 : -1;
}

bool tq_curve_endpoint(const char *endpoint)
{
    return endpoint && strncmp(endpoint, "tcp://", 6) == 0;
}

int tq_curve_client(void *sock, const char *server_key_file, const char *key_file, char *errbuf,
                    size_t errlen)
{
    char server[TQ_CURVE_Z85_LEN + 1], pub[TQ_CURVE_Z85_LEN + 1], sec[TQ_CURVE_Z85_LEN + 1];
    if (!server_key_file || !*server_key_file || !key_file || !*key_file) {
        snprintf(errbuf, errlen,
                 "a tcp:// broker needs CURVE keys: the broker's public key "
                 "(TOOLQ_CURVE_SERVER_KEY / curve.server_key_file) and this side's secret key "
                 "(TOOLQ_CURVE_KEY / curve.key_file)");
        return -1;
    }
    if (tq_curve_read(server_key_file, server, NULL, errbuf, errlen) ||
        tq_curve_read(key_file, pub, sec, errbuf, errlen))
        return -1;
    int rc = zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, TQ_CURVE_Z85_LEN) ||
             zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, TQ_CURVE_Z85_LEN) ||
             zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, TQ_CURVE_Z85_LEN);
    OPENSSL_cleanse(sec, sizeof sec); /* core has no vault: the same wipe it uses */
    if (rc) snprintf(errbuf, errlen, "CURVE keys refused by libzmq: %s", zmq_strerror(zmq_errno()));
    return rc ? -1 : 0;
}

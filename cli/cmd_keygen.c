/* cmd_keygen.c — `toolq keygen`: writes a CURVE key pair as zcert files for
 * tcp:// endpoints (docs/security.md, "tcp:// and CURVE"): DIR/NAME.key (the
 * public key, with metadata role) and DIR/NAME.key_secret (mode 0600). Owns
 * nothing else; never prints the secret key, never overwrites a file. */
#include "cli.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tq_cmd_keygen(tq_cli_t *, int, char **);

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40 || s[0] == '.') return false;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
            *s != '.' && *s != '_' && *s != '-')
            return false;
    return true;
}

static bool valid_role(const char *r)
{
    return strcmp(r, "operator") == 0 || strcmp(r, "integrator") == 0 || strcmp(r, "worker") == 0 ||
           strcmp(r, "broker") == 0 ||
           (strncmp(r, "tenant:", 7) == 0 && r[7] && r[7] != '*' && strlen(r + 7) <= 255);
}

int tq_cmd_keygen(tq_cli_t *cli, int argc, char **argv)
{
    const char *name = NULL, *dir = ".", *role = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else
            return tq_cli_usage_error("keygen", "unexpected argument %s", argv[i]);
    }
    if (!name || !valid_name(name))
        return tq_cli_usage_error("keygen", "NAME (1-40 of [A-Za-z0-9._-]) is required%s", "");
    if (!role) role = strcmp(name, "broker") == 0 ? "broker" : NULL;
    if (!role || !valid_role(role))
        return tq_cli_usage_error(
            "keygen", "--role must be operator, integrator, tenant:<name> or worker (got %s)",
            role ? role : "none");
    char pub[4200], sec[4300];
    snprintf(pub, sizeof pub, "%s/%s.key", dir, name);
    snprintf(sec, sizeof sec, "%s/%s.key_secret", dir, name);
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0) {
        fprintf(stderr, "toolq: invalid_argument: %s already exists (keygen never overwrites)\n",
                pub);
        return TQ_EXIT_FAILED;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        fprintf(stderr, "toolq: crypto_error: cannot generate a CURVE key pair\n");
        return TQ_EXIT_FAILED;
    }
    zcert_set_meta(cert, "role", "%s", role);
    zcert_set_meta(cert, "name", "%s", name);
    mode_t old = umask(077);
    int rc = zcert_save_public(cert, pub) | zcert_save_secret(cert, sec);
    umask(old);
    if (rc == 0) rc = chmod(sec, 0600) | chmod(pub, 0644);
    if (rc) {
        fprintf(stderr, "toolq: invalid_argument: cannot write %s (does %s exist?)\n", sec, dir);
        zcert_destroy(&cert);
        return TQ_EXIT_FAILED;
    }
    if (cli->json)
        printf("{\"public_key\":\"%s\",\"public_file\":\"%s\",\"secret_file\":\"%s\",\"role\":\"%"
               "s\"}\n",
               zcert_public_txt(cert), pub, sec, role);
    else
        printf("%s\nwrote %s (public, role %s) and %s (secret, 0600)\n", zcert_public_txt(cert),
               pub, role, sec);
    zcert_destroy(&cert);
    return TQ_EXIT_OK;
}

/* cmdline.c — shared configuration flags (see cmdline.h). */
#include "cmdline.h"

#include <string.h>

static const struct {
    const char *flag;
    const char *setting;
} s_shorthands[] = {
    {"--home", "home"},
    {"--broker", "broker.frontend"},
    {"--database-url", "database.url"},
    {"--workers", "broker.workers"},
    {"--log-level", "log.level"},
    {"--plugin-path", "plugins.path"},
    {"--curve-server-key", "curve.server_key_file"},
    {"--curve-key", "curve.key_file"},
    {"--config", "config"},
    {"-c", "config"},
};

int tq_cmdline_apply(tq_config_t *cfg, int argc, char **argv, tq_error_t *err)
{
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        const char *setting = NULL;
        for (size_t k = 0; k < sizeof s_shorthands / sizeof s_shorthands[0]; k++)
            if (strcmp(a, s_shorthands[k].flag) == 0) setting = s_shorthands[k].setting;
        if (setting) {
            if (i + 1 >= argc) return tq_error_set(err, "usage", "%s needs a value", a);
            if (tq_config_set(cfg, setting, argv[i + 1], err)) return -1;
            i += 2;
        } else if (strcmp(a, "--set") == 0) {
            if (i + 1 >= argc || !strchr(argv[i + 1], '='))
                return tq_error_set(err, "usage", "--set needs NAME=VALUE");
            char name[128];
            const char *eq = strchr(argv[i + 1], '=');
            size_t n = (size_t)(eq - argv[i + 1]);
            if (n >= sizeof name)
                return tq_error_set(err, "invalid_config", "setting name too long");
            memcpy(name, argv[i + 1], n);
            name[n] = '\0';
            if (tq_config_set(cfg, name, eq + 1, err)) return -1;
            i += 2;
        } else {
            break;
        }
    }
    return i;
}

int tq_cmdline_load(tq_config_t *cfg, int argc, char **argv, int *first_unused, tq_error_t *err)
{
    int i = tq_cmdline_apply(cfg, argc, argv, err);
    if (i < 0) return -1;
    if (first_unused) *first_unused = i;
    if (tq_config_load_env(cfg, err)) return -1;
    const char *file = tq_config_str(cfg, "config");
    if (file && *file && tq_config_load_file(cfg, file, err)) return -1;
    return 0;
}

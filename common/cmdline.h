/* cmdline.h — the configuration flags shared by toolq-broker and
 * toolq-worker (the broker passes its own flags on to the workers it forks):
 *   -c/--config FILE  --set NAME=VALUE  --home DIR  --broker ENDPOINT
 *   --database-url URL  --workers N  --log-level L  --plugin-path DIRS
 * Applies them as flag-level settings, then the environment, then the YAML
 * file named by `config`. Owns no state. */
#ifndef TQ_CMDLINE_H
#define TQ_CMDLINE_H

#include "config.h"

/* Returns the index of the first argument it did not consume (so callers
 * can handle their own flags first), or -1 with err for a bad flag value.
 * Unknown flags stop the scan; the caller reports them. */
int tq_cmdline_apply(tq_config_t *cfg, int argc, char **argv, tq_error_t *err);

/* Full load: flags, environment, file. 0 or -1 (err set). */
int tq_cmdline_load(tq_config_t *cfg, int argc, char **argv, int *first_unused, tq_error_t *err);

#endif

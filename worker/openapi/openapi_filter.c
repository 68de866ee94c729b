/* openapi_filter.c — which operations become (or are listed as) tools:
 * include/exclude by tag, path glob, method and operation id. The same
 * filter object is used at import and at listing.
 * Must never modify the bundle it looks at. */
#include <fnmatch.h>
#include <string.h>
#include <strings.h>

#include "openapi.h"

static const char *const LISTS[] = {"include_tags",
                                    "exclude_tags",
                                    "include_paths",
                                    "exclude_paths",
                                    "methods",
                                    "exclude_methods",
                                    "operation_ids",
                                    "exclude_operation_ids",
                                    NULL};

int tq_openapi_filter_check(const json_t *filter, tq_error_t *err)
{
    if (!filter || json_is_null(filter)) return 0;
    if (!json_is_object(filter))
        return tq_error_set(err, "invalid_filter", "filter: expected an object, found %s",
                            tq_doc_kind(filter));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)filter, k, v)
    {
        int known = 0;
        for (int i = 0; LISTS[i]; i++)
            known |= !strcmp(k, LISTS[i]);
        if (!known) return tq_error_set(err, "invalid_filter", "filter: unknown key \"%s\"", k);
        size_t i;
        json_t *s;
        if (!json_is_array(v))
            return tq_error_set(err, "invalid_filter", "filter.%s: expected an array", k);
        json_array_foreach(v, i, s) if (!json_is_string(s)) return tq_error_set(
            err, "invalid_filter", "filter.%s: expected strings", k);
    }
    return 0;
}

typedef enum { EXACT, NOCASE, GLOB } how_t;

/* 1 when any pattern of list matches any of values (a string or an array). */
static int any(const json_t *list, const json_t *values, how_t how)
{
    size_t i, j;
    json_t *pat, *v;
    json_array_foreach(list, i, pat)
    {
        const char *p = json_string_value(pat);
        if (json_is_string(values)) {
            const char *s = json_string_value(values);
            if ((how == EXACT && !strcmp(p, s)) || (how == NOCASE && !strcasecmp(p, s)) ||
                (how == GLOB && fnmatch(p, s, 0) == 0))
                return 1;
        } else {
            json_array_foreach(values, j, v) if (json_is_string(v) &&
                                                 !strcmp(p, json_string_value(v))) return 1;
        }
    }
    return 0;
}

int tq_openapi_filter_match(const json_t *filter, const json_t *bundle)
{
    if (!json_is_object(filter)) return 1;
    static const struct {
        const char *include, *exclude, *field;
        how_t how;
    } RULES[] = {{"include_tags", "exclude_tags", "tags", EXACT},
                 {"include_paths", "exclude_paths", "path", GLOB},
                 {"methods", "exclude_methods", "method", NOCASE},
                 {"operation_ids", "exclude_operation_ids", "operation_id", EXACT}};
    for (size_t r = 0; r < sizeof RULES / sizeof RULES[0]; r++) {
        const json_t *values = json_object_get(bundle, RULES[r].field);
        const json_t *inc = json_object_get(filter, RULES[r].include);
        const json_t *exc = json_object_get(filter, RULES[r].exclude);
        if (json_is_array(inc) && !any(inc, values, RULES[r].how)) return 0;
        if (json_is_array(exc) && any(exc, values, RULES[r].how)) return 0;
    }
    return 1;
}

/* tq_corpus.h — where a unit test finds the external corpus of API
 * documents, and the skip when it is absent (see tests/CMakeLists.txt).
 *
 * Owns: the lookup order ($TOOLQ_CORPUS_DIR, then $TOOLQ_CORPUS_DEFAULT set
 * by ctest, then ../shared/corpus) and the skip line. Must never: pass a
 * test that did not run (a missing corpus is exit 77, which ctest counts as
 * skipped), or write into the corpus. */
#ifndef TQ_TEST_CORPUS_H
#define TQ_TEST_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define TQ_SKIP_RETURN_CODE 77

static inline const char *tq_corpus_dir(void)
{
    const char *d = getenv("TOOLQ_CORPUS_DIR");
    if (d && *d) return d;
    d = getenv("TOOLQ_CORPUS_DEFAULT");
    return d && *d ? d : "../shared/corpus";
}

/* True when the corpus is there (its specs/ folder). */
static inline int tq_corpus_present(void)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/specs", tq_corpus_dir());
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* At the top of main: skip the whole test when the corpus is absent. */
#define TQ_NEED_CORPUS()                                                                           \
    do {                                                                                           \
        if (!tq_corpus_present()) {                                                                \
            printf("corpus not found at %s; set TOOLQ_CORPUS_DIR\n", tq_corpus_dir());             \
            return TQ_SKIP_RETURN_CODE;                                                            \
        }                                                                                          \
    } while (0)

#endif

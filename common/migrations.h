/* migrations.h — the SQL migrations embedded from schemas/NNN_name.sql at build
 * time (cmake/embed_sql.cmake), and the runner that applies them. */
#ifndef TQ_MIGRATIONS_H
#define TQ_MIGRATIONS_H

#include "error.h"
#include <libpq-fe.h>

typedef struct {
    const char *name; /* "001_init.sql"; the number is the version */
    const char *sql;
} tq_migration_t;

/* Terminated by {NULL, NULL}, sorted by name. */
extern const tq_migration_t tq_migrations[];

/* Applies the missing migrations under a session advisory lock, each in its
 * own transaction, recording them in tq_migrations with the SHA-256 of their
 * text. An applied migration whose text differs from its recorded checksum
 * is error "migration_changed" naming the file (nothing after it is
 * applied); a row recorded before checksums existed gets today's checksum.
 * Returns how many were applied (0 on a second start) or -1. */
int tq_migrate(PGconn *db, tq_error_t *err);
/* The same over another list (terminated by {NULL, NULL}): for tests. */
int tq_migrate_list(PGconn *db, const tq_migration_t *list, tq_error_t *err);

#endif

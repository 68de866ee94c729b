#!/usr/bin/env bash
# test_migrations.sh — the broker refuses to start on a database where an
# applied migration no longer matches the embedded file (migration_changed,
# naming it), and a database from before checksums gets them on start.
source "$(dirname "$0")/lib.sh"
tq_setup migrations

tq_start_broker --workers 1
tq_stop_broker
assert_eq 0 "$(tq_psql -c "select count(*) from tq_migrations where checksum is null")" \
  "every applied migration has its checksum"

# What an edited 001_init.sql looks like from the database's side.
tq_psql -c "update tq_migrations set checksum = repeat('0', 64) where name = '001_init.sql'"
set +e
timeout 30 "$TOOLQ_BIN_DIR/toolq-broker" --set http.listen= --workers 1 >"$TQ_DIR/edited.log" 2>&1
rc=$?
set -e
assert_eq 1 "$rc" "an edited applied migration stops the broker at start"
check "it names the error and the file" grep -q "migration_changed.*schemas/001_init.sql" "$TQ_DIR/edited.log"

# A database migrated before checksums existed: the rows get them, start goes on.
tq_psql -c "update tq_migrations set checksum = null"
tq_start_broker --workers 1
check "a pre-checksum database starts" toolq --timeout 5 ping
assert_eq 0 "$(tq_psql -c "select count(*) from tq_migrations where checksum is null")" \
  "its rows got their checksums"
tq_stop_broker

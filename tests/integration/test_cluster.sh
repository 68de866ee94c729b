#!/usr/bin/env bash
# The embedded cluster made by scripts/pgcluster (security review F2): its
# folder and socket are 0700, authentication is peer only (no trust), the
# application role toolq is an ordinary owner of its database (no superuser,
# so no pg_read_file of master.key, no COPY ... TO PROGRAM), and another local
# user (nobody, when the suite runs as root) can neither reach the socket
# nor log in even when the socket is made reachable. Also: the broker refuses
# a master key file open to others.
source "$(dirname "$0")/lib.sh"
tq_setup cluster
PGC="$TOOLQ_SOURCE_DIR/scripts/pgcluster"
CL=$(mktemp -d /tmp/tqcluster.XXXXXX)
CPORT=$((20000 + RANDOM % 20000))
trap 'rc=$?; "$PGC" stop "$CL" >/dev/null 2>&1 || true; rm -rf "$CL"; (exit $rc); tq_cleanup' EXIT

url=$("$PGC" start "$CL" "$CPORT")
admin=$("$PGC" admin-url "$CL" "$CPORT")
assert_eq "host=$CL port=$CPORT user=toolq dbname=toolq" "$url" "start prints the application conninfo"
assert_eq 700 "$(stat -c %a "$CL")" "the cluster folder is 0700"
assert_eq 700 "$(stat -c %a "$CL/.s.PGSQL.$CPORT")" "the socket is 0700 (unix_socket_permissions)"
assert_eq 0700 "$(psql "$url" -Atqc 'show unix_socket_permissions')" "unix_socket_permissions = 0700"
assert_eq "f f f" "$(psql "$url" -Atqc "select concat_ws(' ', rolsuper, rolcreatedb, rolcreaterole) from pg_roles where rolname = current_user")" \
  "the application role toolq is not a superuser (nor createdb, createrole)"
assert_eq toolq "$(psql "$url" -Atqc "select pg_get_userbyid(datdba) from pg_database where datname = 'toolq'")" "toolq owns its database"
check "toolq can create its tables (the broker's migrations)" \
  psql "$url" -v ON_ERROR_STOP=1 -qc "create table probe (id int); drop table probe"
set +e
out=$(psql "$url" -Atqc "select pg_read_file('postgresql.conf')" 2>&1)
set -e
check "toolq cannot read server files (the master.key attack of F2)" grep -q "permission denied" <<<"$out"
assert_eq "0|1" "$(psql "$admin" -Atqc "select count(*) filter (where auth_method = 'trust'), count(*) filter (where auth_method = 'peer') from pg_hba_file_rules")" \
  "pg_hba: peer only, no trust"
assert_eq t "$(psql "$admin" -Atqc "select rolsuper from pg_roles where rolname = current_user")" "the admin role (tests only) is initdb's superuser"

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"; }
  set +e
  out=$(as_nobody psql "$url" -Atqc "select 1" 2>&1)
  rc=$?
  set -e
  check "another local user cannot connect (socket folder closed): $out" test "$rc" -ne 0
  # open the way to the socket: peer authentication still refuses
  chmod 0755 "$CL"
  chmod 0777 "$CL/.s.PGSQL.$CPORT"
  set +e
  out=$(as_nobody psql "$url" -Atqc "select 1" 2>&1)
  rc=$?
  out2=$(as_nobody psql "$admin" -Atqc "select 1" 2>&1)
  rc2=$?
  set -e
  chmod 0700 "$CL" "$CL/.s.PGSQL.$CPORT"
  check "another local user cannot log in as toolq even through an open socket" \
    bash -c "[ $rc -ne 0 ] && grep -q 'authentication failed' <<<'$out'"
  check "nor as the admin role" bash -c "[ $rc2 -ne 0 ] && grep -q 'authentication failed' <<<'$out2'"
  mkdir -p "$TQ_DIR/home"
  (umask 077; head -c32 /dev/urandom | base64 >"$TQ_DIR/home/master.key")
  check "another local user cannot read master.key" bash -c "! setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups -- cat '$TQ_DIR/home/master.key' 2>/dev/null"
else
  echo "ok - # SKIP other-user checks need root (runs as $(id -un))"
fi

# a second start is idempotent and keeps everything closed
url2=$("$PGC" start "$CL" "$CPORT")
assert_eq "$url" "$url2" "a second start gives the same conninfo"
assert_eq 700 "$(stat -c %a "$CL")" "still 0700 after a restart"

# the broker refuses a master key others may read (F12), with a clear error
chmod 0644 "$TOOLQ_MASTER_KEY_FILE"
set +e
timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" --set http.listen= >"$TQ_DIR/openkey.log" 2>&1; rc=$?
set -e
chmod 0600 "$TOOLQ_MASTER_KEY_FILE"
assert_eq 1 "$rc" "the broker refuses to start with a master key open to others"
check "the error says master_key_unsafe and chmod 600" grep -q "master_key_unsafe.*chmod 600" "$TQ_DIR/openkey.log"

#!/usr/bin/env bash
# Sourced by .ci/run: a running PostgreSQL server for store mode's tests, installed from Debian's
# packages where it is missing, with a superuser role for root reached over the Unix socket (peer
# authentication, no password). Exports the connection string the tests read.
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "== PostgreSQL: installing Debian's postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pg_version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$pg_version main"; then
  pg_createcluster "$pg_version" main >/dev/null
fi
pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q && break
  sleep 1
done
pg_isready -q || { echo "PostgreSQL $pg_version did not start: see /var/log/postgresql/" >&2; exit 1; }
if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'root'\"" | grep -q 1; then
  su postgres -c "psql -qc 'CREATE ROLE root SUPERUSER LOGIN'"
fi
export BATON_TEST_POSTGRES="postgresql://root@%2Fvar%2Frun%2Fpostgresql/postgres"
export BATON_REQUIRE_POSTGRES=1
echo "== PostgreSQL $pg_version running; store mode's tests use it"

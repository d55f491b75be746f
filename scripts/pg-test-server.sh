#!/usr/bin/env bash
# A PostgreSQL server for the tests (test/support/pg-server.ts), on Debian/Ubuntu.
#
# Idempotent: installs Debian's `postgresql` package if it is missing, starts a cluster
# (creating one if there is none), creates the role `recsys` (password `recsys`, CREATEDB)
# and the database `recsys_test` if missing, and waits until the server accepts
# connections. Needs root or sudo for the install and the cluster; nothing else.
#
# stdout carries exactly one line, for `eval "$(scripts/pg-test-server.sh)"`:
#   export RECSYS_TEST_PG_DSN=postgres://recsys:recsys@127.0.0.1:<port>/recsys_test
# Everything else (progress, the server version) goes to stderr.
set -euo pipefail

log() { echo "pg-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

# Runs a command as root: directly, or through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root or sudo to run: $*"
  fi
}

# Runs a command as the cluster owner (postgres), e.g. psql over the local socket.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -u postgres "$@"
  else die "need root or sudo to run as postgres: $*"
  fi
}

# 1. The packages. A server is a version with bin/postgres: /usr/lib/postgresql/<v>/ alone
# may be only the client (postgresql-client-<v>, with postgresql-common brought in by
# e.g. postgresql-server-dev-<v>, pgbouncer or pgbackrest), and pg_createcluster fails there.
server_versions() {
  local bin
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    if [ -x "$bin" ]; then bin="${bin#/usr/lib/postgresql/}"; echo "${bin%%/*}"; fi
  done | sort -n
}
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(server_versions)" ]; then
  log "installing Debian's postgresql package"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi

# 2. A cluster: the first one listed (the newest version if there are several), else a new one.
pick_cluster() { pg_lsclusters -h 2>/dev/null | sort -k1,1nr -k2,2 | head -n 1; }
cluster="$(pick_cluster)"
if [ -z "$cluster" ]; then
  version="$(server_versions | tail -n 1)"
  [ -n "$version" ] || die "no PostgreSQL server under /usr/lib/postgresql/*/bin/postgres"
  log "no cluster: creating $version/main"
  as_root pg_createcluster "$version" main >&2
  cluster="$(pick_cluster)"
  [ -n "$cluster" ] || die "pg_createcluster $version main did not create a cluster"
fi
read -r version name port status _ <<<"$cluster"
if [[ "$status" != online* ]]; then
  log "starting cluster $version/$name (port $port)"
  as_root pg_ctlcluster "$version" "$name" start >&2
fi

# 3. Ready?
for _ in $(seq 1 60); do
  if pg_isready -q -h 127.0.0.1 -p "$port"; then break; fi
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$port" >&2 || die "cluster $version/$name does not accept connections on 127.0.0.1:$port (see /var/log/postgresql/)"

# 4. Role and database (local socket as postgres: peer authentication).
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'recsys'")" != 1 ]; then
  log "creating role recsys"
  psql_admin -c "CREATE ROLE recsys LOGIN PASSWORD 'recsys' CREATEDB" >&2
else
  # Make sure a role left by someone else can still log in the way the tests do.
  psql_admin -c "ALTER ROLE recsys LOGIN PASSWORD 'recsys' CREATEDB" >&2
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'recsys_test'")" != 1 ]; then
  log "creating database recsys_test"
  psql_admin -c "CREATE DATABASE recsys_test OWNER recsys" >&2
fi

# 5. Check the login the tests use (TCP, password) and report.
dsn="postgres://recsys:recsys@127.0.0.1:${port}/recsys_test"
server_version="$(PGPASSWORD=recsys psql -X -tA -h 127.0.0.1 -p "$port" -U recsys -d recsys_test -c 'SHOW server_version')" ||
  die "cannot log in as recsys over TCP on 127.0.0.1:$port (check pg_hba.conf of cluster $version/$name)"
log "PostgreSQL $server_version, cluster $version/$name on 127.0.0.1:$port"
echo "export RECSYS_TEST_PG_DSN=$dsn"

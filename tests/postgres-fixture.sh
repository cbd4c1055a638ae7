#!/usr/bin/env bash
# A private PostgreSQL server for the history tests (ctest fixture):
#   postgres-fixture.sh start ENV_FILE   initdb into a new temporary directory, listen only on a
#                                        Unix socket there (no TCP), create the database, write
#                                        THERMABENCH_TEST_PG=<admin URI> into ENV_FILE
#   postgres-fixture.sh stop ENV_FILE    stop that server and remove its directory
# initdb refuses to run as root: as root the server runs as the 'postgres' user (Debian's
# postgresql package creates it). Needs Debian's postgresql (scripts/install-deps.sh).
set -euo pipefail
cmd=${1:?start or stop}
env_file=${2:?ENV_FILE}

bindir=""
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
  bindir=$(pg_config --bindir)
else
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir=$d; done
fi
if [ -z "$bindir" ]; then
  echo "postgres-fixture: no initdb found (apt-get install postgresql)" >&2
  exit 1
fi

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if [ -f "$env_file" ]; then "$0" stop "$env_file" || true; fi
  dir=$(mktemp -d /tmp/thermabench-pg-XXXXXX)
  chmod 755 "$dir"
  password="tb-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
  printf '%s\n' "$password" >"$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
  as_server_user "$bindir/initdb" -D "$dir/data" -U tbtest --auth=scram-sha-256 --pwfile="$dir/pwfile" \
    -N -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c max_connections=60" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  PGPASSWORD=$password "$bindir/createdb" -h "$dir" -U tbtest tbtest
  printf 'THERMABENCH_TEST_PG=postgresql://tbtest:%s@/tbtest?host=%s\nPG_DIR=%s\n' "$password" "$dir" "$dir" \
    >"$env_file"
  echo "postgres-fixture: server in $dir"
  ;;
stop)
  [ -f "$env_file" ] || exit 0
  dir=$(sed -n 's/^PG_DIR=//p' "$env_file")
  if [ -n "$dir" ] && [ -d "$dir/data" ]; then
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_server_user "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    if as_server_user "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      echo "postgres-fixture: the server in $dir did not stop; left it and its directory" >&2
      exit 1
    fi
  fi
  case "$dir" in /tmp/thermabench-pg-*) rm -rf "$dir" ;; esac
  rm -f "$env_file"
  ;;
*)
  echo "postgres-fixture: start or stop" >&2
  exit 2
  ;;
esac

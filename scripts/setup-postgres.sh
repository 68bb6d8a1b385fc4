#!/usr/bin/env bash
# A real PostgreSQL for the tests (Debian's postgresql package): installs it when missing, starts the cluster
# when it is down, and creates the test role and database. Idempotent: returns at once when the server already
# answers. When it starts the cluster it writes $WB_PG_MARKER, so the test session stops only what the set-up
# started (tests/db/conftest.py); a server that was already running is never stopped.
# Settings: WB_PG_USER / WB_PG_PASSWORD / WB_PG_DB (wb / wb / wbtest), WB_PG_PORT (5432).
set -euo pipefail

USER_NAME="${WB_PG_USER:-wb}"
PASSWORD="${WB_PG_PASSWORD:-wb}"
DB="${WB_PG_DB:-wbtest}"
PORT="${WB_PG_PORT:-5432}"
MARKER="${WB_PG_MARKER:-${TMPDIR:-/tmp}/workbench-postgres.started}"

say() { echo "setup-postgres: $*"; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    SUDO=(false)
fi
as_root() { "${SUDO[@]}" "$@"; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else "${SUDO[@]}" -u postgres sh -c "$1"; fi; }

ready() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$PORT"; }

if ! command -v pg_lsclusters >/dev/null; then
    if [ "${SUDO[0]:-}" = false ]; then
        say "PostgreSQL is not installed and this user cannot install it (not root, no sudo): the database tests will fail in CI and skip locally"
        exit 0
    fi
    say "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -qq postgresql >/dev/null 2>&1 \
        || { as_root apt-get update -qq && as_root apt-get install -y -qq postgresql >/dev/null; }
fi

if ! ready; then
    if [ "${SUDO[0]:-}" = false ]; then
        say "the PostgreSQL server is down and this user cannot start it (not root, no sudo)"
        exit 0
    fi
    read -r VERSION CLUSTER _ < <(pg_lsclusters -h | awk -v p="$PORT" '$3 == p {print $1, $2, $3; exit}') || true
    if [ -z "${VERSION:-}" ]; then
        VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
        CLUSTER=main
        say "creating cluster $VERSION $CLUSTER on port $PORT"
        as_root pg_createcluster "$VERSION" "$CLUSTER" -p "$PORT" >/dev/null
    fi
    say "starting cluster $VERSION $CLUSTER"
    as_root pg_ctlcluster "$VERSION" "$CLUSTER" start
    echo "$VERSION $CLUSTER" > "$MARKER"
    for _ in $(seq 1 30); do ready && break; sleep 0.5; done
    ready || { say "the server did not come up on port $PORT"; exit 1; }
fi

# the test role and database (only where this user may act as postgres; else they must exist already)
if [ "${SUDO[0]:-}" != false ]; then
    as_postgres "psql -p $PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'\" | grep -q 1 \
        || psql -p $PORT -qc \"CREATE USER $USER_NAME PASSWORD '$PASSWORD' SUPERUSER;\""
    as_postgres "psql -p $PORT -tAc \"SELECT 1 FROM pg_database WHERE datname = '$DB'\" | grep -q 1 \
        || createdb -p $PORT -O $USER_NAME $DB"
fi
say "ready: postgresql://$USER_NAME:***@127.0.0.1:$PORT/$DB"

#!/usr/bin/env bash
# The part of the official postgres image's entrypoint Daybook's compose file relies on: on an empty
# data directory, initdb with POSTGRES_PASSWORD (scram over TCP, trust on the local socket), run
# /docker-entrypoint-initdb.d/*.sh and *.sql against a socket-only server, then serve on all
# addresses.
set -euo pipefail

if [[ "${1:-postgres}" != postgres ]]; then
    exec "$@"
fi
shift || true

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    initdb --username="${POSTGRES_USER:-postgres}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    printf "listen_addresses = '*'\nunix_socket_directories = '/var/run/postgresql'\n" >> "$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    export PGHOST=/var/run/postgresql
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh) echo "entrypoint: running $script"; bash "$script" ;;
            *.sql) echo "entrypoint: running $script"; psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres -f "$script" ;;
            *) ;;
        esac
    done
    unset PGHOST
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi

exec postgres -D "$PGDATA" "$@"

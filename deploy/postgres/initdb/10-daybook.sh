#!/usr/bin/env bash
# Daybook's database bootstrap for the postgres image: run once by its entrypoint on an empty
# data volume (mounted at /docker-entrypoint-initdb.d).  Safe to run again by hand.
#
# It does what `daybook_devtools.provision.provision()` does for `daybook up` (a test keeps the
# two equal): one database, one schema per service owned by that service's login role, no
# rights for PUBLIC, and each role's search_path set to its own schema.
#
# Environment: DAYBOOK_DATABASE (default daybook), DAYBOOK_<SERVICE>_DB_PASSWORD for users,
# journal and reminders (required).  Connection: the usual libpq variables (PGHOST, …);
# inside the entrypoint, POSTGRES_USER over the local socket.
set -euo pipefail

database="${DAYBOOK_DATABASE:-daybook}"
services=(users journal reminders)

for service in "${services[@]}"; do
    variable="DAYBOOK_${service^^}_DB_PASSWORD"
    if [[ -z "${!variable:-}" ]]; then
        echo "daybook bootstrap: $variable must be set" >&2
        exit 1
    fi
done

run_psql() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" "$@"
}

# The database (CREATE DATABASE cannot run inside a function or transaction block).
run_psql --dbname "${POSTGRES_DB:-postgres}" --set=database="$database" <<'SQL'
SELECT format('CREATE DATABASE %I', :'database')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database')\gexec
SQL

{
    cat <<'SQL'
SELECT pg_advisory_lock(724311);
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database())\gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
    for service in "${services[@]}"; do
        # Passwords come from the environment (\getenv), never from the command line.
        cat <<SQL
\\getenv password DAYBOOK_${service^^}_DB_PASSWORD
SELECT 'CREATE ROLE "${service}" NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${service}')\\gexec
ALTER ROLE "${service}" LOGIN PASSWORD :'password';
-- Only a superuser may name these attributes at all (a managed server's owner is none): new roles have them off.
SELECT 'ALTER ROLE "${service}" NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS' WHERE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)\\gexec
\\unset password
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO "${service}"', current_database())\\gexec
GRANT "${service}" TO CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS "${service}" AUTHORIZATION "${service}";
ALTER SCHEMA "${service}" OWNER TO "${service}";
REVOKE ALL ON SCHEMA "${service}" FROM PUBLIC;
SELECT format('ALTER ROLE "${service}" IN DATABASE %I SET search_path = "${service}"', current_database())\\gexec
SQL
    done
    echo "SELECT pg_advisory_unlock(724311);"
} | run_psql --dbname "$database" >/dev/null

echo "daybook bootstrap: database $database with schemas and roles ${services[*]} is ready"

#!/bin/sh
# One database and one role per service on one PostgreSQL server. The postgres image runs this
# once, on an empty data directory (/docker-entrypoint-initdb.d); Kubernetes mounts the same file.
# Each role owns only its database and may connect only to it (CONNECT is revoked from PUBLIC),
# so a service cannot read another's tables even though they share the server. Passwords come
# from POSTGRES_<SERVICE>_PASSWORD; nothing secret is in this file.
#   MARKETPLACE_SERVICES   which services (default: all six)
#   MARKETPLACE_DB_PREFIX  prefix of each database and role name (default: marketplace_)
set -eu

services="${MARKETPLACE_SERVICES:-users jobs contracts payments reviews messages}"
prefix="${MARKETPLACE_DB_PREFIX:-marketplace_}"

for service in $(echo "$services" | tr ',' ' '); do
  variable="POSTGRES_$(echo "$service" | tr '[:lower:]' '[:upper:]')_PASSWORD"
  password="$(printenv "$variable" || true)"
  if [ -z "$password" ]; then
    echo "init-databases: set $variable" >&2
    exit 1
  fi
  name="${prefix}${service}"
  psql -v ON_ERROR_STOP=1 --quiet --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
       -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
SQL
  psql -v ON_ERROR_STOP=1 --quiet --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "$name" \
       -v name="$name" <<'SQL'
ALTER SCHEMA public OWNER TO :"name";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
  echo "init-databases: database and role $name"
done

#!/usr/bin/env bash
# Start a PostgreSQL for the test suite on 127.0.0.1:5432 and make the diemcau role and database.
# Uses Debian's cluster when there is one (pg_ctlcluster), else initdb into var/pg as user postgres.
set -euo pipefail
PGVER=$(ls /usr/lib/postgresql | sort -n | tail -1)
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h | grep -q .; then
  read -r ver cluster _ <<<"$(pg_lsclusters -h | head -1)"
  pg_ctlcluster "$ver" "$cluster" start 2>/dev/null || true
else
  DATA=${PGDATA_DIR:-/var/lib/postgresql/diemcau}
  if [ ! -s "$DATA/PG_VERSION" ]; then
    install -d -o postgres -g postgres "$DATA"
    runuser -u postgres -- "/usr/lib/postgresql/$PGVER/bin/initdb" -D "$DATA" -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  runuser -u postgres -- "/usr/lib/postgresql/$PGVER/bin/pg_ctl" -D "$DATA" -l "$DATA/log" \
    -o "-c listen_addresses=127.0.0.1 -p 5432" -w start
fi
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
install -d -o postgres -g postgres /var/run/postgresql
runuser -u postgres -- psql -q -d postgres -v ON_ERROR_STOP=1 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'diemcau') THEN
    CREATE ROLE diemcau LOGIN PASSWORD 'diemcau' CREATEDB;
  END IF;
END $$;
SQL
if ! runuser -u postgres -- psql -tA -d postgres -c "SELECT 1 FROM pg_database WHERE datname='diemcau'" | grep -q 1; then
  runuser -u postgres -- createdb -O diemcau diemcau
fi
echo "PostgreSQL ready: postgres://diemcau:diemcau@127.0.0.1:5432/diemcau"

#!/usr/bin/env bash
# Container start: bring the database to the current schema and make sure an admin exists (safe on
# every start; waits for the database), then serve. Arguments, when given, run instead of the web
# server after the migration, e.g. `python scripts/worker.py`.
set -euo pipefail

python scripts/migrate.py

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

# exec: uvicorn becomes the process Docker signals, so `docker stop` drains requests (20 s) instead
# of killing them. --proxy-headers: the client address (login throttling, logs) comes from the
# reverse proxy's X-Forwarded-For; narrow FORWARDED_ALLOW_IPS to the proxy's address when the
# container's port is reachable by anyone else.
exec uvicorn backend.main:app --host 0.0.0.0 --port 8000 \
  --workers "${WEB_CONCURRENCY:-2}" \
  --proxy-headers --forwarded-allow-ips="${FORWARDED_ALLOW_IPS:-*}" \
  --timeout-graceful-shutdown 20

#!/usr/bin/env bash
# Container start: bring the database to the current schema and make sure an admin exists (safe on
# every start; waits for the database), then serve. Arguments, when given, run instead of the web
# server after the migration, e.g. `python scripts/worker.py`.
set -euo pipefail

python scripts/migrate.py

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

# The client address (the per-address sign-in limit, logs) comes from X-Forwarded-For only when
# FORWARDED_ALLOW_IPS names the reverse proxy in front (its address or network). Unset, the header is
# ignored: otherwise anyone reaching the port could rotate it to dodge the limit, or lock out an address
# of their choosing. (uvicorn trusts loopback by default, hence the explicit --no-proxy-headers.)
if [ -n "${FORWARDED_ALLOW_IPS:-}" ]; then
  proxy=(--proxy-headers --forwarded-allow-ips="$FORWARDED_ALLOW_IPS")
else
  proxy=(--no-proxy-headers)
fi

# exec: uvicorn becomes the process Docker signals, so `docker stop` drains requests (20 s) instead
# of killing them.
exec uvicorn backend.main:app --host 0.0.0.0 --port "${PORT:-8000}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  "${proxy[@]}" \
  --timeout-graceful-shutdown 20

#!/usr/bin/env bash
# Container start: bring the database to the current schema and make sure an admin exists (safe on
# every start; waits for the database), then serve. Arguments, when given, run instead of the web
# server after the migration, e.g. `python scripts/worker.py`.
set -euo pipefail

status=0
python scripts/migrate.py || status=$?
if [ "$status" -eq 78 ]; then
  # The settings are wrong (migrate.py listed every problem above). Starting again cannot fix that, so
  # do not exit: compose's `restart: unless-stopped` would run this again and again, burying the message
  # in the log. Wait instead (the container shows as unhealthy) until .env is fixed and `docker compose
  # up -d` recreates the container.
  echo "Waiting for the settings to be fixed in .env; then run: docker compose up -d" >&2
  exec sleep infinity
elif [ "$status" -ne 0 ]; then
  exit "$status"  # 69: the database did not answer — worth another try, which compose makes
fi

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
# of killing them. The port is 8000 (the compose mapping and the health check use it); UVICORN_PORT, uvicorn's
# own variable, moves it only where this script runs outside the image (the tests do).
exec uvicorn backend.main:app --host 0.0.0.0 --port "${UVICORN_PORT:-8000}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  "${proxy[@]}" \
  --timeout-graceful-shutdown 20

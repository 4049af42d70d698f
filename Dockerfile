# The backend as one image: `docker compose up -d` (see docker-compose.yml and the README).
# An exact Python release on an exact Debian release, so a rebuild months later runs what was tested. To
# upgrade, change the tag on purpose (https://hub.docker.com/_/python lists them) and run the tests; to
# pin even the build of that tag, append its digest: FROM python:3.11.13-slim-bookworm@sha256:<digest>
# (`docker buildx imagetools inspect python:3.11.13-slim-bookworm` prints it).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# A fixed uid, so files on the uploads volume keep one owner across rebuilds.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# Dependencies in their own layer: a code change does not reinstall them. Every runtime wheel
# (psycopg2-binary, argon2-cffi, uvloop, orjson) is prebuilt, so no compiler is needed.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY alembic.ini ./
COPY migrations/ migrations/
COPY backend/ backend/
COPY scripts/ scripts/
COPY seeds/ seeds/

# data/ holds uploads (a volume in docker-compose.yml) and the SQLite file when DATABASE_URL is empty.
# Created here and owned by the app user, so a fresh named volume mounted on it starts writable.
RUN mkdir -p /app/data/uploads && chown -R app:app /app/data
USER 10001:10001

# Production by default: the app refuses to start with the example SECRET_KEY or ADMIN_PASSWORD.
ENV ENVIRONMENT=production \
    UPLOAD_DIR=/app/data/uploads
EXPOSE 8000

# slim has no curl; urlopen raises on anything but 2xx (the health route answers 503 when the database is down).
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/api/health', timeout=4)"]

# Migrate (and create the first admin), then serve. Arguments replace the server: `... python scripts/worker.py`.
ENTRYPOINT ["bash", "scripts/docker-entrypoint.sh"]

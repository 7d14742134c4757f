# The follow-up bot as a container: non-root, the database in a volume, settings from --env-file.
# Build: docker build -t followup-bot .   Run: see "Running in production" in README.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/app/data/bot.sqlite3 \
    MPLCONFIGDIR=/tmp/matplotlib

# Only what the package needs (see .dockerignore); installed, then the sources removed.
COPY pyproject.toml README.md /src/
COPY bot /src/bot
COPY api /src/api
COPY handlers /src/handlers
COPY crm /src/crm
COPY storage /src/storage
COPY scheduler /src/scheduler
COPY domain /src/domain
COPY views /src/views
RUN pip install --no-cache-dir /src \
    && rm -rf /src \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data \
    && chown bot:bot /app/data

WORKDIR /app
USER bot
# The database, its -wal file, the instance lock and data/backups live here: keep it on a volume.
VOLUME ["/app/data"]
# Webhook mode (WEBHOOK_PORT, the HTTP API under /api/v1 too); long polling needs no open port
# unless API_PORT is set for the HTTP API.
EXPOSE 8080

# In webhook mode, /healthz must answer; in polling mode there is no HTTP server to ask.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD \
    python -c "import os, sys, urllib.request; os.environ.get('WEBHOOK_URL') or sys.exit(0); urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEBHOOK_PORT', '8080'), timeout=4)"

# SIGTERM (docker stop) ends the bot cleanly; exit 2 = configuration error, 3 = already running.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]

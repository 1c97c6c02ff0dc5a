# kisync: web server and scheduled worker in one container (`kisync run`).
#
#   docker build -t kisync .
#   docker run -p 8080:8080 -v kisync-data:/data kisync
#
# Configuration: mount your own config.yaml at /config/config.yaml (and any
# local source files below /config); the database lives in the /data volume.
# For PostgreSQL set KISYNC_DATABASE_URL; for several workers run the image
# with the command `worker` (and one with `serve`).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY kisync ./kisync
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data kisync \
    && mkdir -p /data /config \
    && chown kisync:kisync /data

COPY config.yaml /config/config.yaml
COPY examples /config/examples

USER kisync
ENV KISYNC_CONFIG=/config/config.yaml \
    KISYNC_DATABASE_URL=sqlite:////data/kisync.db \
    KISYNC_WEB_HOST=0.0.0.0 \
    KISYNC_WEB_PORT=8080 \
    KISYNC_LOGGING_FORMAT=json
VOLUME ["/data", "/config"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]

# Migrate first (a no-op when up to date), then run the given command: run, serve or worker.
ENTRYPOINT ["sh", "-c", "kisync db upgrade && exec kisync \"$@\"", "kisync"]
CMD ["run"]

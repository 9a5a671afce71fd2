# A slim image that runs `monitor run`; the SQLite database lives on the /data volume.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_DB=/data/monitor.db \
    MONITOR_FEEDS=/app/feeds.yaml \
    MONITOR_ALERTS=/app/alerts

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install . && useradd --create-home --uid 10001 monitor && mkdir -p /data && chown monitor /data
COPY feeds.yaml ./feeds.yaml
COPY alerts ./alerts

USER monitor
VOLUME ["/data"]
HEALTHCHECK --interval=5m --timeout=30s CMD ["monitor", "health", "--fail-on", "unhealthy"]
ENTRYPOINT ["monitor"]
CMD ["run"]

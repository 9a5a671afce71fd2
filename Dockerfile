# A slim image that runs `monitor run`; the SQLite database lives on the /data volume.
# Stage 1 builds the wheel with a C compiler, so the classifier, fingerprints and parser run compiled
# (mypyc, see setup.py); the runtime image carries no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY monitor ./monitor
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_DB=/data/monitor.db \
    MONITOR_FEEDS=/app/feeds.yaml \
    MONITOR_ALERTS=/app/alerts

WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels && useradd --create-home --uid 10001 monitor \
    && mkdir -p /data && chown monitor /data
COPY feeds.yaml ./feeds.yaml
COPY alerts ./alerts

USER monitor
VOLUME ["/data"]
HEALTHCHECK --interval=5m --timeout=30s CMD ["monitor", "health", "--fail-on", "unhealthy"]
ENTRYPOINT ["monitor"]
CMD ["run"]

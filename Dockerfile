# SLA Tracker container image. Not built in this project's CI (no Docker engine there):
# kept simple so it can be checked by reading. See README "Docker".

# --- build: wheels for the app and its dependencies --------------------------------------
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY integrations ./integrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- runtime: slim, non-root ------------------------------------------------------------------
FROM python:3.11-slim
# libmagic1: needed by pysnow (python-magic).
RUN apt-get update && apt-get install -y --no-install-recommends libmagic1 && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 sla
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
# Alembic reads its scripts from the source tree next to alembic.ini.
COPY alembic.ini ./
COPY migrations ./migrations
ENV SLA_DATA_DIR=/data SLA_HOST=0.0.0.0 SLA_PORT=8000 PYTHONUNBUFFERED=1
RUN mkdir -p /data && chown sla /data
USER sla
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["sla-tracker", "serve", "--migrate"]

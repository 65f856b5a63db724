# syntax=docker/dockerfile:1
# One image for the whole suite. Every process is a command of it (see docker-compose.yml and
# deploy/k8s/):
#   marketplace api users --workers 2 --threads 4     marketplace worker payments --metrics-port 9100
#   marketplace gateway                               marketplace migrate       marketplace topology
#
# Dependencies are installed from requirements.lock (exact versions and sha256 hashes, made by
# `make lock` from pyproject.toml, see deploy/README.md), then the project
# itself without resolving anything. The base image is pinned to an exact Python release; to pin
# it to a digest as well: --build-arg PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:<digest>.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The lock alone first, so the dependency layer is cached until the lock changes. PIP_INDEX_URL is
# where pip finds the locked files: PyPI, or a local index (deploy/local-engine.sh serves one from
# the host's loopback); the hashes in the lock are checked either way.
ARG PIP_INDEX_URL=https://pypi.org/simple
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY marketplace ./marketplace
# --no-deps and --no-build-isolation: nothing outside the lock (setuptools and wheel are in it).
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip check

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="marketplace" \
      org.opencontainers.image.description="Event-driven freelance marketplace: API, worker, gateway and operator commands" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 marketplace \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin marketplace \
    && install -d -o 10001 -g 10001 -m 0755 /app /app/var
COPY --from=build /opt/venv /opt/venv
# HEALTH_PORT/HEALTH_PATH steer the healthcheck: an API checks its own port (compose sets
# 8001..8005 and /ready), a worker its probe port (9100: /health, /ready, /metrics).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VAR_DIR=/app/var \
    LOG_FORMAT=json \
    HEALTH_PORT=8000 \
    HEALTH_PATH=/health
WORKDIR /app
USER 10001:10001
EXPOSE 8000 8001 8002 8003 8004 8005 9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s%s' % (os.environ.get('HEALTH_PORT', '8000'), os.environ.get('HEALTH_PATH', '/health')), timeout=2)"]
ENTRYPOINT ["marketplace"]
CMD ["--help"]

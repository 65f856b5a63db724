# syntax=docker/dockerfile:1
# One image for the whole suite; each service's API and worker are commands of it:
#   marketplace api users    marketplace worker payments    marketplace gateway    marketplace migrate
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /app marketplace
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 VAR_DIR=/app/var HEALTH_PORT=8000
WORKDIR /app
USER 10001
EXPOSE 8000 8001 8002 8003 8004 8005
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HEALTH_PORT'] + '/health', timeout=2)"
ENTRYPOINT ["marketplace"]
CMD ["--help"]

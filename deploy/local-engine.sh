#!/usr/bin/env bash
# A Docker engine and the base images on a machine that has no engine running and no container
# registry (deploy/README.md, "A local engine"). Idempotent: run it as often as you like.
#
#   deploy/local-engine.sh            the engine, the Debian base and the local images; prints the
#                                     variables that point compose and the tests at them
#   deploy/local-engine.sh app        the same, then the marketplace image itself (MARKETPLACE_IMAGE)
#   deploy/local-engine.sh env        only print the variables (the images must exist)
#   deploy/local-engine.sh forget-stale  only remove the engine's stale pid files (step 1 does it too)
#
# What it does, each step skipped when already done, one run at a time (a lock in the cache folder:
# a second run waits for the first, then finds its work done):
#   1. the engine: if `docker info` does not answer, start `dockerd` in the background (log in
#      MARKETPLACE_ENGINE_LOG); as root on Debian, install docker.io and debootstrap first if missing.
#      Pid files a killed engine left behind are removed first (forget_stale_pids).
#   2. the Debian bases: debootstrap bookworm (minbase) once into MARKETPLACE_ENGINE_CACHE, then
#      `docker import` it as marketplace-local/debian:bookworm; the same for sid (the nginx image
#      needs a newer nginx than bookworm has).
#   3. the local images from deploy/local/<name>/ (python, rabbitmq, postgres on bookworm, nginx on
#      sid), built with host networking (apt reaches Debian's mirror); each is tagged with the hash
#      of its folder and of its base, and not built again while that tag exists.
#   4. (`app`) the marketplace image from the root Dockerfile with PYTHON_IMAGE set to the local
#      Python: the locked files are downloaded on the host (where pip trusts the machine's CA
#      bundle) and served to the build from the loopback as its PIP_INDEX_URL: no certificate
#      and no credentials enter the image.
#
# Variables (defaults in brackets):
#   MARKETPLACE_ENGINE_CACHE   [/var/cache/marketplace-local]   debootstrap's root and the wheels
#   MARKETPLACE_ENGINE_LOG     [/var/log/marketplace-dockerd.log]
#   DEBIAN_MIRROR              [http://deb.debian.org/debian]
#   MARKETPLACE_IMAGE          [marketplace:local]              the image `app` builds
#   PYTHON                     [python3]                        the pip that downloads the wheels
#   MARKETPLACE_ENGINE_INDEX_PORT [38573]                       the loopback port of the wheel index
#   MARKETPLACE_ENGINE_PIDS    [/var/run/docker.pid:dockerd /var/run/docker/containerd/containerd.pid:containerd]
#                              the engine's pid files, each with the program it must name
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MARKETPLACE_ENGINE_CACHE:-/var/cache/marketplace-local}"
LOG="${MARKETPLACE_ENGINE_LOG:-/var/log/marketplace-dockerd.log}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
APP_IMAGE="${MARKETPLACE_IMAGE:-marketplace:local}"
PYTHON="${PYTHON:-python3}"
INDEX_PORT="${MARKETPLACE_ENGINE_INDEX_PORT:-38573}"
PID_FILES="${MARKETPLACE_ENGINE_PIDS:-/var/run/docker.pid:dockerd /var/run/docker/containerd/containerd.pid:containerd}"
BASE=marketplace-local/debian:bookworm
SID_BASE=marketplace-local/debian:sid
# The stable names compose and the tests are given (each also tagged by content hash).
PYTHON_LOCAL=marketplace-local/python:3.11-bookworm
RABBITMQ_LOCAL=marketplace-local/rabbitmq:3.10-management-bookworm
POSTGRES_LOCAL=marketplace-local/postgres:15-bookworm
NGINX_LOCAL=marketplace-local/nginx:1.30-sid
# The classic builder: no BuildKit front-end image to pull, and no buildx plugin needed.
export DOCKER_BUILDKIT=0

say() { echo "local-engine: $*" >&2; }
die() { say "$*"; exit 1; }
answers() { docker info >/dev/null 2>&1; }
has_image() { docker image inspect "$1" >/dev/null 2>&1; }
build() {  # docker build's arguments; its notice that the classic builder is deprecated is dropped
  local log rc=0
  log="$(mktemp)"
  docker build --quiet --force-rm --network host "$@" >/dev/null 2>"$log" || rc=$?
  grep -v -e 'legacy builder is deprecated' -e 'BuildKit is currently disabled' -e 'environment-variable\.' \
    -e '^ *$' "$log" >&2 || true
  rm -f "$log"
  return "$rc"
}

ensure_engine() {
  command -v docker >/dev/null || install_engine
  if answers; then return 0; fi
  [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ] && \
    die "DOCKER_HOST=$DOCKER_HOST does not answer (a remote engine is not started from here)"
  command -v dockerd >/dev/null || install_engine
  [ "$(id -u)" = 0 ] || die "no engine answers and starting dockerd needs root (or start Docker yourself)"
  forget_stale_pids
  say "starting dockerd (log: $LOG)"
  mkdir -p "$(dirname "$LOG")"
  # Detached from this shell, so it outlives the script; it is left running on purpose.
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null 9>&- &
  local pid=$!
  for _ in $(seq 120); do
    answers && { say "the engine answers"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  tail -20 "$LOG" >&2 || true
  die "dockerd did not answer (see $LOG)"
}

# A killed engine leaves its pid files behind, and /run is not always a tmpfs: once the number is
# another live process's, dockerd takes it for a containerd still running and waits for it until
# "timeout waiting for containerd to start", or for a dockerd still running and refuses to start.
# A pid file is stale unless the process it names is that program.
forget_stale_pids() {
  local file name pid
  for file in $PID_FILES; do
    name="${file##*:}" file="${file%:*}"
    [ -f "$file" ] || continue
    pid="$(tr -dc 0-9 <"$file")"
    if [ "$(cat "/proc/${pid:-0}/comm" 2>/dev/null)" != "$name" ]; then
      say "removing the stale $file (pid ${pid:-none} is not $name)"
      rm -f "$file"
    fi
  done
}

install_engine() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || \
    die "install Docker first (Debian/Ubuntu as root: apt-get install docker.io debootstrap)"
  say "installing docker.io and debootstrap with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap iptables >/dev/null
}

ensure_base() {  # suite (bookworm or sid), image
  local suite="$1" image="$2"
  has_image "$image" && return 0
  command -v debootstrap >/dev/null || install_engine
  local rootfs="$CACHE/$suite-minbase" tarball="$CACHE/$suite-minbase.tar"
  if [ ! -s "$tarball" ]; then
    say "debootstrap $suite (minbase) into $rootfs, once"
    rm -rf "$rootfs" && mkdir -p "$CACHE"
    debootstrap --variant=minbase "$suite" "$rootfs" "$MIRROR" >"$CACHE/debootstrap-$suite.log" 2>&1 || \
      { tail -20 "$CACHE/debootstrap-$suite.log" >&2; die "debootstrap failed (see $CACHE/debootstrap-$suite.log)"; }
    if [ "$suite" = bookworm ]; then
      cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
EOF
    else
      echo "deb $MIRROR $suite main" >"$rootfs/etc/apt/sources.list"
    fi
    # What an image does not need: fetched packages, lists, docs; apt keeps nothing.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
           "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
      >"$rootfs/etc/apt/apt.conf.d/90marketplace-local"
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  say "importing $image"
  docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$image" >/dev/null
}

content_hash() {  # a folder and a base image -> a short hash
  local base_id
  base_id="$(docker image inspect --format '{{.Id}}' "$2")"
  { echo "$base_id"; (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); } |
    sha256sum | cut -c1-16
}

build_local() {  # name, stable tag[, base image]
  local dir="$ROOT/deploy/local/$1" base="${3:-$BASE}" hashed
  hashed="marketplace-local/$1:h-$(content_hash "$dir" "$base")"
  if ! has_image "$hashed"; then
    say "building $hashed"
    build --build-arg "BASE_IMAGE=$base" -t "$hashed" "$dir" || die "building $1 failed (docker build --network host $dir)"
  fi
  docker tag "$hashed" "$2"
}

build_app() {
  local wheels="$CACHE/wheels" index="$CACHE/index" port server
  local stamp="$wheels/.downloaded-$(sha256sum "$ROOT/requirements.lock" | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    say "downloading the locked files into $wheels (pip with this machine's configuration)"
    mkdir -p "$wheels"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
      --only-binary :all: -r "$ROOT/requirements.lock" -d "$wheels" 2>"$CACHE/pip-download.log" || \
      { tail -20 "$CACHE/pip-download.log" >&2; die "pip download failed (see $CACHE/pip-download.log)"; }
    touch "$stamp"
  fi
  # A "simple" index (one folder per project) that pip in the build reads over the loopback.
  rm -rf "$index" && mkdir -p "$index"
  "$PYTHON" - "$wheels" "$index" <<'PY'
import os, re, sys
wheels, index = sys.argv[1:]
for name in os.listdir(wheels):
    project = re.split(r"-\d", name, maxsplit=1)[0]
    folder = os.path.join(index, re.sub(r"[-_.]+", "-", project).lower())
    os.makedirs(folder, exist_ok=True)
    os.symlink(os.path.join(wheels, name), os.path.join(folder, name))
PY
  # A fixed port, so the build argument (and with it the cached layer) stays the same from run to run.
  port="$INDEX_PORT"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    say "port $INDEX_PORT is taken: the wheel index uses $port (the dependency layer is rebuilt)"
  fi
  "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$index" "$port" >/dev/null 2>&1 9>&- &
  server=$!
  trap 'kill "$server" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  say "building $APP_IMAGE (PYTHON_IMAGE=$PYTHON_LOCAL)"
  build --build-arg "PYTHON_IMAGE=$PYTHON_LOCAL" --build-arg "PIP_INDEX_URL=http://127.0.0.1:$port/" \
    -t "$APP_IMAGE" "$ROOT" || die "building $APP_IMAGE failed"
  kill "$server" 2>/dev/null || true
  trap - EXIT
}

# One run at a time on a machine: the test workers of one session (and two sessions) may call this at
# once, and two debootstraps into one folder or two dockerds would break each other. The others wait
# here, then find each step done. Where the cache cannot be made (not root), there is nothing to guard.
one_at_a_time() {
  mkdir -p "$CACHE" 2>/dev/null && command -v flock >/dev/null || return 0
  exec 9>>"$CACHE/.lock"
  flock 9
}

print_env() {
  for image in "$PYTHON_LOCAL" "$RABBITMQ_LOCAL" "$POSTGRES_LOCAL" "$NGINX_LOCAL"; do
    has_image "$image" || die "$image is missing: run deploy/local-engine.sh"
  done
  cat <<EOF
export PYTHON_IMAGE=$PYTHON_LOCAL
export RABBITMQ_IMAGE=$RABBITMQ_LOCAL
export POSTGRES_IMAGE=$POSTGRES_LOCAL
export NGINX_IMAGE=$NGINX_LOCAL
export TEST_RABBITMQ_IMAGE=$RABBITMQ_LOCAL
export TEST_POSTGRES_IMAGE=$POSTGRES_LOCAL
export TESTCONTAINERS_RYUK_DISABLED=true
EOF
  if [ "${1:-}" = app ]; then echo "export MARKETPLACE_IMAGE=$APP_IMAGE"; fi
}

case "${1:-images}" in
  images | app)
    one_at_a_time
    ensure_engine
    ensure_base bookworm "$BASE"
    ensure_base sid "$SID_BASE"
    build_local python "$PYTHON_LOCAL"
    build_local rabbitmq "$RABBITMQ_LOCAL"
    build_local postgres "$POSTGRES_LOCAL"
    build_local nginx "$NGINX_LOCAL" "$SID_BASE"
    if [ "${1:-}" = app ]; then build_app; fi
    print_env "${1:-}" ;;
  env) print_env ;;
  forget-stale) forget_stale_pids ;;
  *) die "usage: $0 [images|app|env|forget-stale]" ;;
esac

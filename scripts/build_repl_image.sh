#!/usr/bin/env bash
# Build the default image of the docker REPL (rlm-desktop-repl:latest) without any registry:
# debootstrap a minimal Debian with python3 (from Debian's own mirror, the only download),
# trim it, and `docker import` it. Idempotent: an image that is already there is kept.
#
#   sudo scripts/build_repl_image.sh [--force] [--image NAME] [--suite bookworm] [--mirror URL]
#   scripts/build_repl_image.sh --from-host [--force] [--image NAME]
#
# --from-host: no download at all, a few seconds: the image holds this machine's python3,
# its standard library (without site-/dist-packages) and the shared libraries they load.
# Needs: a running Docker engine and its CLI; debootstrap and root for the default way.
# Environment: RLM_REPL_IMAGE (default image name), DEBIAN_MIRROR, REPL_HOST_PYTHON (the
# interpreter --from-host copies; default /usr/bin/python3).
# Where a registry is reachable, `docker build -t rlm-desktop-repl:latest docker/` is the
# shorter way (docker/Dockerfile). See docker/README.md.
set -euo pipefail

IMAGE="${RLM_REPL_IMAGE:-rlm-desktop-repl:latest}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
FORCE=0
FROM_HOST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --from-host) FROM_HOST=1 ;;
    --image) IMAGE="$2"; shift ;;
    --suite) SUITE="$2"; shift ;;
    --mirror) MIRROR="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

command -v docker >/dev/null || { echo "build_repl_image: the docker CLI is missing" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build_repl_image: the Docker engine is not reachable" >&2; exit 1; }
if [ "$FORCE" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "build_repl_image: $IMAGE is already there (--force rebuilds it)"
  exit 0
fi

ROOT="$(mktemp -d /tmp/rlm-repl-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT" "$ROOT.log"' EXIT

import_root() {  # ROOT -> the image
  tar -C "$ROOT" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1' \
    --change 'WORKDIR /work' \
    --change 'CMD ["python3"]' \
    --change 'LABEL org.opencontainers.image.title=rlm-desktop-repl' \
    - "$IMAGE" >/dev/null
  docker run --rm --network none "$IMAGE" python3 -c \
    "import ast, ctypes, faulthandler, json, resource, socket, struct, threading" || {
    docker rmi -f "$IMAGE" >/dev/null 2>&1; echo "build_repl_image: the image cannot run the worker" >&2; exit 1; }
  echo "build_repl_image: built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
}

if [ "$FROM_HOST" = 1 ]; then
  HOSTPY="${REPL_HOST_PYTHON:-}"
  [ -n "$HOSTPY" ] || { [ -x /usr/bin/python3 ] && HOSTPY=/usr/bin/python3; } || HOSTPY=python3
  PY="$("$HOSTPY" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
  STDLIB="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
  DYNLOAD="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("platstdlib"))')/lib-dynload"
  echo "build_repl_image: copying $PY and $STDLIB"
  mkdir -p "$ROOT/usr/bin" "$ROOT/tmp" "$ROOT/work" "$ROOT$(dirname "$PY")"
  chmod 1777 "$ROOT/tmp"
  cp -L "$PY" "$ROOT$PY"  # same path: it finds its standard library from there
  [ "$PY" = /usr/bin/python3 ] || ln -sf "$PY" "$ROOT/usr/bin/python3"
  tar -C / --exclude='site-packages' --exclude='dist-packages' --exclude='__pycache__' \
    --exclude="${STDLIB#/}/test" --exclude="${STDLIB#/}/idlelib" --exclude="${STDLIB#/}/tkinter" \
    --exclude="${STDLIB#/}/ensurepip" -c "${STDLIB#/}" "${DYNLOAD#/}" | tar -C "$ROOT" -x
  # the shared libraries of the interpreter and of every extension module, and the loader
  for f in "$PY" "$DYNLOAD"/*.so; do ldd "$f" 2>/dev/null || true; done \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u \
    | while read -r lib; do mkdir -p "$ROOT$(dirname "$lib")"; cp -L "$lib" "$ROOT$lib"; done
  mkdir -p "$ROOT/etc"
  printf 'root:x:0:0::/work:/usr/bin/python3\nnobody:x:65534:65534::/work:/usr/bin/python3\n' >"$ROOT/etc/passwd"
  import_root
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "build_repl_image: debootstrap needs root (run with sudo)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "build_repl_image: apt-get install debootstrap" >&2; exit 1; }
echo "build_repl_image: debootstrap $SUITE from $MIRROR (a minute or two)"
debootstrap --variant=minbase --include=python3 "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
  tail -20 "$ROOT.log" >&2; exit 1; }
# what a REPL never needs: package caches and lists, docs, man pages, translations
rm -rf "$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* \
  "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/* \
  "$ROOT"/var/log/* "$ROOT"/tmp/*
import_root

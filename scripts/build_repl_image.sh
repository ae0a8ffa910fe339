#!/usr/bin/env bash
# Build the default image of the docker REPL (rlm-desktop-repl:latest) without any registry:
# debootstrap a minimal Debian with python3 (from Debian's own mirror, the only download),
# trim it, and `docker import` it. Idempotent: an image that is already there is kept.
#
#   sudo scripts/build_repl_image.sh [--force] [--image NAME] [--suite bookworm] [--mirror URL]
#
# Needs: root (debootstrap), debootstrap, a running Docker engine and its CLI.
# Environment: RLM_REPL_IMAGE (default image name), DEBIAN_MIRROR.
# Where a registry is reachable, `docker build -t rlm-desktop-repl:latest docker/` is the
# shorter way (docker/Dockerfile). See docker/README.md.
set -euo pipefail

IMAGE="${RLM_REPL_IMAGE:-rlm-desktop-repl:latest}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --image) IMAGE="$2"; shift ;;
    --suite) SUITE="$2"; shift ;;
    --mirror) MIRROR="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
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
[ "$(id -u)" = 0 ] || { echo "build_repl_image: debootstrap needs root (run with sudo)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "build_repl_image: apt-get install debootstrap" >&2; exit 1; }

ROOT="$(mktemp -d /tmp/rlm-repl-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT
echo "build_repl_image: debootstrap $SUITE from $MIRROR (a minute or two)"
debootstrap --variant=minbase --include=python3 "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
  tail -20 "$ROOT.log" >&2; rm -f "$ROOT.log"; exit 1; }
rm -f "$ROOT.log"
# what a REPL never needs: package caches and lists, docs, man pages, translations
rm -rf "$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* \
  "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/* \
  "$ROOT"/var/log/* "$ROOT"/tmp/*
chroot "$ROOT" python3 -c "import ast, json, socket, struct, threading, resource, faulthandler, ctypes"

tar -C "$ROOT" -c . | docker import \
  --change 'ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1' \
  --change 'WORKDIR /work' \
  --change 'CMD ["python3"]' \
  --change 'LABEL org.opencontainers.image.title=rlm-desktop-repl' \
  - "$IMAGE" >/dev/null
echo "build_repl_image: built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"

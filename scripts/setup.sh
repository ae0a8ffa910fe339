#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine: the system libraries Qt needs (offscreen, X11/Xvfb),
# a virtual environment in .venv and the package in editable mode with the given extras.
#   bash scripts/setup.sh            # the app only
#   bash scripts/setup.sh test,build # what CI needs
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends \
    python3 python3-venv python3-pip \
    xvfb xauth libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 \
    libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
    libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0 libxcb-xkb1 \
    libx11-xcb1 libxrender1 libxi6 libsm6 libice6 fonts-dejavu-core \
    bubblewrap >/dev/null
  # the test extras: a real headless browser for the HTML export tests (they skip without it)
  if [[ ",$EXTRAS," == *",test,"* ]]; then
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || echo "setup.sh: chromium not installed; tests/test_html_export.py browser tests will skip" >&2
  fi
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q -U pip
if [ -n "$EXTRAS" ]; then
  .venv/bin/pip install -q -e ".[$EXTRAS]"
else
  .venv/bin/pip install -q -e .
fi

#!/usr/bin/env bash
# Install (see setup.sh) and start the app. With no arguments it starts the bundled demo run
# under the debugger: the replay backend, no API key and no network needed.
#   bash scripts/start.sh                 # the demo, paused at its start (F5 continues)
#   bash scripts/start.sh run.jsonl       # open recorded trajectories
#   bash scripts/start.sh --follow logs/  # watch a folder of logs being written
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ] && command -v xvfb-run >/dev/null; then
  echo "No display found: starting under a virtual X server (xvfb-run); set DISPLAY to see the window." >&2
  RUN=(xvfb-run -a)
else
  RUN=()
fi
if [ $# -eq 0 ]; then set -- --demo; fi
exec "${RUN[@]}" .venv/bin/rlm-desktop "$@"

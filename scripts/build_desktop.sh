#!/usr/bin/env bash
# Builds the one-folder desktop app (dist/rlm-desktop/, see build.spec) and checks the built
# binary with its --smoke self-check: under the offscreen platform, under Xvfb (when xvfb-run
# is there), and once with a broken demo, where the check must fail; then runs typical model
# code in the executable started as the REPL worker (scripts/check_frozen_worker.py).
#
#     scripts/build_desktop.sh                 # PYINSTALLER=... to use another pyinstaller
#     SKIP_BUILD=1 scripts/build_desktop.sh    # only check an existing dist/rlm-desktop
#
# Screenshots of the window at the end of each check go to build/smoke-*.png.
# Exits non-zero when the build or any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYI=${PYINSTALLER:-$ROOT/.venv/bin/pyinstaller}
PY=${PYTHON_BIN:-$ROOT/.venv/bin/python}
APP=$ROOT/dist/rlm-desktop/rlm-desktop
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-150}  # seconds per run (the check's own limit is 60 s + 30 s watchdog)

t0=$(date +%s)
if [ -z "${SKIP_BUILD:-}" ]; then
  echo "build: $PYI build.spec"
  "$PYI" build.spec --noconfirm --log-level WARN
fi
t1=$(date +%s)
[ -x "$APP" ] || { echo "build: FAIL: $APP is missing" >&2; exit 1; }
echo "build: dist/rlm-desktop $(du -sh dist/rlm-desktop | cut -f1) in $((t1 - t0)) s"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ROOT/build"

# smoke NAME EXPECTED_RC [env...]: runs the built app's --smoke from an unrelated folder with
# fresh settings; its report goes to the log; fails the script unless the exit code is EXPECTED_RC.
smoke() {
  local name=$1 want=$2
  shift 2
  local log="$WORK/$name.log" rc=0
  mkdir -p "$WORK/$name/config"
  ( cd "$WORK/$name" && env XDG_CONFIG_HOME="$WORK/$name/config" \
      RLM_DESKTOP_SMOKE_SCREENSHOT="$ROOT/build/smoke-$name.png" "$@" ) >"$log" 2>&1 || rc=$?
  grep '^smoke: ' "$log" | sed "s/^/  [$name] /" || true
  if [ "$rc" != "$want" ]; then
    echo "smoke [$name]: FAIL: exit code $rc, expected $want; the output:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

smoke offscreen 0 QT_QPA_PLATFORM=offscreen timeout -k 5 "$SMOKE_TIMEOUT" "$APP" --smoke
grep -q '^smoke: ok' "$WORK/offscreen.log" || { echo "smoke [offscreen]: FAIL: no 'smoke: ok'" >&2; exit 1; }

if command -v xvfb-run >/dev/null 2>&1; then
  smoke xvfb 0 QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
    timeout -k 5 "$SMOKE_TIMEOUT" "$APP" --smoke
  grep -q '^smoke: ok' "$WORK/xvfb.log" || { echo "smoke [xvfb]: FAIL: no 'smoke: ok'" >&2; exit 1; }
  grep -q 'Qt platform xcb' "$WORK/xvfb.log" || { echo "smoke [xvfb]: FAIL: not on the xcb platform" >&2; exit 1; }
else
  echo "smoke [xvfb]: skipped (xvfb-run is not installed)"
fi

# The executable as the REPL worker: typical model code (stdlib, numpy, llm_query) runs in it.
"$PY" scripts/check_frozen_worker.py "$APP"

# The check can fail: a demo whose recording was cut short must not pass.
BROKEN="$WORK/broken-resources"
cp -r "$ROOT/dist/rlm-desktop/_internal/resources" "$BROKEN"
head -n 3 "$BROKEN/demo/demo_trajectory.jsonl" >"$BROKEN/demo/cut.jsonl"
mv "$BROKEN/demo/cut.jsonl" "$BROKEN/demo/demo_trajectory.jsonl"
smoke broken 1 QT_QPA_PLATFORM=offscreen RLM_DESKTOP_RESOURCES="$BROKEN" \
  timeout -k 5 "$SMOKE_TIMEOUT" "$APP" --smoke
grep -q '^smoke: FAIL' "$WORK/broken.log" || { echo "smoke [broken]: no 'smoke: FAIL' report" >&2; exit 1; }

echo "build_desktop: ok (build $((t1 - t0)) s, checks $(( $(date +%s) - t1 )) s)"

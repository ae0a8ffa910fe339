#!/usr/bin/env bash
# Best effort, for CI on a fresh Debian machine: a Docker engine and the REPL image, so that
# tests/test_docker_real.py runs. It never fails the build: whatever cannot be done is said
# (and why) and the script exits 0; the docker tests then skip with their reason.
#
#   scripts/ci_docker.sh          install docker.io if needed, start dockerd if no engine
#                                 answers (no bridge, no iptables: containers get no network),
#                                 build the image (scripts/build_repl_image.sh --from-host)
#   scripts/ci_docker.sh --stop   stop the dockerd that this script started
#
# The PID of the dockerd it starts goes to $RLM_DOCKERD_PIDFILE (default /tmp/rlm-dockerd.pid),
# its log to $RLM_DOCKERD_LOG (default /tmp/rlm-dockerd.log). An engine that already answers is
# used as it is and never stopped. RLM_DOCKER_TIMEOUT: seconds to wait for dockerd (default 60).
set -uo pipefail
cd "$(dirname "$0")/.."

PIDFILE="${RLM_DOCKERD_PIDFILE:-/tmp/rlm-dockerd.pid}"
LOG="${RLM_DOCKERD_LOG:-/tmp/rlm-dockerd.log}"
WAIT="${RLM_DOCKER_TIMEOUT:-60}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
say() { echo "ci_docker: $*"; }

if [ "${1:-}" = "--stop" ]; then
  [ -f "$PIDFILE" ] || { say "no dockerd of ours to stop"; exit 0; }
  pid="$(cat "$PIDFILE")"
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    $SUDO kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 40); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    if [ -d "/proc/$pid" ]; then say "dockerd $pid did not stop in 20 s: killing it"; $SUDO kill -KILL "$pid"; fi
    say "stopped dockerd $pid"
  else
    say "dockerd $pid is not running"
  fi
  rm -f "$PIDFILE"
  exit 0
fi

T0=$(date +%s)
engine_up() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
  say "a Docker engine already answers: using it"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
      say "no dockerd and no apt-get: the docker tests will skip"; exit 0
    fi
    say "installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 $SUDO apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1 || {
      timeout 120 $SUDO apt-get update -qq >/dev/null 2>&1
      timeout 300 $SUDO apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1
    } || { say "could not install docker.io: the docker tests will skip"; exit 0; }
  fi
  started=""
  for driver in overlay2 vfs; do
    say "starting dockerd (storage driver $driver)"
    rm -f "$PIDFILE"
    $SUDO setsid dockerd --bridge=none --iptables=false --ip-masq=false --storage-driver="$driver" \
      --pidfile "$PIDFILE" </dev/null >"$LOG" 2>&1 &
    pid=$!  # dockerd itself, or sudo in front of it; dockerd writes its own PID to $PIDFILE
    for _ in $(seq 1 "$WAIT"); do
      if engine_up; then started=1; break; fi
      [ -d "/proc/$pid" ] || break
      sleep 1
    done
    [ -n "$started" ] && break
    say "dockerd ($driver) did not come up; its log ends with:"
    tail -5 "$LOG" | sed 's/^/  /'
    [ -f "$PIDFILE" ] && $SUDO kill -KILL "$(cat "$PIDFILE")" 2>/dev/null
    $SUDO kill -KILL "$pid" 2>/dev/null
    rm -f "$PIDFILE"
  done
  [ -n "$started" ] || { say "no Docker engine: the docker tests will skip"; exit 0; }
  say "dockerd $(cat "$PIDFILE") is up (PID in $PIDFILE; stop it with scripts/ci_docker.sh --stop)"
fi

if ! scripts/build_repl_image.sh --from-host; then
  say "could not build the REPL image from this machine's python3; trying debootstrap"
  command -v debootstrap >/dev/null 2>&1 || timeout 300 $SUDO apt-get install -y -qq debootstrap >/dev/null 2>&1
  $SUDO scripts/build_repl_image.sh || say "no REPL image: the docker tests will skip"
fi
say "done in $(( $(date +%s) - T0 )) s"
exit 0

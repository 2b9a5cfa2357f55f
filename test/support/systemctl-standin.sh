#!/bin/sh
# A stand-in for systemctl on a machine without systemd as PID 1 (this container, CI), for the
# real-engine deploy test only (test/infra/engine-metadata.test.ts). It is first on the PATH of
# the test's sudoer and nowhere else. It does what the metadata deploy asks of systemd, no more:
#
#   daemon-reload                  nothing to do (units are read at start)
#   enable UNIT | disable UNIT     records UNIT as enabled or not
#   disable --now UNIT             records it disabled and stops it
#   restart UNIT | start | stop    stops the running process, then starts the unit's ExecStart as
#                                  its User, in its WorkingDirectory, with its EnvironmentFile
#   reload caddy                   recorded only (no Caddy here)
#   is-active UNIT                 exit 0 while its process runs
#
# What it does not do: cgroups (MemoryMax), the sandboxing directives, restart on failure.
# State and an ordered log of every call are under $SYSTEMCTL_STANDIN_STATE (default
# /run/cloudsync-systemctl-standin), so a test can read which calls came in which order.
set -eu
state="${SYSTEMCTL_STANDIN_STATE:-/run/cloudsync-systemctl-standin}"
mkdir -p "$state"
echo "$*" >>"$state/calls.log"

unit_value() { # <unit file> <key> -> the value of the first "key=" line
  sed -n "s/^$2=//p" "$1" | head -n 1
}

running() { # <unit>
  [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null
}

stop() { # <unit>
  if running "$1"; then
    pid="$(cat "$state/$1.pid")"
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$state/$1.pid"
}

start() { # <unit>
  file="/etc/systemd/system/$1.service"
  [ -f "$file" ] || { echo "systemctl (stand-in): Unit $1.service not found." >&2; exit 5; }
  user="$(unit_value "$file" User)"
  dir="$(unit_value "$file" WorkingDirectory)"
  envfile="$(unit_value "$file" EnvironmentFile)"
  exec_start="$(unit_value "$file" ExecStart)"
  # EnvironmentFile lines are KEY=VALUE; each is exported as one word, as systemd reads them.
  setsid runuser -u "$user" -- sh -c '
    cd "$1" || exit 1
    while IFS= read -r line; do
      case "$line" in ""|"#"*) continue ;; esac
      export "$line"
    done <"$2"
    exec $3
  ' standin "$dir" "$envfile" "$exec_start" >>"$state/$1.out" 2>&1 </dev/null &
  echo "$!" >"$state/$1.pid"
}

case "${1:-}" in
  daemon-reload) ;;
  enable) touch "$state/$2.enabled" ;;
  disable)
    if [ "$2" = "--now" ]; then
      rm -f "$state/$3.enabled"
      stop "$3"
    else
      rm -f "$state/$2.enabled"
    fi
    ;;
  start) running "$2" || start "$2" ;;
  stop) stop "$2" ;;
  restart)
    stop "$2"
    start "$2"
    ;;
  reload) ;;
  is-active) running "$2" ;;
  *)
    echo "systemctl (stand-in): unsupported: $*" >&2
    exit 1
    ;;
esac

#!/usr/bin/env bash
# A private Docker daemon for tests and local use: Debian's dockerd (docker.io) with its own data
# root, exec root, socket and PID file under one state directory, so it never touches a system
# daemon's containers, images or volumes. No iptables rules and no default bridge (user-defined
# networks still work; published ports go through docker-proxy). Stopped by its PID; stop also
# removes every mount dockerd left under the state directory, then the directory.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/docker-daemon.sh start|stop|status|env

  start   start dockerd (idempotent: if already running, just print the env line)
  stop    stop dockerd by PID, unmount what it left mounted, remove the state directory
  status  exit 0 and say "running" when the daemon answers, else exit 1
  env     print the export line for DOCKER_HOST

environment:
  CLOUDSYNC_DOCKER_DIR       state directory (default /tmp/cloudsync-docker)
  CLOUDSYNC_DOCKER_TIMEOUT   seconds to wait for the daemon (default 60)

Needs root and the Debian package docker.io (dockerd, containerd, runc); curl, jq, ip (iproute2).
EOF
}

DIR="${CLOUDSYNC_DOCKER_DIR:-/tmp/cloudsync-docker}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
TIMEOUT="${CLOUDSYNC_DOCKER_TIMEOUT:-60}"

# shellcheck source=scripts/lib/service-cli.sh
source "$(dirname "$0")/lib/service-cli.sh"

print_env() {
  [[ -S "$SOCK" ]] || die "not started (no socket $SOCK)"
  printf 'export DOCKER_HOST=unix://%s\n' "$SOCK"
}

pid_alive() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

answers() { [[ -S "$SOCK" ]] && [[ "$(curl -s -m 2 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" == OK ]]; }

is_running() { pid_alive && answers; }

# Mounts under the state directory (overlay layers, network namespaces, shm), deepest first.
unmount_all() {
  local m
  awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

start() {
  if is_running; then
    print_env
    return 0
  fi
  [[ "$(id -u)" == 0 ]] || die "dockerd needs root (running as uid $(id -u))"
  for bin in dockerd containerd runc curl jq ip; do
    command -v "$bin" >/dev/null || die "$bin not found; install docker.io, curl, jq and iproute2 (scripts/install-system-deps.sh --test)"
  done
  check_ours .cloudsync-docker
  if [[ -e "$DIR" ]]; then stop_daemon; unmount_all; rm -rf "$DIR"; fi
  mkdir -p "$DIR"/{data,exec}
  touch "$DIR/.cloudsync-docker"
  # An empty config file: the system's /etc/docker/daemon.json is not this daemon's business.
  echo '{}' >"$DIR/daemon.json"
  dockerd --config-file "$DIR/daemon.json" --data-root "$DIR/data" --exec-root "$DIR/exec" \
    -H "unix://$SOCK" --pidfile "$PIDFILE" --iptables=false --ip6tables=false --bridge=none \
    >"$DIR/dockerd.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + TIMEOUT))
  until answers; do
    if ! kill -0 $! 2>/dev/null; then die "dockerd exited: $(tail -n 3 "$DIR/dockerd.log" | tr '\n' ' ')"; fi
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for dockerd; log in $DIR/dockerd.log"
    sleep 0.2
  done
  print_env
}

# dockerd stops its containers and its own containerd on SIGTERM; SIGKILL after 30 s, and then
# containerd (by its PID file) as well, since nothing else would end it. The Linux bridges of
# networks still defined outlive dockerd in the host's namespace, so they are listed first (while
# the API answers) and deleted after.
stop_daemon() {
  local pid cpid bridges=() br
  if answers; then
    mapfile -t bridges < <(curl -s -m 5 --unix-socket "$SOCK" http://localhost/networks |
      jq -r '.[] | select(.Driver == "bridge") | .Options["com.docker.network.bridge.name"] // ("br-" + .Id[0:12])')
  fi
  if [[ -f "$PIDFILE" ]]; then
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        cpid="$(cat "$DIR/exec/containerd/containerd.pid" 2>/dev/null || true)"
        if [[ -n "$cpid" ]]; then kill -9 "$cpid" 2>/dev/null || true; fi
      fi
    fi
    rm -f "$PIDFILE"
  fi
  for br in "${bridges[@]}"; do
    if ip link show "$br" >/dev/null 2>&1; then ip link delete "$br" 2>/dev/null || true; fi
  done
}

stop() {
  [[ -d "$DIR" ]] || return 0
  check_ours .cloudsync-docker
  stop_daemon
  unmount_all
  rm -rf "$DIR"
}

address() { echo "unix://$SOCK"; }

service_main "$@"

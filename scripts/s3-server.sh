#!/usr/bin/env bash
# A single-node Ceph RADOS Gateway on 127.0.0.1 for tests and local use: one monitor, one
# memstore OSD, radosgw with a beast frontend. All state lives under one directory, every daemon
# is started with a PID file and stopped by that PID. Memory-only storage: stop forgets the data.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/s3-server.sh start|stop|status|env

  start   start mon, osd and radosgw (idempotent: if already running, just print the env lines)
  stop    stop the daemons by PID and remove the state directory
  status  exit 0 and say "running" when the gateway answers, else exit 1
  env     print export lines for S3_TEST_ENDPOINT, S3_TEST_ACCESS_KEY, S3_TEST_SECRET_KEY, S3_TEST_REGION

environment:
  CLOUDSYNC_S3_DIR       state directory          (default /tmp/cloudsync-s3)
  CLOUDSYNC_S3_PORT      gateway port on 127.0.0.1 (default 7480; 0 picks a free port)
  CLOUDSYNC_S3_MGR       1 also starts ceph-mgr    (default 0: radosgw does not need it)
  CLOUDSYNC_S3_TIMEOUT   seconds to wait for the gateway (default 90)

Needs the Debian packages ceph-mon ceph-osd radosgw ceph-common (ceph-mgr for CLOUDSYNC_S3_MGR=1).
EOF
}

DIR="${CLOUDSYNC_S3_DIR:-/tmp/cloudsync-s3}"
CONF="$DIR/ceph.conf"
ACCESS_KEY="cloudsync-test-access"
SECRET_KEY="cloudsync-test-secret-0123456789"
REGION="us-east-1"
TIMEOUT="${CLOUDSYNC_S3_TIMEOUT:-90}"

# shellcheck source=scripts/lib/service-cli.sh
source "$(dirname "$0")/lib/service-cli.sh"

# A port nobody listens on. Random in a high range so parallel runs rarely race for the same one.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if ! ss -Hltn "sport = :$port" | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found"
}

endpoint() { cat "$DIR/endpoint" 2>/dev/null; }

print_env() {
  local ep
  ep="$(endpoint)" || die "not started (no $DIR/endpoint)"
  printf 'export S3_TEST_ENDPOINT=%s\n' "$ep"
  printf 'export S3_TEST_ACCESS_KEY=%s\n' "$ACCESS_KEY"
  printf 'export S3_TEST_SECRET_KEY=%s\n' "$SECRET_KEY"
  printf 'export S3_TEST_REGION=%s\n' "$REGION"
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Any HTTP answer from the gateway means it serves S3 (an anonymous GET / lists no buckets).
gateway_answers() {
  local ep
  ep="$(endpoint)" || return 1
  curl -s -o /dev/null -m 2 "$ep/" 2>/dev/null
}

is_running() { pid_alive "$DIR/run/client.rgw.a.pid" && gateway_answers; }

write_conf() {
  local fsid="$1" mon_port="$2"
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon_initial_members = a
mon_host = v2:127.0.0.1:$mon_port
public_network = 127.0.0.1/32
# No cephx: this cluster is reachable from 127.0.0.1 only. With auth off, the messenger modes
# must be crc as well, or radosgw loops on authentication errors (issue 2, section 6).
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_client_mode = crc
ms_cluster_mode = crc
ms_service_mode = crc
ms_bind_msgr1 = false
ms_bind_msgr2 = true
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
pid_file = $DIR/run/\$name.pid
log_file = $DIR/log/\$name.log
log_to_stderr = false
err_to_stderr = true
# One OSD: pools of size 1, placement across OSDs rather than hosts, few placement groups
# (radosgw creates about ten pools), and no health noise about missing redundancy.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
mon_data = $DIR/mon/\$cluster-\$id
osd_data = $DIR/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = 2147483648
osd_memory_target = 268435456
rgw_data = $DIR/rgw
mgr_data = $DIR/mgr/\$cluster-\$id

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_enable_usage_log = false
rgw_thread_pool_size = 64
EOF
}

wait_for() {
  local what="$1"; shift
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what; logs in $DIR/log"
    sleep 0.5
  done
}

start() {
  if is_running; then
    print_env
    return 0
  fi
  check_ours ceph.conf
  if [[ -e "$DIR/run" ]]; then stop_daemons; fi
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph curl; do
    command -v "$bin" >/dev/null || die "$bin not found; install ceph-mon ceph-osd radosgw ceph-common curl"
  done
  rm -rf "$DIR"
  mkdir -p "$DIR"/{run,log,mon,osd,rgw,mgr}
  local fsid mon_port osd_uuid osd_id
  fsid="$(uuidgen)"
  mon_port="$(free_port)"
  RGW_PORT="${CLOUDSYNC_S3_PORT:-7480}"
  [[ "$RGW_PORT" == 0 ]] && RGW_PORT="$(free_port)"
  write_conf "$fsid" "$mon_port"
  echo "http://127.0.0.1:$RGW_PORT" >"$DIR/endpoint"
  export CEPH_CONF="$CONF"

  log "monitor on 127.0.0.1:$mon_port"
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a 2>>"$DIR/log/start.log"
  wait_for "the monitor" ceph -c "$CONF" --connect-timeout 2 mon stat

  if [[ "${CLOUDSYNC_S3_MGR:-0}" == 1 ]]; then
    mkdir -p "$DIR/mgr/ceph-a"
    ceph-mgr -c "$CONF" -i a 2>>"$DIR/log/start.log"
  fi

  log "osd (memstore)"
  osd_uuid="$(uuidgen)"
  osd_id="$(ceph -c "$CONF" osd new "$osd_uuid")"
  mkdir -p "$DIR/osd/ceph-$osd_id"
  ceph-osd -c "$CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  ceph-osd -c "$CONF" -i "$osd_id" 2>>"$DIR/log/start.log"
  wait_for "the osd" osd_up "$osd_id"

  log "radosgw on 127.0.0.1:$RGW_PORT"
  radosgw -c "$CONF" -n client.rgw.a 2>>"$DIR/log/start.log"
  wait_for "radosgw" gateway_answers
  radosgw-admin -c "$CONF" user create --uid cloudsync-test --display-name "cloudsync test" \
    --access-key "$ACCESS_KEY" --secret "$SECRET_KEY" >/dev/null
  print_env
}

osd_up() { ceph -c "$CONF" --connect-timeout 2 osd dump 2>/dev/null | grep -q "^osd\.$1 up"; }

# Kills each daemon by its PID file, newest first, and waits for it to exit.
stop_daemons() {
  local pidfile pid
  for pidfile in "$DIR"/run/client.rgw.a.pid "$DIR"/run/osd.*.pid "$DIR"/run/mgr.*.pid "$DIR"/run/mon.*.pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$pidfile"
  done
}

stop() {
  [[ -d "$DIR" ]] || return 0
  check_ours ceph.conf
  stop_daemons
  rm -rf "$DIR"
}

address() { endpoint; }

service_main "$@"

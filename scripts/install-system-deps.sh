#!/usr/bin/env bash
# Installs the Debian packages cloudsync's tests and benchmarks use: the Ceph RADOS Gateway (a real
# S3 server on 127.0.0.1), the age, gpg and zstd CLIs for interop tests, restic and pigz as benchmark peers,
# openssh-server for the deploy test, Chromium for the inventory page test, docker.io (a private
# dockerd the local stack's container spec runs on) and busybox-static (its stand-in image).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/install-system-deps.sh [--test | --bench | --all]
  --test   packages the test suite needs (default)
  --bench  also the benchmark peers and load generator (pigz, wrk, hyperfine)
  --all    both
Runs apt-get as root (through sudo when not root). Debian/Ubuntu only.
USAGE
}

mode="test"
case "${1:-}" in
  ""|--test) mode="test" ;;
  --bench|--all) mode="all" ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

packages=(
  ceph-mon ceph-osd ceph-mgr radosgw ceph-common uuid-runtime
  age gnupg bsdutils zstd
  openssh-server
  docker.io busybox-static
  chromium
  shellcheck
  restic
  procps psmisc iproute2 util-linux
  jq sqlite3 curl openssl awscli
)
if [ "$mode" = "all" ]; then
  packages+=(wrk hyperfine time gzip pigz)
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: apt-get not found; install these packages with your system's package manager: ${packages[*]}" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-system-deps: not root and no sudo; run as root" >&2
    exit 1
  fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-system-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-system-deps: done"

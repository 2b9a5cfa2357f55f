#!/usr/bin/env bash
# Makes an encrypted backup straight into the cloud destination: a thin wrapper over
# `cloudsync backup`. The archive comes from a file, from stdin, or (no argument) from running
# `mongodump --archive` against MONGODB_URI. Exit codes are cloudsync's (see `cloudsync --help`);
# 2 also for a usage mistake here.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/sync-to-cloud.sh [-t DESTINATION] [ARCHIVE | -]

Backs up a mongodump archive into the cloud destination, encrypted and checksummed, with
`cloudsync backup`. The manifest is written last: a backup that is listed is complete.

  ARCHIVE          a mongodump --archive file; - reads the archive from stdin;
                   none: runs `mongodump --uri "$MONGODB_URI" --archive` and streams it
  -t DESTINATION   where to store it (default $CLOUDSYNC_CLOUD_DESTINATION), e.g. s3://bucket/mongo
  -h               this help

Environment: CLOUDSYNC_RECIPIENTS (age1… public keys to encrypt to), CLOUDSYNC_S3_ENDPOINT,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, MONGODB_URI (see .env.example);
CLOUDSYNC_BIN to run a specific cloudsync (default: cloudsync on PATH, else this checkout's bin/).
Exit status: cloudsync's (0 ok, 2 usage/config, 3 not found, 4 integrity, 5 remote, ...).
USAGE
}

dest="${CLOUDSYNC_CLOUD_DESTINATION:-}"
while getopts ":t:h" opt; do
  case "$opt" in
    t) dest="$OPTARG" ;;
    h) usage; exit 0 ;;
    :) echo "sync-to-cloud.sh: -$OPTARG needs a value" >&2; usage >&2; exit 2 ;;
    *) echo "sync-to-cloud.sh: unknown option -$OPTARG" >&2; usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$#" -gt 1 ]; then
  echo "sync-to-cloud.sh: at most one ARCHIVE" >&2; usage >&2; exit 2
fi
if [ -z "$dest" ]; then
  echo "sync-to-cloud.sh: no destination: pass -t s3://bucket/prefix or set CLOUDSYNC_CLOUD_DESTINATION" >&2
  exit 2
fi
cloudsync="${CLOUDSYNC_BIN:-$(command -v cloudsync || echo "$(dirname "$0")/../bin/cloudsync.js")}"

if [ "$#" -eq 1 ]; then
  exec "$cloudsync" backup --from-archive "$1" --to "$dest"
fi
if [ -z "${MONGODB_URI:-}" ]; then
  echo "sync-to-cloud.sh: no ARCHIVE given and MONGODB_URI is not set" >&2
  exit 2
fi
# pipefail: a failed mongodump fails the run even though cloudsync saw a short archive (which it
# also refuses: a truncated archive is an integrity error and nothing is listed).
mongodump --uri "$MONGODB_URI" --archive --quiet | "$cloudsync" backup --from-archive - --to "$dest"

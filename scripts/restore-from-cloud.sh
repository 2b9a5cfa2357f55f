#!/usr/bin/env bash
# Restores a backup from the cloud destination: a thin wrapper over `cloudsync restore`. Nothing
# is written until the object's size and SHA-256 match its manifest. Exit codes are cloudsync's.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/restore-from-cloud.sh [-f DESTINATION] [-i IDENTITY] [-n] TARGET [ID]

Restores backup ID (default: latest) from the cloud destination into TARGET with
`cloudsync restore`.

  TARGET           dir://PATH (mongodump directory layout: mongorestore --dir PATH, bsondump)
                   or a mongodb:// URI (where this cloudsync build supports it)
  ID               a backup id or unique prefix from `cloudsync list`; default latest
  -f DESTINATION   where the backups are (default $CLOUDSYNC_CLOUD_DESTINATION), e.g. s3://bucket/mongo
  -i IDENTITY      age identity file (default $CLOUDSYNC_IDENTITY_FILE)
  -n               dry run: show what would be restored, write nothing
  -h               this help

Environment: CLOUDSYNC_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION;
CLOUDSYNC_BIN to run a specific cloudsync (default: cloudsync on PATH, else this checkout's bin/).
Exit status: cloudsync's (0 ok, 2 usage/config, 3 not found, 4 integrity, 5 remote, 6 wrong key, ...).
USAGE
}

from="${CLOUDSYNC_CLOUD_DESTINATION:-}"
extra=()
while getopts ":f:i:nh" opt; do
  case "$opt" in
    f) from="$OPTARG" ;;
    i) extra+=(--identity "$OPTARG") ;;
    n) extra+=(--dry-run) ;;
    h) usage; exit 0 ;;
    :) echo "restore-from-cloud.sh: -$OPTARG needs a value" >&2; usage >&2; exit 2 ;;
    *) echo "restore-from-cloud.sh: unknown option -$OPTARG" >&2; usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
  usage >&2; exit 2
fi
if [ -z "$from" ]; then
  echo "restore-from-cloud.sh: no destination: pass -f s3://bucket/prefix or set CLOUDSYNC_CLOUD_DESTINATION" >&2
  exit 2
fi
cloudsync="${CLOUDSYNC_BIN:-$(command -v cloudsync || echo "$(dirname "$0")/../bin/cloudsync.js")}"
exec "$cloudsync" restore "${2:-latest}" --from "$from" --to "$1" ${extra[@]+"${extra[@]}"}

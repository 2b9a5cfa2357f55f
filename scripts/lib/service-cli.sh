# shellcheck shell=bash
# What the start|stop|status|env scripts of local servers share (scripts/s3-server.sh,
# scripts/docker-daemon.sh): messages prefixed with the script's name, the check that a state
# directory is theirs before they delete it, and the command line. Sourced; the script defines
# DIR, usage, start, stop, print_env, is_running and address (what `status` prints), then calls
# `service_main "$@"`.

log() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "$*"; exit 1; }

# Refuses to go on with a state directory the script did not create (its DIR variable may be
# mistyped): a non-empty directory without the script's own file `$1` in it.
check_ours() {
  local own="$1"
  [[ ! -e "$DIR" ]] && return 0
  [[ -d "$DIR" ]] || die "$DIR is not a directory"
  if [[ -n "$(ls -A "$DIR")" && ! -f "$DIR/$own" ]]; then
    die "$DIR is not empty and holds no $own: not a $(basename "$0") state directory, refusing to delete it"
  fi
}

service_main() {
  case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status)
      if is_running; then
        echo "running at $(address)"
      else
        echo "not running"
        return 1
      fi
      ;;
    env) print_env ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

# Sourced by the scripts that build Go programs (build-peers.sh, build-pulumi.sh); not run alone.
#
# go_env <what>: checks that Go is there (naming <what> needs it) and points its caches at
# .cache/go/ under the checkout ($root), so that a fresh clone is self-contained, unless the
# environment set GOPATH, GOMODCACHE or GOCACHE, which are then used as they are. Module zips carry
# no VCS metadata, so builds do not stamp any. Safe to call more than once. Uses the caller's `log`.
go_env() {
  if ! command -v go >/dev/null 2>&1; then
    log "go not found: cannot build $1 (install Go 1.24 or newer)"
    return 1
  fi
  if [ -n "${GO_ENV_DONE:-}" ]; then return 0; fi
  GO_ENV_DONE=1
  local own_modcache=0
  if [ -z "${GOPATH:-}" ] && [ -z "${GOMODCACHE:-}" ]; then own_modcache=1; fi
  export GOPATH="${GOPATH:-$root/.cache/go}"
  export GOMODCACHE="${GOMODCACHE:-$GOPATH/pkg/mod}"
  export GOCACHE="${GOCACHE:-$root/.cache/go/build}"
  export GOFLAGS="${GOFLAGS:--buildvcs=false}"
  # A module cache inside the checkout stays writable, so `rm -rf .cache` and `git clean` work.
  if [ "$own_modcache" -eq 1 ]; then GOFLAGS="$GOFLAGS -modcacherw"; fi
}

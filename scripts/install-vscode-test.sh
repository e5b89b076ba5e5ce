#!/usr/bin/env bash
# Install the tools for the end-to-end tests in a real VS Code: code-server (VS Code in
# a browser), playwright-core (drives Debian's chromium) and the Debian packages that
# both need. Safe to run again: every step checks first and skips what is in place.
#
# Installs into the repository, never globally:
#   .tools/vscode-test/node_modules/.bin/code-server
#   tests/node_modules/ (playwright-core and the other test packages, from tests/package-lock.json)
#   extension/node_modules/ (TypeScript and @vscode/vsce, from extension/package-lock.json)
#
# Requirements: Debian 12, Node.js 20 (code-server 4.100.3 declares engines.node "20"),
# npm, and root for apt-get when a Debian package is missing. Only the npm registry and
# the Debian archive are contacted.
set -euo pipefail

CODE_SERVER_VERSION="4.100.3"
# @vscode/ripgrep 1.15.11 (a dependency of code-server 4.100.3) downloads this archive
# in its postinstall script unless it already lies in its cache folder under $TMPDIR.
RIPGREP_CACHE_DIR="vscode-ripgrep-cache-1.15.11"
RIPGREP_ARCHIVE="ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
DEBIAN_PACKAGES=(chromium ripgrep build-essential pkg-config libkrb5-dev libxkbfile-dev libsecret-1-dev)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/.tools/vscode-test"
code_server="$tools_dir/node_modules/.bin/code-server"

log() { printf 'install-vscode-test: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

check_node() {
  command -v node >/dev/null || fail "node not found; install Node.js 20 and npm first"
  command -v npm >/dev/null || fail "npm not found; install npm for Node.js 20"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [[ "$major" == 20 ]] ||
    fail "code-server $CODE_SERVER_VERSION needs Node.js 20, found $(node --version)"
}

install_debian_packages() {
  local missing=() package status
  for package in "${DEBIAN_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    log "Debian packages present: ${DEBIAN_PACKAGES[*]}"
    return
  fi
  [[ "$(id -u)" == 0 ]] ||
    fail "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}"
  log "installing Debian packages: ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

code_server_installed() {
  [[ -x "$code_server" ]] || return 1
  local version
  version="$(node -p "require('$tools_dir/node_modules/code-server/package.json').version" 2>/dev/null || true)"
  [[ "$version" == "$CODE_SERVER_VERSION" ]]
}

seed_ripgrep_cache() {
  local rg_path staging
  rg_path="$(command -v rg)" || fail "rg not found; install the Debian package ripgrep"
  mkdir -p "$TMPDIR/$RIPGREP_CACHE_DIR"
  staging="$(mktemp -d "$TMPDIR/rg.XXXXXX")"
  cp "$rg_path" "$staging/rg"
  tar -czf "$TMPDIR/$RIPGREP_CACHE_DIR/$RIPGREP_ARCHIVE" -C "$staging" rg
  rm -rf "$staging"
}

install_code_server() {
  if code_server_installed; then
    log "code-server $CODE_SERVER_VERSION present in $tools_dir"
    return
  fi
  log "installing code-server $CODE_SERVER_VERSION into $tools_dir"
  mkdir -p "$tools_dir"
  # A private TMPDIR keeps the ripgrep cache and the native builds inside .tools/.
  export TMPDIR="$repo_root/.tools/tmp"
  mkdir -p "$TMPDIR"
  seed_ripgrep_cache
  if [[ ! -f "$tools_dir/package.json" ]]; then
    printf '{\n  "name": "pomdb-vscode-test-tools",\n  "private": true\n}\n' \
      >"$tools_dir/package.json"
  fi
  # Without unsafe_perm, code-server's install script rejects running as root.
  # Without yes, node-pty's `npx node-gyp` prompt is cancelled.
  # nodedir makes native modules build against the Node.js headers in /usr/include/node.
  npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr \
    npm install --prefix "$tools_dir" --no-audit --no-fund --save-exact \
    "code-server@$CODE_SERVER_VERSION"
  code_server_installed || fail "code-server did not install into $tools_dir"
}

# Runs `npm ci` in a folder of the repository unless its node_modules is newer than its
# lock file. --ignore-scripts: the packages there need no install script, and keytar (an
# optional dependency of @vscode/vsce) would otherwise try to download a prebuilt binary.
install_locked_packages() {
  local dir="$repo_root/$1"
  [[ -f "$dir/package-lock.json" ]] || fail "missing $dir/package-lock.json"
  if [[ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]; then
    log "npm packages in $1/node_modules are up to date"
    return
  fi
  log "installing npm packages into $1/node_modules"
  npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund
}

start=$SECONDS
check_node
install_debian_packages
install_code_server
install_locked_packages tests
install_locked_packages extension
# An empty --config file stops code-server from writing a default config with a
# password into ~/.config/code-server.
: >"$tools_dir/empty-config.yaml"
log "code-server $("$code_server" --config "$tools_dir/empty-config.yaml" --version) at $code_server"
log "done in $((SECONDS - start)) s"

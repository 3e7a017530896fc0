#!/usr/bin/env bash
# Installs the pinned Codex CLI (@openai/codex) with npm into ${CODEX_CACHE:-<repo>/.cache/codex}
# and prints the absolute path of its native binary on stdout. Idempotent: when the pinned
# version is already there it only prints the path. npm's output goes to <cache>/npm-install.log.
set -euo pipefail

CODEX_VERSION="0.171.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CODEX_CACHE:-$repo/.cache/codex}"
log="$cache/npm-install.log"

die() {
    echo "install-codex.sh: $*" >&2
    exit 1
}

# The native binary for this machine inside the npm package, e.g.
# node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex
find_binary() {
    local arch candidates
    arch="$(uname -m)"
    [ -d "$cache/node_modules/@openai" ] || return 1
    candidates="$(find "$cache/node_modules/@openai" -path '*/vendor/*/bin/codex' -type f -perm -u+x 2>/dev/null | sort)"
    [ -n "$candidates" ] || return 1
    # Prefer the target triple of this machine when several platforms are present.
    { grep -F "/vendor/$arch-" <<<"$candidates" || head -n 1 <<<"$candidates"; } | head -n 1
}

# Succeeds when the binary at $1 reports the pinned version.
is_pinned() {
    local out
    out="$("$1" --version 2>/dev/null)" || return 1
    [ "$out" = "codex-cli $CODEX_VERSION" ]
}

mkdir -p "$cache" || die "cannot create $cache"
case "$cache" in
/*) ;;
*) cache="$(cd "$cache" && pwd)" ;;
esac
log="$cache/npm-install.log"

# Serialise concurrent installs (several test binaries may start at once).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/.install.lock"
    flock 9
fi

if bin="$(find_binary)" && is_pinned "$bin"; then
    echo "$bin"
    exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found on PATH (Node.js is needed to install @openai/codex@$CODEX_VERSION)"

# A private package.json keeps npm from walking up into the repository.
[ -f "$cache/package.json" ] || echo '{"name":"codexd-codex-cache","private":true}' >"$cache/package.json"

start=$(date +%s)
if ! npm install --prefix "$cache" --save-exact --include=optional \
    --no-audit --no-fund --no-update-notifier --loglevel=warn \
    "@openai/codex@$CODEX_VERSION" >"$log" 2>&1; then
    tail -n 20 "$log" >&2 || true
    die "npm install @openai/codex@$CODEX_VERSION into $cache failed (full log: $log)"
fi
echo "installed @openai/codex@$CODEX_VERSION in $(($(date +%s) - start))s" >>"$log"

bin="$(find_binary)" || die "no native codex binary under $cache/node_modules/@openai after npm install (optional dependencies disabled?); see $log"
is_pinned "$bin" || die "$bin does not report codex-cli $CODEX_VERSION: $("$bin" --version 2>&1 | head -n 1)"
echo "$bin"

#!/usr/bin/env bash
# Installs what `make test` needs when it is missing, and writes their locations to
# .cache/test-env (sourced by the Makefile): the pinned Codex CLI (npm, into .cache/codex),
# the OpenAI Python SDK (a virtualenv in .cache/venv), Prometheus + promtool and PostgreSQL
# (apt, as root).
# Anything that cannot be installed is a hard error naming what is missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$repo/.cache"
OPENAI_SDK_VERSION="3.57.0"
mkdir -p "$cache"

die() {
    echo "test-deps: $*" >&2
    exit 1
}

# Prometheus server and promtool from the OS packages.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "test-deps: installing prometheus (apt)" >&2
        apt-get update -qq >"$cache/apt.log" 2>&1 || die "apt-get update failed (see $cache/apt.log)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >>"$cache/apt.log" 2>&1 ||
            die "apt-get install prometheus failed (see $cache/apt.log)"
        # The package starts a system service; the tests run their own server.
        (systemctl stop prometheus prometheus-node-exporter 2>/dev/null || true)
    else
        die "prometheus and promtool are missing; install Debian's 'prometheus' package (needs root)"
    fi
fi
promtool="$(command -v promtool)"
prometheus="$(command -v prometheus)"

# PostgreSQL's server binaries (initdb, postgres) for the shared usage ledger tests: the
# tests start their own server on loopback as an unprivileged user.
find_pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && echo "$d"
    done | sort -V | tail -n 1
}
pg_bin="$(find_pg_bin)"
if [ -z "$pg_bin" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "test-deps: installing postgresql (apt)" >&2
        apt-get update -qq >>"$cache/apt.log" 2>&1 || die "apt-get update failed (see $cache/apt.log)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >>"$cache/apt.log" 2>&1 ||
            die "apt-get install postgresql failed (see $cache/apt.log)"
        # The package may start a cluster of its own; the tests run their own server.
        (systemctl stop postgresql 2>/dev/null || service postgresql stop 2>/dev/null || true)
        pg_bin="$(find_pg_bin)"
    fi
    [ -n "$pg_bin" ] || die "PostgreSQL's initdb and postgres are missing; install Debian's 'postgresql' package (needs root)"
fi

# The pinned Codex CLI.
codex="$("$repo/scripts/install-codex.sh")" || die "installing the Codex CLI failed"
[ -x "$codex" ] || die "the Codex CLI binary is missing at '$codex'"

# The official OpenAI Python SDK in a virtualenv.
venv="$cache/venv"
if ! "$venv/bin/python" -c "import openai, sys; sys.exit(openai.__version__ != '$OPENAI_SDK_VERSION')" 2>/dev/null; then
    echo "test-deps: installing openai==$OPENAI_SDK_VERSION into $venv" >&2
    python3 -m venv "$venv" || die "python3 -m venv failed (is python3-venv installed?)"
    "$venv/bin/pip" install -q --disable-pip-version-check "openai==$OPENAI_SDK_VERSION" >"$cache/pip.log" 2>&1 ||
        die "pip install openai failed (see $cache/pip.log)"
fi

cat >"$cache/test-env" <<ENV
export CODEXD_CODEX_BIN=$codex
export CODEXD_PYTHON=$venv/bin/python
export CODEXD_PROMTOOL=$promtool
export CODEXD_PROMETHEUS=$prometheus
export CODEXD_PG_BIN=$pg_bin
ENV
echo "test-deps: ready ($cache/test-env)" >&2

#!/usr/bin/env bash
# Installs what `make test` needs when it is missing, and writes their locations to
# .cache/test-env (sourced by the Makefile): the pinned Codex CLI (npm, into .cache/codex),
# the OpenAI Python SDK (a virtualenv in .cache/venv), Prometheus + promtool, iproute2's `ss`,
# redis-server and PostgreSQL
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

# `ss` (iproute2): the listener test reads the listen backlog from `ss -ltn`.
if ! command -v ss >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "test-deps: installing iproute2 (apt)" >&2
        apt-get update -qq >"$cache/apt.log" 2>&1 || die "apt-get update failed (see $cache/apt.log)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >>"$cache/apt.log" 2>&1 ||
            die "apt-get install iproute2 failed (see $cache/apt.log)"
    else
        die "ss is missing; install Debian's 'iproute2' package (needs root)"
    fi
fi
prometheus="$(command -v prometheus)"

# redis-server for the shared per-key limits (tests/limits_redis.rs starts its own on loopback).
if ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "test-deps: installing redis-server (apt)" >&2
        apt-get update -qq >"$cache/apt-redis.log" 2>&1 || die "apt-get update failed (see $cache/apt-redis.log)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >>"$cache/apt-redis.log" 2>&1 ||
            die "apt-get install redis-server failed (see $cache/apt-redis.log)"
        # The package starts a system service on 6379; the tests run their own server.
        (systemctl stop redis-server 2>/dev/null || service redis-server stop 2>/dev/null || true)
    else
        die "redis-server is missing; install Debian's 'redis-server' package (needs root)"
    fi
fi
redis_server="$(command -v redis-server)"

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
export CODEXD_REDIS_SERVER=$redis_server
export CODEXD_PG_BIN=$pg_bin
ENV
echo "test-deps: ready ($cache/test-env)" >&2

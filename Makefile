# The commands people type. See README.md.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint bench bench-quick deps build

## Build and start the daemon with the demo worker on 127.0.0.1:11435 (API key sk-demo).
run:
	$(CARGO) build --release --bin codexd
	./target/release/codexd serve --config config/demo.toml

build:
	$(CARGO) build --release --bin codexd

## Install what the tests need (Codex CLI, OpenAI SDK, Prometheus), then run every test.
test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	source .cache/test-env && $(CARGO) test --workspace --locked

deps:
	bash scripts/test-deps.sh

## Formatting and clippy with warnings denied.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## Build release binaries and run the full benchmark (a few minutes; report in bench-out/).
## `make bench QUICK=1` (or `make bench-quick`): one short round, the ratios in one line.
bench:
	$(CARGO) build --release -p codexd -p codexd-bench
	./target/release/codexd-bench $(if $(QUICK),--quick) --codexd target/release/codexd --config config/bench.toml --out bench-out

bench-quick:
	$(MAKE) bench QUICK=1

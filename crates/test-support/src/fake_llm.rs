//! A fake LLM HTTP server for tests and the load benchmark.
//!
//! It speaks the wire formats persona-mcp's backends talk to, closely enough that a client written against the
//! real services works unchanged:
//! - Ollama: `POST /api/chat` (NDJSON stream or one object), `GET /api/tags`, `POST /api/embed`,
//!   `POST /api/embeddings` (legacy), `GET /api/version`, `GET /` ("Ollama is running");
//! - OpenAI: `POST /v1/chat/completions` (SSE stream or one object), `GET /v1/models`, `POST /v1/embeddings`.
//!
//! Replies are made of word tokens that carry their leading whitespace (`"Hello"`, `" world"`), so joining the
//! streamed tokens gives the reply text back. Embeddings are deterministic bag-of-words vectors (words hashed into
//! buckets, L2-normalised), so texts that share words are similar and the same text always gets the same vector.
//!
//! The server runs on its own OS thread with its own actix `System`, on `127.0.0.1:<free port>`; dropping the
//! [`FakeLlm`] stops it. Behaviour can be changed while it runs with [`FakeLlm::set_config`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer};
use bytes::Bytes;
use serde_json::{json, Value};

/// How the fake LLM answers. Read once per request, so a change made with [`FakeLlm::set_config`] applies to the
/// requests that arrive after it.
#[derive(Debug, Clone)]
pub struct FakeLlmConfig {
    /// The reply to every chat, streamed word by word (its token count ignores `tokens`). `None`: "Reply to: <last
    /// user message>" followed by filler words up to `tokens` tokens (never cut short: a long message gives more).
    pub reply: Option<String>,
    /// The number of tokens a reply has when `reply` is `None`.
    pub tokens: usize,
    /// Time from the request to the first token.
    pub first_token_delay: Duration,
    /// Time between two tokens (token `i` is due `first_token_delay + i * token_delay` after the request; a
    /// non-streamed reply comes when its last token would have).
    pub token_delay: Duration,
    /// The models `/api/tags` and `/v1/models` list.
    pub models: Vec<String>,
    /// Answer every chat and embedding request with this HTTP status and a JSON error body.
    pub fail_status: Option<u16>,
    /// Chats naming one of these models are answered like a server without it: Ollama's 404 `model "…" not
    /// found, try pulling it first`, OpenAI's 404 `model_not_found`.
    pub missing_models: Vec<String>,
    /// The length of every embedding vector.
    pub embed_dim: usize,
    /// Break every streamed chat after this many good tokens, in this way.
    pub fault: Option<(usize, StreamFault)>,
}

/// How a streamed reply goes wrong (a misbehaving model server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFault {
    /// One line that is neither JSON nor SSE data, then the end of the body.
    Malformed,
    /// The connection is dropped mid-body: the chunked body never ends properly.
    Reset,
    /// Nothing more is sent and the connection stays open (the client's read timeout must end it).
    Stall,
    /// The body ends cleanly but without the end-of-reply frame.
    Truncate,
    /// This many bytes without a line break, in 64 KiB chunks as fast as the client reads, then a stall.
    HugeLine(usize),
}

impl Default for FakeLlmConfig {
    fn default() -> Self {
        FakeLlmConfig {
            reply: None,
            tokens: 8,
            first_token_delay: Duration::ZERO,
            token_delay: Duration::ZERO,
            models: vec!["llama3.2".to_string(), "fake-model".to_string()],
            fail_status: None,
            missing_models: Vec::new(),
            embed_dim: 384,
            fault: None,
        }
    }
}

/// When a streamed reply's request arrived and when each of its tokens left: what the fake LLM itself took, for the
/// load benchmark to subtract from what its clients saw (timer rounding and scheduling make it differ from the
/// configured delays).
#[derive(Debug, Clone)]
pub struct StreamTiming {
    /// The request body had been read.
    pub received: Instant,
    /// Token `i` was handed to the connection.
    pub tokens_sent: Vec<Instant>,
}

/// State shared between the handle and the server's workers.
struct Shared {
    config: Mutex<FakeLlmConfig>,
    requests: Mutex<Vec<Value>>,
    in_flight: AtomicUsize,
    /// Bytes of `StreamFault::HugeLine` handed to connections so far.
    huge_bytes_sent: AtomicUsize,
    /// Streamed replies by the last user message of their request.
    timings: Mutex<HashMap<String, StreamTiming>>,
}

impl Shared {
    fn config(&self) -> FakeLlmConfig {
        lock(&self.config).clone()
    }
}

/// Locks a mutex, ignoring poisoning: a test that panicked while holding it must not hide its own failure behind
/// a second panic here.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts one chat request in flight for as long as it lives; it lives inside the response stream, so a client
/// that goes away (and makes actix drop the stream) brings the count down.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> Self {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(shared)
    }

    /// Notes that the next token of the streamed reply to `reply` leaves now.
    fn token_sent(&self, reply: &Reply) {
        let now = Instant::now();
        let mut timings = lock(&self.0.timings);
        match timings.get_mut(&reply.user_message) {
            Some(timing) if timing.received == reply.started => timing.tokens_sent.push(now),
            // The reply's first token, or a newer request with the same message, which replaces the older record.
            _ => {
                let timing = StreamTiming {
                    received: reply.started,
                    tokens_sent: vec![now],
                };
                timings.insert(reply.user_message.clone(), timing);
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running fake LLM server. Dropping it stops the server.
pub struct FakeLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl FakeLlm {
    /// Starts the server on `127.0.0.1:0` in its own thread and actix system; returns once it is listening.
    pub fn start(config: FakeLlmConfig) -> FakeLlm {
        Self::start_on(config, 0)
    }

    /// Starts the server on `127.0.0.1:port` (0: any free port); panics when the port is taken.
    pub fn start_on(config: FakeLlmConfig, port: u16) -> FakeLlm {
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            huge_bytes_sent: AtomicUsize::new(0),
            timings: Mutex::new(HashMap::new()),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let server_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-llm".to_string())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(async move {
                    let bound = HttpServer::new(move || {
                        App::new()
                            .app_data(web::Data::from(Arc::clone(&server_shared)))
                            .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                            .configure(routes)
                    })
                    .workers(2)
                    .backlog(4096)
                    .max_connections(100_000)
                    // A client that closes its side is gone: end its stream at once instead of at the next write.
                    .h1_allow_half_closed(false)
                    // Like Ollama (Go sets TCP_NODELAY): a token goes out when written, not after the peer's
                    // delayed ACK (Nagle would add ~40 ms to the first token).
                    .tcp_nodelay(true)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .bind(("127.0.0.1", port));
                    let server = match bound {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let server = server.run();
                    let _ = tx.send(Ok((addr, server.handle())));
                    let _ = server.await;
                });
            })
            .expect("fake LLM: cannot spawn its thread");
        let (addr, handle) = rx
            .recv()
            .expect("fake LLM: server thread ended before listening")
            .expect("fake LLM: cannot bind its port on 127.0.0.1");
        FakeLlm {
            addr,
            shared,
            handle,
            thread: Some(thread),
        }
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the behaviour for the requests that arrive from now on.
    pub fn set_config(&self, f: impl FnOnce(&mut FakeLlmConfig)) {
        f(&mut lock(&self.shared.config));
    }

    /// Every chat request body received (Ollama and OpenAI alike), in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared.requests).clone()
    }

    /// The pictures of every chat request received, in arrival order, as base64: Ollama's `images` of a message
    /// and OpenAI's `image_url` parts (their `data:` URL prefix removed).
    pub fn images(&self) -> Vec<String> {
        self.requests().iter().flat_map(request_images).collect()
    }

    /// The system prompt of every chat request received, in arrival order (empty when a request had none).
    pub fn system_prompts(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                r["messages"]
                    .as_array()
                    .and_then(|ms| ms.iter().find(|m| m["role"] == "system"))
                    .map(|m| content_text(&m["content"]))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The timing of the streamed reply to the last request whose last user message was `user_message`.
    pub fn stream_timing(&self, user_message: &str) -> Option<StreamTiming> {
        lock(&self.shared.timings).get(user_message).cloned()
    }

    /// Bytes of [`StreamFault::HugeLine`] handed to connections so far (how much of it the client read, plus what
    /// the socket buffers hold).
    pub fn huge_bytes_sent(&self) -> usize {
        self.shared.huge_bytes_sent.load(Ordering::SeqCst)
    }

    /// Chat requests being answered right now (open streams, and non-streamed chats still waiting for their reply).
    pub fn chat_requests_in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        // `stop` sends the command at once; the future only waits for it to finish, which joining the thread does.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(ollama_root))
        .route("/api/version", web::get().to(ollama_version))
        .route("/api/chat", web::post().to(ollama_chat))
        .route("/api/tags", web::get().to(ollama_tags))
        .route("/api/embed", web::post().to(ollama_embed))
        .route("/api/embeddings", web::post().to(ollama_embeddings_legacy))
        .route("/v1/chat/completions", web::post().to(openai_chat))
        .route("/v1/models", web::get().to(openai_models))
        .route("/v1/embeddings", web::post().to(openai_embeddings))
        .default_service(web::to(|| async {
            HttpResponse::NotFound().json(json!({"error": "404 page not found"}))
        }));
}

// ---------------------------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------------------------

/// The wire format a chat answers in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Ollama,
    OpenAi,
}

/// One chat being answered: everything the frames are rendered from.
struct Reply {
    flavor: Flavor,
    /// The request's last user message, the key of its [`StreamTiming`].
    user_message: String,
    model: String,
    tokens: Vec<String>,
    /// "stop", or "length" when the token limit cut the reply short.
    finish_reason: &'static str,
    prompt_tokens: usize,
    started: Instant,
    /// OpenAI `chatcmpl-…` id.
    id: String,
    created: i64,
    /// OpenAI `stream_options.include_usage`.
    include_usage: bool,
}

const FILLER: &[&str] = &[
    "and", "that", "is", "all", "I", "can", "say", "about", "it", "for", "now", "my", "friend", "the", "weather", "is",
    "lovely", "today", "so", "let", "us", "talk", "more", "later",
];

/// Splits text into tokens that each carry their leading whitespace; joining them gives the text back.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    for c in text.chars() {
        if c.is_whitespace() && in_word {
            tokens.push(std::mem::take(&mut current));
            in_word = false;
        } else if !c.is_whitespace() {
            in_word = true;
        }
        current.push(c);
    }
    if !current.is_empty() {
        match tokens.last_mut() {
            // Trailing whitespace only: keep it with the last word so nothing is lost.
            Some(last) if !in_word => last.push_str(&current),
            _ => tokens.push(current),
        }
    }
    tokens
}

/// The text of a message's `content`: a string, or the text parts of an OpenAI content array.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The pictures of one chat request body, as base64.
fn request_images(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for m in body["messages"].as_array().into_iter().flatten() {
        for img in m["images"].as_array().into_iter().flatten() {
            out.extend(img.as_str().map(str::to_string));
        }
        for part in m["content"].as_array().into_iter().flatten() {
            if let Some(url) = part.pointer("/image_url/url").and_then(Value::as_str) {
                out.push(url.split_once(";base64,").map_or(url, |(_, b)| b).to_string());
            }
        }
    }
    out
}

fn last_user_message(body: &Value) -> String {
    body.get("messages")
        .and_then(Value::as_array)
        .and_then(|ms| {
            ms.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .map(content_text)
        .unwrap_or_default()
}

/// A rough prompt token count: the words of every message.
fn prompt_tokens(body: &Value) -> usize {
    body.get("messages")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("content"))
                .map(|c| content_text(c).split_whitespace().count())
                .sum()
        })
        .unwrap_or(0)
}

fn reply_tokens(config: &FakeLlmConfig, body: &Value) -> Vec<String> {
    match &config.reply {
        Some(reply) => tokenize(reply),
        None => {
            let mut text = format!("Reply to: {}", last_user_message(body).trim());
            let mut count = tokenize(&text).len();
            let mut filler = FILLER.iter().cycle();
            while count < config.tokens {
                if let Some(word) = filler.next() {
                    text.push(' ');
                    text.push_str(word);
                }
                count += 1;
            }
            tokenize(&text)
        }
    }
}

impl Reply {
    fn new(flavor: Flavor, config: &FakeLlmConfig, body: &Value, limit: Option<u64>) -> Reply {
        let mut tokens = reply_tokens(config, body);
        let mut finish_reason = "stop";
        if let Some(limit) = limit {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            if limit < tokens.len() {
                tokens.truncate(limit);
                finish_reason = "length";
            }
        }
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| config.models.first().cloned())
            .unwrap_or_else(|| "fake-model".to_string());
        let include_usage = body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Reply {
            flavor,
            user_message: last_user_message(body),
            model,
            tokens,
            finish_reason,
            prompt_tokens: prompt_tokens(body),
            started: Instant::now(),
            id: format!(
                "chatcmpl-fake{:x}",
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
            ),
            created: chrono::Utc::now().timestamp(),
            include_usage,
        }
    }

    fn text(&self) -> String {
        self.tokens.concat()
    }

    fn elapsed_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn usage(&self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.tokens.len(),
            "total_tokens": self.prompt_tokens + self.tokens.len(),
        })
    }

    /// The Ollama object for the end of a reply; `content` is "" when streamed, the whole reply when not.
    fn ollama_final(&self, content: String) -> Value {
        let total = self.elapsed_ns();
        json!({
            "model": self.model,
            "created_at": now_rfc3339(),
            "message": {"role": "assistant", "content": content},
            "done": true,
            "done_reason": self.finish_reason,
            "total_duration": total,
            "load_duration": 1_000_000u64.min(total),
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": total / 10,
            "eval_count": self.tokens.len(),
            "eval_duration": total - total / 10,
        })
    }

    fn openai_chunk(&self, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        })
    }

    /// The bytes sent for token `i`.
    fn token_frame(&self, i: usize) -> Bytes {
        let token = &self.tokens[i];
        match self.flavor {
            Flavor::Ollama => ndjson(&json!({
                "model": self.model,
                "created_at": now_rfc3339(),
                "message": {"role": "assistant", "content": token},
                "done": false,
            })),
            Flavor::OpenAi => {
                let mut out = Vec::new();
                if i == 0 {
                    // Like OpenAI: the role comes first, in a chunk of its own with empty content.
                    out.extend_from_slice(&sse(
                        &self.openai_chunk(json!({"role": "assistant", "content": "", "refusal": null}), None)
                    ));
                }
                out.extend_from_slice(&sse(&self.openai_chunk(json!({"content": token}), None)));
                Bytes::from(out)
            }
        }
    }

    /// The bytes that end a stream.
    fn final_frame(&self) -> Bytes {
        match self.flavor {
            Flavor::Ollama => ndjson(&self.ollama_final(String::new())),
            Flavor::OpenAi => {
                let mut out = Vec::new();
                if self.tokens.is_empty() {
                    out.extend_from_slice(&sse(
                        &self.openai_chunk(json!({"role": "assistant", "content": ""}), None)
                    ));
                }
                out.extend_from_slice(&sse(&self.openai_chunk(json!({}), Some(self.finish_reason))));
                if self.include_usage {
                    let mut chunk = self.openai_chunk(json!({}), None);
                    chunk["choices"] = json!([]);
                    chunk["usage"] = self.usage();
                    out.extend_from_slice(&sse(&chunk));
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                Bytes::from(out)
            }
        }
    }

    /// The whole answer of a non-streamed chat.
    fn complete_body(&self) -> Value {
        match self.flavor {
            Flavor::Ollama => self.ollama_final(self.text()),
            Flavor::OpenAi => json!({
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "system_fingerprint": "fp_fake",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text(), "refusal": null},
                    "logprobs": null,
                    "finish_reason": self.finish_reason,
                }],
                "usage": self.usage(),
            }),
        }
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn ndjson(value: &Value) -> Bytes {
    let mut line = value.to_string();
    line.push('\n');
    Bytes::from(line)
}

fn sse(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// Sleeps until `deadline`, skipping the timer when it has passed (tokio would still wait for its next tick).
async fn pause_until(deadline: Instant) {
    if deadline > Instant::now() {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// When token `i` is due: `first_token_delay` after the request, then one every `token_delay`. Deadlines are
/// absolute, so timer rounding does not add up over a reply and the mean gap between tokens is `token_delay`.
fn token_deadline(reply: &Reply, config: &FakeLlmConfig, i: usize) -> Instant {
    let steps = u32::try_from(i).unwrap_or(u32::MAX);
    reply.started + config.first_token_delay + config.token_delay.saturating_mul(steps)
}

/// Streams a reply: token `i` after its delay, then the final frame, or `config.fault` after its good tokens.
/// Dropping the stream (the client went away) drops the in-flight guard with it.
fn stream_reply(
    reply: Reply,
    config: FakeLlmConfig,
    guard: InFlight,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    use futures_util::StreamExt;
    let fault = config.fault.clone();
    let good = fault.as_ref().map_or(usize::MAX, |(after, _)| *after);
    let guard = Arc::new(guard);
    let fault_guard = Arc::clone(&guard);
    let tokens = futures_util::stream::unfold(
        (reply, config, guard, 0usize, false),
        move |(reply, config, guard, i, done)| async move {
            if done {
                return None;
            }
            if i < reply.tokens.len() && i < good {
                pause_until(token_deadline(&reply, &config, i)).await;
                let frame = reply.token_frame(i);
                guard.token_sent(&reply);
                Some((Ok(frame), (reply, config, guard, i + 1, false)))
            } else if i >= good {
                // The fault takes over (it holds the guard from here on).
                None
            } else {
                if reply.tokens.is_empty() {
                    pause_until(token_deadline(&reply, &config, 0)).await;
                }
                let frame = reply.final_frame();
                Some((Ok(frame), (reply, config, guard, i, true)))
            }
        },
    );
    match fault {
        None => tokens.boxed_local(),
        Some((_, fault)) => {
            let shared = Arc::clone(&fault_guard.0);
            // The fault's stream holds the guard: the request stays in flight until the client goes away.
            let faulty = fault_stream(fault, shared).map(move |item| {
                let _held = &fault_guard;
                item
            });
            tokens.chain(faulty).boxed_local()
        }
    }
}

/// The bytes (or the failure) a [`StreamFault`] sends.
fn fault_stream(
    fault: StreamFault,
    shared: Arc<Shared>,
) -> futures_util::stream::LocalBoxStream<'static, Result<Bytes, std::io::Error>> {
    use futures_util::StreamExt;
    let stall = futures_util::stream::pending::<Result<Bytes, std::io::Error>>;
    match fault {
        StreamFault::Malformed => {
            futures_util::stream::iter([Ok(Bytes::from_static(b"}{ not json at all\n"))]).boxed_local()
        }
        // After a pause, so that the good tokens leave first (actix drops its unsent buffer with the connection).
        StreamFault::Reset => futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fake LLM drops the connection",
            ))
        })
        .boxed_local(),
        StreamFault::Stall => stall().boxed_local(),
        StreamFault::Truncate => futures_util::stream::empty().boxed_local(),
        StreamFault::HugeLine(total) => {
            const CHUNK: usize = 64 * 1024;
            let chunk = Bytes::from(vec![b'x'; CHUNK]);
            futures_util::stream::iter((0..total.div_ceil(CHUNK)).map(move |i| {
                let part = chunk.slice(..CHUNK.min(total - i * CHUNK));
                shared.huge_bytes_sent.fetch_add(part.len(), Ordering::SeqCst);
                Ok(part)
            }))
            .chain(stall())
            .boxed_local()
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------------------------

/// A 400 answer with an Ollama-style `{"error": …}` body.
fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

/// The error is the message for a 400 answer.
fn parse_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

fn failure(flavor: Flavor, status: u16) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = format!("fake LLM failure (HTTP {})", status.as_u16());
    let body = match flavor {
        Flavor::Ollama => json!({"error": message}),
        Flavor::OpenAi => {
            json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}})
        }
    };
    HttpResponse::build(status).json(body)
}

/// The answer of a server that does not have the model.
fn model_not_found(flavor: Flavor, model: &str) -> HttpResponse {
    let body = match flavor {
        Flavor::Ollama => json!({"error": format!("model \"{model}\" not found, try pulling it first")}),
        Flavor::OpenAi => json!({"error": {
            "message": format!("The model `{model}` does not exist or you do not have access to it."),
            "type": "invalid_request_error",
            "param": null,
            "code": "model_not_found",
        }}),
    };
    HttpResponse::NotFound().json(body)
}

async fn chat(shared: web::Data<Shared>, body: Bytes, flavor: Flavor) -> HttpResponse {
    let body = match parse_body(&body) {
        Ok(body) => body,
        Err(message) => return bad_request(message),
    };
    lock(&shared.requests).push(body.clone());
    let config = shared.config();
    if let Some(status) = config.fail_status {
        return failure(flavor, status);
    }
    let model = body.get("model").and_then(Value::as_str).unwrap_or_default();
    if config.missing_models.iter().any(|m| m == model) {
        return model_not_found(flavor, model);
    }
    let (stream, limit) = match flavor {
        Flavor::Ollama => (
            body.get("stream").and_then(Value::as_bool).unwrap_or(true),
            body.pointer("/options/num_predict").and_then(Value::as_u64),
        ),
        Flavor::OpenAi => (
            body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            body.get("max_completion_tokens")
                .and_then(Value::as_u64)
                .or_else(|| body.get("max_tokens").and_then(Value::as_u64)),
        ),
    };
    let guard = InFlight::new(shared.into_inner());
    let reply = Reply::new(flavor, &config, &body, limit);
    if stream {
        let content_type = match flavor {
            Flavor::Ollama => "application/x-ndjson",
            Flavor::OpenAi => "text/event-stream",
        };
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header(("cache-control", "no-cache"))
            .streaming(stream_reply(reply, config, guard))
    } else {
        let last = reply.tokens.len().saturating_sub(1);
        pause_until(token_deadline(&reply, &config, last)).await;
        let response = HttpResponse::Ok().json(reply.complete_body());
        drop(guard);
        response
    }
}

async fn ollama_chat(shared: web::Data<Shared>, body: Bytes) -> HttpResponse {
    chat(shared, body, Flavor::Ollama).await
}

async fn openai_chat(shared: web::Data<Shared>, body: Bytes) -> HttpResponse {
    chat(shared, body, Flavor::OpenAi).await
}

async fn ollama_root() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("Ollama is running")
}

async fn ollama_version() -> HttpResponse {
    HttpResponse::Ok().json(json!({"version": "0.6.0"}))
}

/// A stable fake sha256-looking digest for a model name.
fn digest(name: &str) -> String {
    let h = fnv1a(name.as_bytes());
    format!("{h:016x}").repeat(4)
}

async fn ollama_tags(shared: web::Data<Shared>) -> HttpResponse {
    let config = shared.config();
    let models: Vec<Value> = config
        .models
        .iter()
        .map(|name| {
            let full = if name.contains(':') {
                name.clone()
            } else {
                format!("{name}:latest")
            };
            json!({
                "name": full,
                "model": full,
                "modified_at": "2025-01-01T00:00:00.000000000Z",
                "size": 2_019_393_189u64,
                "digest": digest(name),
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "llama",
                    "families": ["llama"],
                    "parameter_size": "3.2B",
                    "quantization_level": "Q4_K_M",
                },
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({"models": models}))
}

async fn openai_models(shared: web::Data<Shared>) -> HttpResponse {
    let config = shared.config();
    let data: Vec<Value> = config
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_735_689_600, "owned_by": "fake-llm"}))
        .collect();
    HttpResponse::Ok().json(json!({"object": "list", "data": data}))
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------------------------------------------

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A deterministic bag-of-words embedding: each lower-cased word adds ±1 to a hashed bucket, then the vector is
/// L2-normalised. Texts without words get a fixed unit vector.
fn embed(text: &str, dim: usize) -> Vec<f32> {
    let dim = dim.max(1);
    let mut v = vec![0f32; dim];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let h = fnv1a(word.to_lowercase().as_bytes());
        let bucket = usize::try_from(h % dim as u64).unwrap_or(0);
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[bucket] += sign;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        v[0] = 1.0;
    } else {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The texts of an embedding request's `input` (or legacy `prompt`): a string or an array of strings.
/// The error is the message for a 400 answer.
fn embed_inputs(body: &Value, key: &str) -> Result<Vec<String>, String> {
    match body.get(key) {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key} must hold strings"))
            })
            .collect(),
        _ => Err(format!("{key} is required")),
    }
}

fn model_of(body: &Value, config: &FakeLlmConfig) -> String {
    body.get("model")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| config.models.first().cloned())
        .unwrap_or_default()
}

async fn ollama_embed(shared: web::Data<Shared>, body: Bytes) -> HttpResponse {
    let config = shared.config();
    if let Some(status) = config.fail_status {
        return failure(Flavor::Ollama, status);
    }
    let body = match parse_body(&body) {
        Ok(body) => body,
        Err(message) => return bad_request(message),
    };
    let inputs = match embed_inputs(&body, "input") {
        Ok(inputs) => inputs,
        Err(message) => return bad_request(message),
    };
    let embeddings: Vec<Vec<f32>> = inputs.iter().map(|t| embed(t, config.embed_dim)).collect();
    let words: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
    HttpResponse::Ok().json(json!({
        "model": model_of(&body, &config),
        "embeddings": embeddings,
        "total_duration": 1_000_000u64,
        "load_duration": 100_000u64,
        "prompt_eval_count": words,
    }))
}

async fn ollama_embeddings_legacy(shared: web::Data<Shared>, body: Bytes) -> HttpResponse {
    let config = shared.config();
    if let Some(status) = config.fail_status {
        return failure(Flavor::Ollama, status);
    }
    let body = match parse_body(&body) {
        Ok(body) => body,
        Err(message) => return bad_request(message),
    };
    let text = body.get("prompt").and_then(Value::as_str).unwrap_or_default();
    HttpResponse::Ok().json(json!({"embedding": embed(text, config.embed_dim)}))
}

async fn openai_embeddings(shared: web::Data<Shared>, body: Bytes) -> HttpResponse {
    let config = shared.config();
    if let Some(status) = config.fail_status {
        return failure(Flavor::OpenAi, status);
    }
    let body = match parse_body(&body) {
        Ok(body) => body,
        Err(message) => return bad_request(message),
    };
    let inputs = match embed_inputs(&body, "input") {
        Ok(inputs) => inputs,
        Err(message) => return bad_request(message),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embed(t, config.embed_dim)}))
        .collect();
    let words: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
    HttpResponse::Ok().json(json!({
        "object": "list",
        "data": data,
        "model": model_of(&body, &config),
        "usage": {"prompt_tokens": words, "total_tokens": words},
    }))
}

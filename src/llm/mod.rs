//! Chat model backends: Ollama (`/api/chat`, NDJSON) and OpenAI-compatible servers (`/v1/chat/completions`,
//! SSE) over HTTP, the embedded SmolLM2 model in-process, and `auto`, which picks the server when it answers and
//! the embedded model when not. All stream tokens as they are made.

pub mod auto;
mod client;
pub mod embedded;
pub mod fallback;
mod images;
mod lines;
pub mod ollama;
pub mod openai;
pub mod scripted;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use crate::config::LlmProvider;
use crate::domain::chat::PromptMessage;
use crate::domain::model_rules::ModelChoice;

/// What a chat call asks of the model.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// Model name.
    pub model: String,
    /// System prompt, history and the new message.
    pub messages: Vec<PromptMessage>,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Pictures for the last user message (only for models that can see them).
    pub images: Vec<crate::domain::image::Image>,
    /// Nucleus sampling, when set (else the server's default; the embedded model's `llm.top_p`).
    pub top_p: Option<f32>,
    /// Context window in tokens, when set (Ollama only).
    pub num_ctx: Option<u32>,
    /// Sequences that end the reply (servers only).
    pub stop: Vec<String>,
    /// Models asked next, in order, when the server does not have `model` (see [`fallback`]).
    pub fallback: Vec<String>,
}

impl ChatRequest {
    /// A request to the model `choice` names, with its options and fallbacks.
    pub fn new(choice: ModelChoice, messages: Vec<PromptMessage>, max_tokens: u32) -> Self {
        let options = choice.options;
        Self {
            model: choice.model,
            messages,
            max_tokens,
            temperature: choice.temperature,
            top_p: options.top_p,
            num_ctx: options.num_ctx,
            stop: options.stop.unwrap_or_default(),
            fallback: choice.fallback,
            images: Vec::new(),
        }
    }
}

/// One item of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// A piece of text, as soon as the model made it.
    Token(String),
    /// The model finished.
    Done {
        /// Tokens generated, when the server says.
        completion_tokens: Option<u32>,
        /// Tokens in the prompt, when the server says.
        prompt_tokens: Option<u32>,
    },
}

/// A stream of reply events.
pub type EventStream = BoxStream<'static, Result<LlmEvent, LlmError>>;

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmErrorKind {
    /// Nothing listens at the URL, or DNS failed.
    Unreachable,
    /// No answer in time.
    Timeout,
    /// The server answered with an error status.
    Status(u16),
    /// The answer could not be understood.
    Protocol,
    /// Every generation slot of the embedded model stayed taken for the queue timeout.
    Busy,
}

/// A failed model call, with where it went and what happened.
#[derive(Debug, Clone, thiserror::Error)]
#[error("LLM backend {backend} at {url} failed: {detail}")]
pub struct LlmError {
    /// `ollama`, `openai` or `embedded`.
    pub backend: &'static str,
    /// The base URL tried (the model file for `embedded`).
    pub url: String,
    /// The model asked for.
    pub model: String,
    /// Kind of failure.
    pub kind: LlmErrorKind,
    /// Human-readable detail.
    pub detail: String,
}

impl LlmError {
    /// True when the server does not have the model asked for (Ollama's 404, OpenAI's `model_not_found`).
    pub fn model_missing(&self) -> bool {
        match self.kind {
            LlmErrorKind::Status(404) => true,
            LlmErrorKind::Status(400) => self.detail.contains("model_not_found"),
            _ => false,
        }
    }

    /// What the operator should start or change.
    pub fn hint(&self) -> String {
        let setting = "set llm.url (env PERSONA_MCP__LLM__URL, or OLLAMA_HOST) to your model server";
        match (&self.kind, self.backend) {
            (LlmErrorKind::Unreachable, "embedded") => format!(
                "The embedded chat model could not be loaded from {}: run `make model` (or set llm.embedded_model), \
                 or start Ollama and {setting}",
                self.url
            ),
            (LlmErrorKind::Busy, _) => "The embedded model is answering other chats: try again, raise \
                 llm.embedded_max_concurrent or llm.embedded_queue_timeout_secs, or start a model server (llm.url)"
                .into(),
            (LlmErrorKind::Unreachable, "ollama") => {
                format!(
                    "Start Ollama (`ollama serve`) and pull the model (`ollama pull {}`), or {setting}",
                    self.model
                )
            }
            (LlmErrorKind::Status(404), "ollama") => format!(
                "Model {:?} is not available: run `ollama pull {}` or set llm.model (PERSONA_MCP__LLM__MODEL)",
                self.model, self.model
            ),
            (LlmErrorKind::Status(401 | 403), _) => {
                "The server refused the API key: set llm.api_key (PERSONA_MCP__LLM__API_KEY)".into()
            }
            (LlmErrorKind::Unreachable, _) => format!("Start your OpenAI-compatible server, or {setting}"),
            (LlmErrorKind::Timeout, _) => {
                "The model server did not answer in time: check its load, or raise llm.read_timeout_secs".into()
            }
            _ => format!("Check the model server's logs and llm.model ({:?})", self.model),
        }
    }
}

/// A chat model: a server or the embedded one.
pub trait LlmBackend: Send + Sync {
    /// `ollama`, `openai` or `embedded` (for `auto`: the one serving chats now).
    fn provider(&self) -> &'static str;
    /// Base URL of the model server.
    fn url(&self) -> &str;
    /// Model used when a persona names none.
    fn default_model(&self) -> &str;
    /// Starts a streamed reply; the future resolves once the server accepted the request.
    fn chat_stream(&self, request: ChatRequest) -> BoxFuture<'static, Result<EventStream, LlmError>>;
    /// Names of the models the server offers.
    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>>;
    /// When chats use a fallback instead of the configured server: why, and what to start or set.
    fn fallback_hint(&self) -> Option<String> {
        None
    }
}

/// Collects a whole reply (used for summaries).
pub async fn complete(backend: &dyn LlmBackend, request: ChatRequest) -> Result<String, LlmError> {
    use futures_util::StreamExt;
    let mut stream = backend.chat_stream(request).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event? {
            LlmEvent::Token(t) => text.push_str(&t),
            LlmEvent::Done { .. } => break,
        }
    }
    Ok(text)
}

/// Shared HTTP plumbing of both backends: client, base URL, retries.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) backend: &'static str,
    pub(crate) client: client::LiveClient,
    pub(crate) url: String,
    pub(crate) model: String,
    pub(crate) api_key: Option<String>,
    pub(crate) retries: u32,
}

impl Endpoint {
    fn error(&self, model: &str, kind: LlmErrorKind, detail: impl Into<String>) -> LlmError {
        LlmError {
            backend: self.backend,
            url: self.url.clone(),
            model: model.to_string(),
            kind,
            detail: detail.into(),
        }
    }

    fn transport_error(&self, model: &str, e: &reqwest::Error) -> LlmError {
        let kind = if e.is_timeout() {
            LlmErrorKind::Timeout
        } else if e.is_connect() {
            LlmErrorKind::Unreachable
        } else {
            LlmErrorKind::Protocol
        };
        self.error(model, kind, error_chain(e))
    }

    /// The error for a stream that ended before the end-of-reply marker.
    fn cut_short(&self, model: &str) -> LlmError {
        self.error(
            model,
            LlmErrorKind::Protocol,
            "the server closed the stream before the end of the reply",
        )
    }

    /// A failure of the line reader over a streamed answer: the body broke off, or a line passed the limit.
    fn line_error(&self, model: &str, e: lines::LineError<reqwest::Error>) -> LlmError {
        match e {
            lines::LineError::Body(e) => self.transport_error(model, &e),
            lines::LineError::TooLong(limit) => self.error(
                model,
                LlmErrorKind::Protocol,
                format!("a line of the streamed answer passed {limit} bytes without a line break"),
            ),
        }
    }

    /// Sends a request built by `build`, retrying only when the connection itself failed; non-2xx answers
    /// become errors carrying the server's body.
    pub(crate) async fn send(
        &self,
        model: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, LlmError> {
        let mut attempt = 0;
        loop {
            let mut req = build(&self.client.get());
            if let Some(key) = &self.api_key {
                req = req.bearer_auth(key);
            }
            match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.text().await.unwrap_or_default();
                    let detail = format!("HTTP {status}: {}", body.chars().take(300).collect::<String>());
                    return Err(self.error(model, LlmErrorKind::Status(status), detail));
                }
                Err(e) if e.is_connect() && attempt < self.retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                Err(e) => return Err(self.transport_error(model, &e)),
            }
        }
    }
}

impl Endpoint {
    /// `GET url` and the JSON answer read as `T` (model lists).
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, LlmError> {
        let model = self.model.clone();
        let resp = self.send(&model, |c| c.get(url)).await?;
        resp.json()
            .await
            .map_err(|e| self.error(&model, LlmErrorKind::Protocol, e.to_string()))
    }
}

/// Passes a backend's events through, and when the server closes the stream before its end-of-reply marker (a
/// connection cut cleanly mid-reply), ends it with `cut_short` instead of letting a truncated reply look whole.
pub(crate) fn require_done<S>(events: S, cut_short: LlmError) -> EventStream
where
    S: futures_util::Stream<Item = Result<LlmEvent, LlmError>> + Send + 'static,
{
    use futures_util::StreamExt;
    futures_util::stream::unfold(
        (Box::pin(events), Some(cut_short)),
        |(mut events, mut pending)| async move {
            let event = match events.next().await {
                Some(event) => event,
                None => return pending.take().map(|e| (Err(e), (events, None))),
            };
            if matches!(event, Ok(LlmEvent::Done { .. }) | Err(_)) {
                pending = None;
            }
            Some((event, (events, pending)))
        },
    )
    .boxed()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Builds the configured backend and logs where chats go.
pub fn build(live: &crate::live::LiveSettings) -> Result<Arc<dyn LlmBackend>, reqwest::Error> {
    let settings = live.current();
    let settings = settings.as_ref();
    let l = &settings.llm;
    let client = client::LiveClient::new(live.clone())?;
    let endpoint = |backend| Endpoint {
        backend,
        client: client.clone(),
        url: l.url.trim_end_matches('/').to_string(),
        model: l.model.clone(),
        api_key: l.api_key.clone(),
        retries: l.retries,
    };
    let backend: Arc<dyn LlmBackend> = match l.provider {
        LlmProvider::Openai => Arc::new(openai::OpenAi::new(endpoint("openai"))),
        LlmProvider::Ollama => Arc::new(ollama::Ollama::new(endpoint("ollama"))),
        LlmProvider::Embedded => {
            let embedded = embedded::Embedded::new(settings);
            if tokio::runtime::Handle::try_current().is_ok() {
                let loading = embedded.engine();
                tokio::spawn(async move {
                    if let Err(e) = loading.await {
                        tracing::warn!(error = %e, hint = %e.hint(), "the embedded chat model cannot be loaded");
                    }
                });
            }
            Arc::new(embedded)
        }
        LlmProvider::Auto => {
            let remote = Arc::new(ollama::Ollama::new(endpoint("ollama")));
            let every = Duration::from_secs(l.probe_interval_secs);
            return Ok(auto::Auto::start(remote, embedded::Embedded::new(settings), every));
        }
    };
    tracing::info!(
        provider = backend.provider(),
        url = backend.url(),
        model = backend.default_model(),
        "LLM: chats go to the {} backend",
        backend.provider()
    );
    Ok(backend)
}

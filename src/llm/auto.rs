//! `llm.provider = "auto"`: the model server at `llm.url` (Ollama's API) when it answers, the embedded model
//! when it does not. A probe checks the server every `llm.probe_interval_secs` and chats switch both ways
//! without a restart; a chat that finds the server gone falls back at once instead of waiting for the probe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::embedded::{Embedded, MODEL_NAME};
use super::{ChatRequest, EventStream, LlmBackend, LlmError, LlmErrorKind};

/// How long a probe waits for the server's model list.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The switching backend.
pub struct Auto {
    remote: Arc<dyn LlmBackend>,
    embedded: Arc<Embedded>,
    remote_up: Arc<AtomicBool>,
}

impl Auto {
    /// The backend, with its probe running (when inside a Tokio runtime) for as long as the backend lives.
    pub fn start(remote: Arc<dyn LlmBackend>, embedded: Embedded, every: Duration) -> Arc<Auto> {
        let auto = Arc::new(Auto {
            remote,
            embedded: Arc::new(embedded),
            remote_up: Arc::new(AtomicBool::new(true)),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(probe(Arc::downgrade(&auto), every));
        }
        auto
    }

    fn serving(&self) -> Arc<dyn LlmBackend> {
        if self.remote_up.load(Ordering::SeqCst) {
            self.remote.clone()
        } else {
            self.embedded.clone()
        }
    }

    /// Records whether the server answers, logging each change (and the first state) with where chats go;
    /// answers whether it was logged.
    fn set_remote_up(&self, up: bool, first: bool) -> bool {
        let was = self.remote_up.swap(up, Ordering::SeqCst);
        let changed = first || was != up;
        if changed {
            if up {
                tracing::info!(
                    provider = "auto",
                    url = self.remote.url(),
                    "LLM: the model server answers; chats go to it"
                );
            } else {
                tracing::info!(
                    provider = "auto",
                    url = self.remote.url(),
                    "LLM: no model server answers at llm.url; chats go to the embedded model {MODEL_NAME}"
                );
            }
        }
        changed
    }
}

/// Checks the server now and then every `every`; loads the embedded model as soon as it is needed, so the first
/// chat does not wait for it (a model that cannot be loaded is reported each time the server goes away).
async fn probe(auto: Weak<Auto>, every: Duration) {
    let mut first = true;
    loop {
        let Some(a) = auto.upgrade() else { return };
        let listing = a.remote.list_models();
        let up = matches!(tokio::time::timeout(PROBE_TIMEOUT, listing).await, Ok(Ok(_)));
        let changed = a.set_remote_up(up, first);
        first = false;
        if !up && changed {
            if let Err(e) = a.embedded.engine().await {
                tracing::warn!(error = %e, hint = %e.hint(), "the embedded chat model cannot be loaded");
            }
        }
        drop(a);
        tokio::time::sleep(every).await;
    }
}

impl LlmBackend for Auto {
    fn provider(&self) -> &'static str {
        self.serving().provider()
    }

    fn url(&self) -> &str {
        self.remote.url()
    }

    fn default_model(&self) -> &str {
        if self.remote_up.load(Ordering::SeqCst) {
            self.remote.default_model()
        } else {
            self.embedded.default_model()
        }
    }

    fn chat_stream(&self, request: ChatRequest) -> BoxFuture<'static, Result<EventStream, LlmError>> {
        let remote = self.remote.clone();
        let embedded = self.embedded.clone();
        let remote_up = self.remote_up.clone();
        async move {
            if remote_up.load(Ordering::SeqCst) {
                match remote.chat_stream(request.clone()).await {
                    Err(e) if e.kind == LlmErrorKind::Unreachable => {
                        tracing::info!(
                            url = remote.url(),
                            "LLM: the model server is gone; chats go to the embedded model"
                        );
                        remote_up.store(false, Ordering::SeqCst);
                    }
                    answer => return answer,
                }
            }
            embedded.chat_stream(request).await
        }
        .boxed()
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        self.serving().list_models()
    }

    fn fallback_hint(&self) -> Option<String> {
        (!self.remote_up.load(Ordering::SeqCst)).then(|| {
            format!(
                "No model server answers at {} (llm.url): chats use the small embedded model {MODEL_NAME}. Start \
                 Ollama there or set llm.url (PERSONA_MCP__LLM__URL) for a larger model; chats switch to it by \
                 themselves.",
                self.remote.url()
            )
        })
    }
}

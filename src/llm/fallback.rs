//! Missing models: a call whose model the server does not have (Ollama's 404, OpenAI's `model_not_found`) is
//! asked of the next model in the request's fallback chain, with a warning log line and a count in `/metrics`
//! (`persona_mcp_llm_model_fallbacks_total{model}`, by the missing model).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use prometheus::{IntCounterVec, Opts};

use super::{ChatRequest, EventStream, LlmBackend, LlmError};
use crate::metrics::Metrics;

/// A backend that walks each request's fallback chain.
pub struct Fallback {
    inner: Arc<dyn LlmBackend>,
    taken: IntCounterVec,
}

impl Fallback {
    /// Wraps `inner`, registering the fallback counter with `metrics`.
    pub fn wrap(inner: Arc<dyn LlmBackend>, metrics: &Metrics) -> Arc<dyn LlmBackend> {
        let taken = IntCounterVec::new(
            Opts::new(
                "llm_model_fallbacks_total",
                "Calls passed on to the next model of the fallback chain, by the model the server did not have",
            ),
            &["model"],
        )
        .expect("static metric");
        if let Err(e) = metrics.register(Box::new(taken.clone())) {
            tracing::warn!(error = %e, "the model fallback counter is not exported");
        }
        Arc::new(Self { inner, taken })
    }
}

impl LlmBackend for Fallback {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn url(&self) -> &str {
        self.inner.url()
    }

    fn default_model(&self) -> &str {
        self.inner.default_model()
    }

    fn chat_stream(&self, mut request: ChatRequest) -> BoxFuture<'static, Result<EventStream, LlmError>> {
        let inner = self.inner.clone();
        let taken = self.taken.clone();
        async move {
            let mut next = std::mem::take(&mut request.fallback).into_iter();
            loop {
                match inner.chat_stream(request.clone()).await {
                    Err(e) if e.model_missing() => {
                        let Some(model) = next.next() else { return Err(e) };
                        tracing::warn!(
                            missing = %request.model,
                            next = %model,
                            error = %e,
                            "LLM: the server does not have model {:?}; asking {:?}, the next in the fallback chain",
                            request.model,
                            model
                        );
                        taken.with_label_values(&[request.model.as_str()]).inc();
                        request.model = model;
                    }
                    answer => return answer,
                }
            }
        }
        .boxed()
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        self.inner.list_models()
    }

    fn fallback_hint(&self) -> Option<String> {
        self.inner.fallback_hint()
    }
}

//! Ollama: `POST /api/chat` streaming NDJSON, `GET /api/tags`.

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::lines::lines;
use super::{require_done, ChatRequest, Endpoint, EventStream, LlmBackend, LlmError, LlmErrorKind, LlmEvent};

/// An Ollama server.
pub struct Ollama {
    endpoint: Endpoint,
}

impl Ollama {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }
}

#[derive(Deserialize)]
struct ChatLine {
    #[serde(default)]
    message: Option<LineMessage>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    eval_count: Option<u32>,
    #[serde(default)]
    prompt_eval_count: Option<u32>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct LineMessage {
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct Tags {
    models: Vec<TagModel>,
}

#[derive(Deserialize)]
struct TagModel {
    name: String,
}

/// Reads one NDJSON line of `/api/chat` into an event (none for keep-alive blanks).
fn parse_line(line: &str) -> Result<Option<LlmEvent>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let parsed: ChatLine = serde_json::from_str(line).map_err(|e| format!("bad NDJSON line: {e}"))?;
    if let Some(error) = parsed.error {
        return Err(error);
    }
    if parsed.done {
        return Ok(Some(LlmEvent::Done {
            completion_tokens: parsed.eval_count,
            prompt_tokens: parsed.prompt_eval_count,
        }));
    }
    Ok(parsed
        .message
        .map(|m| m.content)
        .filter(|c| !c.is_empty())
        .map(LlmEvent::Token))
}

/// The request's Ollama `options`: the token limit and temperature, and the other options that are set.
fn options(request: &ChatRequest) -> serde_json::Value {
    let mut options = json!({ "num_predict": request.max_tokens, "temperature": request.temperature });
    if let Some(top_p) = request.top_p {
        options["top_p"] = json!(top_p);
    }
    if let Some(num_ctx) = request.num_ctx {
        options["num_ctx"] = json!(num_ctx);
    }
    if !request.stop.is_empty() {
        options["stop"] = json!(request.stop);
    }
    options
}

impl LlmBackend for Ollama {
    fn provider(&self) -> &'static str {
        "ollama"
    }

    fn url(&self) -> &str {
        &self.endpoint.url
    }

    fn default_model(&self) -> &str {
        &self.endpoint.model
    }

    fn chat_stream(&self, request: ChatRequest) -> BoxFuture<'static, Result<EventStream, LlmError>> {
        let endpoint = self.endpoint.clone();
        async move {
            let url = format!("{}/api/chat", endpoint.url);
            let body = json!({
                "model": request.model,
                "messages": super::images::ollama_messages(&request),
                "stream": true,
                "options": options(&request),
            });
            let resp = endpoint.send(&request.model, |c| c.post(&url).json(&body)).await?;
            let model = request.model.clone();
            let cut_short = endpoint.cut_short(&model);
            let events = lines(resp.bytes_stream()).filter_map(move |line| {
                let endpoint = endpoint.clone();
                let model = model.clone();
                async move {
                    match line {
                        Err(e) => Some(Err(endpoint.line_error(&model, e))),
                        Ok(line) => parse_line(&line)
                            .map_err(|d| endpoint.error(&model, LlmErrorKind::Protocol, d))
                            .transpose(),
                    }
                }
            });
            Ok(require_done(events, cut_short))
        }
        .boxed()
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        let endpoint = self.endpoint.clone();
        async move {
            let tags: Tags = endpoint.get_json(&format!("{}/api/tags", endpoint.url)).await?;
            Ok(tags.models.into_iter().map(|m| m.name).collect())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_done_and_errors() {
        let tok = r#"{"model":"m","message":{"role":"assistant","content":" hi"},"done":false}"#;
        assert_eq!(parse_line(tok).unwrap(), Some(LlmEvent::Token(" hi".into())));
        let done = r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"eval_count":7,"prompt_eval_count":3}"#;
        assert_eq!(
            parse_line(done).unwrap(),
            Some(LlmEvent::Done {
                completion_tokens: Some(7),
                prompt_tokens: Some(3)
            })
        );
        assert_eq!(parse_line("").unwrap(), None);
        assert_eq!(
            parse_line(r#"{"error":"model not found"}"#).unwrap_err(),
            "model not found"
        );
        assert!(parse_line("not json").is_err());
    }
}

//! OpenAI-compatible servers: `POST /v1/chat/completions` with SSE streaming, `GET /v1/models`.

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::lines::lines;
use super::{require_done, ChatRequest, Endpoint, EventStream, LlmBackend, LlmError, LlmErrorKind, LlmEvent};

/// An OpenAI-compatible server (OpenAI, vLLM, llama.cpp server, LM Studio…).
pub struct OpenAi {
    endpoint: Endpoint,
}

impl OpenAi {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    fn api(&self, path: &str) -> String {
        api_url(&self.endpoint.url, path)
    }
}

/// `{base}/v1/{path}`, without doubling `/v1` when the base already ends with it.
fn api_url(base: &str, path: &str) -> String {
    if base.ends_with("/v1") {
        format!("{base}/{path}")
    } else {
        format!("{base}/v1/{path}")
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    completion_tokens: Option<u32>,
    #[serde(default)]
    prompt_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct Models {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

/// Reads one SSE line into events: a `data:` line holds a chunk or `[DONE]`; other lines carry nothing.
fn parse_line(line: &str) -> Result<Vec<LlmEvent>, String> {
    let Some(data) = line.strip_prefix("data:").map(str::trim) else {
        return Ok(Vec::new());
    };
    if data == "[DONE]" {
        return Ok(vec![LlmEvent::Done {
            completion_tokens: None,
            prompt_tokens: None,
        }]);
    }
    let chunk: Chunk = serde_json::from_str(data).map_err(|e| format!("bad SSE data: {e}"))?;
    let mut events = Vec::new();
    for choice in chunk.choices {
        if let Some(text) = choice.delta.and_then(|d| d.content).filter(|t| !t.is_empty()) {
            events.push(LlmEvent::Token(text));
        }
    }
    if let Some(usage) = chunk.usage {
        events.push(LlmEvent::Done {
            completion_tokens: usage.completion_tokens,
            prompt_tokens: usage.prompt_tokens,
        });
    }
    Ok(events)
}

impl LlmBackend for OpenAi {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn url(&self) -> &str {
        &self.endpoint.url
    }

    fn default_model(&self) -> &str {
        &self.endpoint.model
    }

    fn chat_stream(&self, request: ChatRequest) -> BoxFuture<'static, Result<EventStream, LlmError>> {
        let endpoint = self.endpoint.clone();
        let url = self.api("chat/completions");
        async move {
            let mut body = json!({
                "model": request.model,
                "messages": super::images::openai_messages(&request),
                "stream": true,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "stream_options": { "include_usage": true },
            });
            if let Some(top_p) = request.top_p {
                body["top_p"] = json!(top_p);
            }
            if !request.stop.is_empty() {
                body["stop"] = json!(request.stop);
            }
            let resp = endpoint.send(&request.model, |c| c.post(&url).json(&body)).await?;
            let model = request.model.clone();
            let cut_short = endpoint.cut_short(&model);
            let events = lines(resp.bytes_stream())
                .map(move |line| match line {
                    Err(e) => vec![Err(endpoint.line_error(&model, e))],
                    Ok(line) => match parse_line(&line) {
                        Ok(events) => events.into_iter().map(Ok).collect(),
                        Err(d) => vec![Err(endpoint.error(&model, LlmErrorKind::Protocol, d))],
                    },
                })
                .flat_map(futures_util::stream::iter);
            Ok(require_done(events, cut_short))
        }
        .boxed()
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        let endpoint = self.endpoint.clone();
        let url = self.api("models");
        async move {
            let models: Models = endpoint.get_json(&url).await?;
            Ok(models.data.into_iter().map(|m| m.id).collect())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sse_lines() {
        let line = r#"data: {"choices":[{"index":0,"delta":{"content":" hi"},"finish_reason":null}]}"#;
        assert_eq!(parse_line(line).unwrap(), vec![LlmEvent::Token(" hi".into())]);
        assert_eq!(parse_line("").unwrap(), vec![]);
        assert_eq!(parse_line(": keep-alive").unwrap(), vec![]);
        assert!(matches!(parse_line("data: [DONE]").unwrap()[0], LlmEvent::Done { .. }));
        let usage = r#"data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#;
        assert_eq!(
            parse_line(usage).unwrap(),
            vec![LlmEvent::Done {
                completion_tokens: Some(9),
                prompt_tokens: Some(5)
            }]
        );
        assert!(parse_line("data: {broken").is_err());
    }

    #[test]
    fn api_url_does_not_double_v1() {
        assert_eq!(api_url("http://h:1", "models"), "http://h:1/v1/models");
        assert_eq!(api_url("http://h:1/v1", "models"), "http://h:1/v1/models");
    }
}

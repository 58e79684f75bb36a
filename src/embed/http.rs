//! Embedders that call an HTTP service: Ollama (`POST {url}/api/embed`) and OpenAI-style endpoints
//! (`POST {url}/v1/embeddings`, also served by llama.cpp, vLLM, LM Studio …).
//!
//! Both send `{"model": …, "input": [texts]}`; they differ only in the path and the shape of the answer,
//! which a [`Wire`] describes. Everything else — timeout, bearer token, error mapping, checking the
//! count and dimension of the vectors, normalising them — is shared in [`HttpEmbedder`].

use std::error::Error as _;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{normalize, BoxFuture, EmbedError, Embedder, EmbedderOptions};

/// How one HTTP embedding API is spoken: where to post and how to read the vectors from the answer.
pub trait Wire: Send + Sync + 'static {
    /// Prefix of [`Embedder::name`], e.g. `ollama`.
    const PROVIDER: &'static str;
    /// Path appended to the configured base URL.
    const PATH: &'static str;
    /// The JSON body of a successful answer.
    type Response: DeserializeOwned + Send;
    /// The vectors of `response`, in the order of the input texts.
    fn into_vectors(response: Self::Response) -> Result<Vec<Vec<f32>>, String>;
}

/// Ollama's `/api/embed` (not the older single-text `/api/embeddings`).
pub struct Ollama;

/// Ollama's answer: `{"embeddings": [[…], …]}`.
#[derive(Deserialize)]
pub struct OllamaResponse {
    embeddings: Vec<Vec<f32>>,
}

impl Wire for Ollama {
    const PROVIDER: &'static str = "ollama";
    const PATH: &'static str = "/api/embed";
    type Response = OllamaResponse;

    fn into_vectors(response: OllamaResponse) -> Result<Vec<Vec<f32>>, String> {
        Ok(response.embeddings)
    }
}

/// The OpenAI embeddings API, `/v1/embeddings`.
pub struct OpenAi;

/// OpenAI's answer: `{"data": [{"index": 0, "embedding": […]}, …]}`, not necessarily in input order.
#[derive(Deserialize)]
pub struct OpenAiResponse {
    data: Vec<OpenAiItem>,
}

/// One vector of an [`OpenAiResponse`].
#[derive(Deserialize)]
struct OpenAiItem {
    index: usize,
    embedding: Vec<f32>,
}

impl Wire for OpenAi {
    const PROVIDER: &'static str = "openai";
    const PATH: &'static str = "/v1/embeddings";
    type Response = OpenAiResponse;

    fn into_vectors(response: OpenAiResponse) -> Result<Vec<Vec<f32>>, String> {
        let mut data = response.data;
        data.sort_by_key(|item| item.index);
        if let Some((position, item)) = data.iter().enumerate().find(|(i, it)| *i != it.index) {
            return Err(format!(
                "item indexes are not 0..n (position {position} has index {})",
                item.index
            ));
        }
        Ok(data.into_iter().map(|item| item.embedding).collect())
    }
}

/// The Ollama embedder.
pub type OllamaEmbedder = HttpEmbedder<Ollama>;
/// The OpenAI-style embedder.
pub type OpenAiEmbedder = HttpEmbedder<OpenAi>;

/// An embedder behind an HTTP API spoken as `W` says.
pub struct HttpEmbedder<W> {
    client: reqwest::Client,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    dimension: usize,
    timeout: Duration,
    name: String,
    wire: PhantomData<fn() -> W>,
}

/// The request body both APIs accept.
#[derive(Serialize)]
struct EmbedRequest<'a> {
    model: &'a str,
    input: &'a [String],
}

impl<W: Wire> HttpEmbedder<W> {
    /// Checks the settings (URL, model and a dimension > 0 are required) and keeps `client` for the calls.
    pub fn new(settings: &EmbedderOptions, client: reqwest::Client) -> Result<Self, EmbedError> {
        let base = settings.url.trim_end_matches('/');
        if base.is_empty() || settings.model.is_empty() {
            return Err(EmbedError::Settings(format!(
                "embedder.provider {} needs embedder.url and embedder.model",
                W::PROVIDER
            )));
        }
        if settings.dimension == 0 {
            return Err(EmbedError::Settings(format!(
                "embedder.provider {} needs embedder.dimension (the length of {}'s vectors)",
                W::PROVIDER,
                settings.model
            )));
        }
        Ok(Self {
            client,
            endpoint: format!("{base}{}", W::PATH),
            model: settings.model.clone(),
            api_key: settings.api_key.clone().filter(|key| !key.is_empty()),
            dimension: settings.dimension,
            timeout: settings.timeout,
            name: format!("{}:{}", W::PROVIDER, settings.model),
            wire: PhantomData,
        })
    }

    /// Posts the batch and returns the checked, normalised vectors.
    async fn request(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let bad = |reason: String| EmbedError::BadResponse {
            url: self.endpoint.clone(),
            reason,
        };
        let mut request = self
            .client
            .post(&self.endpoint)
            .timeout(self.timeout)
            .json(&EmbedRequest {
                model: &self.model,
                input: texts,
            });
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| EmbedError::Unreachable {
            url: self.endpoint.clone(),
            reason: describe(&e, self.timeout),
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let body: String = body.chars().take(300).collect();
            return Err(bad(format!("HTTP {status}: {body}")));
        }
        let parsed: W::Response = response.json().await.map_err(|e| bad(describe(&e, self.timeout)))?;
        let mut vectors = W::into_vectors(parsed).map_err(bad)?;
        if vectors.len() != texts.len() {
            return Err(bad(format!("{} vectors for {} texts", vectors.len(), texts.len())));
        }
        for vector in &mut vectors {
            if vector.len() != self.dimension {
                return Err(EmbedError::DimensionMismatch {
                    expected: self.dimension,
                    actual: vector.len(),
                });
            }
            normalize(vector);
        }
        Ok(vectors)
    }
}

impl<W: Wire> Embedder for HttpEmbedder<W> {
    fn name(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            self.request(texts).await
        })
    }
}

/// A reqwest error with its causes ("error sending request …: connection refused"), or the timeout.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {timeout:?}");
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::path::PathBuf;

    use crate::config::EmbedderProvider;
    use std::sync::mpsc;
    use std::thread;

    /// A one-shot HTTP server: answers the first request with `status` and `body`, and hands the
    /// request's head and body back through the receiver.
    fn serve_once(status: &'static str, body: String) -> (String, mpsc::Receiver<(String, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("read line");
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().expect("content length");
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut request_body = vec![0; length];
            reader.read_exact(&mut request_body).expect("read body");
            let mut stream = stream;
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).expect("write");
            let _ = tx.send((head, String::from_utf8_lossy(&request_body).into_owned()));
        });
        (url, rx)
    }

    fn settings(url: &str, dimension: usize, api_key: Option<&str>) -> EmbedderOptions {
        EmbedderOptions {
            provider: EmbedderProvider::Openai,
            model_dir: PathBuf::new(),
            precision: crate::config::EmbedderPrecision::Int8,
            url: format!("{url}/"),
            model: "test-model".to_string(),
            api_key: api_key.map(str::to_string),
            dimension,
            timeout: Duration::from_secs(5),
        }
    }

    fn texts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn ollama_posts_model_and_input_and_normalises() {
        let (url, rx) = serve_once("200 OK", r#"{"embeddings":[[3,4],[0,2]]}"#.to_string());
        let embedder =
            OllamaEmbedder::new(&settings(&url, 2, None), reqwest::Client::new()).expect("settings are valid");
        let vectors = embedder.embed(&texts(&["a", "b"])).await.expect("embeds");
        assert_eq!(vectors, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
        let (head, body) = rx.recv().expect("request seen");
        assert!(head.starts_with("POST /api/embed "), "{head}");
        assert!(!head.to_ascii_lowercase().contains("authorization"), "{head}");
        let body: serde_json::Value = serde_json::from_str(&body).expect("json body");
        assert_eq!(body, serde_json::json!({"model": "test-model", "input": ["a", "b"]}));
    }

    #[tokio::test]
    async fn openai_orders_by_index_and_sends_bearer() {
        let answer = r#"{"data":[{"index":1,"embedding":[0,1]},{"index":0,"embedding":[1,0]}]}"#;
        let (url, rx) = serve_once("200 OK", answer.to_string());
        let embedder = OpenAiEmbedder::new(&settings(&url, 2, Some("sk-test")), reqwest::Client::new())
            .expect("settings are valid");
        assert_eq!(embedder.name(), "openai:test-model");
        let vectors = embedder.embed(&texts(&["x", "y"])).await.expect("embeds");
        assert_eq!(vectors, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        let (head, _) = rx.recv().expect("request seen");
        assert!(head.starts_with("POST /v1/embeddings "), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("authorization: bearer sk-test"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn wrong_dimension_is_an_error() {
        let (url, _rx) = serve_once("200 OK", r#"{"embeddings":[[1,2,3]]}"#.to_string());
        let embedder =
            OllamaEmbedder::new(&settings(&url, 2, None), reqwest::Client::new()).expect("settings are valid");
        let err = embedder.embed(&texts(&["a"])).await.err();
        assert!(
            matches!(err, Some(EmbedError::DimensionMismatch { expected: 2, actual: 3 })),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn error_status_keeps_the_body() {
        let (url, _rx) = serve_once(
            "404 Not Found",
            r#"{"error":"model \"test-model\" not found"}"#.to_string(),
        );
        let embedder =
            OllamaEmbedder::new(&settings(&url, 2, None), reqwest::Client::new()).expect("settings are valid");
        let err = embedder.embed(&texts(&["a"])).await.err();
        let text = err.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(matches!(err, Some(EmbedError::BadResponse { .. })), "{err:?}");
        assert!(text.contains("404") && text.contains("not found"), "{text}");
    }

    #[tokio::test]
    async fn closed_port_is_unreachable_with_the_url() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let embedder =
            OllamaEmbedder::new(&settings(&url, 2, None), reqwest::Client::new()).expect("settings are valid");
        let err = embedder.embed(&texts(&["a"])).await.err();
        match err {
            Some(EmbedError::Unreachable { url: called, .. }) => {
                assert_eq!(called, format!("{url}/api/embed"))
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn empty_batch_makes_no_request() {
        let embedder = OllamaEmbedder::new(&settings("http://127.0.0.1:9", 2, None), reqwest::Client::new())
            .expect("settings are valid");
        assert!(embedder.embed(&[]).await.expect("no call").is_empty());
    }

    #[test]
    fn settings_need_url_model_and_dimension() {
        let mut missing_dimension = settings("http://localhost:11434", 0, None);
        assert!(OllamaEmbedder::new(&missing_dimension, reqwest::Client::new()).is_err());
        missing_dimension.dimension = 768;
        missing_dimension.model.clear();
        assert!(OpenAiEmbedder::new(&missing_dimension, reqwest::Client::new()).is_err());
    }
}

//! Checks the fake LLM used by the integration tests and the load benchmark speaks the Ollama and OpenAI wire
//! formats the way the real services do.

use persona_test_support::fake_llm;

use std::time::{Duration, Instant};

use fake_llm::{FakeLlm, FakeLlmConfig};
use serde_json::{json, Value};

fn with_reply(reply: &str) -> FakeLlmConfig {
    FakeLlmConfig {
        reply: Some(reply.to_string()),
        ..FakeLlmConfig::default()
    }
}

async fn post(url: String, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request to the fake LLM")
}

fn ndjson_lines(text: &str) -> Vec<Value> {
    assert!(text.ends_with('\n'), "NDJSON ends with a newline: {text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each NDJSON line is JSON"))
        .collect()
}

/// The `data:` payloads of an SSE body, checking each event is one `data: ` line ended by a blank line.
fn sse_events(text: &str) -> Vec<String> {
    assert!(text.ends_with("\n\n"), "SSE ends with a blank line: {text:?}");
    text.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|event| {
            assert!(!event.contains('\n'), "one line per event: {event:?}");
            event
                .strip_prefix("data: ")
                .expect("event starts with `data: `")
                .to_string()
        })
        .collect()
}

#[actix_rt::test]
async fn ollama_chat_streams_ndjson_tokens_then_a_done_line() {
    let llm = FakeLlm::start(FakeLlmConfig {
        token_delay: Duration::from_millis(2),
        ..with_reply("Hello brave new  world")
    });
    let response = post(
        format!("{}/api/chat", llm.url()),
        json!({"model": "llama3.2", "messages": [{"role": "system", "content": "be kind"}, {"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let lines = ndjson_lines(&response.text().await.unwrap());
    assert_eq!(lines.len(), 5);
    let tokens: Vec<&str> = lines[..4]
        .iter()
        .map(|l| {
            assert_eq!(l["done"], false);
            assert_eq!(l["model"], "llama3.2");
            assert_eq!(l["message"]["role"], "assistant");
            assert!(l["created_at"].as_str().unwrap().ends_with('Z'));
            l["message"]["content"].as_str().unwrap()
        })
        .collect();
    assert_eq!(tokens, ["Hello", " brave", " new", "  world"]);
    let last = &lines[4];
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    assert_eq!(last["message"]["content"], "");
    assert_eq!(last["eval_count"], 4);
    assert_eq!(last["prompt_eval_count"], 3);
    assert!(last["total_duration"].as_u64().unwrap() > 0);

    let requests = llm.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["messages"][1]["content"], "hi");
    assert_eq!(llm.chat_requests_in_flight(), 0);
}

#[actix_rt::test]
async fn ollama_chat_honours_num_predict_and_non_streaming() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let url = format!("{}/api/chat", llm.url());
    let messages = json!([{"role": "user", "content": "how are you"}]);

    let response = post(
        url.clone(),
        json!({"model": "m", "messages": messages, "options": {"num_predict": 2}}),
    )
    .await;
    let lines = ndjson_lines(&response.text().await.unwrap());
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["message"]["content"], "Reply");
    assert_eq!(lines[1]["message"]["content"], " to:");
    assert_eq!(lines[2]["done_reason"], "length");
    assert_eq!(lines[2]["eval_count"], 2);

    let response = post(url, json!({"model": "m", "messages": messages, "stream": false})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let content = body["message"]["content"].as_str().unwrap();
    assert!(content.starts_with("Reply to: how are you "), "{content}");
    assert_eq!(
        content.split_whitespace().count(),
        8,
        "default reply has `tokens` words"
    );
    assert_eq!(body["done"], true);
    assert_eq!(body["done_reason"], "stop");
    assert_eq!(body["eval_count"], 8);
    assert_eq!(llm.requests().len(), 2);
}

#[actix_rt::test]
async fn openai_chat_streams_sse_chunks_then_done() {
    let llm = FakeLlm::start(with_reply("one two three four"));
    let url = format!("{}/v1/chat/completions", llm.url());
    let response = post(
        url.clone(),
        json!({"model": "gpt", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "count"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let events = sse_events(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "one two three four");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 4);

    // max_tokens cuts the reply; without include_usage no usage chunk.
    let response = post(
        url.clone(),
        json!({"model": "gpt", "stream": true, "max_tokens": 3, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    let events = sse_events(&response.text().await.unwrap());
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "one two three");
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "length");
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));

    // Not streamed: one object, max_completion_tokens honoured.
    let response = post(
        url,
        json!({"model": "gpt", "max_completion_tokens": 2, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "one two");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 2);
    assert_eq!(body["usage"]["total_tokens"], 3);
}

#[actix_rt::test]
async fn model_lists() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let tags: Value = reqwest::get(format!("{}/api/tags", llm.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["llama3.2:latest", "fake-model:latest"]);
    for key in ["model", "modified_at", "size", "digest", "details"] {
        assert!(tags["models"][0].get(key).is_some(), "{key}");
    }

    llm.set_config(|c| c.models = vec!["gpt-4o-mini".to_string()]);
    let models: Value = reqwest::get(format!("{}/v1/models", llm.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], "gpt-4o-mini");
    assert_eq!(models["data"][0]["object"], "model");
    assert_eq!(models["data"].as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn fail_status_fails_chat_and_embed() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    llm.set_config(|c| c.fail_status = Some(503));
    let messages = json!([{"role": "user", "content": "hi"}]);

    let response = post(
        format!("{}/api/chat", llm.url()),
        json!({"model": "m", "messages": messages}),
    )
    .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].is_string());

    let response = post(
        format!("{}/v1/chat/completions", llm.url()),
        json!({"model": "m", "messages": messages, "stream": true}),
    )
    .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].is_string());

    let response = post(format!("{}/api/embed", llm.url()), json!({"model": "m", "input": "x"})).await;
    assert_eq!(response.status(), 503);
    let response = post(
        format!("{}/v1/embeddings", llm.url()),
        json!({"model": "m", "input": "x"}),
    )
    .await;
    assert_eq!(response.status(), 503);

    assert_eq!(llm.requests().len(), 2, "failed chats are recorded too");
    llm.set_config(|c| c.fail_status = None);
    let response = post(
        format!("{}/api/chat", llm.url()),
        json!({"model": "m", "messages": messages}),
    )
    .await;
    assert_eq!(response.status(), 200);
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn vectors(values: &Value) -> Vec<Vec<f64>> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
        .collect()
}

#[actix_rt::test]
async fn embeddings_are_deterministic_normalised_and_similar_for_shared_words() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let texts = json!([
        "I love hiking in the mountains",
        "Hiking in the mountains is what I love",
        "Quarterly tax filing deadlines",
        "I love hiking in the mountains",
    ]);
    let body: Value = post(
        format!("{}/api/embed", llm.url()),
        json!({"model": "nomic", "input": texts}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["model"], "nomic");
    let v = vectors(&body["embeddings"]);
    assert_eq!(v.len(), 4);
    for e in &v {
        assert_eq!(e.len(), 384);
        assert!((dot(e, e) - 1.0).abs() < 1e-4, "unit length");
    }
    assert_eq!(v[0], v[3], "deterministic");
    assert!(dot(&v[0], &v[1]) > 0.7, "shared words: {}", dot(&v[0], &v[1]));
    assert!(dot(&v[0], &v[2]).abs() < 0.5, "no shared words: {}", dot(&v[0], &v[2]));

    let single: Value = post(
        format!("{}/api/embed", llm.url()),
        json!({"model": "nomic", "input": texts[0]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(vectors(&single["embeddings"])[0], v[0]);

    llm.set_config(|c| c.embed_dim = 16);
    let openai: Value = post(
        format!("{}/v1/embeddings", llm.url()),
        json!({"model": "te3", "input": ["a b", "c"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(openai["model"], "te3");
    let data = openai["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[1]["object"], "embedding");
    assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 16);
}

#[actix_rt::test]
async fn first_token_delay_and_disconnect_closes_the_stream() {
    let llm = FakeLlm::start(FakeLlmConfig {
        tokens: 1000,
        first_token_delay: Duration::from_millis(150),
        token_delay: Duration::from_millis(20),
        ..FakeLlmConfig::default()
    });
    let started = Instant::now();
    let mut response = post(
        format!("{}/api/chat", llm.url()),
        json!({"model": "m", "messages": [{"role": "user", "content": "go"}]}),
    )
    .await;
    let first = response.chunk().await.unwrap().expect("a first chunk");
    assert!(started.elapsed() >= Duration::from_millis(150), "first token waited");
    let line: Value = serde_json::from_slice(first.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["message"]["content"], "Reply");
    assert_eq!(llm.chat_requests_in_flight(), 1);

    drop(response);
    let deadline = Instant::now() + Duration::from_secs(5);
    while llm.chat_requests_in_flight() != 0 {
        assert!(Instant::now() < deadline, "stream still open after the client left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn drop_stops_the_server() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let addr = llm.url().trim_start_matches("http://").to_string();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    drop(llm);
    let deadline = Instant::now() + Duration::from_secs(2);
    while std::net::TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "port still open after drop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[actix_rt::test]
async fn stream_timing_records_when_the_request_came_and_each_token_left() {
    let llm = FakeLlm::start(FakeLlmConfig {
        first_token_delay: Duration::from_millis(30),
        token_delay: Duration::from_millis(5),
        ..with_reply("one two three")
    });
    assert!(
        llm.stream_timing("timed").is_none(),
        "nothing recorded before a request"
    );
    let sent = Instant::now();
    let response = post(
        format!("{}/api/chat", llm.url()),
        json!({"model": "m", "messages": [{"role": "user", "content": "earlier"},
                                          {"role": "assistant", "content": "ok"},
                                          {"role": "user", "content": "timed"}]}),
    )
    .await;
    let lines = ndjson_lines(&response.text().await.unwrap());
    let done = Instant::now();
    assert_eq!(lines.len(), 4, "three tokens and the final line");

    assert!(
        llm.stream_timing("earlier").is_none(),
        "keyed by the last user message only"
    );
    let timing = llm.stream_timing("timed").expect("the reply's timing");
    assert_eq!(timing.tokens_sent.len(), 3, "one instant per token");
    assert!(sent <= timing.received && timing.received <= timing.tokens_sent[0]);
    for (i, sent) in timing.tokens_sent.iter().enumerate() {
        let due = Duration::from_millis(30 + 5 * i as u64);
        assert!(*sent - timing.received >= due, "token {i} left before it was due");
    }
    assert!(*timing.tokens_sent.last().unwrap() <= done);
}

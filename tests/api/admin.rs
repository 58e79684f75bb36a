//! The admin REST API on its own listener: auth, every route's happy path and its 4xx answers, and parity with
//! the JSON-RPC method table.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::boot;
use crate::support::{install_log_buffer, TestServer};

/// An admin API client holding the server's token.
struct Admin {
    http: Client,
    server_token: String,
    base: String,
}

impl Admin {
    fn new(server: &TestServer) -> Self {
        Self {
            http: Client::new(),
            server_token: server.admin_token(),
            base: server.admin_url(""),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.server_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin answers");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.send(method.clone(), path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }
}

/// Asserts the error body shape and answers its code.
fn error_code(status: StatusCode, body: &Value, expected: StatusCode) -> String {
    assert_eq!(status, expected, "{body}");
    let e = &body["error"];
    assert!(
        e["message"].is_string() && e.get("details").is_some(),
        "error shape: {body}"
    );
    e["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_token_is_generated_0600_and_required_on_every_api_route() {
    let (_llm, server) = boot(None);
    let path = server.data_dir().join("admin.token");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let http = Client::new();
    for route in [
        "/personas",
        "/memories",
        "/system/status",
        "/decay",
        "/conversations",
        "/relationships",
    ] {
        let url = server.admin_url(route);
        let r = http.get(&url).send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            error_code(status, &body, StatusCode::UNAUTHORIZED),
            "unauthorized",
            "{route}"
        );
        let r = http
            .get(&url)
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{route}");
        let r = http
            .get(format!("{url}?token={}", server.admin_token()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "a token in the URL is not accepted: {route}"
        );
    }
    let r = http
        .get(server.admin_url("/personas"))
        .bearer_auth(server.admin_token())
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a foreign origin is refused even with the token"
    );
    let r = http
        .get(server.http_url("/admin/api/v1/personas"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "the admin is not on the WebSocket/MCP port"
    );
    let restarted = server.restart().await;
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        restarted.admin_token(),
        "the token survives a restart"
    );
}

#[tokio::test]
async fn personas_crud_with_paging_and_errors() {
    let (_llm, server) = boot(None);
    let admin = Admin::new(&server);
    let (status, created) = admin
        .send(
            Method::POST,
            "/personas",
            Some(json!({ "name": "Nova", "description": "A navigator", "charisma": 12 })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "Nova");
    assert_eq!(created["charisma"], 12);
    assert!(created.get("avatar_url").is_some());
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(admin.get("/personas/nova").await["id"], id.as_str());

    let first = admin.get("/personas?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a next page").to_string();
    let second = admin.get(&format!("/personas?limit=2&cursor={cursor}")).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let patched = admin
        .ok(
            Method::PATCH,
            &format!("/personas/{id}"),
            Some(json!({ "name": "Nova Prime" })),
        )
        .await;
    assert_eq!(patched["name"], "Nova Prime");

    let (s, b) = admin
        .send(Method::POST, "/personas", Some(json!({ "name": "Aria" })))
        .await;
    assert_eq!(error_code(s, &b, StatusCode::CONFLICT), "conflict");
    let (s, b) = admin
        .send(Method::POST, "/personas", Some(json!({ "name": "X", "charisma": 50 })))
        .await;
    assert_eq!(error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY), "invalid_params");
    assert_eq!(b["error"]["details"]["field"], "charisma", "{b}");
    let (s, b) = admin
        .send(Method::POST, "/personas", Some(json!({ "description": "no name" })))
        .await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin
        .http
        .post(admin.base.clone() + "/personas")
        .bearer_auth(&admin.server_token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_eq!(
        error_code(s, &r.json().await.unwrap(), StatusCode::BAD_REQUEST),
        "bad_request"
    );
    let r = admin
        .http
        .post(admin.base.clone() + "/personas")
        .bearer_auth(&admin.server_token)
        .header("Content-Type", "text/plain")
        .body("name=Zed")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for (method, path) in [
        (Method::GET, "/personas/Nobody"),
        (Method::PATCH, "/personas/Nobody"),
        (Method::DELETE, "/personas/Nobody"),
        (Method::GET, "/personas/Nobody/prune"),
        (Method::GET, "/personas/Nobody/emotions"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({ "description": "x" }));
        let (s, b) = admin.send(method.clone(), path, body).await;
        assert_eq!(
            error_code(s, &b, StatusCode::NOT_FOUND),
            "persona_not_found",
            "{method} {path}"
        );
    }
    let (s, b) = admin.send(Method::GET, "/nothing/here", None).await;
    error_code(s, &b, StatusCode::NOT_FOUND);

    let deleted = admin.ok(Method::DELETE, &format!("/personas/{id}"), None).await;
    assert_eq!(deleted["deleted"], true);
    let (s, _) = admin.send(Method::GET, &format!("/personas/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_persona_made_in_the_admin_is_seen_over_websocket_and_back() {
    let (_llm, server) = boot(None);
    let admin = Admin::new(&server);
    admin
        .ok(Method::POST, "/personas", Some(json!({ "name": "Vega" })))
        .await;
    let mut ws = server.client().await;
    let list = ws.result("persona.list", json!({})).await;
    assert!(list["personas"].as_array().unwrap().iter().any(|p| p["name"] == "Vega"));
    ws.result(
        "persona.update",
        json!({ "persona_id": "Vega", "description": "edited over ws" }),
    )
    .await;
    assert_eq!(admin.get("/personas/vega").await["description"], "edited over ws");
}

#[tokio::test]
async fn memories_list_filter_page_search_patch_delete() {
    let (_llm, server) = boot(None);
    let admin = Admin::new(&server);
    let mut ids = Vec::new();
    for (i, (content, kind, vis)) in [
        ("Aria loves the harbour at dawn", "observation", "private"),
        ("Aria met Kira at the library", "event", "public"),
        ("Aria fears deep water", "reflection", "shared"),
    ]
    .into_iter()
    .enumerate()
    {
        let (s, m) = admin
            .send(
                Method::POST,
                "/memories",
                Some(json!({ "persona_id": "Aria", "content": content, "memory_type": kind,
                             "visibility": vis, "importance": 0.2 + 0.3 * i as f64 })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        assert_eq!(m["content"], content);
        ids.push(m["id"].as_str().unwrap().to_string());
    }
    let all = admin.get("/memories?persona=aria").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let events = admin.get("/memories?persona=Aria&type=event").await;
    assert_eq!(events["items"][0]["id"], ids[1].as_str());
    assert_eq!(
        admin.get("/memories?visibility=shared").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let important = admin.get("/memories?min_importance=0.45&max_importance=0.9").await;
    assert_eq!(important["items"].as_array().unwrap().len(), 2);
    let page = admin.get("/memories?persona=Aria&limit=2").await;
    let next = page["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(
        admin
            .get(&format!("/memories?persona=Aria&limit=2&cursor={next}"))
            .await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let found = admin.get("/memories?persona=Aria&q=library").await;
    assert_eq!(found["items"][0]["id"], ids[1].as_str(), "{found}");
    assert_eq!(
        admin.get("/memories?q=DEEP WATER").await["items"][0]["id"],
        ids[2].as_str()
    );

    let one = admin.get(&format!("/memories/{}", ids[0])).await;
    assert_eq!(one["visibility"], "private");
    let patched = admin
        .ok(
            Method::PATCH,
            &format!("/memories/{}", ids[0]),
            Some(json!({ "importance": 0.95, "visibility": "public", "memory_type": "lore" })),
        )
        .await;
    assert_eq!(
        (
            patched["importance"].as_f64(),
            &patched["visibility"],
            &patched["memory_type"]
        ),
        (Some(0.95), &json!("public"), &json!("lore"))
    );
    let (s, b) = admin
        .send(
            Method::PATCH,
            &format!("/memories/{}", ids[0]),
            Some(json!({ "importance": "very" })),
        )
        .await;
    assert_eq!(error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY), "invalid_params");
    let (s, b) = admin
        .send(
            Method::PATCH,
            &format!("/memories/{}", ids[0]),
            Some(json!({ "visibility": "secret" })),
        )
        .await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b) = admin.send(Method::GET, "/memories?min_importance=lots", None).await;
    error_code(s, &b, StatusCode::BAD_REQUEST);
    let (s, b) = admin
        .send(Method::POST, "/memories", Some(json!({ "content": "no owner" })))
        .await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b) = admin
        .send(
            Method::POST,
            "/memories",
            Some(json!({ "persona_id": "Nobody", "content": "x" })),
        )
        .await;
    error_code(s, &b, StatusCode::NOT_FOUND);
    for path in ["/memories/not-a-uuid", "/memories/00000000-0000-0000-0000-000000000000"] {
        let (s, b) = admin.send(Method::GET, path, None).await;
        assert_eq!(error_code(s, &b, StatusCode::NOT_FOUND), "memory_not_found");
        let (s, _) = admin.send(Method::DELETE, path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    // A memory stored over WebSocket shows in the admin list.
    let mut ws = server.client().await;
    ws.result(
        "memory.store",
        json!({ "persona_id": "Kira", "content": "Kira keeps a star chart" }),
    )
    .await;
    let kira = admin.get("/memories?persona=Kira").await;
    assert!(kira["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["content"] == "Kira keeps a star chart"));

    let deleted = admin.ok(Method::DELETE, &format!("/memories/{}", ids[0]), None).await;
    assert_eq!(deleted["deleted"], true);
    let bulk = admin
        .ok(
            Method::POST,
            "/memories/bulk_delete",
            Some(json!({ "ids": [ids[1], ids[2], "nope"] })),
        )
        .await;
    assert_eq!(bulk["deleted"], 2);
    assert_eq!(bulk["not_found"], json!(["nope"]));
    assert_eq!(
        admin.get("/memories?persona=Aria").await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (s, b) = admin
        .send(Method::POST, "/memories/bulk_delete", Some(json!({ "ids": "all" })))
        .await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn prune_decay_relationships_emotions_conversations_and_system() {
    let (_llm, server) = boot(Some("Hello from the fake model."));
    let admin = Admin::new(&server);
    let preview = admin.get("/personas/Aria/prune").await;
    assert!(preview.is_object(), "{preview}");
    let run = admin.ok(Method::POST, "/personas/Aria/prune", None).await;
    assert!(run.is_object(), "{run}");
    let (s, b) = admin
        .send(Method::POST, "/personas/Aria/prune", Some(json!({ "force": "maybe" })))
        .await;
    assert!(s.is_client_error(), "{s} {b}");

    admin
        .ok(Method::POST, "/decay/start", Some(json!({ "interval_minutes": 30 })))
        .await;
    assert_eq!(
        admin.get("/decay").await["decay_statistics"]["background_running"],
        true,
        "decay started"
    );
    admin.ok(Method::POST, "/decay/stop", None).await;
    assert_eq!(
        admin.get("/decay").await["decay_statistics"]["background_running"],
        false
    );
    admin
        .ok(Method::POST, "/decay/force", Some(json!({ "persona_id": "Aria" })))
        .await;
    let (s, b) = admin
        .send(Method::POST, "/decay/force", Some(json!({ "persona_id": "Nobody" })))
        .await;
    error_code(s, &b, StatusCode::NOT_FOUND);

    let rels = admin.get("/relationships").await;
    assert_eq!(
        rels["items"].as_array().unwrap().len(),
        1,
        "Aria and Kira, once: {rels}"
    );
    assert_eq!(
        admin.get("/relationships?persona=Kira").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let pair = admin.get("/relationships/Aria/Kira").await;
    assert_eq!(pair["exists"], true);
    let updated = admin
        .ok(
            Method::PUT,
            "/relationships/Aria/Kira",
            Some(json!({ "interaction_quality": 0.8 })),
        )
        .await;
    assert!(updated.is_object());
    let (s, b) = admin
        .send(
            Method::PUT,
            "/relationships/Aria/Nobody",
            Some(json!({ "interaction_quality": 0.5 })),
        )
        .await;
    error_code(s, &b, StatusCode::NOT_FOUND);
    let (s, b) = admin
        .send(
            Method::PUT,
            "/relationships/Aria/Kira",
            Some(json!({ "interaction_quality": "great" })),
        )
        .await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);

    let mood = admin.get("/personas/Aria/emotions").await;
    assert!(mood.is_object(), "{mood}");
    admin
        .ok(Method::PUT, "/personas/Aria/emotions", Some(json!({ "mood": 0.9 })))
        .await;
    let (s, b) = admin
        .send(Method::PUT, "/personas/Aria/emotions", Some(json!({ "mood": "sunny" })))
        .await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);

    // A chat over WebSocket shows up as a conversation with its transcript.
    let mut ws = server.client().await;
    ws.result("persona.switch", json!({ "persona_id": "Aria" })).await;
    ws.result("persona.chat", json!({ "message": "Hi there" })).await;
    let chats = admin.get("/conversations?kind=chat&persona=Aria").await;
    let cid = chats["items"][0]["id"]
        .as_str()
        .expect("a chat conversation")
        .to_string();
    let transcript = admin.get(&format!("/conversations/{cid}")).await;
    let contents: Vec<&str> = transcript["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(contents.contains(&"Hi there"), "{transcript}");
    assert!(admin.get("/conversations?kind=dialogue").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let (s, b) = admin.send(Method::GET, "/conversations?kind=letters", None).await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b) = admin
        .send(Method::GET, &format!("/conversations/{}", uuid_zero()), None)
        .await;
    assert_eq!(error_code(s, &b, StatusCode::NOT_FOUND), "conversation_not_found");

    assert!(admin.get("/system/status").await.is_object());
    let (s, _) = admin.send(Method::GET, "/system/models", None).await;
    assert!(s.is_success() || s == StatusCode::BAD_GATEWAY, "{s}");
    let config = admin.get("/system/config").await;
    assert_eq!(config["admin"]["port"], 0);
    let metrics = admin.get("/system/metrics").await;
    assert!(
        metrics["persona_mcp_stream_chunks_total"].as_f64().unwrap_or(0.0) > 0.0,
        "{metrics}"
    );
}

fn uuid_zero() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

#[tokio::test]
async fn secrets_are_redacted_in_the_config() {
    let llm = crate::support::fake_llm::FakeLlm::start(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::test_settings(&llm.url(), dir.path());
    settings.llm.api_key = Some("sk-very-secret-key".into());
    settings.server.token = Some("server-secret-token".into());
    settings.admin.token = Some("admin-secret-token-123".into());
    let server = TestServer::start_with(settings);
    let admin = Admin::new(&server);
    let r = admin
        .http
        .get(admin.base.clone() + "/system/config")
        .bearer_auth("admin-secret-token-123")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    for secret in ["sk-very-secret-key", "server-secret-token", "admin-secret-token-123"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("<redacted>"));
    assert!(
        !server.data_dir().join("admin.token").exists(),
        "a configured token writes no file"
    );
}

#[tokio::test]
async fn logs_tail_and_stream_live_with_filters() {
    install_log_buffer();
    let (llm, server) = boot(None);
    let admin = Admin::new(&server);
    let tail = admin.get("/logs?lines=5000&level=info&target=persona_mcp").await;
    let lines = tail["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().unwrap_or("").contains("listening")),
        "{tail}"
    );
    assert!(lines
        .iter()
        .all(|l| l["target"].as_str().unwrap().starts_with("persona_mcp")));
    let only_errors = admin.get("/logs?level=error&lines=5000").await;
    assert!(only_errors["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["level"] == "ERROR"));
    let (s, b) = admin.send(Method::GET, "/logs?level=loud", None).await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b) = admin.send(Method::GET, "/logs?lines=0", None).await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);

    let mut stream = admin
        .http
        .get(admin.base.clone() + "/logs/stream?level=info&target=persona_mcp::server")
        .bearer_auth(&admin.server_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let (s, _) = admin.send(Method::GET, "/logs/stream?level=loud", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Another server starting logs "listening" from persona_mcp::server: it arrives as an event.
    let other = TestServer::start(&llm.url());
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("listening") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("a live log line")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("stream open")));
    }
    let event = seen
        .lines()
        .find(|l| l.starts_with("data: ") && l.contains("listening"))
        .unwrap();
    let line: Value = serde_json::from_str(&event["data: ".len()..]).unwrap();
    assert_eq!(line["target"], "persona_mcp::server");
    assert!(!seen.contains("persona_mcp::rpc"), "the target filter holds: {seen}");
    drop(other);
}

/// A `multipart/form-data` body with one field `file`: (content type, body).
fn file_form(bytes: Vec<u8>, name: &str, mime: &str) -> (String, Vec<u8>) {
    let boundary = "persona-mcp-test-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends a multipart form.
trait WithForm {
    fn form_file(self, form: (String, Vec<u8>)) -> Self;
}

impl WithForm for reqwest::RequestBuilder {
    fn form_file(self, (content_type, body): (String, Vec<u8>)) -> Self {
        self.header("Content-Type", content_type).body(body)
    }
}

/// A tiny PNG (1×1).
pub(crate) fn png_bytes() -> Vec<u8> {
    persona_mcp::domain::card::BLANK_PNG.to_vec()
}

/// Uploads `bytes` (a PNG) as `persona`'s avatar; answers the JSON answer.
pub(crate) async fn put_avatar(server: &TestServer, persona: &str, bytes: Vec<u8>) -> Value {
    let admin = Admin::new(server);
    let r = admin
        .http
        .put(format!("{}/personas/{persona}/avatar", admin.base))
        .bearer_auth(&admin.server_token)
        .form_file(file_form(bytes, "me.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// `persona`'s avatar image as served.
pub(crate) async fn get_avatar(server: &TestServer, persona: &str) -> Vec<u8> {
    let admin = Admin::new(server);
    let r = admin
        .http
        .get(format!("{}/personas/{persona}/avatar", admin.base))
        .bearer_auth(&admin.server_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{persona} has an avatar");
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn avatars_upload_checked_by_magic_bytes_and_served_with_an_etag() {
    let (_llm, server) = boot(None);
    let admin = Admin::new(&server);
    let put = |form| {
        admin
            .http
            .put(admin.base.clone() + "/personas/Aria/avatar")
            .bearer_auth(&admin.server_token)
            .form_file(form)
            .send()
    };
    let r = put(file_form(png_bytes(), "me.png", "image/png")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let up: Value = r.json().await.unwrap();
    assert_eq!(up["content_type"], "image/png");
    let url = up["avatar_url"].as_str().unwrap().to_string();
    let mut ws = server.client().await;
    let got = ws.result("persona.get", json!({ "persona_id": "Aria" })).await;
    assert_eq!(got["persona"]["avatar_url"], url.as_str(), "avatar_url in persona.get");
    let hash = url.rsplit("?v=").next().unwrap();
    assert!(
        server.data_dir().join("avatars").join(hash).exists(),
        "stored by content hash"
    );

    let r = admin
        .http
        .get(admin.base.clone() + "/personas/aria/avatar")
        .bearer_auth(&admin.server_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(r.headers().contains_key("cache-control"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), png_bytes());
    let r = admin
        .http
        .get(admin.base.clone() + "/personas/aria/avatar")
        .bearer_auth(&admin.server_token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    let mut big = png_bytes();
    big.resize(3 * 1024 * 1024, 0);
    let r = put(file_form(big, "big.png", "image/png")).await.unwrap();
    let s = r.status();
    assert_eq!(
        error_code(s, &r.json().await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE),
        "payload_too_large"
    );
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    let r = put(file_form(elf, "cat.png", "image/png")).await.unwrap();
    let s = r.status();
    assert_eq!(
        error_code(s, &r.json().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        "unsupported_media_type"
    );
    let r = admin
        .http
        .put(admin.base.clone() + "/personas/Aria/avatar")
        .bearer_auth(&admin.server_token)
        .body(png_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "not multipart");
    let r = admin
        .http
        .put(admin.base.clone() + "/personas/Nobody/avatar")
        .bearer_auth(&admin.server_token)
        .form_file(file_form(png_bytes(), "a.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, b) = admin.send(Method::GET, "/personas/Kira/avatar", None).await;
    error_code(s, &b, StatusCode::NOT_FOUND);
    let r = admin
        .http
        .put(admin.base.clone() + "/personas/Aria/avatar")
        .form_file(file_form(png_bytes(), "a.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

fn v2_card() -> Value {
    json!({ "spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Seraphina", "description": "A guardian of the forest glade", "personality": "gentle, protective",
        "scenario": "A traveller wakes in her glade", "first_mes": "Welcome, traveller.", "mes_example": "<START>\n{{char}}: Rest.",
        "system_prompt": "Stay in character as Seraphina.", "post_history_instructions": "Keep replies short.",
        "alternate_greetings": ["Back again?"], "tags": ["fantasy", "guardian"], "creator": "ana",
        "character_version": "1.2", "creator_notes": "Made for tests",
        "extensions": { "talkativeness": "0.6", "custom_tool": { "depth": 4 } },
        "character_book": { "entries": [
            { "keys": ["glade"], "content": "The glade is hidden by old magic." },
            { "keys": ["amulet", "stone"], "content": "Her amulet glows near danger." }
        ] }
    }})
}

/// The fields a round trip must keep.
fn card_fields(card: &Value) -> Value {
    let d = &card["data"];
    let mut book: Vec<Value> = d["character_book"]["entries"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| json!({ "keys": e["keys"], "content": e["content"] }))
                .collect()
        })
        .unwrap_or_default();
    book.sort_by_key(|e| e["content"].to_string());
    json!({
        "name": d["name"], "description": d["description"], "personality": d["personality"], "scenario": d["scenario"],
        "first_mes": d["first_mes"], "mes_example": d["mes_example"], "system_prompt": d["system_prompt"],
        "post_history_instructions": d["post_history_instructions"], "alternate_greetings": d["alternate_greetings"],
        "tags": d["tags"], "creator": d["creator"], "character_version": d["character_version"],
        "creator_notes": d["creator_notes"], "extensions": d["extensions"], "book": book,
    })
}

#[tokio::test]
async fn a_v2_png_card_round_trips_through_v3_json() {
    let (llm, server) = boot(Some("Welcome."));
    let admin = Admin::new(&server);
    let card = v2_card();
    let png = persona_mcp::domain::card::png_with_cards(&png_bytes(), &card, &card).unwrap();
    let import = |form| {
        admin
            .http
            .post(admin.base.clone() + "/personas/import")
            .bearer_auth(&admin.server_token)
            .form_file(form)
            .send()
    };
    let r = import(file_form(png, "seraphina.png", "image/png")).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let persona: Value = r.json().await.unwrap();
    assert_eq!(persona["name"], "Seraphina");
    assert_eq!(persona["lore_memories"], 2);
    assert_eq!(persona["card"]["greeting"], "Welcome, traveller.");
    let lore = admin.get("/memories?persona=Seraphina&type=lore").await;
    assert_eq!(
        lore["items"].as_array().unwrap().len(),
        2,
        "character_book entries became lore memories"
    );

    // The imported card shapes the chat prompt.
    let mut ws = server.client().await;
    ws.result(
        "persona.chat",
        json!({ "persona_id": "Seraphina", "message": "Where am I?" }),
    )
    .await;
    let prompt = llm.requests().last().unwrap().to_string();
    assert!(
        prompt.contains("A traveller wakes in her glade") && prompt.contains("gentle, protective"),
        "{prompt}"
    );

    let v3 = admin.get("/personas/Seraphina/card?format=json&spec=v3").await;
    assert_eq!(v3["spec"], "chara_card_v3");
    assert_eq!(card_fields(&v3), card_fields(&card), "export keeps every field");
    admin.ok(Method::DELETE, "/personas/Seraphina", None).await;
    let (s, again) = admin.send(Method::POST, "/personas/import", Some(v3.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    let v2 = admin.get("/personas/Seraphina/card?spec=v2").await;
    assert_eq!(v2["spec"], "chara_card_v2");
    assert_eq!(
        card_fields(&v2),
        card_fields(&card),
        "V3 JSON imported again: the same fields"
    );

    let r = admin
        .http
        .get(admin.base.clone() + "/personas/Seraphina/card?format=png")
        .bearer_auth(&admin.server_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    let exported = r.bytes().await.unwrap();
    let inside = persona_mcp::domain::card::json_from_png(&exported).unwrap();
    assert_eq!(inside["spec"], "chara_card_v3");
    assert_eq!(card_fields(&inside), card_fields(&card));

    // Over JSON-RPC too.
    let out = ws
        .result(
            "persona.export_card",
            json!({ "persona_id": "Seraphina", "spec": "v2" }),
        )
        .await;
    assert_eq!(card_fields(&out["card"]), card_fields(&card));
    let mut copy = card.clone();
    copy["data"]["name"] = json!("Seraphina Two");
    let made = ws.result("persona.import_card", json!({ "card": copy })).await;
    assert_eq!(made["lore_memories"], 2);
    let err = ws
        .error("persona.import_card", json!({ "card": { "spec": "nope" } }))
        .await;
    assert_eq!(err["code"], -32602);

    // Errors.
    let r = import(file_form(png_bytes(), "plain.png", "image/png")).await.unwrap();
    let s = r.status();
    assert_eq!(
        error_code(s, &r.json().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY),
        "unprocessable"
    );
    let r = import(file_form(b"\x7fELF\x02\x01".to_vec(), "card.png", "image/png"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, b) = admin
        .send(
            Method::POST,
            "/personas/import",
            Some(json!({ "spec": "chara_card_v2", "data": {} })),
        )
        .await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b) = admin.send(Method::POST, "/personas/import", Some(card.clone())).await;
    error_code(s, &b, StatusCode::CONFLICT);
    let (s, b) = admin.send(Method::GET, "/personas/Nobody/card", None).await;
    error_code(s, &b, StatusCode::NOT_FOUND);
    let (s, b) = admin.send(Method::GET, "/personas/Seraphina/card?spec=v9", None).await;
    error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn every_management_method_has_an_admin_route() {
    use persona_mcp::web::admin::parity::{CHAT_ONLY, ROUTES};
    let (_llm, server) = boot(None);
    let admin = Admin::new(&server);
    let router = persona_mcp::rpc::router();
    for method in router.methods() {
        assert!(
            ROUTES.iter().any(|(m, _)| *m == method.name) || CHAT_ONLY.contains(&method.name),
            "{} has no admin route (add one to web::admin::parity::ROUTES) and is not listed as chat-only",
            method.name
        );
    }
    for (name, route) in ROUTES {
        assert!(router.get(name).is_some(), "{name} is listed but not a method");
        let (verb, path) = route.split_once(' ').unwrap();
        let path = path
            .replace("{id}", "Nobody")
            .replace("{a}", "Nobody")
            .replace("{b}", "Nobody")
            .replace("{mid}", uuid_zero())
            .replace("{cid}", uuid_zero())
            .replace("{bid}", uuid_zero());
        let method = Method::from_bytes(verb.as_bytes()).unwrap();
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let (s, b) = admin.send(method, &path, body).await;
        assert_ne!(
            b["error"]["code"], "not_found",
            "{route} ({name}) is not served: {s} {b}"
        );
    }
}

#[tokio::test]
async fn a_bots_log_is_followed_live() {
    let (_llm, server) = boot(None);
    let admin = Admin::new(&server);
    // A homeserver that refuses connections: the supervisor logs each start and backoff without Synapse.
    let (s, created) = admin
        .send(
            Method::POST,
            "/bots",
            Some(
                json!({"persona_id": "Aria", "homeserver": "http://127.0.0.1:9", "user_id": "@aria:localhost",
                        "password": "secret-pw", "enabled": false}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let bot = created["bot_id"].as_str().unwrap().to_string();
    let (s, b) = admin.send(Method::GET, "/bots/not-a-uuid/logs/stream", None).await;
    error_code(s, &b, StatusCode::NOT_FOUND);
    let (s, b) = admin
        .send(Method::GET, &format!("/bots/{}/logs/stream", uuid_zero()), None)
        .await;
    error_code(s, &b, StatusCode::NOT_FOUND);

    let mut stream = admin
        .http
        .get(format!("{}/bots/{bot}/logs/stream", admin.base))
        .bearer_auth(&admin.server_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let (s, started) = admin.send(Method::POST, &format!("/bots/{bot}/start"), None).await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !seen.lines().any(|l| l.starts_with("data: ")) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("a live bot log line")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("stream open")));
    }
    let event = seen.lines().find(|l| l.starts_with("data: ")).unwrap();
    let line: String = serde_json::from_str(&event["data: ".len()..]).unwrap();
    assert!(line.contains("supervisor"), "{line}");
    assert!(!seen.contains("secret-pw"), "no secret in the tail: {seen}");
    let tail = admin.get(&format!("/bots/{bot}/logs?lines=1000")).await;
    assert!(
        tail.to_string().contains(&line),
        "the live line is in the tail too: {tail}"
    );
    admin.send(Method::POST, &format!("/bots/{bot}/stop"), None).await;
}

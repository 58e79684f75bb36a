//! The admin API's OpenAPI document against the live server: every route of the admin scope is in it, every
//! route it lists is called here, and what each route really answers (status, content type, JSON body)
//! validates against the schema the document gives for that answer. Also: state files downloaded and
//! uploaded (verified before they are listed), and a memory's content edited (embedded anew).

use std::collections::BTreeSet;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::boot;
use crate::support::{install_log_buffer, TestServer};

/// The routes of SURFACES.md's "Admin scope" table: each must be in the document.
const SPEC_ROUTES: &[&str] = &[
    "GET /personas",
    "POST /personas",
    "GET /personas/{id}",
    "PATCH /personas/{id}",
    "DELETE /personas/{id}",
    "PUT /personas/{id}/avatar",
    "GET /personas/{id}/avatar",
    "POST /personas/import",
    "GET /personas/{id}/card",
    "GET /memories",
    "POST /memories",
    "GET /memories/{mid}",
    "PATCH /memories/{mid}",
    "DELETE /memories/{mid}",
    "POST /memories/bulk_delete",
    "GET /personas/{id}/prune",
    "POST /personas/{id}/prune",
    "GET /decay",
    "POST /decay/start",
    "POST /decay/stop",
    "POST /decay/force",
    "GET /relationships",
    "GET /relationships/{a}/{b}",
    "PUT /relationships/{a}/{b}",
    "GET /personas/{id}/emotions",
    "PUT /personas/{id}/emotions",
    "GET /conversations",
    "GET /conversations/{cid}",
    "GET /logs",
    "GET /logs/stream",
    "GET /system/status",
    "GET /system/models",
    "GET /system/config",
    "GET /system/metrics",
    "GET /bots",
    "POST /bots",
    "GET /bots/{bid}",
    "PATCH /bots/{bid}",
    "DELETE /bots/{bid}",
    "POST /bots/{bid}/start",
    "POST /bots/{bid}/stop",
    "POST /bots/{bid}/restart",
    "GET /bots/{bid}/logs",
    "GET /bots/{bid}/logs/stream",
    "GET /state/saves",
    "POST /state/save",
    "POST /state/verify",
    "POST /state/load",
    "GET /state/saves/{name}",
    "POST /state/saves",
    "DELETE /state/saves/{name}",
    "GET /openapi.json",
];

const API: &str = "/admin/api/v1";

/// What a request sends.
enum Body {
    None,
    Json(Value),
    /// A multipart form with one field `file`: (file name, bytes).
    File(&'static str, Vec<u8>),
}

/// An answer.
struct Answer {
    status: StatusCode,
    content_type: String,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

/// Calls routes and checks each answer against the document, remembering which operations it called.
struct Checker {
    http: Client,
    base: String,
    token: String,
    doc: Value,
    called: BTreeSet<String>,
}

impl Checker {
    async fn new(server: &TestServer) -> Self {
        let http = Client::new();
        let token = server.admin_token();
        let r = http
            .get(server.admin_url("/openapi.json"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("document");
        assert_eq!(r.status(), StatusCode::OK);
        let doc: Value = r.json().await.expect("JSON");
        Self {
            http,
            base: server.admin_url(""),
            token,
            doc,
            called: BTreeSet::new(),
        }
    }

    /// The documented operations, as `METHOD /template` (without the API prefix).
    fn operations(&self) -> BTreeSet<String> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    let route = path.strip_prefix(API).expect("under the API");
                    ops.insert(format!("{} {route}", method.to_uppercase()));
                }
            }
        }
        ops
    }

    /// Sends `method` to `path` (a concrete path of the route `template`), checks that the document lists the
    /// answer's status (or a default) with its content type, and that a JSON body validates against the
    /// documented schema (made strict: no property the schema does not name). Answers the answer.
    async fn call(&mut self, method: Method, template: &str, path: &str, body: Body) -> Answer {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::File(name, bytes) => {
                let boundary = "persona-mcp-openapi-test-boundary";
                let mut form = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .into_bytes();
                form.extend_from_slice(&bytes);
                form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
                req.header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
                    .body(form)
            }
        };
        let resp = req.send().await.expect("answer");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let bytes = if content_type == "text/event-stream" {
            Vec::new()
        } else {
            resp.bytes().await.expect("body").to_vec()
        };
        let answer = Answer {
            status,
            content_type,
            bytes,
        };
        self.check(&method, template, &answer);
        answer
    }

    /// Like [`Checker::call`], and the status must be `expected`.
    async fn expect(&mut self, method: Method, template: &str, path: &str, body: Body, expected: u16) -> Value {
        let a = self.call(method.clone(), template, path, body).await;
        assert_eq!(
            a.status.as_u16(),
            expected,
            "{method} {path}: {}",
            String::from_utf8_lossy(&a.bytes)
        );
        a.json()
    }

    fn check(&mut self, method: &Method, template: &str, answer: &Answer) {
        let op_name = format!("{method} {template}");
        let op = &self.doc["paths"][format!("{API}{template}")][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{op_name} is not in the document");
        self.called.insert(op_name.clone());
        let responses = &op["responses"];
        let status = answer.status.as_u16().to_string();
        let documented = match responses.get(&status) {
            Some(r) => r,
            None => {
                assert!(
                    answer.status.is_client_error() || answer.status.is_server_error(),
                    "{op_name} answered {status}, which the document does not list"
                );
                &responses["default"]
            }
        };
        if answer.status == StatusCode::NOT_MODIFIED {
            return;
        }
        let content = documented["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{op_name} {status}: no content"));
        let media = content.get(&answer.content_type).unwrap_or_else(|| {
            panic!(
                "{op_name} {status} answered {}, documented: {:?}",
                answer.content_type,
                content.keys()
            )
        });
        if answer.content_type == "application/json" {
            let body: Value =
                serde_json::from_slice(&answer.bytes).unwrap_or_else(|e| panic!("{op_name} {status}: not JSON ({e})"));
            self.validate(&op_name, &media["schema"], &body);
        }
    }

    fn validate(&self, op_name: &str, schema: &Value, instance: &Value) {
        let mut components = self.doc["components"].clone();
        strict(&mut components);
        let mut root = Map::new();
        root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        root.insert("components".into(), components);
        root.insert("allOf".into(), json!([schema]));
        let validator = jsonschema::validator_for(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{op_name}: the documented schema does not compile: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{op_name}: the answer does not match the document:\n{}\n{instance}",
            errors.join("\n")
        );
    }
}

/// Makes every component that names its properties refuse properties it does not name (those its own
/// `allOf`/`oneOf`/`anyOf` branches name count as named): the answers must hold what the document says, and
/// nothing it does not.
fn strict(components: &mut Value) {
    if let Some(schemas) = components["schemas"].as_object_mut() {
        for schema in schemas.values_mut() {
            close(schema);
        }
    }
}

fn close(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else { return };
    for key in ["properties", "$defs"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            children.values_mut().for_each(close_nested);
        }
    }
    if let Some(items) = map.get_mut("items") {
        close(items);
    }
    let named = map.contains_key("properties");
    let open = map.contains_key("additionalProperties") || map.contains_key("unevaluatedProperties");
    if named && !open {
        map.insert("unevaluatedProperties".into(), json!(false));
    }
}

/// Nested property schemas: closed too, unless they are branches of a combinator (closed at the top).
fn close_nested(schema: &mut Value) {
    if schema.get("properties").is_some() {
        close(schema);
    } else if let Some(items) = schema.get_mut("items") {
        close_nested(items);
    }
}

/// A tiny PNG (1×1).
fn png() -> Vec<u8> {
    persona_mcp::domain::card::BLANK_PNG.to_vec()
}

#[tokio::test]
async fn every_route_is_documented_and_answers_what_the_document_says() {
    install_log_buffer();
    let (_llm, server) = boot(None);
    let mut c = Checker::new(&server).await;
    use Method as M;

    // Everything in the spec's table is documented, and so is every route the JSON-RPC parity list names.
    let ops = c.operations();
    for route in SPEC_ROUTES {
        assert!(ops.contains(*route), "{route} (SURFACES.md) is not in the document");
    }
    for (method, route) in persona_mcp::web::admin::parity::ROUTES {
        assert!(ops.contains(*route), "{route} (for {method}) is not in the document");
    }

    c.expect(M::GET, "/openapi.json", "/openapi.json", Body::None, 200)
        .await;

    // Personas, avatars, cards.
    c.expect(M::GET, "/personas", "/personas?limit=2", Body::None, 200)
        .await;
    let body = Body::Json(json!({"name": "Zed", "description": "A tester", "charisma": 12}));
    c.expect(M::POST, "/personas", "/personas", body, 201).await;
    c.expect(M::GET, "/personas/{id}", "/personas/Zed", Body::None, 200)
        .await;
    c.expect(M::GET, "/personas/{id}", "/personas/Nobody", Body::None, 404)
        .await;
    let body = Body::Json(json!({"description": "A careful tester"}));
    c.expect(M::PATCH, "/personas/{id}", "/personas/Zed", body, 200).await;
    let body = Body::Json(json!({"charisma": "high"}));
    c.expect(M::PATCH, "/personas/{id}", "/personas/Zed", body, 422).await;
    c.expect(M::GET, "/personas/{id}/status", "/personas/Zed/status", Body::None, 200)
        .await;
    c.expect(M::GET, "/personas/{id}/prune", "/personas/Aria/prune", Body::None, 200)
        .await;
    c.expect(M::POST, "/personas/{id}/prune", "/personas/Aria/prune", Body::None, 200)
        .await;
    c.expect(
        M::GET,
        "/personas/{id}/emotions",
        "/personas/Aria/emotions",
        Body::None,
        200,
    )
    .await;
    let body = Body::Json(json!({"mood": 0.3}));
    c.expect(M::PUT, "/personas/{id}/emotions", "/personas/Aria/emotions", body, 200)
        .await;
    let body = Body::File("a.png", png());
    c.expect(M::PUT, "/personas/{id}/avatar", "/personas/Aria/avatar", body, 200)
        .await;
    let a = c
        .call(M::GET, "/personas/{id}/avatar", "/personas/Aria/avatar", Body::None)
        .await;
    assert_eq!((a.status, a.content_type.as_str()), (StatusCode::OK, "image/png"));
    let card = json!({"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Mira", "description": "A cartographer",
        "character_book": {"entries": [{"keys": ["map"], "content": "Mira's maps are never wrong."}]}}});
    c.expect(M::POST, "/personas/import", "/personas/import", Body::Json(card), 201)
        .await;
    c.expect(
        M::POST,
        "/personas/import",
        "/personas/import",
        Body::File("x.png", png()),
        422,
    )
    .await;
    c.expect(M::GET, "/personas/{id}/card", "/personas/Mira/card", Body::None, 200)
        .await;
    let a = c
        .call(
            M::GET,
            "/personas/{id}/card",
            "/personas/Mira/card?format=png&spec=v2",
            Body::None,
        )
        .await;
    assert_eq!((a.status, a.content_type.as_str()), (StatusCode::OK, "image/png"));

    // Memories.
    let body =
        Body::Json(json!({"persona_id": "Zed", "content": "Zed keeps a jar of blue marbles", "importance": 0.6}));
    let m1 = c.expect(M::POST, "/memories", "/memories", body, 201).await;
    let body = Body::Json(json!({"persona_id": "Zed", "content": "Zed fears thunderstorms", "visibility": "public"}));
    let m2 = c.expect(M::POST, "/memories", "/memories", body, 201).await;
    let (m1, m2) = (
        m1["id"].as_str().unwrap().to_string(),
        m2["id"].as_str().unwrap().to_string(),
    );
    c.expect(M::GET, "/memories", "/memories?persona=Zed&limit=1", Body::None, 200)
        .await;
    c.expect(M::GET, "/memories", "/memories?persona=Zed&q=marbles", Body::None, 200)
        .await;
    c.expect(M::GET, "/memories", "/memories?visibility=sometimes", Body::None, 422)
        .await;
    c.expect(M::GET, "/memories/{mid}", &format!("/memories/{m1}"), Body::None, 200)
        .await;
    let body = Body::Json(json!({"importance": 0.9, "visibility": "shared"}));
    c.expect(M::PATCH, "/memories/{mid}", &format!("/memories/{m1}"), body, 200)
        .await;
    c.expect(
        M::GET,
        "/memories/stats",
        "/memories/stats?persona=Zed",
        Body::None,
        200,
    )
    .await;
    c.expect(
        M::GET,
        "/memories/shared",
        "/memories/shared?persona=Aria&q=storms",
        Body::None,
        200,
    )
    .await;
    c.expect(
        M::GET,
        "/memories/shared/stats",
        "/memories/shared/stats",
        Body::None,
        200,
    )
    .await;
    let body = Body::Json(json!({"persona_id": "Zed", "memories": [{"content": "Zed mapped the caves"}]}));
    c.expect(M::POST, "/memories/import", "/memories/import", body, 201)
        .await;
    let body = Body::Json(json!({"persona_id": "Zed", "memories": [{"content": ""}]}));
    c.expect(M::POST, "/memories/import", "/memories/import", body, 422)
        .await;
    let body = Body::Json(json!({"ids": [m2, "00000000-0000-0000-0000-000000000000"]}));
    c.expect(M::POST, "/memories/bulk_delete", "/memories/bulk_delete", body, 200)
        .await;
    c.expect(
        M::DELETE,
        "/memories/{mid}",
        &format!("/memories/{m1}"),
        Body::None,
        200,
    )
    .await;
    c.expect(
        M::DELETE,
        "/memories/{mid}",
        &format!("/memories/{m1}"),
        Body::None,
        404,
    )
    .await;

    // Pruning and decay.
    c.expect(M::GET, "/decay", "/decay", Body::None, 200).await;
    c.expect(M::POST, "/decay/start", "/decay/start", Body::Json(json!({})), 200)
        .await;
    c.expect(M::POST, "/decay/stop", "/decay/stop", Body::None, 200).await;
    c.expect(M::POST, "/decay/force", "/decay/force", Body::None, 200).await;
    c.expect(M::POST, "/prune", "/prune", Body::None, 200).await;
    c.expect(M::GET, "/prune/stats", "/prune/stats", Body::None, 200).await;

    // Relationships.
    let body = Body::Json(json!({"interaction_quality": 0.5}));
    c.expect(M::PUT, "/relationships/{a}/{b}", "/relationships/Aria/Kira", body, 200)
        .await;
    c.expect(
        M::GET,
        "/relationships/{a}/{b}",
        "/relationships/Aria/Kira",
        Body::None,
        200,
    )
    .await;
    c.expect(M::GET, "/relationships", "/relationships", Body::None, 200)
        .await;
    c.expect(M::GET, "/relationships", "/relationships?persona=Aria", Body::None, 200)
        .await;
    let path = "/relationships/Aria/Kira/compatibility";
    c.expect(M::GET, "/relationships/{a}/{b}/compatibility", path, Body::None, 200)
        .await;
    c.expect(M::GET, "/relationships/stats", "/relationships/stats", Body::None, 200)
        .await;

    // Conversations: a chat and a persona-to-persona conversation, made over WebSocket.
    let mut ws = server.client().await;
    ws.result("persona.switch", json!({"persona_id": "Aria"})).await;
    ws.result("persona.chat", json!({"message": "Hello there"})).await;
    let started = ws
        .result(
            "conversation.start",
            json!({"persona1_id": "Aria", "persona2_id": "Kira", "topic": "maps", "token_budget": 50}),
        )
        .await;
    ws.result(
        "conversation.turn",
        json!({"conversation_id": started["conversation_id"]}),
    )
    .await;
    let page = c
        .expect(M::GET, "/conversations", "/conversations", Body::None, 200)
        .await;
    let items = page["items"].as_array().unwrap();
    for kind in ["chat", "dialogue"] {
        let row = items
            .iter()
            .find(|r| r["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind}: {page}"));
        let id = row["id"].as_str().unwrap();
        let t = c
            .expect(
                M::GET,
                "/conversations/{cid}",
                &format!("/conversations/{id}"),
                Body::None,
                200,
            )
            .await;
        assert!(!t["messages"].as_array().unwrap().is_empty(), "{kind} transcript: {t}");
    }
    c.expect(M::GET, "/conversations", "/conversations?kind=never", Body::None, 422)
        .await;
    let figures = c
        .expect(M::GET, "/analytics", "/analytics?persona=Aria", Body::None, 200)
        .await;
    assert_eq!(figures["personas"][0]["name"], "Aria", "{figures}");
    c.expect(M::GET, "/analytics", "/analytics?since=yesterday", Body::None, 422)
        .await;

    // Logs and system.
    c.expect(M::GET, "/logs", "/logs?lines=20", Body::None, 200).await;
    let a = c
        .call(M::GET, "/logs/stream", "/logs/stream?level=info", Body::None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    for route in [
        "/system/status",
        "/system/models",
        "/system/config",
        "/system/config/keys",
        "/system/metrics",
    ] {
        c.expect(M::GET, route, route, Body::None, 200).await;
    }
    let body = Body::Json(json!({"key": "memory.prompt_memories", "value": 6}));
    c.expect(M::PUT, "/system/config", "/system/config", body, 200).await;
    let body = Body::Json(json!({"key": "server.port", "value": 6}));
    c.expect(M::PUT, "/system/config", "/system/config", body, 422).await;

    // Bots (a homeserver that refuses connections: no Synapse needed for the shapes).
    let body = Body::Json(json!({"persona_id": "Aria", "homeserver": "http://127.0.0.1:9",
        "user_id": "@aria:localhost", "password": "pw", "enabled": false}));
    let bot = c.expect(M::POST, "/bots", "/bots", body, 201).await;
    let bid = bot["bot_id"].as_str().unwrap().to_string();
    let at = |suffix: &str| format!("/bots/{bid}{suffix}");
    c.expect(M::GET, "/bots", "/bots", Body::None, 200).await;
    c.expect(M::GET, "/bots/{bid}", &at(""), Body::None, 200).await;
    let body = Body::Json(json!({"reply_mode": "all"}));
    c.expect(M::PATCH, "/bots/{bid}", &at(""), body, 200).await;
    c.expect(M::POST, "/bots/{bid}/start", &at("/start"), Body::None, 200)
        .await;
    c.expect(M::GET, "/bots/{bid}/logs", &at("/logs?lines=10"), Body::None, 200)
        .await;
    let a = c
        .call(M::GET, "/bots/{bid}/logs/stream", &at("/logs/stream"), Body::None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    c.expect(M::POST, "/bots/{bid}/restart", &at("/restart"), Body::None, 200)
        .await;
    c.expect(M::POST, "/bots/{bid}/stop", &at("/stop"), Body::None, 200)
        .await;
    c.expect(M::DELETE, "/bots/{bid}", &at(""), Body::None, 200).await;
    c.expect(M::GET, "/bots/{bid}", &at(""), Body::None, 404).await;

    // State files.
    let saved = c.expect(M::POST, "/state/save", "/state/save", Body::None, 201).await;
    let name = saved["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    c.expect(M::GET, "/state/saves", "/state/saves", Body::None, 200).await;
    c.expect(
        M::POST,
        "/state/verify",
        "/state/verify",
        Body::Json(json!({"name": name})),
        200,
    )
    .await;
    let file = c
        .call(
            M::GET,
            "/state/saves/{name}",
            &format!("/state/saves/{name}"),
            Body::None,
        )
        .await;
    assert_eq!(file.status, StatusCode::OK);
    let body = Body::File("copy.pmstate", file.bytes);
    c.expect(M::POST, "/state/saves", "/state/saves", body, 201).await;
    let body = Body::Json(json!({"name": "copy.pmstate"}));
    c.expect(M::POST, "/state/load", "/state/load", body, 200).await;
    let path = "/state/saves/copy.pmstate";
    c.expect(M::DELETE, "/state/saves/{name}", path, Body::None, 200).await;

    c.expect(M::DELETE, "/personas/{id}", "/personas/Zed", Body::None, 200)
        .await;

    let missed: Vec<&String> = ops.difference(&c.called).collect();
    assert!(
        missed.is_empty(),
        "documented but not called here (add them): {missed:?}"
    );
}

#[tokio::test]
async fn state_files_download_and_upload_only_when_they_verify() {
    let (_llm, server) = boot(None);
    let mut c = Checker::new(&server).await;
    use Method as M;
    let saved = c.expect(M::POST, "/state/save", "/state/save", Body::None, 201).await;
    let name = saved["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let on_disk = std::fs::read(server.data_dir().join("state").join(&name)).unwrap();
    let file = c
        .call(
            M::GET,
            "/state/saves/{name}",
            &format!("/state/saves/{name}"),
            Body::None,
        )
        .await;
    assert_eq!(file.bytes, on_disk, "the download is the file");
    c.expect(
        M::GET,
        "/state/saves/{name}",
        "/state/saves/none.pmstate",
        Body::None,
        404,
    )
    .await;
    c.expect(
        M::GET,
        "/state/saves/{name}",
        "/state/saves/..%2Fadmin.token",
        Body::None,
        404,
    )
    .await;

    let listed = |v: &Value| -> Vec<String> {
        v["saves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    // A truncated file and a file with one byte changed are refused and never listed.
    let mut flipped = on_disk.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    for (label, bytes) in [
        ("cut.pmstate", on_disk[..on_disk.len() / 2].to_vec()),
        ("flip.pmstate", flipped),
    ] {
        let body = Body::File(label, bytes);
        c.expect(M::POST, "/state/saves", "/state/saves", body, 422).await;
        let saves = c.expect(M::GET, "/state/saves", "/state/saves", Body::None, 200).await;
        assert!(!listed(&saves).contains(&label.to_string()), "{label} listed: {saves}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(server.data_dir().join("state"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no upload left behind: {leftovers:?}");

    // A sound one is listed, verifies, and a second upload under its name is a conflict.
    let body = Body::File("again.pmstate", on_disk.clone());
    let info = c.expect(M::POST, "/state/saves", "/state/saves", body, 201).await;
    assert_eq!(info["name"], "again.pmstate");
    let saves = c.expect(M::GET, "/state/saves", "/state/saves", Body::None, 200).await;
    assert!(listed(&saves).contains(&"again.pmstate".to_string()));
    let v = c
        .expect(
            M::POST,
            "/state/verify",
            "/state/verify",
            Body::Json(json!({"name": "again.pmstate"})),
            200,
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");
    c.expect(
        M::POST,
        "/state/saves",
        "/state/saves",
        Body::File("again.pmstate", on_disk),
        409,
    )
    .await;
}

#[tokio::test]
async fn editing_a_memorys_content_embeds_it_anew() {
    let (_llm, server) = boot(None);
    let mut c = Checker::new(&server).await;
    use Method as M;
    c.expect(
        M::POST,
        "/personas",
        "/personas",
        Body::Json(json!({"name": "Quill"})),
        201,
    )
    .await;
    let body =
        Body::Json(json!({"persona_id": "Quill", "content": "The lighthouse keeper painted his rowing boat red"}));
    let m = c.expect(M::POST, "/memories", "/memories", body, 201).await;
    let mid = m["id"].as_str().unwrap().to_string();
    // A query that shares no word with either text: only the vectors can tell them apart.
    let similarity = |page: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == mid.as_str())
            .and_then(|r| r["similarity"].as_f64())
            .unwrap_or(0.0)
    };
    let query = "/memories?persona=Quill&q=particle%20physics%20experiments";
    let before = similarity(&c.expect(M::GET, "/memories", query, Body::None, 200).await);
    let body = Body::Json(json!({"content": "Quarks and gluons collide inside the accelerator at CERN"}));
    let edited = c
        .expect(M::PATCH, "/memories/{mid}", &format!("/memories/{mid}"), body, 200)
        .await;
    assert_eq!(
        edited["content"],
        "Quarks and gluons collide inside the accelerator at CERN"
    );
    let after = similarity(&c.expect(M::GET, "/memories", query, Body::None, 200).await);
    assert!(
        after > before + 0.1,
        "the new text's vector is searched: before {before}, after {after}"
    );
    let body = Body::Json(json!({"content": "   "}));
    c.expect(M::PATCH, "/memories/{mid}", &format!("/memories/{mid}"), body, 422)
        .await;
    let body = Body::Json(json!({"content": "x".repeat(33 * 1024)}));
    c.expect(M::PATCH, "/memories/{mid}", &format!("/memories/{mid}"), body, 422)
        .await;
    let got = c
        .expect(M::GET, "/memories/{mid}", &format!("/memories/{mid}"), Body::None, 200)
        .await;
    assert_eq!(got["content"], edited["content"], "a refused edit changes nothing");
}

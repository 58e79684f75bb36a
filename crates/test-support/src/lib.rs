//! Test support for persona-mcp's integration tests and benches: boot the real server on an ephemeral port with a
//! temporary data dir and talk to it over a real WebSocket ([`TestServer`], [`Client`]), a fake LLM server
//! ([`fake_llm`]), child processes of the real binary ([`process`]), a real Synapse homeserver ([`synapse`]) and
//! headless chromium under WebDriver ([`browser`]).

pub mod browser;
pub mod e2ee;
pub mod fake_llm;
pub mod process;
pub mod synapse;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use persona_mcp::config::Settings;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The persona-mcp checkout (where `data/models/` and `target/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `persona-mcp` binary cargo built beside the running test or bench (`target/<profile>/persona-mcp`; the
/// test itself runs from `target/<profile>/deps/`).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    profile_dir.join(format!("persona-mcp{}", std::env::consts::EXE_SUFFIX))
}

/// Sends this test binary's log events (persona-mcp's down to debug, others' from info) into the admin log buffer,
/// once per binary (the binary's `main` does this for a real process). Every test that reads the admin log shares
/// this one subscriber, so they all see the same lines.
pub fn install_log_buffer() {
    use tracing_subscriber::prelude::*;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info,persona_mcp=debug"))
            .with(persona_mcp::logbuf::layer(persona_mcp::logbuf::global(5000)))
            .try_init();
    });
}

/// A running server in its own thread and actix System.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The admin listener's address.
    pub admin_addr: Option<SocketAddr>,
    pub settings: Settings,
    handle: persona_mcp::server::StopHandle,
    thread: Option<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// Settings for a test: loopback, port 0, the given LLM and data dir, quiet logs.
pub fn test_settings(llm_url: &str, data_dir: &Path) -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.server.workers = 2;
    s.server.rate_limit_per_second = 10_000;
    s.server.rate_limit_burst = 10_000;
    s.llm.url = llm_url.to_string();
    // The fake LLM (or a closed port) stands in for the model server: no fallback to the embedded model.
    s.llm.provider = persona_mcp::config::LlmProvider::Ollama;
    s.llm.connect_timeout_secs = 2;
    s.llm.retries = 0;
    s.storage.data_dir = data_dir.to_path_buf();
    s.embedder.model_dir = Some(repo_root().join("data/models/all-MiniLM-L6-v2"));
    s.memory.decay_enabled = false;
    // Tests check which thread a message joins, not how fast: threading waits for the message's vector (an
    // unoptimised test build embeds in tens of milliseconds). The keyword fallback has a test of its own.
    s.chat.thread_vector_wait_ms = 60_000;
    s.admin.port = 0;
    s.storage.database_url = test_database_url(data_dir);
    s
}

/// The environment variable that runs the integration tests against PostgreSQL: the URL of a server where the
/// tests may create databases (`scripts/pg-cluster.sh` starts a throwaway one; `make test` sets it).
pub const PG_URL_ENV: &str = "PERSONA_TEST_PG_URL";

/// `None` (the SQLite file in the data dir) unless [`PG_URL_ENV`] is set: then the data dir's PostgreSQL
/// database, created on first use and named in the data dir's `persona-mcp.toml`, so a server restarted on the
/// data dir and a `persona-mcp` command run in it (the binary reads `./persona-mcp.toml`) use it too.
pub fn test_database_url(data_dir: &Path) -> Option<String> {
    let server = std::env::var(PG_URL_ENV).ok().filter(|u| !u.is_empty())?;
    let file = data_dir.join("persona-mcp.toml");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let url = text
            .lines()
            .find_map(|l| l.strip_prefix("database_url = "))
            .map(|v| v.trim_matches('"'));
        if let Some(url) = url {
            return Some(url.to_string());
        }
    }
    let url = fresh_pg_database(&server);
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::write(&file, format!("[storage]\ndatabase_url = \"{url}\"\n")).expect("persona-mcp.toml written");
    Some(url)
}

/// Creates a new empty database on the server of `url`; answers its URL.
pub fn fresh_pg_database(url: &str) -> String {
    use diesel::{Connection, RunQueryDsl};
    let name = format!("persona_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = diesel::pg::PgConnection::establish(url).expect("PostgreSQL test server reachable");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("test database created");
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base
        .rsplit_once('/')
        .filter(|(s, _)| s.contains("//") && !s.ends_with('/'))
        .map_or(base, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// True when the tests run against PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(PG_URL_ENV).is_ok_and(|u| !u.is_empty())
}

impl TestServer {
    /// A server on a fresh temporary data dir.
    pub fn start(llm_url: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = test_settings(llm_url, dir.path());
        let mut server = Self::start_with(settings);
        server._dir = Some(dir);
        server
    }

    /// A server with explicit settings (the data dir is not removed afterwards).
    pub fn start_with(settings: Settings) -> Self {
        Self::try_start_with(settings).expect("server started")
    }

    /// Like [`TestServer::start_with`], answering the start-up error instead of panicking.
    pub fn try_start_with(settings: Settings) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel();
        let s = settings.clone();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match persona_mcp::server::start(s) {
                    Ok(running) => {
                        tx.send(Ok((running.addr, running.admin_addr, running.handle.clone())))
                            .ok();
                        let _ = running.run().await;
                    }
                    Err(e) => {
                        tx.send(Err(e.to_string())).ok();
                    }
                }
                actix_web::rt::System::current().stop();
            });
        });
        let (addr, admin_addr, handle) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server thread answered")?;
        Ok(Self {
            addr,
            admin_addr,
            settings,
            handle,
            thread: Some(thread),
            _dir: None,
        })
    }

    /// The data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.settings.storage.data_dir.clone()
    }

    /// `ws://…/mcp`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/mcp", self.addr)
    }

    /// `http://…`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://…/admin/api/v1{path}` on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}/admin/api/v1{path}", self.admin_addr.expect("admin listener"))
    }

    /// The admin token the server generated into its data dir.
    pub fn admin_token(&self) -> String {
        match &self.settings.admin.token {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(self.data_dir().join("admin.token"))
                .expect("admin.token written")
                .trim()
                .to_string(),
        }
    }

    /// A connected client.
    pub async fn client(&self) -> WsClient {
        WsClient::connect(&self.ws_url()).await
    }

    /// Stops the server and waits for its thread.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        self.handle.stop(true).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        self._dir.take()
    }

    /// Stops the server and starts a new one on the same data dir.
    pub async fn restart(self) -> Self {
        let settings = self.settings.clone();
        let dir = self.stop().await;
        let mut next = Self::start_with(settings);
        next._dir = dir;
        next
    }
}

/// A JSON-RPC client over a real WebSocket.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: VecDeque<Value>,
    next_id: u64,
}

impl WsClient {
    /// Connects or panics.
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Self {
            ws,
            pending: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Sends a text frame as is.
    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// Sends a raw WebSocket message.
    pub async fn send_message(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send");
    }

    /// Sends a request and returns its id.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        let frame = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send_raw(&frame.to_string()).await;
        id
    }

    /// The next frame from the server (JSON), within 15 s.
    pub async fn next_frame(&mut self) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        self.read_frame().await.expect("a frame before the timeout")
    }

    /// Reads one JSON text frame off the socket; `None` on timeout or close.
    pub async fn read_frame(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(15), self.ws.next())
                .await
                .ok()??;
            match msg.ok()? {
                Message::Text(t) => return Some(serde_json::from_str(t.as_str()).expect("server sends JSON")),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next frame answering `id`; others are kept for later.
    pub async fn frame_for(&mut self, id: &Value) -> Value {
        if let Some(pos) = self.pending.iter().position(|f| &f["id"] == id) {
            return self.pending.remove(pos).expect("present");
        }
        loop {
            let f = self.read_frame().await.expect("answer before timeout");
            if &f["id"] == id {
                return f;
            }
            self.pending.push_back(f);
        }
    }

    /// Calls a method and returns the whole response.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.request(method, params).await;
        self.frame_for(&id).await
    }

    /// Calls a method that must succeed and returns its result.
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// Calls a method that must fail and returns its error object.
    pub async fn error(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(r.get("result").is_none(), "{method} should fail: {r}");
        r["error"].clone()
    }

    /// Reads the frames of a stream started under `id` until its terminal event.
    pub async fn stream_frames(&mut self, id: &Value) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let f = self.frame_for(id).await;
            let kind = f["result"]["event_type"].as_str().unwrap_or("").to_string();
            frames.push(f);
            if matches!(kind.as_str(), "stream_complete" | "stream_cancelled" | "stream_error") {
                return frames;
            }
        }
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Four unrelated scenes, each with a paraphrase that shares no searchable word with it: only the vector index
/// can find a scene's memories by its paraphrase.
pub const SCENES: [(&str, &str); 4] = [
    (
        "The lighthouse keeper polished the brass lamp before the storm arrived",
        "coastal beacon guardian shining metal fixtures ahead of gale",
    ),
    (
        "Grandmother baked apple pie with cinnamon for the village festival",
        "granny cooking fruit dessert spiced for town celebration",
    ),
    (
        "The astronaut floated outside the space station repairing a solar panel",
        "cosmonaut drifting beyond orbital outpost fixing sunlight collector",
    ),
    (
        "A violinist practised scales in a cold concert hall at dawn",
        "fiddler rehearsing exercises inside chilly auditorium at sunrise",
    ),
];

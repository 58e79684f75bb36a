//! A real Matrix homeserver for the bot tests: Synapse from the virtual environment `make synapse` builds
//! (`target/synapse-venv`, or `$SYNAPSE_VENV`), one per test binary run, on a free loopback port with a throwaway
//! config (SQLite, a registration shared secret, raised rate limits). It is stopped, and its directory removed,
//! when the test process exits (its wrapper shell waits for the test process's pipe to close). Also a minimal
//! Matrix client for the tests' human users, written apart from the bot's own client.

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

/// The registration shared secret of the test homeserver.
const SECRET: &str = "persona-mcp-test-registration-secret";

/// A running Synapse.
pub struct Synapse {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    venv: PathBuf,
    /// Closing it (at process exit) stops Synapse.
    _lifeline: Mutex<ChildStdin>,
    _wrapper: Mutex<Child>,
}

static SYNAPSE: OnceCell<Synapse> = OnceCell::const_new();

fn venv() -> PathBuf {
    std::env::var_os("SYNAPSE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target/synapse-venv"))
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("addr").port()
}

fn overrides(port: u16) -> String {
    let rate = "{per_second: 1000, burst_count: 1000}";
    format!(
        "listeners:\n  - port: {port}\n    bind_addresses: ['127.0.0.1']\n    type: http\n    tls: false\n    \
         x_forwarded: false\n    resources:\n      - names: [client]\n        compress: false\n\
         trusted_key_servers: []\nsuppress_key_server_warning: true\nreport_stats: false\n\
         enable_registration: false\nregistration_shared_secret: \"{SECRET}\"\n\
         rc_message: {rate}\nrc_registration: {rate}\n\
         rc_login:\n  address: {rate}\n  account: {rate}\n  failed_attempts: {rate}\n\
         rc_joins:\n  local: {rate}\n  remote: {rate}\n\
         rc_invites:\n  per_room: {rate}\n  per_user: {rate}\n  per_issuer: {rate}\n"
    )
}

/// The shared homeserver, started on first use (about 3 s).
pub async fn shared() -> &'static Synapse {
    SYNAPSE.get_or_init(start).await
}

/// A generated homeserver directory (config, signing key, overrides) with its port.
struct Prepared {
    venv: PathBuf,
    python: PathBuf,
    dir: PathBuf,
    url: String,
}

fn prepare() -> Prepared {
    let venv = venv();
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Synapse virtual environment at {}: run `make synapse`",
        venv.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("persona-mcp-synapse-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let generated = Command::new(&python)
        .current_dir(&dir)
        .args(["-m", "synapse.app.homeserver", "--server-name", "localhost"])
        .args(["--config-path", "homeserver.yaml", "--data-directory"])
        .arg(&dir)
        .args(["--generate-config", "--report-stats=no"])
        .output()
        .expect("synapse runs");
    assert!(
        generated.status.success(),
        "synapse --generate-config failed: {generated:?}"
    );
    let port = free_port();
    std::fs::write(dir.join("override.yaml"), overrides(port)).expect("override written");
    Prepared {
        venv,
        python,
        dir,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// Waits until the homeserver at `url` answers (its log is `dir/synapse.out`); `exited` tells whether its
/// process is gone.
async fn wait_up(url: &str, dir: &std::path::Path, mut exited: impl FnMut() -> bool) {
    let started = Instant::now();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = http
            .get(format!("{url}/_matrix/client/versions"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            break;
        }
        let log = std::fs::read_to_string(dir.join("synapse.out")).unwrap_or_default();
        assert!(Instant::now() < deadline, "synapse did not start in 60 s:\n{log}");
        assert!(!exited(), "synapse exited:\n{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("synapse ready on {url} in {:.1} s", started.elapsed().as_secs_f64());
}

async fn start() -> Synapse {
    let Prepared { venv, python, dir, url } = prepare();
    // The wrapper stops Synapse and removes its directory when our end of its stdin closes.
    let script = "\"$1\" -m synapse.app.homeserver -c homeserver.yaml -c override.yaml > synapse.out 2>&1 &\n\
                  pid=$!\ncat > /dev/null\nkill $pid\nwait $pid\nrm -rf \"$2\"\n";
    let mut wrapper = Command::new("sh")
        .current_dir(&dir)
        .args(["-c", script, "synapse"])
        .arg(&python)
        .arg(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("synapse starts");
    let lifeline = wrapper.stdin.take().expect("piped stdin");
    wait_up(&url, &dir, || wrapper.try_wait().ok().flatten().is_some()).await;
    Synapse {
        url,
        venv,
        _lifeline: Mutex::new(lifeline),
        _wrapper: Mutex::new(wrapper),
    }
}

/// A homeserver of one test's own, which the test stops and starts again (same port, same data): killed and
/// its directory removed when dropped.
pub struct OwnSynapse {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    venv: PathBuf,
    python: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

impl OwnSynapse {
    /// Makes and starts one.
    pub async fn start() -> Self {
        let Prepared { venv, python, dir, url } = prepare();
        let mut own = Self {
            url,
            venv,
            python,
            dir,
            child: None,
        };
        own.resume().await;
        own
    }

    /// Starts it again after [`OwnSynapse::stop`].
    pub async fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.join("synapse.out")).expect("log file");
        let child = Command::new(&self.python)
            .current_dir(&self.dir)
            .args([
                "-m",
                "synapse.app.homeserver",
                "-c",
                "homeserver.yaml",
                "-c",
                "override.yaml",
            ])
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("synapse starts");
        let child = self.child.insert(child);
        wait_up(&self.url, &self.dir, || child.try_wait().ok().flatten().is_some()).await;
    }

    /// Stops it (SIGTERM) and waits until it is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .ok();
            tokio::task::spawn_blocking(move || child.wait()).await.ok();
        }
    }
}

impl Drop for OwnSynapse {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// What the tests need of a homeserver: where it is, and registering users on it. (Only this crate's tests use
/// it: whether the future of `register` is `Send` does not matter.)
#[allow(async_fn_in_trait)]
pub trait Homeserver {
    /// `http://127.0.0.1:PORT`.
    fn url(&self) -> &str;
    /// The virtual environment it runs from.
    fn venv(&self) -> &std::path::Path;

    /// Registers users (`register_new_matrix_user -k SECRET`), all at once; answers their user ids.
    async fn register(&self, users: &[(&str, &str)]) -> Vec<String> {
        register_users(self.venv(), self.url(), users).await
    }
}

impl Homeserver for Synapse {
    fn url(&self) -> &str {
        &self.url
    }
    fn venv(&self) -> &std::path::Path {
        &self.venv
    }
}

impl Homeserver for OwnSynapse {
    fn url(&self) -> &str {
        &self.url
    }
    fn venv(&self) -> &std::path::Path {
        &self.venv
    }
}

/// Registers users on the homeserver at `url` with the tool of `venv`.
async fn register_users(venv: &std::path::Path, url: &str, users: &[(&str, &str)]) -> Vec<String> {
    let tool = venv.join("bin/register_new_matrix_user");
    let children: Vec<Child> = users
        .iter()
        .map(|(name, password)| {
            Command::new(&tool)
                .args(["-u", name, "-p", password, "--no-admin", "-k", SECRET, url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("register_new_matrix_user runs")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().expect("registration finished"))
            .collect::<Vec<_>>()
    })
    .await
    .expect("registration");
    for out in &outputs {
        assert!(out.status.success(), "registration failed: {out:?}");
    }
    users.iter().map(|(name, _)| format!("@{name}:localhost")).collect()
}

/// A human user of the test homeserver.
pub struct Human {
    http: reqwest::Client,
    base: Url,
    token: String,
    /// Their user id.
    pub user_id: String,
    txn: AtomicU64,
}

impl Human {
    /// Logs in.
    pub async fn login(synapse: &impl Homeserver, user: &str, password: &str) -> Self {
        let http = reqwest::Client::new();
        let body = json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password});
        let v: Value = http
            .post(format!("{}/_matrix/client/v3/login", synapse.url()))
            .json(&body)
            .send()
            .await
            .expect("login sent")
            .json()
            .await
            .expect("login answer");
        Self {
            http,
            base: Url::parse(synapse.url()).expect("url"),
            token: v["access_token"].as_str().expect("access token").to_string(),
            user_id: v["user_id"].as_str().expect("user id").to_string(),
            txn: AtomicU64::new(0),
        }
    }

    async fn call(&self, method: Method, segments: &[&str], query: &[(&str, &str)], body: Option<Value>) -> Value {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("base url")
            .extend(["_matrix", "client", "v3"])
            .extend(segments);
        url.query_pairs_mut().extend_pairs(query);
        let mut req = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{segments:?} failed: {status} {v}");
        v
    }

    /// Creates a private room inviting `invite`; answers its id.
    pub async fn create_room(&self, invite: &[&str]) -> String {
        self.create_room_with(invite, json!([])).await
    }

    /// Creates a private room inviting `invite`, with end-to-end encryption turned on; answers its id.
    pub async fn create_encrypted_room(&self, invite: &[&str]) -> String {
        let encryption = json!([{"type": "m.room.encryption", "state_key": "",
                                 "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]);
        self.create_room_with(invite, encryption).await
    }

    async fn create_room_with(&self, invite: &[&str], initial_state: Value) -> String {
        let body = json!({"preset": "private_chat", "invite": invite, "initial_state": initial_state});
        let v = self.call(Method::POST, &["createRoom"], &[], Some(body)).await;
        v["room_id"].as_str().expect("room id").to_string()
    }

    /// Sends a text message; answers its event id.
    pub async fn send(&self, room: &str, body: &str) -> String {
        let txn = format!("t{}", self.txn.fetch_add(1, Ordering::Relaxed));
        let v = self
            .call(
                Method::PUT,
                &["rooms", room, "send", "m.room.message", &txn],
                &[],
                Some(json!({"msgtype": "m.text", "body": body})),
            )
            .await;
        v["event_id"].as_str().expect("event id").to_string()
    }

    /// Sends a text message in the thread of `root` (an `m.thread` relation, falling back to a reply to the
    /// root for clients without threads); answers its event id.
    pub async fn send_in_thread(&self, room: &str, root: &str, body: &str) -> String {
        let txn = format!("t{}", self.txn.fetch_add(1, Ordering::Relaxed));
        let content = json!({"msgtype": "m.text", "body": body, "m.relates_to": {
            "rel_type": "m.thread", "event_id": root, "is_falling_back": true,
            "m.in_reply_to": {"event_id": root}}});
        let v = self
            .call(
                Method::PUT,
                &["rooms", room, "send", "m.room.message", &txn],
                &[],
                Some(content),
            )
            .await;
        v["event_id"].as_str().expect("event id").to_string()
    }

    /// The room's joined members.
    pub async fn joined(&self, room: &str) -> Vec<String> {
        let v = self
            .call(Method::GET, &["rooms", room, "joined_members"], &[], None)
            .await;
        v["joined"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// `user`'s membership of the room (`invite`, `join`, `leave`…).
    pub async fn membership(&self, room: &str, user: &str) -> String {
        let v = self
            .call(Method::GET, &["rooms", room, "state", "m.room.member", user], &[], None)
            .await;
        v["membership"].as_str().unwrap_or_default().to_string()
    }

    /// The ids of `user`'s devices that have uploaded encryption keys (`/keys/query`).
    pub async fn device_ids(&self, user: &str) -> Vec<String> {
        let v = self
            .call(Method::POST, &["keys", "query"], &[], Some(json!({"device_keys": {user: []}})))
            .await;
        let mut ids: Vec<String> = v["device_keys"][user]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// The room's last 500 message events, oldest first.
    pub async fn messages(&self, room: &str) -> Vec<Value> {
        let filter = json!({"types": ["m.room.message"]}).to_string();
        let v = self
            .call(
                Method::GET,
                &["rooms", room, "messages"],
                &[("dir", "b"), ("limit", "500"), ("filter", &filter)],
                None,
            )
            .await;
        let mut events = v["chunk"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }
}

//! The Docker deployment (issue 27), against real containers of the image `make docker-test` builds: one
//! container out of the box, data that survives the container, two instances on one PostgreSQL that survive
//! losing one, and an instance cut off from its database.
//!
//! A test binary of its own. The tests are `#[ignore]`d, so a plain `cargo test` lists them as ignored with the
//! reason; `make docker-test` builds the images and runs them (`--include-ignored`) with `PERSONA_DOCKER_TEST=1`.
//! Run without that variable each one returns at once saying why; with it, a missing Docker engine or image
//! fails the test instead: CI must not pass by skipping. Every container, network
//! and volume has a name of its own (suites can run side by side) and is removed when the test ends, failed or
//! not; host ports are picked by Docker (`127.0.0.1::PORT`) and read back with `docker port`.

use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Double, Text};
use persona_test_support::{WsClient, SCENES};
use serde_json::{json, Value};

/// The image under test (`make docker-test` tags the debug build so).
const DEFAULT_APP_IMAGE: &str = "persona-mcp:debug";
/// PostgreSQL with the official image's interface, made from Debian's package (`docker/postgres/`).
const DEFAULT_POSTGRES_IMAGE: &str = "persona-mcp-postgres:15";
/// The admin token the multi-instance tests give every instance.
const ADMIN_TOKEN: &str = "docker-test-admin-token-0123456789";
const PG_PASSWORD: &str = "docker-test-password";
/// How the instances reach PostgreSQL: a dead connection is given up within seconds (tcp_user_timeout), a new
/// one waits at most 3 s.
const PG_URL_IN_NETWORK: &str = "postgres://persona:docker-test-password@pg:5432/persona?connect_timeout=3&tcp_user_timeout=5000&keepalives_idle=5&keepalives_interval=2&keepalives_count=2";

/// The images the tests run.
struct Images {
    app: String,
    postgres: String,
}

/// The images, or `None` (with the reason on stderr) when these tests are not asked for.
fn images() -> Option<Images> {
    let asked = std::env::var("PERSONA_DOCKER_TEST").is_ok_and(|v| v == "1");
    let images = Images {
        app: std::env::var("PERSONA_DOCKER_IMAGE").unwrap_or_else(|_| DEFAULT_APP_IMAGE.into()),
        postgres: std::env::var("PERSONA_DOCKER_POSTGRES_IMAGE").unwrap_or_else(|_| DEFAULT_POSTGRES_IMAGE.into()),
    };
    let engine = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    let problem = match engine {
        Err(e) => Some(format!("the docker CLI cannot be run ({e})")),
        Ok(o) if !o.status.success() => Some(format!(
            "no Docker engine answers ({})",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => [&images.app, &images.postgres]
            .into_iter()
            .find(|image| !docker(&["image", "inspect", image.as_str()]).status.success())
            .map(|image| format!("the image {image} is not built")),
    };
    match (asked, problem) {
        (true, None) => Some(images),
        (true, Some(problem)) => panic!("PERSONA_DOCKER_TEST=1 but {problem}: run `make docker-test`"),
        (false, problem) => {
            eprintln!(
                "skipped: the Docker tests run with PERSONA_DOCKER_TEST=1 (`make docker-test` builds the images and \
                 sets it){}",
                problem.map(|p| format!("; besides, {p}")).unwrap_or_default()
            );
            None
        }
    }
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("the docker CLI runs")
}

/// Runs a docker command that must succeed; answers its trimmed stdout.
fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The containers, networks and volumes of one test, all removed when it ends (the last lines of each
/// container's log are printed first when the test failed).
struct Scope {
    prefix: String,
    containers: Mutex<Vec<String>>,
    networks: Mutex<Vec<String>>,
    volumes: Mutex<Vec<String>>,
}

impl Scope {
    fn new(test: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Self {
            prefix: format!("pmt-{test}-{}-{nanos:x}", std::process::id()),
            containers: Mutex::default(),
            networks: Mutex::default(),
            volumes: Mutex::default(),
        }
    }

    fn volume(&self, what: &str) -> String {
        let name = format!("{}-{what}", self.prefix);
        docker_ok(&["volume", "create", &name]);
        self.volumes.lock().unwrap().push(name.clone());
        name
    }

    fn network(&self, what: &str) -> String {
        let name = format!("{}-{what}", self.prefix);
        docker_ok(&["network", "create", &name]);
        self.networks.lock().unwrap().push(name.clone());
        name
    }

    /// `docker create` (not started): `args` are the options and the image.
    fn create(&self, what: &str, args: &[&str]) -> Container {
        let name = format!("{}-{what}", self.prefix);
        self.containers.lock().unwrap().push(name.clone());
        let mut all = vec!["create", "--name", name.as_str()];
        all.extend_from_slice(args);
        docker_ok(&all);
        Container { name, direct: None }
    }

    /// `docker run -d`: `args` are the options and the image.
    fn run(&self, what: &str, args: &[&str]) -> Container {
        let c = self.create(what, args);
        docker_ok(&["start", &c.name]);
        c
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let containers = self.containers.lock().unwrap().clone();
        if std::thread::panicking() {
            for c in &containers {
                let out = docker(&["logs", "--tail", "40", c]);
                eprintln!(
                    "---- last log lines of {c}:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        for c in &containers {
            let _ = docker(&["rm", "-f", "-v", c]);
        }
        for n in self.networks.lock().unwrap().iter() {
            let _ = docker(&["network", "rm", n]);
        }
        for v in self.volumes.lock().unwrap().iter() {
            let _ = docker(&["volume", "rm", "-f", v]);
        }
    }
}

/// One container, by name.
struct Container {
    name: String,
    /// Its address on a network the host reaches directly, used instead of the published ports.
    direct: Option<String>,
}

impl Container {
    /// Where the host reaches the container's `port`: the published port (read back each time: Docker maps
    /// published ports anew when the container's networks change), or the container's own address on a network.
    fn address(&self, port: u16) -> String {
        if let Some(ip) = &self.direct {
            return format!("{ip}:{port}");
        }
        let out = docker_ok(&["port", &self.name, &format!("{port}/tcp")]);
        let host_port: u16 = out
            .lines()
            .find_map(|l| l.trim().rsplit(':').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{} publishes {port}: {out:?}", self.name));
        format!("127.0.0.1:{host_port}")
    }

    /// From now on, reach the container at its address on `network` (a bridge network the host is on). Docker
    /// re-maps published ports when another network is connected or disconnected, cutting the connections
    /// through them; this address stays.
    fn reach_on(&mut self, network: &str) {
        let ip = self.inspect(&format!(
            "{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"
        ));
        assert!(!ip.is_empty(), "{} has an address on {network}", self.name);
        self.direct = Some(ip);
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/mcp", self.address(8000))
    }

    fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address(8000))
    }

    fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address(8080))
    }

    fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "-f", format, &self.name])
    }

    fn health(&self) -> String {
        self.inspect("{{if .State.Health}}{{.State.Health.Status}}{{end}}")
    }

    fn logs(&self) -> String {
        let out = docker(&["logs", &self.name]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The instance id the server logged when it joined a shared database.
    fn instance_id(&self) -> String {
        let logs = self.logs();
        logs.lines()
            .filter(|l| l.contains("sharing the database with other instances"))
            .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("instance=")))
            .unwrap_or_else(|| panic!("{} logs its instance id:\n{logs}", self.name))
            .to_string()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// GET `url`: the status and the JSON body (null when it is not JSON); `Err` when no answer came within 10 s.
async fn get(url: &str, token: Option<&str>) -> Result<(u16, Value), String> {
    let mut req = http().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Waits until `/readyz` answers 200; answers how long it took. Panics after `within`.
async fn wait_ready(c: &Container, within: Duration) -> Duration {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < within {
        if c.inspect("{{.State.Running}}") != "true" {
            panic!("{} stopped:\n{}", c.name, c.logs());
        }
        match get(&c.http_url("/readyz"), None).await {
            Ok((200, _)) => return started.elapsed(),
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{}: /readyz not 200 within {within:?} (last: {last})", c.name);
}

/// Waits until Docker reports the container's health as `status`; panics after `within`.
fn wait_health(c: &Container, status: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = c.health();
        if now == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{}: health {now:?}, not {status:?} within {within:?}: {}",
            c.name,
            c.inspect("{{json .State.Health}}")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Stores `content` as a memory of the current persona; answers its id.
async fn store(ws: &mut WsClient, content: &str) -> String {
    let r = ws
        .result("memory.store", json!({"content": content, "importance": 0.8}))
        .await;
    r["memory_id"].as_str().expect("a memory id").to_string()
}

/// Waits (up to 60 s: vectors of memories stored just before a stop are made at the next start) until every
/// scene's memory is found by its paraphrase among the first three hits, and each is there word for word.
async fn assert_memories_kept(ws: &mut WsClient, acked: &[(String, usize)]) {
    for (id, scene) in acked {
        let m = ws.result("memory.get", json!({"memory_id": id})).await;
        let m = if m.get("memory").is_some() { &m["memory"] } else { &m };
        assert_eq!(m["content"], SCENES[*scene].0, "memory {id} kept word for word: {m}");
    }
    let started = Instant::now();
    loop {
        let mut missing = Vec::new();
        for (id, scene) in acked {
            let r = ws
                .result("memory.search", json!({"query": SCENES[*scene].1, "n_results": 3}))
                .await;
            let found = r["memories"].as_array().unwrap().iter().any(|m| m["id"] == id.as_str());
            if !found {
                missing.push((SCENES[*scene].1, r["memories"].clone()));
            }
        }
        if missing.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not found by paraphrase within 60 s: {missing:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The options every persona-mcp container of these tests gets: both ports published on free host ports.
fn published() -> Vec<&'static str> {
    vec!["-p", "127.0.0.1::8000", "-p", "127.0.0.1::8080"]
}

#[tokio::test]
#[ignore = "needs a Docker engine and the images: `make docker-test` builds them and runs these"]
async fn one_container_is_ready_chats_with_the_embedded_model_guards_admin_and_runs_as_non_root() {
    let Some(images) = images() else { return };
    let scope = Scope::new("one");
    let volume = scope.volume("data");
    let mount = format!("{volume}:/data");
    // The image's own health check command, run more often than its 10 s so the test is short.
    let mut args = vec!["-v", mount.as_str(), "--health-interval", "2s"];
    args.extend(published());
    args.push(&images.app);
    let c = scope.run("app", &args);

    let ready = wait_ready(&c, Duration::from_secs(30)).await;
    eprintln!("one container: /readyz 200 {ready:?} after docker run");

    // A WebSocket client outside the container gets a streamed reply from the embedded model.
    let mut ws = WsClient::connect(&c.ws_url()).await;
    ws.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let id = ws
        .request(
            "persona.chat_stream",
            json!({"message": "Hello Aria! Who are you?", "token_budget": 60}),
        )
        .await;
    let frames = ws.stream_frames(&id).await;
    let kinds: Vec<&str> = frames
        .iter()
        .map(|f| f["result"]["event_type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds.first(), Some(&"stream_start"), "{frames:?}");
    assert_eq!(kinds.last(), Some(&"stream_complete"), "{frames:?}");
    let chunks: String = frames[1..frames.len() - 1]
        .iter()
        .map(|f| f["result"]["chunk"].as_str().expect("a chunk"))
        .collect();
    assert!(kinds.len() >= 3 && !chunks.trim().is_empty(), "{frames:?}");
    assert_eq!(frames.last().unwrap()["result"]["full_response"], chunks.as_str());
    eprintln!("one container: Aria answered {chunks:?}");
    // No model server in reach: the chat went to the embedded model (a chat finds that out at once; the
    // periodic probe may still be under way).
    let models = ws.result("system.models", json!({})).await;
    assert_eq!(models["provider"], "embedded", "{models}");

    // The admin API is reachable from outside, with its token only.
    let personas = c.admin_url("/admin/api/v1/personas");
    assert_eq!(get(&personas, None).await.unwrap().0, 401);
    assert_eq!(get(&personas, Some("not-the-token-at-all")).await.unwrap().0, 401);
    let token = docker_ok(&["exec", &c.name, "cat", "/data/admin.token"]);
    let (status, body) = get(&personas, Some(&token)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body["items"].as_array().unwrap().iter().any(|p| p["name"] == "Aria"),
        "{body}"
    );

    // The server (PID 1, no shell in between) runs as the image's non-root user.
    let status = docker_ok(&["exec", &c.name, "cat", "/proc/1/status"]);
    let uids: Vec<u32> = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .expect("a Uid line")
        .split_whitespace()
        .map(|u| u.parse().unwrap())
        .collect();
    assert!(uids.len() == 4 && uids.iter().all(|&u| u == 10001), "{status}");
    let cmdline = docker_ok(&["exec", &c.name, "cat", "/proc/1/cmdline"]);
    assert!(cmdline.starts_with("persona-mcp"), "{cmdline:?}");

    // Docker's health check (the binary's own `healthcheck`) says healthy; the image declares it.
    wait_health(&c, "healthy", Duration::from_secs(20));
    let check = docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Healthcheck.Test}}",
        &images.app,
    ]);
    assert!(check.contains("healthcheck"), "{check}");
    let title = docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{index .Config.Labels \"org.opencontainers.image.title\"}}",
        &images.app,
    ]);
    assert_eq!(title, "persona-mcp");
    ws.close().await;
}

#[tokio::test]
#[ignore = "needs a Docker engine and the images: `make docker-test` builds them and runs these"]
async fn memories_survive_stop_start_and_a_new_container_on_the_same_volume() {
    let Some(images) = images() else { return };
    let scope = Scope::new("data");
    let volume = scope.volume("data");
    let mount = format!("{volume}:/data");
    let mut args = vec!["-v", mount.as_str()];
    args.extend(published());
    args.push(&images.app);
    let first = scope.run("first", &args);
    wait_ready(&first, Duration::from_secs(30)).await;

    let mut ws = WsClient::connect(&first.ws_url()).await;
    ws.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let mut acked = Vec::new();
    for (scene, (content, _)) in SCENES.iter().enumerate() {
        acked.push((store(&mut ws, content).await, scene));
    }
    ws.close().await;
    let token = docker_ok(&["exec", &first.name, "cat", "/data/admin.token"]);

    // docker stop sends SIGTERM: the server ends by itself (exit 0), well before docker's SIGKILL at 20 s.
    let stopping = Instant::now();
    docker_ok(&["stop", "-t", "20", &first.name]);
    let stopped = stopping.elapsed();
    assert_eq!(first.inspect("{{.State.ExitCode}}"), "0", "{}", first.logs());
    assert!(stopped < Duration::from_secs(15), "stopped in {stopped:?}");
    eprintln!("data: docker stop took {stopped:?} (exit 0)");

    docker_ok(&["start", &first.name]);
    wait_ready(&first, Duration::from_secs(30)).await;
    let mut ws = WsClient::connect(&first.ws_url()).await;
    ws.result("persona.switch", json!({"persona_id": "Aria"})).await;
    assert_memories_kept(&mut ws, &acked).await;
    ws.close().await;
    docker_ok(&["stop", &first.name]);

    // A new container (an upgrade) on the same volume: the same data, the same admin token.
    let second = scope.run("second", &args);
    wait_ready(&second, Duration::from_secs(30)).await;
    let mut ws = WsClient::connect(&second.ws_url()).await;
    ws.result("persona.switch", json!({"persona_id": "Aria"})).await;
    assert_memories_kept(&mut ws, &acked).await;
    ws.close().await;
    assert_eq!(docker_ok(&["exec", &second.name, "cat", "/data/admin.token"]), token);
}

/// PostgreSQL on `network` (alias `pg`), published on a free host port; answers the container and the URL the
/// test reaches it on.
fn start_postgres(scope: &Scope, images: &Images, network: &str) -> (Container, String) {
    let password = format!("POSTGRES_PASSWORD={PG_PASSWORD}");
    let pg = scope.run(
        "pg",
        &[
            "--network",
            network,
            "--network-alias",
            "pg",
            "-e",
            "POSTGRES_USER=persona",
            "-e",
            &password,
            "-e",
            "POSTGRES_DB=persona",
            "-p",
            "127.0.0.1::5432",
            &images.postgres,
        ],
    );
    let started = Instant::now();
    while !docker(&["exec", &pg.name, "pg_isready", "-h", "127.0.0.1", "-q"])
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "PostgreSQL starts: {}",
            pg.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let url = format!("postgres://persona:{PG_PASSWORD}@{}/persona", pg.address(5432));
    (pg, url)
}

/// The environment of an instance on the shared database.
fn instance_env() -> Vec<String> {
    vec![
        "-e".into(),
        format!("PERSONA_MCP__STORAGE__DATABASE_URL={PG_URL_IN_NETWORK}"),
        "-e".into(),
        format!("PERSONA_MCP__ADMIN__TOKEN={ADMIN_TOKEN}"),
    ]
}

#[derive(QueryableByName, Debug, Clone)]
struct LeaseRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    holder: String,
    #[diesel(sql_type = Double)]
    expires_at: f64,
    #[diesel(sql_type = Double)]
    now: f64,
}

/// Every lease, with the database's clock.
fn leases(conn: &mut PgConnection) -> QueryResult<Vec<LeaseRow>> {
    diesel::sql_query(
        "SELECT name, holder, expires_at, EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now FROM leases",
    )
    .load(conn)
}

/// The instance holding an unexpired lease `name`.
fn holder_of(url: &str, name: &str) -> Option<String> {
    let mut conn = PgConnection::establish(url).ok()?;
    leases(&mut conn)
        .ok()?
        .into_iter()
        .find(|l| l.name == name && l.expires_at > l.now)
        .map(|l| l.holder)
}

/// Reads the leases table every 100 ms on its own thread until stopped.
struct LeaseWatch {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Vec<LeaseRow>>>>,
}

impl LeaseWatch {
    fn start(url: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            let mut conn = PgConnection::establish(&url).expect("the test reaches PostgreSQL");
            while !flag.load(Ordering::Relaxed) {
                samples.push(leases(&mut conn).expect("leases readable"));
                std::thread::sleep(Duration::from_millis(100));
            }
            samples
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Vec<Vec<LeaseRow>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().expect("the lease watch ran")
    }
}

impl Drop for LeaseWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Checks the sampled leases: every holder is one of `instances`, and a lease changes hands only once it has
/// expired (the sample that first shows the new holder was read after the old holder's expiry), so no persona
/// is ever served by two instances at once. Answers how often each lease changed hands.
fn check_leases(samples: &[Vec<LeaseRow>], instances: &[String]) -> HashMap<String, usize> {
    let mut last: HashMap<String, LeaseRow> = HashMap::new();
    let mut changes: HashMap<String, usize> = HashMap::new();
    for sample in samples {
        for row in sample {
            assert!(
                instances.contains(&row.holder),
                "lease {} held by an unknown instance {}",
                row.name,
                row.holder
            );
            if let Some(before) = last.get(&row.name) {
                if before.holder != row.holder {
                    assert!(
                        before.expires_at <= row.now,
                        "lease {} went from {} to {} {:.3} s before it expired",
                        row.name,
                        before.holder,
                        row.holder,
                        before.expires_at - row.now
                    );
                    *changes.entry(row.name.clone()).or_default() += 1;
                }
            }
            last.insert(row.name.clone(), row.clone());
        }
    }
    changes
}

/// The chat messages (role, content) of a persona, read through the admin API.
async fn chat_messages(c: &Container, persona: &str) -> Vec<(String, String)> {
    let (status, list) = get(
        &c.admin_url(&format!(
            "/admin/api/v1/conversations?persona={persona}&kind=chat&limit=100"
        )),
        Some(ADMIN_TOKEN),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{list}");
    let mut messages = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let url = c.admin_url(&format!("/admin/api/v1/conversations/{}", item["id"].as_str().unwrap()));
        let (status, conversation) = get(&url, Some(ADMIN_TOKEN)).await.unwrap();
        assert_eq!(status, 200, "{conversation}");
        for m in conversation["messages"].as_array().unwrap() {
            messages.push((
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            ));
        }
    }
    messages
}

#[tokio::test]
#[ignore = "needs a Docker engine and the images: `make docker-test` builds them and runs these"]
async fn two_instances_on_postgres_survive_a_docker_kill_of_the_lease_holder() {
    let Some(images) = images() else { return };
    let scope = Scope::new("pg");
    let network = scope.network("net");
    let (_pg, pg_url) = start_postgres(&scope, &images, &network);
    let env = instance_env();
    let mut instances = Vec::new();
    for what in ["a", "b"] {
        let mut args: Vec<&str> = vec!["--network", network.as_str()];
        args.extend(env.iter().map(String::as_str));
        args.extend(published());
        args.push(&images.app);
        instances.push(scope.run(what, &args));
    }
    for c in &instances {
        wait_ready(c, Duration::from_secs(45)).await;
    }
    let ids: Vec<String> = instances.iter().map(Container::instance_id).collect();
    assert_ne!(ids[0], ids[1]);
    let watch = LeaseWatch::start(pg_url.clone());

    // Aria chats through either instance.
    let mut clients = Vec::new();
    let mut aria = String::new();
    let mut said = Vec::new();
    for (i, c) in instances.iter().enumerate() {
        let mut ws = WsClient::connect(&c.ws_url()).await;
        aria = ws.result("persona.switch", json!({"persona_id": "Aria"})).await["persona_id"]
            .as_str()
            .unwrap()
            .to_string();
        let message = format!("Hello from instance {i}, Aria!");
        let r = ws
            .result("persona.chat", json!({"message": message, "token_budget": 24}))
            .await;
        assert!(!r["response"].as_str().unwrap().trim().is_empty(), "{r}");
        said.push(message);
        clients.push(ws);
    }
    let lease = format!("persona:{aria}");
    let started = Instant::now();
    let holder = loop {
        if let Some(h) = holder_of(&pg_url, &lease) {
            break h;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "someone holds {lease}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let owner = ids.iter().position(|i| *i == holder).expect("one of the two holds it");
    let survivor = 1 - owner;

    // Acknowledged writes through both, the lease holder last.
    let mut acked = Vec::new();
    for (scene, (content, _)) in SCENES.iter().enumerate() {
        let via = if scene % 2 == 0 { owner } else { survivor };
        acked.push((store(&mut clients[via], content).await, scene));
    }
    // Each is searchable by meaning on the survivor (its vector made and shared) before the kill.
    assert_memories_kept(&mut clients[survivor], &acked).await;
    for i in 0..2 {
        let message = format!("A last word before the lights go out, number {i}.");
        clients[owner]
            .result("persona.chat", json!({"message": message, "token_budget": 24}))
            .await;
        said.push(message);
    }
    let last = store(
        &mut clients[owner],
        "The very last memory before the kill: a zebrafinch sang.",
    )
    .await;

    docker_ok(&["kill", &instances[owner].name]);
    let killed = Instant::now();
    let takeover = {
        let (url, lease, survivor) = (pg_url.clone(), lease.clone(), ids[survivor].clone());
        std::thread::spawn(move || loop {
            if holder_of(&url, &lease).as_deref() == Some(survivor.as_str()) {
                return Some(killed.elapsed());
            }
            if killed.elapsed() > Duration::from_secs(15) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        })
    };
    // The survivor serves her at once (any instance serves any persona): a streamed chat's first chunk (a debug
    // build of the embedded model generates the rest slowly on a busy machine, which is not failover time); and
    // takes her lease over (her background state changes) once the dead instance's lease has expired.
    let mut ws = clients.remove(survivor);
    let message = "Still there, Aria?";
    let id = ws
        .request("persona.chat_stream", json!({"message": message, "token_budget": 16}))
        .await;
    let mut served = None;
    loop {
        let f = ws.frame_for(&id).await;
        match f["result"]["event_type"].as_str() {
            Some("stream_chunk") if served.is_none() => served = Some(killed.elapsed()),
            Some("stream_complete") => break,
            Some("stream_error" | "stream_cancelled") => panic!("the survivor's chat with Aria failed: {f}"),
            _ => {}
        }
    }
    let took = takeover.join().expect("the lease watch ran");
    assert!(took.is_some(), "the survivor holds {lease} within 15 s of the kill");
    let took = took.unwrap();
    said.push(message.to_string());
    let served = served.expect("a chunk before the end of the stream");
    eprintln!(
        "failover: the survivor held Aria's lease {took:?} after docker kill and streamed her reply from {served:?}"
    );
    assert!(served <= Duration::from_secs(15), "{served:?}");

    // Nothing acknowledged is lost: every memory (found by meaning too) and every message, answered.
    assert_memories_kept(&mut ws, &acked).await;
    let m = ws.result("memory.get", json!({"memory_id": last})).await;
    assert!(m.to_string().contains("zebrafinch"), "{m}");
    let messages = chat_messages(&instances[survivor], "Aria").await;
    for message in &said {
        let at = messages
            .iter()
            .position(|(role, content)| role == "user" && content == message)
            .unwrap_or_else(|| panic!("{message:?} lost: {messages:?}"));
        assert_eq!(
            messages.get(at + 1).map(|(r, _)| r.as_str()),
            Some("assistant"),
            "{message:?} unanswered"
        );
    }

    // Never two holders: Aria's lease changed hands once (at the kill), after it expired.
    std::thread::sleep(Duration::from_millis(500));
    let samples = watch.finish();
    let changes = check_leases(&samples, &ids);
    assert_eq!(
        changes.get(&lease),
        Some(&1),
        "{changes:?} over {} samples",
        samples.len()
    );
    ws.close().await;
}

#[tokio::test]
#[ignore = "needs a Docker engine and the images: `make docker-test` builds them and runs these"]
async fn an_instance_cut_off_from_postgres_answers_errors_and_serves_again_after_reconnecting() {
    let Some(images) = images() else { return };
    let scope = Scope::new("cut");
    let front = scope.network("front");
    let db = scope.network("db");
    let (_pg, _) = start_postgres(&scope, &images, &db);
    let env = instance_env();
    // The test reaches it on `front`, so cutting `db` leaves the clients' way in.
    let mut args: Vec<&str> = vec![
        "--network",
        front.as_str(),
        "--health-interval",
        "2s",
        "--health-retries",
        "2",
    ];
    args.extend(env.iter().map(String::as_str));
    args.push(&images.app);
    let mut c = scope.create("app", &args);
    docker_ok(&["network", "connect", &db, &c.name]);
    docker_ok(&["start", &c.name]);
    c.reach_on(&front);
    wait_ready(&c, Duration::from_secs(45)).await;
    let started_at = c.inspect("{{.State.StartedAt}}");

    // Healthy first (a check that succeeds ends the image's start period, in which failures do not count).
    wait_health(&c, "healthy", Duration::from_secs(30));
    let mut ws = WsClient::connect(&c.ws_url()).await;
    ws.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let before = store(&mut ws, SCENES[0].0).await;

    docker_ok(&["network", "disconnect", &db, &c.name]);
    let cut = Instant::now();
    // /readyz answers (never hangs) and turns 503.
    let unready = loop {
        let asked = Instant::now();
        let (status, body) = get(&c.http_url("/readyz"), None)
            .await
            .unwrap_or_else(|e| panic!("/readyz answers while the database is gone: {e}"));
        assert!(
            asked.elapsed() < Duration::from_secs(8),
            "/readyz took {:?}",
            asked.elapsed()
        );
        if status == 503 {
            assert_eq!(body["database"], false, "{body}");
            break cut.elapsed();
        }
        assert!(cut.elapsed() < Duration::from_secs(20), "/readyz still {status} {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // A request that needs the database gets a clear error, not a hang.
    let asked = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        ws.call("memory.store", json!({"content": SCENES[1].0})),
    )
    .await
    .expect("memory.store answers while the database is gone");
    let error = r.get("error").unwrap_or_else(|| panic!("memory.store fails: {r}"));
    let text = error.to_string().to_lowercase();
    assert!(
        text.contains("database") || text.contains("postgres"),
        "the error says the database is the trouble: {error}"
    );
    eprintln!(
        "cut off: /readyz 503 after {unready:?}; memory.store failed in {:?} with {error}",
        asked.elapsed()
    );
    wait_health(&c, "unhealthy", Duration::from_secs(30));

    // Reconnected: it serves again, without a restart.
    docker_ok(&["network", "connect", &db, &c.name]);
    let back = Instant::now();
    wait_ready(&c, Duration::from_secs(30)).await;
    let stored = loop {
        let r = ws.call("memory.store", json!({"content": SCENES[2].0})).await;
        if r.get("result").is_some() {
            break r["result"]["memory_id"].as_str().unwrap().to_string();
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "memory.store works again: {r}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!(
        "reconnected: serving again {:?} after docker network connect",
        back.elapsed()
    );
    for id in [&before, &stored] {
        ws.result("memory.get", json!({"memory_id": id})).await;
    }
    wait_health(&c, "healthy", Duration::from_secs(30));
    assert_eq!(c.inspect("{{.State.StartedAt}}"), started_at, "not restarted");
    assert_eq!(c.inspect("{{.RestartCount}}"), "0");
    ws.close().await;
}

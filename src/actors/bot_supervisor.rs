//! `BotSupervisor`: keeps the Matrix bots' configurations (through the bots repository) and one child process per
//! running bot. Enabled bots start once the server listens; a child that exits unasked is restarted with
//! exponential backoff (1 s doubling to 60 s, reset after 5 minutes up); after bad credentials it is `failed`
//! with the homeserver's errcode meanwhile. The last 1,000 log lines of each bot are kept. Children are stopped with
//! SIGTERM, then SIGKILL after 10 s, and all of them when the server stops.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use prometheus::{Histogram, HistogramOpts, IntCounter};
use serde::Serialize;
use tokio::sync::{broadcast, oneshot};
use uuid::Uuid;

use super::bot_child::{self, ChildControl, ChildNews, STOP_GRACE};
use crate::bot::protocol::{ChildEvent, Launch, ParentMessage, EXIT_FATAL};
use crate::config::BotSettings;
use crate::domain::bot::{Backoff, Bot, BotEncryption, BotResume, BotSecrets};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::storage::leases;
use crate::storage::{StorageError, Store};

/// Log lines kept per bot.
pub const LOG_LINES: usize = 1000;
/// Lines a slow live tail may fall behind before it is told how many it missed.
const LIVE_LINES: usize = 256;
/// First restart delay.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// Longest restart delay.
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A bot up this long starts over at the first delay when it next exits.
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(300);
/// How long the lease on running the bots lasts (instances sharing a PostgreSQL database: one runs them, so no
/// bot syncs twice; another takes over within this and one renewal when its holder dies).
const BOTS_LEASE_SECS: f64 = 15.0;
/// How often the holder renews it (and the others try to take it).
const BOTS_LEASE_RENEWAL: Duration = Duration::from_secs(5);
/// Why a wanted bot does not run on this instance.
const ANOTHER_INSTANCE: &str = "another instance sharing the database runs the bots";

/// Where a bot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BotStatus {
    /// Its process is starting (logging in, first sync).
    Starting,
    /// Logged in and answering.
    Running,
    /// Exited; restarts after `next_start_in`.
    Backoff,
    /// Refused by the homeserver (see `errcode`); tried again after `next_start_in`, ever more rarely.
    Failed,
    /// Not running.
    Stopped,
}

/// A bot as the API shows it: its configuration (never its secrets) and its process state.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BotView {
    /// Bot id.
    pub bot_id: Uuid,
    /// The configuration.
    #[serde(flatten)]
    pub bot: Bot,
    /// Status.
    pub status: BotStatus,
    /// Process id while it runs.
    pub pid: Option<u32>,
    /// Restarts after unexpected exits.
    pub restarts: u64,
    /// When its current (or last) process started.
    pub started_at: Option<DateTime<Utc>>,
    /// Seconds to the next start, in `backoff`.
    pub next_start_in: Option<f64>,
    /// The homeserver's errcode, in `failed`.
    pub errcode: Option<String>,
    /// The last error.
    pub last_error: Option<String>,
    /// Its end-to-end encryption (device, crypto store, encrypted rooms), once its process has logged in.
    pub encryption: Option<BotEncryption>,
}

struct BotMetrics {
    restarts: IntCounter,
    answered: IntCounter,
    latency: Histogram,
}

impl BotMetrics {
    fn new(metrics: &Metrics) -> Self {
        let restarts = IntCounter::new("bot_restarts_total", "Bot processes restarted after an exit").expect("static");
        let answered = IntCounter::new("bot_messages_answered_total", "Matrix messages bots answered").expect("static");
        let latency = Histogram::with_opts(
            HistogramOpts::new("bot_reply_latency_seconds", "From a Matrix message to its whole reply")
                .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0]),
        )
        .expect("static");
        for c in [
            Box::new(restarts.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(answered.clone()),
            Box::new(latency.clone()),
        ] {
            if let Err(e) = metrics.register(c) {
                tracing::warn!(error = %e, "bot metric not registered");
            }
        }
        Self {
            restarts,
            answered,
            latency,
        }
    }
}

struct Runtime {
    user_id: String,
    status: BotStatus,
    restarts: u64,
    started_at: Option<DateTime<Utc>>,
    up_since: Option<Instant>,
    next_start: Option<Instant>,
    errcode: Option<String>,
    last_error: Option<String>,
    backoff: Backoff,
    logs: VecDeque<String>,
    /// Every new log line, for live tails.
    live: broadcast::Sender<String>,
    /// Counts spawn attempts; news from an older child is ignored.
    generation: u64,
    /// Counts scheduled restarts; a restart whose token is stale does nothing.
    retry_token: u64,
    child: Option<ChildControl>,
    /// The bot should be running (start asked, not stopped).
    wanted: bool,
    /// Its process said its credentials were refused.
    refused: bool,
    /// What its process last said about its encryption.
    encryption: Option<BotEncryption>,
    stop_waiters: Vec<oneshot::Sender<()>>,
}

impl Runtime {
    fn new(user_id: String) -> Self {
        Self {
            user_id,
            status: BotStatus::Stopped,
            restarts: 0,
            started_at: None,
            up_since: None,
            next_start: None,
            errcode: None,
            last_error: None,
            backoff: Backoff::new(BACKOFF_FIRST, BACKOFF_MAX),
            logs: VecDeque::new(),
            live: broadcast::channel(LIVE_LINES).0,
            generation: 0,
            retry_token: 0,
            child: None,
            wanted: false,
            refused: false,
            encryption: None,
            stop_waiters: Vec::new(),
        }
    }

    fn log(&mut self, bot_id: Uuid, line: String) {
        tracing::debug!(%bot_id, "{line}");
        if self.logs.len() == LOG_LINES {
            self.logs.pop_front();
        }
        // No live tail listening is not an error.
        let _ = self.live.send(line.clone());
        self.logs.push_back(line);
    }

    fn note(&mut self, bot_id: Uuid, what: &str) {
        tracing::info!(%bot_id, "{what}");
        let line = format!("{} supervisor: {what}", Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        self.log(bot_id, line);
    }

    fn view(&self, bot: Bot) -> BotView {
        BotView {
            bot_id: bot.id,
            bot,
            status: self.status,
            pid: self.child.as_ref().map(|c| c.pid),
            restarts: self.restarts,
            started_at: self.started_at,
            next_start_in: self
                .next_start
                .filter(|_| matches!(self.status, BotStatus::Backoff | BotStatus::Failed))
                .map(|t| t.saturating_duration_since(Instant::now()).as_secs_f64()),
            errcode: self.errcode.clone(),
            last_error: self.last_error.clone(),
            encryption: self.encryption.clone(),
        }
    }
}

/// The server's WebSocket endpoint, for the bots.
#[derive(Clone)]
struct ServerEndpoint {
    url: String,
    token: Option<String>,
}

/// The actor.
pub struct BotSupervisor {
    store: Store,
    settings: BotSettings,
    /// One crypto store directory per bot under here, named by the bot's id.
    crypto_stores: PathBuf,
    /// This instance holds the lease on running the bots ([`leases::BOTS_LEASE`]; always, on SQLite); `None`
    /// until the server is ready and the lease was asked for.
    holds_lease: Option<bool>,
    /// The bots this instance has read from the database or created; the others were created through another
    /// instance, and the lease holder picks them up.
    followed: HashSet<Uuid>,
    server: Option<ServerEndpoint>,
    metrics: BotMetrics,
    bots: HashMap<Uuid, Runtime>,
}

impl BotSupervisor {
    /// A supervisor with no bot running; [`ServerReady`] starts the enabled ones. Each bot keeps its crypto store
    /// in its own directory under `crypto_stores`.
    pub fn new(store: Store, settings: BotSettings, crypto_stores: PathBuf, metrics: &Metrics) -> Self {
        Self {
            store,
            settings,
            crypto_stores,
            holds_lease: None,
            followed: HashSet::new(),
            server: None,
            metrics: BotMetrics::new(metrics),
            bots: HashMap::new(),
        }
    }

    fn runtime(&mut self, bot: &Bot) -> &mut Runtime {
        let rt = self
            .bots
            .entry(bot.id)
            .or_insert_with(|| Runtime::new(bot.user_id.clone()));
        rt.user_id = bot.user_id.clone();
        rt
    }

    fn view(&mut self, bot: Bot) -> BotView {
        let elsewhere = self.holds_lease == Some(false);
        let mut view = self.runtime(&bot).view(bot);
        if elsewhere {
            view.last_error.get_or_insert_with(|| ANOTHER_INSTANCE.into());
        }
        view
    }

    fn executable(&self) -> std::io::Result<PathBuf> {
        match &self.settings.executable {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe(),
        }
    }

    /// The other bots' user ids, as `bot_id` must not answer them.
    fn other_bots(&self, bot_id: Uuid) -> Vec<String> {
        self.bots
            .iter()
            .filter(|(id, _)| **id != bot_id)
            .map(|(_, rt)| rt.user_id.clone())
            .collect()
    }

    /// Tells every running bot about the current set of bots.
    fn announce_bots(&self) {
        for (id, rt) in &self.bots {
            if let Some(child) = &rt.child {
                let msg = ParentMessage::OtherBots {
                    user_ids: self.other_bots(*id),
                };
                if let Ok(line) = serde_json::to_string(&msg) {
                    let _ = child.stdin.send(line);
                }
            }
        }
    }

    /// Wants the bot running and starts its process unless it runs already.
    fn start(&mut self, bot: &Bot, ctx: &mut Context<Self>) {
        let rt = self.runtime(bot);
        rt.wanted = true;
        if rt.child.is_some() {
            return;
        }
        rt.retry_token += 1;
        rt.status = BotStatus::Starting;
        rt.next_start = None;
        if self.server.is_some() {
            self.launch(bot.id, ctx);
        }
    }

    /// Loads the bot's secrets and spawns its process.
    fn launch(&mut self, id: Uuid, ctx: &mut Context<Self>) {
        let holds_lease = self.holds_lease;
        let Some(rt) = self.bots.get_mut(&id) else { return };
        match holds_lease {
            Some(true) => {}
            // Started once the lease is known to be this instance's.
            None => return,
            Some(false) => {
                rt.status = BotStatus::Stopped;
                rt.last_error = Some(ANOTHER_INSTANCE.into());
                return;
            }
        }
        rt.generation += 1;
        let generation = rt.generation;
        let store = self.store.clone();
        let load = async move {
            let bot = store.bots().get(id).await?;
            let resume = store.bots().resume(id).await?;
            Ok::<_, StorageError>(bot.zip(resume))
        };
        ctx.spawn(load.into_actor(self).map(move |loaded, act, ctx| {
            let current = act
                .bots
                .get(&id)
                .is_some_and(|rt| rt.generation == generation && rt.wanted && rt.child.is_none());
            if !current {
                return;
            }
            match loaded {
                Ok(Some((bot, resume))) => act.spawn_child(bot, resume, generation, ctx),
                Ok(None) => {
                    act.bots.remove(&id);
                }
                Err(e) => act.exited(id, format!("cannot load the bot: {e}"), None, ctx),
            }
        }));
    }

    fn spawn_child(&mut self, bot: Bot, resume: BotResume, generation: u64, ctx: &mut Context<Self>) {
        let Some(server) = self.server.clone() else { return };
        let id = bot.id;
        let scrubbed: Vec<String> = resume
            .secrets
            .values()
            .map(str::to_string)
            .chain(server.token.clone())
            .collect();
        let launch = Launch {
            other_bots: self.other_bots(id),
            crypto_store: self.crypto_stores.join(id.to_string()),
            bot,
            secrets: resume.secrets,
            since: resume.since,
            device: resume.device,
            server_url: server.url,
            server_token: server.token,
            max_replies_per_room_per_minute: self.settings.max_replies_per_room_per_minute,
            edit_interval_ms: self.settings.edit_interval_ms,
        };
        let line = match serde_json::to_string(&launch) {
            Ok(l) => l,
            Err(e) => return self.exited(id, format!("cannot encode the launch line: {e}"), None, ctx),
        };
        let addr = ctx.address();
        let news = move |news| addr.do_send(ChildReport { id, generation, news });
        let spawned = self
            .executable()
            .and_then(|exe| bot_child::spawn(&exe, id, line, scrubbed, news));
        match spawned {
            Ok(child) => {
                let Some(rt) = self.bots.get_mut(&id) else { return };
                let pid = child.pid;
                rt.child = Some(child);
                rt.started_at = Some(Utc::now());
                rt.up_since = Some(Instant::now());
                rt.refused = false;
                rt.note(id, &format!("started bot process {pid}"));
            }
            Err(e) => self.exited(id, format!("cannot start the bot process: {e}"), None, ctx),
        }
    }

    /// The bot's process is gone (or could not start): stopped, failed, or restarted after a backoff.
    fn exited(&mut self, id: Uuid, how: String, code: Option<i32>, ctx: &mut Context<Self>) {
        let Some(rt) = self.bots.get_mut(&id) else { return };
        rt.child = None;
        let uptime = rt.up_since.take().map(|t| t.elapsed());
        rt.note(id, &format!("bot process {how}"));
        let stop_asked = !rt.stop_waiters.is_empty();
        for w in rt.stop_waiters.drain(..) {
            let _ = w.send(());
        }
        if !rt.wanted {
            rt.status = BotStatus::Stopped;
            return;
        }
        if stop_asked {
            // A restart: the stop is done, start again at once.
            rt.status = BotStatus::Starting;
            self.launch(id, ctx);
            return;
        }
        if uptime.is_some_and(|u| u >= BACKOFF_RESET_AFTER) {
            rt.backoff.reset();
        }
        let delay = rt.backoff.next_delay();
        rt.restarts += 1;
        self.metrics.restarts.inc();
        rt.next_start = Some(Instant::now() + delay);
        rt.retry_token += 1;
        let token = rt.retry_token;
        if rt.refused || code == Some(EXIT_FATAL) {
            // Refused credentials stay `failed` (with the homeserver's errcode) and are tried again ever more
            // rarely, in case they are fixed on the homeserver's side; `bot.update` fixes them on ours.
            rt.status = BotStatus::Failed;
            rt.note(
                id,
                &format!("credentials refused; trying again in {} s", delay.as_secs()),
            );
        } else {
            rt.status = BotStatus::Backoff;
            rt.last_error = Some(how);
            rt.note(id, &format!("restarting in {} s", delay.as_secs()));
        }
        ctx.run_later(delay, move |act, ctx| {
            let due = act
                .bots
                .get(&id)
                .is_some_and(|rt| rt.retry_token == token && rt.wanted && rt.child.is_none());
            if due {
                if let Some(rt) = act.bots.get_mut(&id) {
                    rt.status = BotStatus::Starting;
                    rt.next_start = None;
                }
                act.launch(id, ctx);
            }
        });
    }

    /// Stops the bot; the receiver fires when its process is gone.
    fn stop(&mut self, id: Uuid) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let Some(rt) = self.bots.get_mut(&id) else {
            let _ = tx.send(());
            return rx;
        };
        rt.wanted = false;
        rt.retry_token += 1;
        rt.next_start = None;
        match rt.child.as_mut() {
            Some(child) => {
                if let Some(stop) = child.stop.take() {
                    let _ = stop.send(());
                    rt.note(id, "stopping (SIGTERM)");
                }
                rt.stop_waiters.push(tx);
            }
            None => {
                rt.status = BotStatus::Stopped;
                let _ = tx.send(());
            }
        }
        rx
    }

    fn on_event(&mut self, id: Uuid, event: ChildEvent, ctx: &mut Context<Self>) {
        match event {
            ChildEvent::Running => {
                if let Some(rt) = self.bots.get_mut(&id) {
                    rt.status = BotStatus::Running;
                    rt.errcode = None;
                    rt.backoff.reset();
                    rt.note(id, "running");
                }
            }
            ChildEvent::Since { since } => {
                let store = self.store.clone();
                // Waited for, so the positions are written in order before the next message.
                ctx.wait(
                    async move {
                        if let Err(e) = store.bots().set_since(id, since).await {
                            tracing::warn!(bot_id = %id, error = %e, "cannot record the sync position");
                        }
                    }
                    .into_actor(self),
                );
            }
            ChildEvent::Device(device) => {
                let store = self.store.clone();
                ctx.wait(
                    async move {
                        if let Err(e) = store.bots().set_device(id, device).await {
                            tracing::warn!(bot_id = %id, error = %e, "cannot record the bot's device");
                        }
                    }
                    .into_actor(self),
                );
            }
            ChildEvent::Encryption(encryption) => {
                if let Some(rt) = self.bots.get_mut(&id) {
                    let known = rt.encryption.as_ref().and_then(|e| e.message.as_ref());
                    if let Some(message) = encryption.message.as_ref().filter(|m| Some(*m) != known) {
                        rt.note(id, message);
                    }
                    rt.encryption = Some(encryption);
                }
            }
            ChildEvent::Answered { latency_ms } => {
                self.metrics.answered.inc();
                self.metrics.latency.observe(latency_ms as f64 / 1000.0);
            }
            ChildEvent::Failed { errcode, error } => {
                if let Some(rt) = self.bots.get_mut(&id) {
                    rt.refused = true;
                    rt.note(id, &format!("the homeserver refused: {errcode}: {error}"));
                    rt.errcode = Some(errcode);
                    rt.last_error = Some(error);
                }
            }
        }
    }
}

impl Actor for BotSupervisor {
    type Context = Context<Self>;
}

/// The server listens at `url` (`ws://…/mcp`): start the enabled bots.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ServerReady {
    /// The WebSocket JSON-RPC endpoint.
    pub url: String,
    /// Its bearer token, if any.
    pub token: Option<String>,
}

impl Handler<ServerReady> for BotSupervisor {
    type Result = ();

    fn handle(&mut self, msg: ServerReady, ctx: &mut Context<Self>) {
        self.server = Some(ServerEndpoint {
            url: msg.url,
            token: msg.token,
        });
        self.renew_lease(ctx);
        ctx.run_interval(BOTS_LEASE_RENEWAL, |act, ctx| act.renew_lease(ctx));
    }
}

impl BotSupervisor {
    /// Takes or renews the lease on running the bots: gaining it starts them, losing it stops them.
    fn renew_lease(&mut self, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        let hold = async move {
            store
                .leases()
                .hold(vec![leases::BOTS_LEASE.to_string()], BOTS_LEASE_SECS)
                .await
        };
        ctx.wait(hold.into_actor(self).map(|held, act, ctx| {
            let held = match held {
                Ok(h) => h.contains(leases::BOTS_LEASE),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the lease on running the bots");
                    return;
                }
            };
            match (held, act.holds_lease) {
                (false, Some(false)) => {}
                // Bots created or deleted through another instance.
                (true, Some(true)) => act.follow_stored(ctx),
                // Gained (or first known): start the stored bots, or show them as run elsewhere.
                (_, None) | (true, Some(false)) => {
                    act.holds_lease = Some(held);
                    act.start_stored(HashSet::new(), ctx);
                }
                (false, Some(true)) => {
                    act.holds_lease = Some(false);
                    tracing::warn!("{ANOTHER_INSTANCE} now; stopping this instance's bot processes");
                    let ids: Vec<Uuid> = act.bots.keys().copied().collect();
                    // The enabled ones start again if the lease comes back.
                    for id in ids {
                        // Not waited for: the process goes in the background.
                        drop(act.stop(id));
                        if let Some(rt) = act.bots.get_mut(&id) {
                            rt.last_error = Some(ANOTHER_INSTANCE.into());
                        }
                    }
                }
            }
        }));
    }

    /// Reads the bots: starts the enabled ones this instance did not know (with autostart), and stops those that
    /// are gone.
    fn follow_stored(&mut self, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        ctx.spawn(
            async move { store.bots().list().await }
                .into_actor(self)
                .map(|bots, act, ctx| {
                    let Ok(bots) = bots else { return };
                    let stored: HashSet<Uuid> = bots.iter().map(|b| b.id).collect();
                    let gone: Vec<Uuid> = act
                        .bots
                        .iter()
                        .filter(|(id, rt)| !stored.contains(id) && (rt.child.is_some() || rt.wanted))
                        .map(|(id, _)| *id)
                        .collect();
                    for id in gone {
                        // Not waited for: the process goes in the background.
                        drop(act.stop(id));
                    }
                    let new: Vec<&Bot> = bots.iter().filter(|b| !act.followed.contains(&b.id)).collect();
                    for bot in new {
                        act.followed.insert(bot.id);
                        act.runtime(bot);
                        if bot.enabled && act.settings.autostart {
                            act.start(bot, ctx);
                        }
                    }
                }),
        );
    }

    /// Reads the bots and starts the enabled ones (with autostart), those already wanted, and those in `also`.
    fn start_stored(&mut self, also: HashSet<Uuid>, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        ctx.spawn(
            async move { store.bots().list().await }
                .into_actor(self)
                .map(move |bots, act, ctx| {
                    let bots = match bots {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot read the bots; none started");
                            return;
                        }
                    };
                    for bot in &bots {
                        act.followed.insert(bot.id);
                        act.runtime(bot);
                    }
                    for bot in &bots {
                        let starting = act.bots.get(&bot.id).is_some_and(|rt| rt.wanted && rt.child.is_none());
                        if starting || also.contains(&bot.id) || (bot.enabled && act.settings.autostart) {
                            act.start(bot, ctx);
                        }
                    }
                }),
        );
    }
}

/// The bots table was replaced (`state.load`): every bot process is stopped and forgotten, then the loaded bots
/// start as at server start, and those that ran before the load start again. Answered once the old processes
/// are gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct BotsReplaced;

impl Handler<BotsReplaced> for BotSupervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: BotsReplaced, _: &mut Context<Self>) -> Self::Result {
        let ran: HashSet<Uuid> = self
            .bots
            .iter()
            .filter(|(_, rt)| rt.wanted || rt.child.is_some())
            .map(|(id, _)| *id)
            .collect();
        let ids: Vec<Uuid> = self.bots.keys().copied().collect();
        let waits: Vec<_> = ids.into_iter().map(|id| self.stop(id)).collect();
        Box::pin(
            async move {
                let all = futures_util::future::join_all(waits);
                let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), all).await;
            }
            .into_actor(self)
            .map(move |(), act, ctx| {
                act.bots.clear();
                act.followed.clear();
                if act.server.is_some() {
                    act.start_stored(ran, ctx);
                }
            }),
        )
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct ChildReport {
    id: Uuid,
    generation: u64,
    news: ChildNews,
}

impl Handler<ChildReport> for BotSupervisor {
    type Result = ();

    fn handle(&mut self, msg: ChildReport, ctx: &mut Context<Self>) {
        let current = self.bots.get(&msg.id).is_some_and(|rt| rt.generation == msg.generation);
        if !current {
            return;
        }
        match msg.news {
            ChildNews::Line(line) => {
                if let Some(rt) = self.bots.get_mut(&msg.id) {
                    rt.log(msg.id, line);
                }
            }
            ChildNews::Event(event) => self.on_event(msg.id, event, ctx),
            ChildNews::Exited { how, code } => self.exited(msg.id, how, code, ctx),
        }
    }
}

type Reply<T> = ResponseActFuture<BotSupervisor, Result<T, AppError>>;

/// Every bot with its status, oldest first.
#[derive(Message)]
#[rtype(result = "Result<Vec<BotView>, AppError>")]
pub struct ListBots;

impl Handler<ListBots> for BotSupervisor {
    type Result = Reply<Vec<BotView>>;

    fn handle(&mut self, _: ListBots, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(
            async move { store.bots().list().await }
                .into_actor(self)
                .map(|bots, act, _| Ok(bots?.into_iter().map(|b| act.view(b)).collect())),
        )
    }
}

/// What a bot command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotCommand {
    /// Just read it.
    Get,
    /// Start it.
    Start,
    /// Stop it; answered once its process is gone.
    Stop,
    /// Stop it and start it again.
    Restart,
}

/// Runs a command on one bot and answers its view afterwards.
#[derive(Message)]
#[rtype(result = "Result<BotView, AppError>")]
pub struct Command {
    /// The bot.
    pub bot_id: Uuid,
    /// What to do.
    pub command: BotCommand,
}

fn not_found(id: Uuid) -> AppError {
    AppError::BotNotFound(id.to_string())
}

impl Handler<Command> for BotSupervisor {
    type Result = Reply<BotView>;

    fn handle(&mut self, msg: Command, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let id = msg.bot_id;
        Box::pin(
            async move { store.bots().get(id).await }
                .into_actor(self)
                .then(move |bot, act, ctx| {
                    let stopped = match (&bot, msg.command) {
                        (Ok(Some(bot)), BotCommand::Start) => {
                            act.start(bot, ctx);
                            None
                        }
                        (Ok(Some(bot)), BotCommand::Stop | BotCommand::Restart) => {
                            act.runtime(bot);
                            let done = act.stop(id);
                            if msg.command == BotCommand::Restart {
                                act.start(bot, ctx);
                            }
                            Some(done)
                        }
                        _ => None,
                    };
                    async move {
                        if let Some(done) = stopped {
                            let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), done).await;
                        }
                        bot
                    }
                    .into_actor(act)
                })
                .map(move |bot, act, _| Ok(act.view(bot?.ok_or_else(|| not_found(id))?))),
        )
    }
}

/// Stores a new bot (and starts it when enabled).
#[derive(Message)]
#[rtype(result = "Result<BotView, AppError>")]
pub struct CreateBot {
    /// Its configuration.
    pub bot: Bot,
    /// Its credentials.
    pub secrets: BotSecrets,
}

impl Handler<CreateBot> for BotSupervisor {
    type Result = Reply<BotView>;

    fn handle(&mut self, msg: CreateBot, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let bot = msg.bot.clone();
        Box::pin(
            async move { store.bots().insert(msg.bot, msg.secrets).await }
                .into_actor(self)
                .map(move |stored, act, ctx| {
                    stored?;
                    act.followed.insert(bot.id);
                    act.runtime(&bot).note(bot.id, "created");
                    act.announce_bots();
                    if bot.enabled {
                        act.start(&bot, ctx);
                    }
                    Ok(act.view(bot))
                }),
        )
    }
}

/// Replaces a bot's configuration (and its credentials when given); a running bot restarts with it.
#[derive(Message)]
#[rtype(result = "Result<BotView, AppError>")]
pub struct UpdateBot {
    /// The new configuration (same id).
    pub bot: Bot,
    /// New credentials, if any.
    pub secrets: Option<BotSecrets>,
}

impl Handler<UpdateBot> for BotSupervisor {
    type Result = Reply<BotView>;

    fn handle(&mut self, msg: UpdateBot, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let bot = msg.bot.clone();
        let id = bot.id;
        Box::pin(
            async move { store.bots().update(msg.bot, msg.secrets).await }
                .into_actor(self)
                .then(move |updated, act, ctx| {
                    let done = match &updated {
                        Ok(true) => {
                            act.runtime(&bot).note(id, "configuration updated");
                            act.announce_bots();
                            let running = act.bots.get(&id).is_some_and(|rt| rt.child.is_some() || rt.wanted);
                            running.then(|| {
                                let done = act.stop(id);
                                act.start(&bot, ctx);
                                done
                            })
                        }
                        _ => None,
                    };
                    async move {
                        if let Some(done) = done {
                            let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), done).await;
                        }
                        updated.map(|found| found.then_some(bot))
                    }
                    .into_actor(act)
                })
                .map(move |bot, act, _| Ok(act.view(bot?.ok_or_else(|| not_found(id))?))),
        )
    }
}

/// Stops and deletes a bot.
#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct DeleteBot(pub Uuid);

impl Handler<DeleteBot> for BotSupervisor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: DeleteBot, _: &mut Context<Self>) -> Self::Result {
        let id = msg.0;
        let done = self.stop(id);
        let store = self.store.clone();
        let crypto_store = self.crypto_stores.join(id.to_string());
        Box::pin(
            async move {
                let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), done).await;
                let deleted = store.bots().delete(id).await?;
                // The device's keys go with the bot (its device stays listed on the homeserver).
                if deleted {
                    if let Err(e) = tokio::fs::remove_dir_all(&crypto_store).await {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            tracing::warn!(bot_id = %id, error = %e, "cannot remove the bot's crypto store");
                        }
                    }
                }
                Ok::<_, StorageError>(deleted)
            }
            .into_actor(self)
            .map(move |deleted, act, _| {
                if !deleted? {
                    return Err(not_found(id));
                }
                act.bots.remove(&id);
                act.announce_bots();
                Ok(())
            }),
        )
    }
}

/// The last `lines` log lines of a bot (at most [`LOG_LINES`]), oldest first.
#[derive(Message)]
#[rtype(result = "Result<Vec<String>, AppError>")]
pub struct BotLogs {
    /// The bot.
    pub bot_id: Uuid,
    /// How many.
    pub lines: usize,
}

impl Handler<BotLogs> for BotSupervisor {
    type Result = Reply<Vec<String>>;

    fn handle(&mut self, msg: BotLogs, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let id = msg.bot_id;
        Box::pin(
            async move { store.bots().get(id).await }
                .into_actor(self)
                .map(move |bot, act, _| {
                    let bot = bot?.ok_or_else(|| not_found(id))?;
                    let rt = act.runtime(&bot);
                    let skip = rt.logs.len().saturating_sub(msg.lines);
                    Ok(rt.logs.iter().skip(skip).cloned().collect())
                }),
        )
    }
}

/// Every log line of a bot from now on (the live tail).
#[derive(Message)]
#[rtype(result = "Result<broadcast::Receiver<String>, AppError>")]
pub struct FollowBotLogs(pub Uuid);

impl Handler<FollowBotLogs> for BotSupervisor {
    type Result = Reply<broadcast::Receiver<String>>;

    fn handle(&mut self, msg: FollowBotLogs, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let id = msg.0;
        Box::pin(
            async move { store.bots().get(id).await }
                .into_actor(self)
                .map(move |bot, act, _| {
                    let bot = bot?.ok_or_else(|| not_found(id))?;
                    Ok(act.runtime(&bot).live.subscribe())
                }),
        )
    }
}

/// Stops every bot (server shutdown); answered when their processes are gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopAll;

impl Handler<StopAll> for BotSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopAll, _: &mut Context<Self>) -> Self::Result {
        let ids: Vec<Uuid> = self.bots.keys().copied().collect();
        let waits: Vec<_> = ids.into_iter().map(|id| self.stop(id)).collect();
        Box::pin(async move {
            let all = futures_util::future::join_all(waits);
            let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), all).await;
        })
    }
}

//! The bot's life: log in, join, long-poll `/sync` and answer what its reply mode says, streaming each reply
//! into one Matrix message (posted, then edited), in the thread of the message it answers when that is in one.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;

use super::link::{LinkError, PersonaLink, StreamEvent};
use super::matrix::{MatrixClient, MatrixError};
use super::policy::{should_answer, EditThrottle, Identity, Incoming, RoomRateCap};
use super::protocol::{ChildEvent, Launch};
use crate::domain::bot::{invite_allowed, Backoff, ReplyMode};

/// Long-poll time of one `/sync`.
const SYNC_TIMEOUT_MS: u64 = 30_000;
/// Replies written at the same time.
const CONCURRENT_REPLIES: usize = 4;
/// Tries to reach the server for one reply.
const LINK_ATTEMPTS: u32 = 5;

/// How the bot ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// The credentials were refused (reported as [`ChildEvent::Failed`]).
    Fatal,
    /// Something that may pass (homeserver down at start): restart later.
    Retry,
}

#[derive(Debug, thiserror::Error)]
enum ReplyError {
    #[error("matrix: {0}")]
    Matrix(#[from] MatrixError),
    #[error("{0}")]
    Link(#[from] LinkError),
}

/// The other bots' user ids, updated by the supervisor while the bot runs.
pub type OtherBots = Arc<Mutex<HashSet<String>>>;

struct Running {
    launch: Launch,
    matrix: Arc<MatrixClient>,
    link: Arc<PersonaLink>,
    user_id: String,
    persona_name: String,
    other_bots: OtherBots,
    cap: RoomRateCap,
    direct: HashMap<String, bool>,
    replies: Arc<Semaphore>,
}

fn fatal(e: &MatrixError) -> Exit {
    let (errcode, error) = match e {
        MatrixError::Api { errcode, error, .. } => (errcode.clone(), error.clone()),
        MatrixError::Transport(m) => ("M_UNKNOWN".into(), m.clone()),
    };
    tracing::error!(%errcode, %error, "the homeserver refused the bot's credentials");
    ChildEvent::Failed { errcode, error }.emit();
    Exit::Fatal
}

/// Logs in and answers messages until the process is stopped; returns only when it cannot go on.
pub async fn run(mut launch: Launch, other_bots: OtherBots) -> Exit {
    let bot = launch.bot.clone();
    let mut matrix = match MatrixClient::new(&bot.homeserver) {
        Ok(m) => m,
        Err(e) => return fatal(&e),
    };
    let secrets = std::mem::take(&mut launch.secrets);
    let login = match (secrets.access_token, secrets.password) {
        (Some(token), _) if !token.is_empty() => {
            matrix.set_token(token);
            matrix.whoami().await
        }
        (_, Some(password)) => matrix.login(&bot.user_id, &password).await.map(|s| s.user_id),
        _ => Err(MatrixError::Api {
            status: 0,
            errcode: "M_MISSING_PARAM".into(),
            error: "no password or access token".into(),
        }),
    };
    let user_id = match login {
        Ok(id) if !id.is_empty() => id,
        Ok(_) => bot.user_id.clone(),
        Err(e) if e.is_auth() || matches!(&e, MatrixError::Api { errcode, .. } if errcode == "M_MISSING_PARAM") => {
            return fatal(&e)
        }
        Err(e) => {
            tracing::error!(error = %e, homeserver = %bot.homeserver, "cannot log in");
            return Exit::Retry;
        }
    };
    tracing::info!(%user_id, homeserver = %bot.homeserver, "logged in");
    let link = PersonaLink::new(&launch.server_url, launch.server_token.clone(), bot.persona_id, bot.id);
    let persona_name = persona_name(&link).await;
    tracing::info!(persona = %persona_name, reply_mode = bot.reply_mode.as_str(), "speaking as the persona");
    let mut running = Running {
        cap: RoomRateCap::new(launch.max_replies_per_room_per_minute),
        launch,
        matrix: Arc::new(matrix),
        link: Arc::new(link),
        user_id,
        persona_name,
        other_bots,
        direct: HashMap::new(),
        replies: Arc::new(Semaphore::new(CONCURRENT_REPLIES)),
    };
    running.join_configured().await;
    running.sync_forever().await
}

/// The persona's name from the server, retried with backoff until the server answers.
async fn persona_name(link: &PersonaLink) -> String {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    loop {
        match link.persona_name().await {
            Ok(name) => return name,
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "cannot reach the persona on the server");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

impl Running {
    async fn join_configured(&self) {
        for room in &self.launch.bot.rooms {
            match self.matrix.join(room).await {
                Ok(id) => tracing::info!(room = %room, room_id = %id, "joined configured room"),
                Err(e) => tracing::warn!(room = %room, error = %e, "cannot join configured room"),
            }
        }
    }

    async fn sync_forever(&mut self) -> Exit {
        let mut since = self.launch.since.clone();
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut announced = false;
        loop {
            let timeout = if announced { SYNC_TIMEOUT_MS } else { 0 };
            let resp = match self.matrix.sync(since.as_deref(), timeout).await {
                Ok(r) => r,
                Err(e) if e.is_auth() => return fatal(&e),
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "sync failed");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            backoff.reset();
            // History from before the bot's first sync is never answered.
            let catching_up = since.is_none();
            if let Some(next) = resp["next_batch"].as_str() {
                since = Some(next.to_string());
                // Recorded before the batch is handled: a bot killed while answering does not answer again.
                ChildEvent::Since { since: next.into() }.emit();
            }
            if !announced {
                announced = true;
                ChildEvent::Running.emit();
                tracing::info!(catching_up, "running");
            }
            self.handle_invites(&resp).await;
            if !catching_up {
                self.handle_messages(&resp).await;
            }
        }
    }

    async fn handle_invites(&self, resp: &Value) {
        let Some(invites) = resp["rooms"]["invite"].as_object() else {
            return;
        };
        for (room_id, room) in invites {
            let events = room["invite_state"]["events"].as_array().cloned().unwrap_or_default();
            let inviter = events
                .iter()
                .find(|e| e["type"] == "m.room.member" && e["state_key"] == self.user_id.as_str())
                .and_then(|e| e["sender"].as_str())
                .unwrap_or("")
                .to_string();
            let encrypted = events.iter().any(|e| e["type"] == "m.room.encryption");
            if !invite_allowed(&self.launch.bot.invite_allowlist, &self.user_id, &inviter) {
                tracing::info!(%room_id, %inviter, "declining an invite from a user not on the allowlist");
                if let Err(e) = self.matrix.leave(room_id).await {
                    tracing::warn!(%room_id, error = %e, "cannot decline invite");
                }
                continue;
            }
            if let Err(e) = self.matrix.join(room_id).await {
                tracing::warn!(%room_id, error = %e, "cannot join on invite");
                continue;
            }
            tracing::info!(%room_id, %inviter, "joined on invite");
            if encrypted {
                let note =
                    "This room is end-to-end encrypted, which I do not support: I only talk in unencrypted rooms.";
                let _ = self.matrix.send_text(room_id, note).await;
                let _ = self.matrix.leave(room_id).await;
                tracing::info!(%room_id, "left an encrypted room");
            }
        }
    }

    /// True when the room holds only the bot and one other member (cached until its membership changes).
    async fn is_direct(&mut self, room_id: &str) -> bool {
        if let Some(d) = self.direct.get(room_id) {
            return *d;
        }
        match self.matrix.joined_member_count(room_id).await {
            Ok(n) => {
                self.direct.insert(room_id.to_string(), n == 2);
                n == 2
            }
            Err(e) => {
                tracing::warn!(%room_id, error = %e, "cannot count room members");
                false
            }
        }
    }

    fn identity(&self) -> Identity {
        let others: Vec<String> = crate::locks::lock(&self.other_bots).iter().cloned().collect();
        Identity::new(&self.user_id, &[self.persona_name.as_str()], &others)
    }

    async fn handle_messages(&mut self, resp: &Value) {
        let Some(rooms) = resp["rooms"]["join"].as_object() else {
            return;
        };
        let me = self.identity();
        let mode = self.launch.bot.reply_mode;
        for (room_id, room) in rooms {
            let events = room["timeline"]["events"].as_array().cloned().unwrap_or_default();
            let state = room["state"]["events"].as_array().cloned().unwrap_or_default();
            if events.iter().chain(&state).any(|e| e["type"] == "m.room.member") {
                self.direct.remove(room_id);
            }
            for event in &events {
                let Some(msg) = Incoming::from_event(room_id, event) else {
                    continue;
                };
                if me.is_bot(&msg.sender) {
                    continue;
                }
                let direct = mode == ReplyMode::Mention && !me.is_named_in(&msg) && self.is_direct(room_id).await;
                if !should_answer(mode, &me, &msg, direct) {
                    continue;
                }
                if !self.cap.try_take(room_id, Instant::now()) {
                    tracing::warn!(%room_id, "reply cap for this room reached; not answering");
                    continue;
                }
                self.spawn_reply(msg);
            }
        }
    }

    fn spawn_reply(&self, msg: Incoming) {
        let matrix = self.matrix.clone();
        let link = self.link.clone();
        let user_id = self.user_id.clone();
        let slots = self.replies.clone();
        let interval = Duration::from_millis(self.launch.edit_interval_ms);
        let received = Instant::now();
        tokio::spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else { return };
            tracing::info!(room_id = %msg.room_id, event_id = %msg.event_id, sender = %msg.sender, "answering");
            let _ = matrix.typing(&msg.room_id, &user_id, true).await;
            let result = stream_reply(&matrix, &link, &msg, interval).await;
            let _ = matrix.typing(&msg.room_id, &user_id, false).await;
            match result {
                Ok(()) => {
                    let latency_ms = received.elapsed().as_millis() as u64;
                    tracing::info!(room_id = %msg.room_id, latency_ms, "answered");
                    ChildEvent::Answered { latency_ms }.emit();
                }
                Err(e) => tracing::warn!(room_id = %msg.room_id, error = %e, "reply failed"),
            }
        });
    }
}

/// Opens the reply stream, retrying with backoff while the server is unreachable.
async fn open_stream(link: &PersonaLink, msg: &Incoming) -> Result<super::link::ReplyStream, LinkError> {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
    let mut attempt = 1;
    loop {
        match link
            .reply(&msg.body, &msg.sender, &msg.room_id, msg.thread_root.as_deref())
            .await
        {
            Err(LinkError::Unreachable(e)) if attempt < LINK_ATTEMPTS => {
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "server unreachable");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Posts the reply's first text where `msg` was written: in its thread when it is in one, answering it there.
async fn post(matrix: &MatrixClient, msg: &Incoming, text: &str) -> Result<String, MatrixError> {
    match &msg.thread_root {
        Some(root) => matrix.send_thread_text(&msg.room_id, root, &msg.event_id, text).await,
        None => matrix.send_text(&msg.room_id, text).await,
    }
}

/// Posts the first chunk (in the message's thread, if any), edits the message at most once per `interval` as
/// chunks come, and once more with the whole reply.
async fn stream_reply(
    matrix: &MatrixClient,
    link: &PersonaLink,
    msg: &Incoming,
    interval: Duration,
) -> Result<(), ReplyError> {
    let mut stream = open_stream(link, msg).await?;
    let mut text = String::new();
    let mut posted: Option<(String, String, EditThrottle)> = None;
    loop {
        match stream.next().await? {
            StreamEvent::Chunk(chunk) => {
                text.push_str(&chunk);
                if text.trim().is_empty() {
                    continue;
                }
                match &mut posted {
                    None => {
                        let id = post(matrix, msg, &text).await?;
                        posted = Some((id, text.clone(), EditThrottle::new(interval, Instant::now())));
                    }
                    Some((id, shown, throttle)) => {
                        if *shown != text && throttle.due(Instant::now()) {
                            matrix.edit_text(&msg.room_id, id, &text).await?;
                            throttle.sent(Instant::now());
                            *shown = text.clone();
                        }
                    }
                }
            }
            StreamEvent::Complete(full) => {
                let full = if full.trim().is_empty() { text } else { full };
                match posted {
                    None if full.trim().is_empty() => {}
                    None => {
                        post(matrix, msg, &full).await?;
                    }
                    Some((id, shown, _)) if shown != full => {
                        matrix.edit_text(&msg.room_id, &id, &full).await?;
                    }
                    Some(_) => {}
                }
                return Ok(());
            }
        }
    }
}

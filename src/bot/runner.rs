//! The bot's life: log in (see [`super::account`]), join, long-poll `/sync` through the Matrix SDK (which decrypts
//! what comes in encrypted and encrypts what goes out in encrypted rooms) and answer what its reply mode says,
//! streaming each reply into one Matrix message (posted, then edited), in the thread of the message it answers when
//! that is in one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::{TimelineEvent, TimelineEventKind};
use matrix_sdk::ruma::api::client::filter::{Filter as EventFilter, FilterDefinition};
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, RoomOrAliasId};
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::{Client, Room, RoomMemberships};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::account::{self, Account, AccountError};
use super::content;
use super::link::{LinkError, PersonaLink, StreamEvent};
use super::login::is_auth_errcode;
use super::policy::{should_answer, EditThrottle, Identity, Incoming, RoomRateCap};
use super::protocol::{ChildEvent, Launch};
use crate::domain::bot::{invite_allowed, Backoff, BotEncryption, ReplyMode};

/// Long-poll time of one `/sync`.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeline events per room in one `/sync`.
const TIMELINE_LIMIT: u32 = 50;
/// Replies written at the same time.
const CONCURRENT_REPLIES: usize = 4;
/// Tries to reach the server for one reply.
const LINK_ATTEMPTS: u32 = 5;
/// How long a message that could not be decrypted yet is tried again (its key may come in a later sync).
const UNDECRYPTED_PATIENCE: Duration = Duration::from_secs(120);

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
    Matrix(#[from] matrix_sdk::Error),
    #[error("{0}")]
    Link(#[from] LinkError),
}

/// The other bots' user ids, updated by the supervisor while the bot runs.
pub type OtherBots = Arc<Mutex<HashSet<String>>>;

/// A message that came in encrypted with a key the bot did not have yet.
struct Undecrypted {
    room_id: OwnedRoomId,
    event: Raw<OriginalSyncRoomEncryptedEvent>,
    since: Instant,
}

struct Running {
    launch: Launch,
    client: Client,
    link: Arc<PersonaLink>,
    user_id: String,
    persona_name: String,
    other_bots: OtherBots,
    cap: RoomRateCap,
    replies: Arc<Semaphore>,
    encryption: BotEncryption,
    undecrypted: Vec<Undecrypted>,
    /// The store is new: the first sync asks for the rooms' whole state, even from a recorded position.
    fresh_store: bool,
}

fn fatal(errcode: String, error: String) -> Exit {
    tracing::error!(%errcode, %error, "the homeserver refused the bot's credentials");
    ChildEvent::Failed { errcode, error }.emit();
    Exit::Fatal
}

/// The errcode of an SDK error that says the credentials no longer work.
fn auth_errcode(e: &matrix_sdk::Error) -> Option<String> {
    let code = e.client_api_error_kind()?.errcode().to_string();
    is_auth_errcode(&code).then_some(code)
}

/// Logs in and answers messages until the process is stopped; returns only when it cannot go on.
pub async fn run(mut launch: Launch, other_bots: OtherBots) -> Exit {
    let bot = launch.bot.clone();
    let secrets = std::mem::take(&mut launch.secrets);
    let opened = account::open(
        &bot.homeserver,
        &bot.user_id,
        &secrets,
        &launch.crypto_store,
        launch.device.as_ref(),
    )
    .await;
    drop(secrets);
    let account = match opened {
        Ok(a) => a,
        Err(AccountError::Login(e)) if e.is_auth() => {
            let (errcode, error) = match e {
                super::login::MatrixError::Api { errcode, error, .. } => (errcode, error),
                other => ("M_UNKNOWN".into(), other.to_string()),
            };
            return fatal(errcode, error);
        }
        Err(e) => {
            tracing::error!(error = %e, homeserver = %bot.homeserver, "cannot log in");
            return Exit::Retry;
        }
    };
    let Account {
        client,
        user_id,
        device,
        store,
        message,
        fresh,
    } = account;
    tracing::info!(%user_id, device_id = %device.device_id, store = ?store, homeserver = %bot.homeserver, "logged in");
    if launch.device.as_ref() != Some(&device) {
        ChildEvent::Device(device.clone()).emit();
    }
    if let Some(m) = &message {
        tracing::warn!("{m}");
    }
    let link = PersonaLink::new(&launch.server_url, launch.server_token.clone(), bot.persona_id, bot.id);
    let persona_name = persona_name(&link).await;
    tracing::info!(persona = %persona_name, reply_mode = bot.reply_mode.as_str(), "speaking as the persona");
    let mut running = Running {
        cap: RoomRateCap::new(launch.max_replies_per_room_per_minute),
        launch,
        client,
        link: Arc::new(link),
        user_id,
        persona_name,
        other_bots,
        replies: Arc::new(Semaphore::new(CONCURRENT_REPLIES)),
        encryption: BotEncryption {
            store,
            device_id: device.device_id,
            device_key: device.ed25519,
            joined_rooms: 0,
            encrypted_rooms: 0,
            message,
        },
        undecrypted: Vec::new(),
        fresh_store: fresh,
    };
    ChildEvent::Encryption(running.encryption.clone()).emit();
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

/// What one `/sync` asks for: a long enough timeline, members loaded lazily, no presence.
fn sync_filter() -> Filter {
    let mut definition = FilterDefinition::with_lazy_loading();
    definition.room.timeline.limit = Some(TIMELINE_LIMIT.into());
    definition.presence = EventFilter::ignore_all();
    Filter::FilterDefinition(definition)
}

/// True when the room holds only the bot and one other member. The members come from the SDK's store (asked of
/// the homeserver once per room, as the sync loads them lazily), kept current by the syncs.
async fn is_direct(room: &Room) -> bool {
    match room.members(RoomMemberships::JOIN).await {
        Ok(members) => members.len() == 2,
        Err(e) => {
            tracing::warn!(room_id = %room.room_id(), error = %e, "cannot list the room's members");
            false
        }
    }
}

/// An event as JSON, as [`Incoming::from_event`] reads it.
fn event_json(event: &TimelineEvent) -> Option<Value> {
    serde_json::from_str(event.raw().json().get()).ok()
}

impl Running {
    async fn join_configured(&self) {
        for room in &self.launch.bot.rooms {
            let Ok(id) = <&RoomOrAliasId>::try_from(room.as_str()) else {
                tracing::warn!(room = %room, "not a room id or alias; not joined");
                continue;
            };
            match self.client.join_room_by_id_or_alias(id, &[]).await {
                Ok(joined) => tracing::info!(room = %room, room_id = %joined.room_id(), "joined configured room"),
                Err(e) => tracing::warn!(room = %room, error = %e, "cannot join configured room"),
            }
        }
    }

    async fn sync_forever(&mut self) -> Exit {
        let mut since = self.launch.since.clone();
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut announced = false;
        let filter = sync_filter();
        loop {
            let timeout = if announced { SYNC_TIMEOUT } else { Duration::ZERO };
            let mut settings = SyncSettings::new().filter(filter.clone()).timeout(timeout);
            if let Some(since) = &since {
                settings = settings.token(since.clone()).full_state(self.fresh_store);
            }
            let resp = match self.client.sync_once(settings).await {
                Ok(r) => r,
                Err(e) => {
                    if let Some(errcode) = auth_errcode(&e) {
                        return fatal(errcode, e.to_string());
                    }
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "sync failed");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            backoff.reset();
            self.fresh_store = false;
            // History from before the bot's first sync is never answered.
            let catching_up = since.is_none();
            since = Some(resp.next_batch.clone());
            // Recorded before the batch is handled: a bot killed while answering does not answer again.
            ChildEvent::Since {
                since: resp.next_batch.clone(),
            }
            .emit();
            if !announced {
                announced = true;
                ChildEvent::Running.emit();
                tracing::info!(catching_up, "running");
            }
            self.handle_invites(&resp).await;
            if !catching_up {
                self.handle_messages(&resp).await;
                self.retry_undecrypted().await;
            }
            self.count_rooms();
        }
    }

    async fn handle_invites(&self, resp: &SyncResponse) {
        for (room_id, invited) in &resp.rooms.invited {
            let events: Vec<Value> = invited
                .invite_state
                .events
                .iter()
                .filter_map(|e| serde_json::from_str(e.json().get()).ok())
                .collect();
            let inviter = events
                .iter()
                .find(|e| e["type"] == "m.room.member" && e["state_key"] == self.user_id.as_str())
                .and_then(|e| e["sender"].as_str())
                .unwrap_or("")
                .to_string();
            let Some(room) = self.client.get_room(room_id) else {
                continue;
            };
            if !invite_allowed(&self.launch.bot.invite_allowlist, &self.user_id, &inviter) {
                tracing::info!(%room_id, %inviter, "declining an invite from a user not on the allowlist");
                if let Err(e) = room.leave().await {
                    tracing::warn!(%room_id, error = %e, "cannot decline invite");
                }
                continue;
            }
            match room.join().await {
                Ok(()) => tracing::info!(%room_id, %inviter, "joined on invite"),
                Err(e) => tracing::warn!(%room_id, error = %e, "cannot join on invite"),
            }
        }
    }

    fn identity(&self) -> Identity {
        let others: Vec<String> = crate::locks::lock(&self.other_bots).iter().cloned().collect();
        Identity::new(&self.user_id, &[self.persona_name.as_str()], &others)
    }

    async fn handle_messages(&mut self, resp: &SyncResponse) {
        for (room_id, update) in &resp.rooms.joined {
            for event in &update.timeline.events {
                if let TimelineEventKind::UnableToDecrypt { event, utd_info } = &event.kind {
                    tracing::info!(%room_id, reason = ?utd_info.reason, "a message could not be decrypted yet");
                    self.undecrypted.push(Undecrypted {
                        room_id: room_id.clone(),
                        event: event.clone().cast_unchecked(),
                        since: Instant::now(),
                    });
                    continue;
                }
                self.consider(room_id, event).await;
            }
        }
    }

    /// Tries again the messages whose keys had not come; gives up on them after [`UNDECRYPTED_PATIENCE`].
    async fn retry_undecrypted(&mut self) {
        let pending = std::mem::take(&mut self.undecrypted);
        for u in pending {
            let Some(room) = self.client.get_room(&u.room_id) else {
                continue;
            };
            match room.decrypt_event(&u.event, None).await {
                Ok(event) if !event.kind.is_utd() => self.consider(&u.room_id, &event).await,
                _ if u.since.elapsed() < UNDECRYPTED_PATIENCE => self.undecrypted.push(u),
                _ => tracing::warn!(room_id = %u.room_id, "gave up on a message that could not be decrypted"),
            }
        }
    }

    /// Answers the event when it is a message the reply mode says to answer.
    async fn consider(&mut self, room_id: &OwnedRoomId, event: &TimelineEvent) {
        let Some(msg) = event_json(event).and_then(|e| Incoming::from_event(room_id.as_str(), &e)) else {
            return;
        };
        let me = self.identity();
        if me.is_bot(&msg.sender) {
            return;
        }
        let Some(room) = self.client.get_room(room_id) else {
            return;
        };
        let mode = self.launch.bot.reply_mode;
        let direct = mode == ReplyMode::Mention && !me.is_named_in(&msg) && is_direct(&room).await;
        if !should_answer(mode, &me, &msg, direct) {
            return;
        }
        if !self.cap.try_take(room_id.as_str(), Instant::now()) {
            tracing::warn!(%room_id, "reply cap for this room reached; not answering");
            return;
        }
        self.spawn_reply(room, msg);
    }

    /// Reports the joined and encrypted room counts when they changed.
    fn count_rooms(&mut self) {
        let joined = self.client.joined_rooms();
        let encrypted = joined.iter().filter(|r| r.encryption_state().is_encrypted()).count();
        if (joined.len(), encrypted) != (self.encryption.joined_rooms, self.encryption.encrypted_rooms) {
            self.encryption.joined_rooms = joined.len();
            self.encryption.encrypted_rooms = encrypted;
            ChildEvent::Encryption(self.encryption.clone()).emit();
        }
    }

    fn spawn_reply(&self, room: Room, msg: Incoming) {
        let link = self.link.clone();
        let slots = self.replies.clone();
        let interval = Duration::from_millis(self.launch.edit_interval_ms);
        let received = Instant::now();
        tokio::spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else { return };
            tracing::info!(room_id = %msg.room_id, event_id = %msg.event_id, sender = %msg.sender, "answering");
            let _ = room.typing_notice(true).await;
            let result = stream_reply(&room, &link, &msg, interval).await;
            let _ = room.typing_notice(false).await;
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
/// Answers the new message's event id.
async fn post(room: &Room, msg: &Incoming, text: &str) -> Result<String, matrix_sdk::Error> {
    let body = match &msg.thread_root {
        Some(root) => content::thread_text(root, &msg.event_id, text),
        None => content::text(text),
    };
    Ok(room
        .send_raw("m.room.message", body)
        .await?
        .response
        .event_id
        .to_string())
}

/// Replaces the text of the reply `event_id` posted.
async fn edit(room: &Room, event_id: &str, text: &str) -> Result<(), matrix_sdk::Error> {
    room.send_raw("m.room.message", content::edit(event_id, text))
        .await
        .map(drop)
}

/// Posts the first chunk (in the message's thread, if any), edits the message at most once per `interval` as
/// chunks come, and once more with the whole reply.
async fn stream_reply(room: &Room, link: &PersonaLink, msg: &Incoming, interval: Duration) -> Result<(), ReplyError> {
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
                        let id = post(room, msg, &text).await?;
                        posted = Some((id, text.clone(), EditThrottle::new(interval, Instant::now())));
                    }
                    Some((id, shown, throttle)) => {
                        if *shown != text && throttle.due(Instant::now()) {
                            edit(room, id, &text).await?;
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
                        post(room, msg, &full).await?;
                    }
                    Some((id, shown, _)) if shown != full => {
                        edit(room, &id, &full).await?;
                    }
                    Some(_) => {}
                }
                return Ok(());
            }
        }
    }
}

//! A person on an end-to-end encryption capable client (the Matrix Rust SDK, with its own crypto store in a
//! temporary directory), for the encrypted-room bot tests: creates encrypted direct chats, sends messages that the
//! SDK encrypts, and keeps every message event it syncs, decrypted, as JSON.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::ruma::{OwnedRoomId, RoomId, UserId};
use matrix_sdk::{Client, RoomMemberships};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::synapse::Homeserver;

/// Message events per room id, in the order they were synced.
type Seen = Arc<Mutex<HashMap<OwnedRoomId, Vec<Value>>>>;

/// A logged-in person whose client syncs in the background.
pub struct E2eeHuman {
    client: Client,
    /// Their user id.
    pub user_id: String,
    seen: Seen,
    sync: JoinHandle<()>,
    _store: tempfile::TempDir,
}

impl Drop for E2eeHuman {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

impl E2eeHuman {
    /// Logs in as a new device with its own crypto store, and starts syncing.
    pub async fn login(synapse: &impl Homeserver, user: &str, password: &str) -> Self {
        let store = tempfile::tempdir().expect("temp dir");
        let client = Client::builder()
            .homeserver_url(synapse.url())
            .sqlite_store(store.path(), None)
            .build()
            .await
            .expect("client");
        client
            .matrix_auth()
            .login_username(user, password)
            .initial_device_display_name("e2ee test human")
            .send()
            .await
            .expect("login");
        // The first sync uploads the device's keys and learns the rooms.
        client.sync_once(SyncSettings::new()).await.expect("first sync");
        let seen: Seen = Arc::default();
        let sync = tokio::spawn(sync_forever(client.clone(), seen.clone()));
        Self {
            user_id: client.user_id().expect("logged in").to_string(),
            client,
            seen,
            sync,
            _store: store,
        }
    }

    /// Creates an encrypted direct chat with `user`; answers its room id.
    pub async fn create_dm(&self, user: &str) -> String {
        let user = UserId::parse(user).expect("user id");
        let room = self.client.create_dm(&user).await.expect("create dm");
        assert!(
            room.latest_encryption_state().await.expect("encryption state").is_encrypted(),
            "direct chats are encrypted"
        );
        room.room_id().to_string()
    }

    /// True when `user` has joined the room (as this client has synced it).
    pub async fn has_joined(&self, room: &str, user: &str) -> bool {
        let Some(room) = self.room(room) else { return false };
        room.members_no_sync(RoomMemberships::JOIN)
            .await
            .is_ok_and(|m| m.iter().any(|m| m.user_id().as_str() == user))
    }

    /// True when this client knows `user`'s device `device_id` (it learns new devices of the people it shares
    /// encrypted rooms with as it syncs), so that what it sends next is encrypted for that device too.
    pub async fn knows_device(&self, user: &str, device_id: &str) -> bool {
        let Ok(user) = UserId::parse(user) else { return false };
        self.client
            .encryption()
            .get_device(&user, device_id.into())
            .await
            .is_ok_and(|d| d.is_some())
    }

    fn room(&self, room: &str) -> Option<matrix_sdk::Room> {
        self.client.get_room(&RoomId::parse(room).ok()?)
    }

    /// Sends a text message (encrypted in an encrypted room); answers its event id.
    pub async fn send(&self, room: &str, body: &str) -> String {
        let room = self.room(room).expect("a known room");
        let sent = room.send(RoomMessageEventContent::text_plain(body)).await.expect("sent");
        sent.response.event_id.to_string()
    }

    /// Sends a text message in the thread of `root`; answers its event id.
    pub async fn send_in_thread(&self, room: &str, root: &str, body: &str) -> String {
        let room = self.room(room).expect("a known room");
        let content = json!({"msgtype": "m.text", "body": body, "m.relates_to": {
            "rel_type": "m.thread", "event_id": root, "is_falling_back": true,
            "m.in_reply_to": {"event_id": root}}});
        let sent = room.send_raw("m.room.message", content).await.expect("sent");
        sent.response.event_id.to_string()
    }

    /// The room's message events this client has synced (decrypted where they were encrypted), oldest first;
    /// events it could not decrypt are kept with their `m.room.encrypted` type.
    pub fn messages(&self, room: &str) -> Vec<Value> {
        let Ok(room) = RoomId::parse(room) else { return Vec::new() };
        let seen = self.seen.lock().expect("seen");
        seen.get(&room).cloned().unwrap_or_default()
    }
}

async fn sync_forever(client: Client, seen: Seen) {
    let settings = SyncSettings::new().timeout(Duration::from_secs(5));
    loop {
        match client.sync_once(settings.clone()).await {
            Ok(resp) => {
                let mut seen = seen.lock().expect("seen");
                for (room_id, update) in &resp.rooms.joined {
                    for event in &update.timeline.events {
                        let Ok(value) = serde_json::from_str::<Value>(event.raw().json().get()) else { continue };
                        if matches!(value["type"].as_str(), Some("m.room.message" | "m.room.encrypted")) {
                            seen.entry(room_id.clone()).or_default().push(value);
                        }
                    }
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

//! Matrix bots: a bot's configuration, its write-only credentials, and the rules on who may invite it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which messages a bot answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReplyMode {
    /// Messages that name the bot, and every message in a direct chat (a room of two).
    #[default]
    Mention,
    /// Every message in its rooms.
    All,
}

impl ReplyMode {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::All => "all",
        }
    }

    /// Reads a stored or wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mention" => Some(Self::Mention),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

/// A bot's configuration (everything but its secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bot {
    /// Bot id.
    pub id: Uuid,
    /// The persona that speaks through it.
    pub persona_id: Uuid,
    /// Homeserver base URL, e.g. `https://matrix.example.org`.
    pub homeserver: String,
    /// Full Matrix user id, e.g. `@aria:example.org`.
    pub user_id: String,
    /// Rooms (ids or aliases) to join at start; empty: only rooms it is invited to.
    pub rooms: Vec<String>,
    /// Who may invite it: user ids or `*:server`; empty: users of its own homeserver.
    pub invite_allowlist: Vec<String>,
    /// Which messages it answers.
    pub reply_mode: ReplyMode,
    /// Started at boot and restarted when it exits.
    pub enabled: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A bot's credentials: a password, an access token, or both (the token is tried first). Never logged: `Debug`
/// prints which ones are set, not their values.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BotSecrets {
    /// Password for `/login`.
    pub password: Option<String>,
    /// Access token, used instead of logging in.
    pub access_token: Option<String>,
}

impl std::fmt::Debug for BotSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotSecrets")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("access_token", &self.access_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl BotSecrets {
    /// True when there is something to log in with.
    pub fn is_usable(&self) -> bool {
        self.password.as_deref().is_some_and(|p| !p.is_empty())
            || self.access_token.as_deref().is_some_and(|t| !t.is_empty())
    }

    /// The secret values, for scrubbing them out of text.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        [self.password.as_deref(), self.access_token.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
    }
}

/// A bot's end-to-end encryption device, recorded once it has logged in: later starts log in as this device,
/// and a crypto store that does not hold this device's key has been lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotDevice {
    /// The Matrix device id.
    pub device_id: String,
    /// The device's public Ed25519 key (its fingerprint).
    pub ed25519: String,
}

/// What the supervisor hands a bot's process when it starts it: its credentials, where it had got to, and its
/// device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BotResume {
    /// The credentials.
    pub secrets: BotSecrets,
    /// The last `/sync` token the bot took in.
    pub since: Option<String>,
    /// The device it used, once it has logged in.
    pub device: Option<BotDevice>,
}

/// The state of a bot's crypto store (the keys of its end-to-end encryption device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CryptoStoreState {
    /// The store holds the keys of the recorded device.
    Ok,
    /// The bot's first start: a new device, with a new store.
    New,
    /// The store was missing or unreadable (an unreadable one is kept beside it): the bot logged in as a new
    /// device. Messages encrypted for the old device cannot be read; people who verified the bot verify it again.
    Recreated,
    /// The store was missing or unreadable, and the bot's access token binds it to its old device, whose keys are
    /// gone: encrypted rooms cannot work until the bot gets a password or a new access token (`bot.update`).
    Lost,
}

/// A bot's end-to-end encryption, as `bot.get` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BotEncryption {
    /// Its crypto store.
    pub store: CryptoStoreState,
    /// Its device id.
    pub device_id: String,
    /// Its device's public Ed25519 key, for verifying it by hand.
    pub device_key: String,
    /// Rooms it has joined.
    pub joined_rooms: usize,
    /// Of those, the end-to-end encrypted ones.
    pub encrypted_rooms: usize,
    /// What happened to the store and what to do, when it is not `ok` or `new`.
    pub message: Option<String>,
}

/// Exponential backoff: `first`, doubling up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `first` and doubles up to `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            next: first,
        }
    }

    /// The delay to wait now; the one after it is twice as long (up to the maximum).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Back to the first delay (after a success, or a long enough run).
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The server part of a Matrix user id (`@name:server` → `server`).
pub fn server_name(user_id: &str) -> Option<&str> {
    let rest = user_id.strip_prefix('@')?;
    let (local, server) = rest.split_once(':')?;
    (!local.is_empty() && !server.is_empty()).then_some(server)
}

/// The local part of a Matrix user id (`@name:server` → `name`).
pub fn localpart(user_id: &str) -> Option<&str> {
    let rest = user_id.strip_prefix('@')?;
    rest.split_once(':').map(|(local, _)| local).filter(|l| !l.is_empty())
}

/// True for a well-formed user id `@local:server`.
pub fn is_user_id(s: &str) -> bool {
    server_name(s).is_some() && !s.chars().any(char::is_whitespace)
}

/// True for an allowlist entry: a user id, `*:server`, or `*` (anyone).
pub fn is_allowlist_entry(s: &str) -> bool {
    s == "*" || is_user_id(s) || s.strip_prefix("*:").is_some_and(|server| !server.is_empty())
}

/// May `inviter` invite the bot `bot_user_id`? An empty allowlist admits the users of the bot's own homeserver.
pub fn invite_allowed(allowlist: &[String], bot_user_id: &str, inviter: &str) -> bool {
    let inviter_server = server_name(inviter);
    if allowlist.is_empty() {
        return inviter_server.is_some() && inviter_server == server_name(bot_user_id);
    }
    allowlist.iter().any(|entry| {
        entry == "*"
            || entry == inviter
            || entry
                .strip_prefix("*:")
                .is_some_and(|server| Some(server) == inviter_server)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_parts() {
        assert_eq!(server_name("@aria:localhost"), Some("localhost"));
        assert_eq!(server_name("@aria:example.org:8448"), Some("example.org:8448"));
        assert_eq!(localpart("@aria:localhost"), Some("aria"));
        assert_eq!(server_name("aria:localhost"), None);
        assert_eq!(server_name("@:localhost"), None);
        assert!(is_user_id("@aria:localhost"));
        assert!(!is_user_id("@ari a:localhost"));
        assert!(!is_user_id("@aria"));
    }

    #[test]
    fn default_allowlist_is_the_bots_own_server() {
        assert!(invite_allowed(&[], "@aria:localhost", "@alice:localhost"));
        assert!(!invite_allowed(&[], "@aria:localhost", "@mallory:evil.org"));
    }

    #[test]
    fn explicit_allowlist_entries() {
        let list = vec!["@bob:other.org".to_string(), "*:friends.net".to_string()];
        assert!(invite_allowed(&list, "@aria:localhost", "@bob:other.org"));
        assert!(invite_allowed(&list, "@aria:localhost", "@carol:friends.net"));
        assert!(!invite_allowed(&list, "@aria:localhost", "@alice:localhost"));
        assert!(invite_allowed(&["*".into()], "@aria:localhost", "@x:y"));
        assert!(is_allowlist_entry("*:friends.net"));
        assert!(is_allowlist_entry("@bob:other.org"));
        assert!(!is_allowlist_entry("bob"));
        assert!(!is_allowlist_entry("*:"));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = BotSecrets {
            password: Some("hunter2".into()),
            access_token: Some("syt_secret".into()),
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("syt_secret"), "{shown}");
        assert!(s.is_usable());
        assert!(!BotSecrets::default().is_usable());
        assert_eq!(s.values().count(), 2);
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let delays: Vec<u64> = (0..8).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn reply_mode_names_round_trip() {
        for m in [ReplyMode::Mention, ReplyMode::All] {
            assert_eq!(ReplyMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(ReplyMode::parse("never"), None);
    }
}

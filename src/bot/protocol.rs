//! What the supervisor and a bot child say to each other, one JSON object per line: the supervisor writes a
//! [`Launch`] (with the secrets: they never go on the command line or in the environment) and later
//! [`ParentMessage`]s on the child's stdin; the child writes [`ChildEvent`]s on its stdout and its log lines on
//! stderr. The child exits when its stdin closes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::bot::{Bot, BotDevice, BotEncryption, BotSecrets};

/// Exit code of a child whose credentials were refused: it has sent [`ChildEvent::Failed`]; the supervisor shows it
/// `failed` and tries again only after its backoff.
pub const EXIT_FATAL: i32 = 3;

/// Everything a bot needs to run: the first line on its stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    /// The bot's configuration.
    pub bot: Bot,
    /// Its credentials.
    pub secrets: BotSecrets,
    /// The last `/sync` token it took in, if any.
    pub since: Option<String>,
    /// The device it logged in as before, if any.
    pub device: Option<BotDevice>,
    /// Its crypto store's directory (the keys of its device).
    pub crypto_store: PathBuf,
    /// The server's WebSocket JSON-RPC endpoint, `ws://…/mcp`.
    pub server_url: String,
    /// The server's bearer token, when it has one.
    pub server_token: Option<String>,
    /// User ids of the server's other bots, never answered.
    pub other_bots: Vec<String>,
    /// Most replies per room per minute.
    pub max_replies_per_room_per_minute: u32,
    /// Least milliseconds between two edits of a streamed reply.
    pub edit_interval_ms: u64,
}

/// Later lines on the child's stdin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum ParentMessage {
    /// The server's bots changed: these are the other bots' user ids now.
    OtherBots {
        /// User ids.
        user_ids: Vec<String>,
    },
}

/// What the child reports on its stdout.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChildEvent {
    /// Logged in and synced once: answering messages.
    Running,
    /// A `/sync` batch was taken in; a restarted bot goes on from here.
    Since {
        /// The `next_batch` token.
        since: String,
    },
    /// Logged in as this device (recorded: the next start logs in as it again).
    Device(BotDevice),
    /// The state of its encryption: after logging in, and when its rooms change.
    Encryption(BotEncryption),
    /// A message was answered.
    Answered {
        /// Milliseconds from receiving the message to posting the whole reply.
        latency_ms: u64,
    },
    /// The homeserver refused the credentials (or similar): retrying will not help.
    Failed {
        /// The homeserver's `errcode`, e.g. `M_FORBIDDEN`.
        errcode: String,
        /// Its message.
        error: String,
    },
}

impl ChildEvent {
    /// Writes the event to stdout as one line.
    pub fn emit(&self) {
        use std::io::Write;
        if let Ok(line) = serde_json::to_string(self) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_lines() {
        let e = ChildEvent::Failed {
            errcode: "M_FORBIDDEN".into(),
            error: "Invalid password".into(),
        };
        let line = serde_json::to_string(&e).expect("json");
        assert_eq!(
            line,
            r#"{"event":"failed","errcode":"M_FORBIDDEN","error":"Invalid password"}"#
        );
        assert_eq!(serde_json::from_str::<ChildEvent>(&line).expect("back"), e);
        let m = ParentMessage::OtherBots {
            user_ids: vec!["@kira:localhost".into()],
        };
        let line = serde_json::to_string(&m).expect("json");
        assert_eq!(serde_json::from_str::<ParentMessage>(&line).expect("back"), m);
    }
}

//! Which messages a bot answers, and how often: mention detection, the loop guard, the per-room reply cap and
//! the edit throttle. Pure logic, no I/O.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::domain::bot::ReplyMode;

/// A text message seen in a room.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Room id.
    pub room_id: String,
    /// Event id.
    pub event_id: String,
    /// Sender's user id.
    pub sender: String,
    /// The text.
    pub body: String,
    /// User ids in `m.mentions`.
    pub mentioned: Vec<String>,
    /// The thread root's event id when the message is in a thread (`m.thread` relation).
    pub thread_root: Option<String>,
}

impl Incoming {
    /// Reads a timeline event; `None` for anything that is not a plain new text message (edits, notices from
    /// other bots, reactions, state…).
    pub fn from_event(room_id: &str, event: &serde_json::Value) -> Option<Self> {
        if event["type"] != "m.room.message" {
            return None;
        }
        let content = &event["content"];
        if !matches!(content["msgtype"].as_str(), Some("m.text" | "m.emote")) {
            return None;
        }
        let relation = &content["m.relates_to"];
        if relation["rel_type"] == "m.replace" {
            return None;
        }
        let thread_root = if relation["rel_type"] == "m.thread" {
            Some(relation["event_id"].as_str()?.to_string())
        } else {
            None
        };
        Some(Self {
            room_id: room_id.to_string(),
            event_id: event["event_id"].as_str()?.to_string(),
            sender: event["sender"].as_str()?.to_string(),
            body: content["body"].as_str()?.to_string(),
            mentioned: content["m.mentions"]["user_ids"]
                .as_array()
                .map(|ids| ids.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            thread_root,
        })
    }
}

/// Who the bot is, for deciding what to answer.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its user id.
    pub user_id: String,
    /// Names it answers to (its user id's local part, the persona's name), lower-cased.
    pub names: Vec<String>,
    /// The server's other bots: never answered.
    pub other_bots: HashSet<String>,
}

impl Identity {
    /// An identity answering to the user id's local part and the given names.
    pub fn new(user_id: &str, names: &[&str], other_bots: &[String]) -> Self {
        let mut all: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
        if let Some(local) = crate::domain::bot::localpart(user_id) {
            all.push(local.to_lowercase());
        }
        all.retain(|n| !n.trim().is_empty());
        all.sort();
        all.dedup();
        Self {
            user_id: user_id.to_string(),
            names: all,
            other_bots: other_bots.iter().cloned().collect(),
        }
    }

    /// True when the message names the bot: its user id in `m.mentions` or in the text, or one of its names as a
    /// whole word (`@aria hello`, `Aria, hi`; not `Ariadne`).
    pub fn is_named_in(&self, msg: &Incoming) -> bool {
        if msg.mentioned.iter().any(|u| u == &self.user_id) || msg.body.contains(&self.user_id) {
            return true;
        }
        let body = msg.body.to_lowercase();
        self.names.iter().any(|name| contains_word(&body, name))
    }

    /// The loop guard: true for the bot's own messages and those of the server's other bots.
    pub fn is_bot(&self, sender: &str) -> bool {
        sender == self.user_id || self.other_bots.contains(sender)
    }
}

fn contains_word(haystack: &str, word: &str) -> bool {
    haystack.match_indices(word).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Should the bot answer this message? `is_direct` says the room holds only the bot and one other member.
pub fn should_answer(mode: ReplyMode, me: &Identity, msg: &Incoming, is_direct: bool) -> bool {
    if me.is_bot(&msg.sender) {
        return false;
    }
    match mode {
        ReplyMode::All => true,
        ReplyMode::Mention => is_direct || me.is_named_in(msg),
    }
}

/// At most `per_minute` replies per room in any sliding minute.
pub struct RoomRateCap {
    per_minute: usize,
    sent: HashMap<String, VecDeque<Instant>>,
}

impl RoomRateCap {
    /// A cap of `per_minute` replies per room.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1) as usize,
            sent: HashMap::new(),
        }
    }

    /// Takes a reply slot in `room` at `now`; false when the room's minute is full.
    pub fn try_take(&mut self, room: &str, now: Instant) -> bool {
        let window = self.sent.entry(room.to_string()).or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(60))
        {
            window.pop_front();
        }
        if window.len() >= self.per_minute {
            return false;
        }
        window.push_back(now);
        true
    }
}

/// Edits of a streamed reply: at most one per interval, counted from when the homeserver took the last one (so
/// a slow homeserver cannot squeeze two edits closer together).
pub struct EditThrottle {
    interval: Duration,
    last: Instant,
}

impl EditThrottle {
    /// A throttle whose first edit may come one interval after `posted` (when the first chunk was sent).
    pub fn new(interval: Duration, posted: Instant) -> Self {
        Self { interval, last: posted }
    }

    /// True when an edit may be sent at `now`.
    pub fn due(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last) >= self.interval
    }

    /// An edit was taken by the homeserver at `at`: the next one waits a whole interval from then.
    pub fn sent(&mut self, at: Instant) {
        self.last = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(sender: &str, body: &str) -> Incoming {
        Incoming {
            room_id: "!r:localhost".into(),
            event_id: "$e".into(),
            sender: sender.into(),
            body: body.into(),
            mentioned: vec![],
            thread_root: None,
        }
    }

    fn aria() -> Identity {
        Identity::new("@aria:localhost", &["Aria"], &["@kira:localhost".to_string()])
    }

    #[test]
    fn mentions_by_name_user_id_or_m_mentions() {
        let me = aria();
        assert!(me.is_named_in(&msg("@alice:localhost", "@aria hello")));
        assert!(me.is_named_in(&msg("@alice:localhost", "hi ARIA, how are you")));
        assert!(me.is_named_in(&msg("@alice:localhost", "ping @aria:localhost")));
        assert!(!me.is_named_in(&msg("@alice:localhost", "Ariadne was here")));
        assert!(!me.is_named_in(&msg("@alice:localhost", "hello everyone")));
        let mut m = msg("@alice:localhost", "hello there");
        m.mentioned = vec!["@aria:localhost".into()];
        assert!(me.is_named_in(&m));
    }

    #[test]
    fn reply_modes_and_the_loop_guard() {
        let me = aria();
        let plain = msg("@alice:localhost", "hello everyone");
        assert!(!should_answer(ReplyMode::Mention, &me, &plain, false));
        assert!(should_answer(ReplyMode::Mention, &me, &plain, true));
        assert!(should_answer(ReplyMode::All, &me, &plain, false));
        // Never itself, never another bot of the server, even when named.
        assert!(!should_answer(
            ReplyMode::All,
            &me,
            &msg("@aria:localhost", "aria"),
            true
        ));
        assert!(!should_answer(
            ReplyMode::All,
            &me,
            &msg("@kira:localhost", "@aria hi"),
            true
        ));
    }

    #[test]
    fn only_new_text_messages_count() {
        let text = json!({"type": "m.room.message", "event_id": "$1", "sender": "@a:l",
            "content": {"msgtype": "m.text", "body": "hi", "m.mentions": {"user_ids": ["@aria:localhost"]}}});
        let m = Incoming::from_event("!r:l", &text).expect("a message");
        assert_eq!(m.mentioned, vec!["@aria:localhost".to_string()]);
        assert_eq!(m.thread_root, None);
        let threaded = json!({"type": "m.room.message", "event_id": "$5", "sender": "@a:l",
            "content": {"msgtype": "m.text", "body": "in a thread", "m.relates_to": {"rel_type": "m.thread",
                "event_id": "$root", "is_falling_back": true, "m.in_reply_to": {"event_id": "$1"}}}});
        let m = Incoming::from_event("!r:l", &threaded).expect("a thread message");
        assert_eq!(m.thread_root.as_deref(), Some("$root"));
        let edit = json!({"type": "m.room.message", "event_id": "$2", "sender": "@a:l",
            "content": {"msgtype": "m.text", "body": "* hi", "m.relates_to": {"rel_type": "m.replace", "event_id": "$1"}}});
        assert!(Incoming::from_event("!r:l", &edit).is_none());
        let notice = json!({"type": "m.room.message", "event_id": "$3", "sender": "@a:l",
            "content": {"msgtype": "m.notice", "body": "beep"}});
        assert!(Incoming::from_event("!r:l", &notice).is_none());
        let state = json!({"type": "m.room.member", "event_id": "$4", "sender": "@a:l", "content": {}});
        assert!(Incoming::from_event("!r:l", &state).is_none());
    }

    #[test]
    fn rate_cap_slides_per_room() {
        let mut cap = RoomRateCap::new(2);
        let t0 = Instant::now();
        assert!(cap.try_take("!a", t0));
        assert!(cap.try_take("!a", t0 + Duration::from_secs(1)));
        assert!(!cap.try_take("!a", t0 + Duration::from_secs(2)));
        assert!(cap.try_take("!b", t0 + Duration::from_secs(2)));
        assert!(cap.try_take("!a", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn edits_at_most_once_per_interval() {
        let t0 = Instant::now();
        let mut t = EditThrottle::new(Duration::from_secs(1), t0);
        assert!(!t.due(t0 + Duration::from_millis(500)));
        assert!(t.due(t0 + Duration::from_millis(1000)));
        // The edit took 300 ms to be taken: the next waits a whole second from then.
        t.sent(t0 + Duration::from_millis(1300));
        assert!(!t.due(t0 + Duration::from_millis(2000)));
        assert!(t.due(t0 + Duration::from_millis(2300)));
    }
}

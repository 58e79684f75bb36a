//! The contents of the messages a bot posts: a text, a text in a thread, and the edit that replaces a text as a
//! streamed reply grows. The Matrix SDK sends them as they are, encrypted in encrypted rooms.

use serde_json::{json, Value};

/// A plain text message.
pub fn text(body: &str) -> Value {
    json!({ "msgtype": "m.text", "body": body })
}

/// A text message in the thread of `thread_root`, answering `in_reply_to` (the message the bot answers): an
/// `m.thread` relation with `is_falling_back`, so clients without threads show it as a reply to that message
/// (Matrix spec, threading).
pub fn thread_text(thread_root: &str, in_reply_to: &str, body: &str) -> Value {
    json!({
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": true,
            "m.in_reply_to": { "event_id": in_reply_to },
        },
    })
}

/// Replaces the text of the earlier message `event_id` (`m.replace`, with the `"* "` fallback body).
pub fn edit(event_id: &str, body: &str) -> Value {
    json!({
        "msgtype": "m.text",
        "body": format!("* {body}"),
        "m.new_content": { "msgtype": "m.text", "body": body },
        "m.relates_to": { "rel_type": "m.replace", "event_id": event_id },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_messages_carry_the_thread_relation_and_the_reply_fallback() {
        let c = thread_text("$root", "$last", "hi");
        assert_eq!(c["body"], "hi");
        assert_eq!(c["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(c["m.relates_to"]["event_id"], "$root");
        assert_eq!(c["m.relates_to"]["is_falling_back"], true);
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$last");
    }

    #[test]
    fn edits_replace_with_a_fallback_body() {
        let c = edit("$first", "whole reply");
        assert_eq!(c["body"], "* whole reply");
        assert_eq!(c["m.new_content"]["body"], "whole reply");
        assert_eq!(c["m.relates_to"]["rel_type"], "m.replace");
        assert_eq!(c["m.relates_to"]["event_id"], "$first");
        assert_eq!(text("x")["msgtype"], "m.text");
    }
}

//! Memory's part in a chat turn: relevant memories go into the system prompt; the exchange becomes a scored
//! `conversation` memory (stored before the answer is sent, embedded right after).

use std::sync::Arc;

use chrono::Utc;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{MemoryService, SearchQuery};
use crate::domain::importance::{self, ImportanceInput, ImportanceWeights};
use crate::domain::memory::{Memory, MEMORY_TYPE_CONVERSATION};
use crate::domain::prompt::PromptSection;
use crate::hooks::{CompletedTurn, TurnContext, TurnHook};

/// The hook.
pub struct MemoryHook(pub Arc<MemoryService>);

/// Ends a text that was cut short.
const ELLIPSIS: &str = "…";

/// `text` cut to at most `max` bytes at a character boundary, ending with "…" when it was cut.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(ELLIPSIS.len());
    let end = (0..=keep).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    if max < ELLIPSIS.len() {
        text[..end].to_string()
    } else {
        format!("{}{ELLIPSIS}", &text[..end])
    }
}

/// The memory text of one exchange ("Speaker: message\nPersona: reply") and whether it had to be cut to fit
/// `max_bytes` (`memory.max_content_bytes`). When it does not fit, the message and the reply share the room:
/// the shorter keeps what it needs up to half, the longer gets the rest, and each part cut ends with "…".
pub fn exchange_text(turn: &CompletedTurn, max_bytes: usize) -> (String, bool) {
    let speaker = turn.sender.as_deref().unwrap_or("User");
    let (message, reply) = (turn.user_message.as_str(), turn.reply.as_str());
    let join = |m: &str, r: &str| format!("{speaker}: {m}\n{}: {r}", turn.persona.name);
    let whole = join(message, reply);
    if whole.len() <= max_bytes {
        return (whole, false);
    }
    let room = max_bytes.saturating_sub(whole.len() - message.len() - reply.len());
    if room < 2 * ELLIPSIS.len() {
        return (clip(&whole, max_bytes), true);
    }
    let half = room / 2;
    let (message_room, reply_room) = if message.len() <= half {
        (message.len(), room - message.len())
    } else if reply.len() <= room - half {
        (room - reply.len(), reply.len())
    } else {
        (half, room - half)
    };
    (join(&clip(message, message_room), &clip(reply, reply_room)), true)
}

impl TurnHook for MemoryHook {
    /// The memories the speaking persona recalls: its own (private ones included) and, in a conversation with
    /// another persona, those of the partner's memories that the visibility rule lets it see; the best
    /// `memory.prompt_memories` of both by relevance.
    fn prompt_sections(&self, turn: TurnContext) -> BoxFuture<'static, Vec<PromptSection>> {
        let service = self.0.clone();
        async move {
            let me = turn.persona.id;
            let n = service.settings().prompt_memories;
            let query = |owner| SearchQuery {
                persona: owner,
                reader: me,
                query: turn.user_message.clone(),
                n_results: n,
                min_importance: 0.0,
                memory_type: None,
                touch: false,
                deadline: None,
            };
            let owners = std::iter::once(me).chain(turn.partner.filter(|p| *p != me));
            let mut hits = Vec::new();
            for owner in owners {
                match service.recall(query(owner)).await {
                    Ok(found) => hits.extend(found),
                    Err(e) => tracing::warn!(error = %e, "recalling memories for the prompt failed"),
                }
            }
            if hits.is_empty() {
                return Vec::new();
            }
            // Stable: between equal scores the speaker's own memories come first.
            hits.sort_by(|a, b| b.score.total_cmp(&a.score));
            hits.truncate(n);
            vec![PromptSection {
                title: "Things you remember".into(),
                body: hits
                    .iter()
                    .map(|h| format!("- {}", h.memory.content.replace('\n', " / ")))
                    .collect::<Vec<_>>()
                    .join("\n"),
                recalled: hits.iter().map(|h| h.memory.id).collect(),
            }]
        }
        .boxed()
    }

    fn after_turn(&self, turn: CompletedTurn) -> BoxFuture<'static, bool> {
        let service = self.0.clone();
        async move {
            if turn.reply.trim().is_empty() {
                return false;
            }
            let (text, cut) = exchange_text(&turn, service.settings().max_content_bytes);
            let score = importance::score(
                &ImportanceInput {
                    speaker: Some(&turn.persona),
                    ..ImportanceInput::new(&text)
                },
                &ImportanceWeights::default(),
            );
            let mut memory = Memory::new(turn.persona.id, text, MEMORY_TYPE_CONVERSATION, score.total, Utc::now());
            memory.metadata = serde_json::json!({
                "conversation_id": turn.conversation_id,
                "partial": turn.partial,
                "truncated": cut,
            });
            match service.store(vec![memory], false).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "storing the chat turn as a memory failed");
                    false
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::seeds;

    fn turn(message: &str, reply: &str) -> CompletedTurn {
        let (persona, _) = seeds::defaults().remove(0);
        CompletedTurn {
            persona,
            user_message: message.into(),
            reply: reply.into(),
            partial: false,
            sender: None,
            conversation_id: uuid::Uuid::nil(),
        }
    }

    #[test]
    fn a_short_exchange_is_kept_whole() {
        let t = turn("Hello", "Well met");
        assert_eq!(
            exchange_text(&t, 1000),
            (format!("User: Hello\n{}: Well met", t.persona.name), false)
        );
    }

    #[test]
    fn a_long_reply_is_cut_to_the_limit_at_a_character_boundary() {
        let reply = "é".repeat(1_000_000);
        let (text, cut) = exchange_text(&turn("Sing for me", &reply), 1001);
        assert!(cut);
        assert!(text.len() <= 1001, "{} bytes", text.len());
        assert!(text.len() >= 990, "the room is used: {} bytes", text.len());
        assert!(
            text.starts_with("User: Sing for me\n"),
            "the short message is kept whole: {text}"
        );
        assert!(text.ends_with("é…"), "{text}");
    }

    #[test]
    fn two_long_parts_share_the_room() {
        let long = "word ".repeat(10_000);
        let (text, cut) = exchange_text(&turn(&long, &long), 2000);
        assert!(cut && text.len() <= 2000);
        let (message, reply) = text.split_once('\n').expect("two lines");
        assert!(message.ends_with('…') && reply.ends_with('…'));
        assert!(
            message.len().abs_diff(reply.len()) < 20,
            "{} vs {}",
            message.len(),
            reply.len()
        );
    }

    #[test]
    fn a_limit_smaller_than_the_frame_still_holds() {
        for max in [1, 3, 8, 20] {
            let (text, cut) = exchange_text(&turn("Hello there", "Well met, traveller"), max);
            assert!(cut && text.len() <= max, "{max}: {text:?}");
        }
    }
}

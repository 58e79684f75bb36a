//! `scripted`: a model that needs no server, for scenario tests (`persona-mcp scenario run --llm fake`) and
//! demos. It answers with the replies queued on it, in order, and once they run out with "Reply to: <the last
//! message>", streamed word by word.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};

use super::{ChatRequest, EventStream, LlmBackend, LlmError, LlmEvent};
use crate::domain::chat::Role;

/// The scripted model.
#[derive(Default)]
pub struct Scripted {
    queue: Mutex<VecDeque<String>>,
}

impl Scripted {
    /// Queues replies for the next chats, in order.
    pub fn queue(&self, replies: impl IntoIterator<Item = String>) {
        self.lock().extend(replies);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        crate::locks::lock(&self.queue)
    }
}

/// Splits a reply into tokens that keep their leading whitespace, so that joined they give the reply back.
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, word) in text.split(' ').enumerate() {
        out.push(if i == 0 { word.to_string() } else { format!(" {word}") });
    }
    out.retain(|t| !t.is_empty());
    out
}

impl LlmBackend for Scripted {
    fn provider(&self) -> &'static str {
        "scripted"
    }

    fn url(&self) -> &str {
        "scripted:"
    }

    fn default_model(&self) -> &str {
        "scripted"
    }

    fn chat_stream(&self, request: ChatRequest) -> BoxFuture<'static, Result<EventStream, LlmError>> {
        let reply = self.lock().pop_front().unwrap_or_else(|| {
            let last = request
                .messages
                .iter()
                .rev()
                .find(|m| m.role == Role::User)
                .map_or("", |m| m.content.as_str());
            format!("Reply to: {}", last.trim())
        });
        let mut events: Vec<Result<LlmEvent, LlmError>> = tokens(&reply)
            .into_iter()
            .take(request.max_tokens.max(1) as usize)
            .map(|t| Ok(LlmEvent::Token(t)))
            .collect();
        let count = events.len() as u32;
        events.push(Ok(LlmEvent::Done {
            completion_tokens: Some(count),
            prompt_tokens: None,
        }));
        async move { Ok(futures_util::stream::iter(events).boxed()) }.boxed()
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        async { Ok(vec!["scripted".to_string()]) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::PromptMessage;

    fn request(message: &str) -> ChatRequest {
        ChatRequest {
            model: "scripted".into(),
            messages: vec![PromptMessage {
                role: Role::User,
                content: message.into(),
            }],
            max_tokens: 100,
            temperature: 0.0,
            images: Vec::new(),
            top_p: None,
            num_ctx: None,
            stop: Vec::new(),
            fallback: Vec::new(),
        }
    }

    async fn reply(s: &Scripted, message: &str) -> String {
        crate::llm::complete(s, request(message)).await.unwrap()
    }

    #[tokio::test]
    async fn queued_replies_come_first_then_echoes() {
        let s = Scripted::default();
        s.queue(["Well met!".to_string(), "Farewell.".to_string()]);
        assert_eq!(reply(&s, "hi").await, "Well met!");
        assert_eq!(reply(&s, "bye").await, "Farewell.");
        assert_eq!(reply(&s, " again ").await, "Reply to: again");
        assert_eq!(tokens("a  b"), vec!["a", " ", " b"]);
    }
}

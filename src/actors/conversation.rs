//! `ConversationSession`: one chat conversation between a client session and a persona. It owns the history
//! window and the running summary, runs one turn at a time, and persists every message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use super::persona::PersonaActor;
use super::turn::{run_turn, Chat, ChatOutcome, TurnDeps, TurnInput};
use crate::domain::chat::{ChatConversation, ChatMessage};
use crate::domain::prompt;
use crate::error::AppError;
use crate::llm::{self, ChatRequest};

/// What identifies a chat conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConversationKey {
    /// The client session.
    pub session_id: String,
    /// The persona.
    pub persona: uuid::Uuid,
    /// Room/sender for bridged chats; empty for direct chats.
    pub channel: String,
}

/// The actor.
pub struct ConversationSession {
    key: ConversationKey,
    deps: TurnDeps,
    persona: Addr<PersonaActor>,
    conversation: Option<ChatConversation>,
    history: Vec<ChatMessage>,
    message_count: i64,
    started: Instant,
    last_used: Arc<AtomicU64>,
    summarizing: bool,
}

impl ConversationSession {
    /// A session for `key`; the stored conversation is loaded before any message is handled.
    pub fn new(key: ConversationKey, deps: TurnDeps, persona: Addr<PersonaActor>, last_used: Arc<AtomicU64>) -> Self {
        Self {
            key,
            deps,
            persona,
            conversation: None,
            history: Vec::new(),
            message_count: 0,
            started: Instant::now(),
            last_used,
            summarizing: false,
        }
    }

    fn touch(&self) {
        self.last_used.store(super::clock::epoch_secs(), Ordering::Relaxed);
    }

    /// Folds messages that left the window into the running summary, off the turn's critical path.
    fn maybe_summarize(&mut self, ctx: &mut Context<Self>) {
        let threshold = self.deps.chat().context_summary_threshold as i64;
        let Some(conv) = self.conversation.clone() else { return };
        let Some(oldest_in_window) = self.history.first().map(|m| m.seq) else {
            return;
        };
        if self.summarizing || self.message_count <= threshold || oldest_in_window <= conv.summarized_through + 1 {
            return;
        }
        self.summarizing = true;
        let deps = self.deps.clone();
        let persona = self.persona.clone();
        let through = oldest_in_window - 1;
        let fut = async move {
            let snapshot = persona.send(super::persona::GetSnapshot).await?;
            let (id, after) = (conv.id, conv.summarized_through);
            let older = deps.store.conversations().range(id, after, through).await?;
            let messages = prompt::summary_request(&snapshot.persona, conv.summary.as_deref(), &older);
            let model = snapshot
                .persona
                .model
                .clone()
                .unwrap_or_else(|| deps.llm.default_model().to_string());
            let summary = llm::complete(
                deps.llm.as_ref(),
                ChatRequest {
                    model,
                    messages,
                    max_tokens: 400,
                    temperature: 0.3,
                    images: Vec::new(),
                },
            )
            .await?;
            deps.store
                .conversations()
                .set_summary(id, summary.clone(), through)
                .await?;
            Ok::<_, AppError>((summary, through))
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, _| {
            act.summarizing = false;
            match res {
                Ok((summary, through)) => {
                    if let Some(c) = act.conversation.as_mut() {
                        c.summary = Some(summary);
                        c.summarized_through = through;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "summarising the conversation failed; will retry next turn"),
            }
        }));
    }
}

impl Actor for ConversationSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.touch();
        let (store, key, window) = (
            self.deps.store.clone(),
            self.key.clone(),
            self.deps.chat().max_context_messages,
        );
        let load = async move {
            store
                .conversations()
                .load(&key.session_id, key.persona, &key.channel, window)
                .await
        };
        ctx.wait(load.into_actor(self).map(|res, act, ctx| match res {
            Ok(loaded) => {
                act.conversation = Some(loaded.conversation);
                act.history = loaded.history;
                act.message_count = loaded.message_count;
            }
            Err(e) => {
                tracing::error!(error = %e, "loading chat conversation failed");
                ctx.stop();
            }
        }));
    }
}

impl Handler<Chat> for ConversationSession {
    type Result = AtomicResponse<Self, Result<ChatOutcome, AppError>>;

    fn handle(&mut self, chat: Chat, _: &mut Context<Self>) -> Self::Result {
        self.touch();
        let Some(conversation) = self.conversation.clone() else {
            return AtomicResponse::new(Box::pin(
                fut::ready(Err(AppError::Internal("conversation not loaded".into()))).into_actor(self),
            ));
        };
        let input = TurnInput {
            deps: self.deps.clone(),
            persona: self.persona.clone(),
            conversation,
            history: self.history.clone(),
            conversation_minutes: self.started.elapsed().as_secs_f64() / 60.0,
        };
        AtomicResponse::new(Box::pin(run_turn(input, chat).into_actor(self).map(|res, act, ctx| {
            act.touch();
            res.map(|(outcome, stored)| {
                if let Some(c) = act.conversation.as_mut() {
                    c.id = outcome.conversation_id;
                }
                act.message_count += stored.len() as i64;
                act.history.extend(stored);
                let window = act.deps.chat().max_context_messages;
                if act.history.len() > window {
                    act.history.drain(..act.history.len() - window);
                }
                act.maybe_summarize(ctx);
                outcome
            })
        })))
    }
}

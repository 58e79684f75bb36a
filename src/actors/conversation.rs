//! `ConversationSession`: one chat conversation between a client session and a persona. It owns the history
//! window and the topic threads (each with its running summary), runs one turn at a time, and persists every
//! message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix::prelude::*;

use super::persona::PersonaActor;
use super::turn::{assemble, run_turn, Chat, ChatOutcome, TurnDeps, TurnInput, TurnRecord};
use crate::domain::chat::{ChatConversation, ChatMessage, PromptMessage};
use crate::domain::model_rules::{Situation, Task};
use crate::domain::prompt;
use crate::domain::thread::Thread;
use crate::error::AppError;
use crate::llm::{self, ChatRequest};

/// The most tokens a thread summary may take.
const SUMMARY_TOKENS: u32 = 400;

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
    /// Live topic threads, most recently active first.
    threads: Vec<Thread>,
    message_count: i64,
    started: Instant,
    last_used: Arc<AtomicU64>,
    /// The stored conversation's id, for the registry (announcements of other instances name it).
    known_id: Arc<Mutex<Option<uuid::Uuid>>>,
    summarizing: bool,
}

impl ConversationSession {
    /// A session for `key`; the stored conversation is loaded before any message is handled.
    pub fn new(
        key: ConversationKey,
        deps: TurnDeps,
        persona: Addr<PersonaActor>,
        last_used: Arc<AtomicU64>,
        known_id: Arc<Mutex<Option<uuid::Uuid>>>,
    ) -> Self {
        Self {
            key,
            deps,
            persona,
            conversation: None,
            history: Vec::new(),
            threads: Vec::new(),
            message_count: 0,
            started: Instant::now(),
            last_used,
            known_id,
            summarizing: false,
        }
    }

    /// Publishes the stored conversation's id to the registry.
    fn publish_id(&self) {
        let id = self.conversation.as_ref().map(|c| c.id);
        *crate::locks::lock(&self.known_id) = id;
    }

    /// Loads the stored conversation: its history window, live threads and size (before the first message, and
    /// again when another instance added messages to it).
    fn load(&mut self, ctx: &mut Context<Self>) {
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
                act.threads = loaded.threads;
                act.message_count = loaded.message_count;
                act.publish_id();
            }
            Err(e) => {
                tracing::error!(error = %e, "loading chat conversation failed");
                ctx.stop();
            }
        }));
    }

    fn touch(&self) {
        self.last_used.store(super::clock::epoch_secs(), Ordering::Relaxed);
    }

    /// Folds the current thread's messages that left its history window into the thread's running summary,
    /// off the turn's critical path.
    fn maybe_summarize(&mut self, ctx: &mut Context<Self>) {
        let threshold = self.deps.chat().context_summary_threshold as i64;
        let (Some(conv), Some(thread)) = (self.conversation.clone(), self.threads.first().cloned()) else {
            return;
        };
        if self.summarizing || thread.message_count <= threshold {
            return;
        }
        self.summarizing = true;
        let deps = self.deps.clone();
        let persona = self.persona.clone();
        let window = self.deps.chat().max_context_messages;
        let thread_count = self.threads.len();
        let fut = async move {
            let threads = deps.store.threads();
            let shown = threads.recent(conv.id, thread.id, window).await?;
            let Some(through) = shown.first().map(|m| m.seq - 1) else {
                return Ok(None);
            };
            let older = threads
                .range(conv.id, thread.id, thread.summarized_through, through)
                .await?;
            if older.is_empty() {
                return Ok(None);
            }
            let snapshot = persona.send(super::persona::GetSnapshot).await?;
            let messages =
                prompt::summary_request(&deps.templates, &snapshot.persona, thread.summary.as_deref(), &older);
            let choice = deps.choose_model(&Situation {
                token_budget: SUMMARY_TOKENS,
                message_chars: older.iter().map(|m| m.content.chars().count()).sum(),
                threads: thread_count,
                ..Situation::new(&snapshot.persona, Task::Summary)
            });
            let summary = llm::complete(deps.llm.as_ref(), ChatRequest::new(choice, messages, SUMMARY_TOKENS)).await?;
            threads.set_summary(thread.id, summary.clone(), through).await?;
            Ok::<_, AppError>(Some((summary, through)))
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, _| {
            act.summarizing = false;
            match res {
                Ok(Some((summary, through))) => {
                    if let Some(t) = act.threads.iter_mut().find(|t| t.id == thread.id) {
                        t.summary = Some(summary);
                        t.summarized_through = through;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "summarising the thread failed; will retry next turn"),
            }
        }));
    }

    /// What a turn on `conversation` works from.
    fn input(&self, conversation: ChatConversation) -> TurnInput {
        TurnInput {
            deps: self.deps.clone(),
            persona: self.persona.clone(),
            conversation,
            history: self.history.clone(),
            threads: self.threads.clone(),
            stored: self.message_count > 0,
            conversation_minutes: self.started.elapsed().as_secs_f64() / 60.0,
        }
    }

    /// Names the thread a turn joined by model, when a title model is configured and the thread is due one.
    fn maybe_title(&mut self, ctx: &mut Context<Self>, thread: &Thread) {
        if !super::titling::due(&self.deps, thread) {
            return;
        }
        let fut = super::titling::title(
            self.deps.clone(),
            self.persona.clone(),
            thread.clone(),
            self.threads.len(),
        );
        let id = thread.id;
        ctx.spawn(fut.into_actor(self).map(move |res, act, _| match res {
            Ok(Some(title)) => {
                if let Some(t) = act.threads.iter_mut().find(|t| t.id == id) {
                    t.set_title(title);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "titling the thread failed; it keeps its keyword label"),
        }));
    }

    /// Puts the thread a turn joined first among the live threads (keeping a title given meanwhile).
    fn joined(&mut self, mut thread: Thread) {
        let titled = self
            .threads
            .iter()
            .find(|t| t.id == thread.id)
            .and_then(|t| t.title.clone());
        if let (None, Some(title)) = (&thread.title, titled) {
            thread.set_title(title);
        }
        self.threads.retain(|t| t.id != thread.id);
        self.threads.insert(0, thread);
        self.threads.truncate(crate::storage::LIVE_THREADS);
    }
}

impl Actor for ConversationSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.touch();
        self.load(ctx);
    }
}

/// Another instance sharing the database added messages to the conversation: the window is read again (after
/// the turn in progress, if any).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReloadWindow;

impl Handler<ReloadWindow> for ConversationSession {
    type Result = ();
    fn handle(&mut self, _: ReloadWindow, ctx: &mut Context<Self>) {
        self.load(ctx);
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
        let input = self.input(conversation);
        AtomicResponse::new(Box::pin(run_turn(input, chat).into_actor(self).map(|res, act, ctx| {
            act.touch();
            res.map(
                |TurnRecord {
                     outcome,
                     stored,
                     thread,
                 }| {
                    if let Some(c) = act.conversation.as_mut() {
                        c.id = outcome.conversation_id;
                    }
                    act.publish_id();
                    act.maybe_title(ctx, &thread);
                    act.joined(thread);
                    act.message_count += stored.len() as i64;
                    act.history.extend(stored);
                    let window = act.deps.chat().max_context_messages;
                    if act.history.len() > window {
                        act.history.drain(..act.history.len() - window);
                    }
                    act.maybe_summarize(ctx);
                    outcome
                },
            )
        })))
    }
}

/// Asks for the prompt a message would get, without sending it to the model or storing anything.
#[derive(Message)]
#[rtype(result = "Result<ShownPrompt, AppError>")]
pub struct ShowPrompt {
    /// The message.
    pub message: String,
    /// The most tokens the reply may use.
    pub token_budget: u32,
}

/// The prompt a message would get.
#[derive(Debug, Clone)]
pub struct ShownPrompt {
    /// The model it would go to.
    pub model: String,
    /// The messages, system prompt first.
    pub messages: Vec<PromptMessage>,
    /// The label of the topic thread the message would join (empty for a new thread without keywords).
    pub thread: String,
}

impl Handler<ShowPrompt> for ConversationSession {
    type Result = AtomicResponse<Self, Result<ShownPrompt, AppError>>;

    fn handle(&mut self, show: ShowPrompt, _: &mut Context<Self>) -> Self::Result {
        let Some(conversation) = self.conversation.clone() else {
            return AtomicResponse::new(Box::pin(
                fut::ready(Err(AppError::Internal("conversation not loaded".into()))).into_actor(self),
            ));
        };
        let input = self.input(conversation);
        let fut = async move {
            let a = assemble(&input, &show.message, &[], show.token_budget, None).await?;
            Ok(ShownPrompt {
                model: a.request.model,
                messages: a.request.messages,
                thread: a.placed.thread.label,
            })
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self)))
    }
}

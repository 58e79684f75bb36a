//! One chat turn: assemble the prompt, stream the model's reply to the caller as it comes, stop on cancel,
//! budget or timeout, store the exchange, and let the persona and the hooks learn from it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::persona::{self, ApplyTurn, GetSnapshot, PersonaActor, Snapshot};
use super::threading::{Placed, Placement};
use crate::config::ChatSettings;
use crate::domain::chat::{ChatConversation, ChatMessage, Role, TurnStats};
use crate::domain::image::{self, Image};
use crate::domain::model_rules::{ModelChoice, Situation, Task};
use crate::domain::persona::InteractionState;
use crate::domain::prompt::{self, PromptInput};
use crate::domain::templates::PromptTemplates;
use crate::domain::thread::{Thread, ThreadRules};
use crate::embed::Embedder;
use crate::error::AppError;
use crate::hooks::{CompletedTurn, Hooks, TurnContext};
use crate::live::LiveSettings;
use crate::llm::{ChatRequest, LlmBackend, LlmError, LlmEvent};
use crate::metrics::Metrics;
use crate::storage::Store;

/// What every turn needs from the application.
#[derive(Clone)]
pub struct TurnDeps {
    /// Storage.
    pub store: Store,
    /// Chat model.
    pub llm: Arc<dyn LlmBackend>,
    /// Features that join each turn.
    pub hooks: Hooks,
    /// The settings in force (chat window, summary, budgets; sampling temperature).
    pub settings: LiveSettings,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The embedder memory recall uses (it remembers the message's vector for the threading step).
    pub embedder: Option<Arc<dyn Embedder>>,
    /// The prompt templates.
    pub templates: Arc<PromptTemplates>,
}

impl TurnDeps {
    /// Window, summary and budgets in force.
    pub fn chat(&self) -> ChatSettings {
        self.settings.current().chat.clone()
    }

    /// The model, fallbacks and options for a call (the `[models]` rules in force); summaries and titles default
    /// to a cooler temperature than replies.
    pub fn choose_model(&self, situation: &Situation) -> ModelChoice {
        let settings = self.settings.current();
        let temperature = match situation.task {
            Task::Summary | Task::Title => 0.3,
            Task::Chat | Task::PersonaToPersona => settings.llm.temperature,
        };
        settings.models.choose(situation, self.llm.default_model(), temperature)
    }

    /// How messages are sorted into topic threads.
    pub fn thread_rules(&self) -> ThreadRules {
        let chat = self.chat();
        ThreadRules {
            threshold: chat.thread_threshold,
            continuity_bonus: chat.thread_continuity_bonus,
        }
    }
}

/// Receives each chunk as it arrives: text, 1-based number, characters so far.
pub type ChunkSink = Box<dyn FnMut(&str, usize, usize) + Send>;

/// Asks a conversation for the persona's reply to a message.
#[derive(Message)]
#[rtype(result = "Result<ChatOutcome, AppError>")]
pub struct Chat {
    /// The message to answer.
    pub message: String,
    /// The most tokens the reply may use.
    pub token_budget: u32,
    /// Chat-platform sender.
    pub sender: Option<String>,
    /// Chat-platform room.
    pub room_id: Option<String>,
    /// Pictures sent with the message, already stored under the data dir.
    pub images: Vec<Image>,
    /// Where chunks go while streaming (none for a plain chat).
    pub sink: Option<ChunkSink>,
    /// Stops the turn (cancel or disconnect); the partial reply is kept.
    pub cancel: CancellationToken,
    /// The longest the turn may take.
    pub timeout: Duration,
    /// When the request arrived (for the server's share of the time to the first chunk).
    pub requested_at: Instant,
    /// The persona's snapshot when the caller already looked it up: the turn then does not ask its actor again.
    pub snapshot: Option<Snapshot>,
}

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// The model finished.
    Complete,
    /// The token budget was reached.
    BudgetReached,
    /// Cancelled by the client or by disconnect.
    Cancelled,
    /// The turn took longer than allowed.
    TimedOut,
    /// The model failed after part of the reply came (broken data, reset connection, read timeout); the partial
    /// reply is kept and marked partial.
    Failed,
}

/// The result of a turn.
#[derive(Debug, Clone)]
pub struct ChatOutcome {
    /// The reply (partial when cut short).
    pub response: String,
    /// How it ended.
    pub end: TurnEnd,
    /// What broke when `end` is [`TurnEnd::Failed`].
    pub failure: Option<LlmError>,
    /// Chunks received.
    pub chunk_count: usize,
    /// Tokens the model reports (or the chunk count).
    pub tokens_used: u32,
    /// Seconds the turn took.
    pub processing_time: f64,
    /// The persona's wish to continue (0..100).
    pub continue_score: f64,
    /// The persona's state after the turn.
    pub persona_state: InteractionState,
    /// The persona's id.
    pub persona_id: Uuid,
    /// The stored conversation.
    pub conversation_id: Uuid,
    /// The topic thread the exchange joined.
    pub thread_id: Uuid,
    /// True when the exchange was handed to the persona's memory.
    pub memory_stored: bool,
}

impl ChatOutcome {
    /// The outcome of a turn that ended normally, or the model's failure (-32003) when the reply broke off: for
    /// the callers that answer with a whole reply, where a truncated one must not pass for complete.
    pub fn finished(self) -> Result<Self, AppError> {
        match self.failure {
            Some(e) => Err(e.into()),
            None => Ok(self),
        }
    }
}

/// What a turn works from (a snapshot of the conversation actor's state).
pub struct TurnInput {
    /// Dependencies.
    pub deps: TurnDeps,
    /// The persona that answers.
    pub persona: Addr<PersonaActor>,
    /// The stored conversation.
    pub conversation: ChatConversation,
    /// The history window.
    pub history: Vec<ChatMessage>,
    /// The conversation's live topic threads, most recent first.
    pub threads: Vec<Thread>,
    /// True once the conversation is stored (a new one has no stored messages to look up).
    pub stored: bool,
    /// Minutes since the conversation began.
    pub conversation_minutes: f64,
}

/// What a turn stored: the outcome, the messages and the thread they joined.
pub struct TurnRecord {
    /// The outcome.
    pub outcome: ChatOutcome,
    /// The user message and the reply, as stored.
    pub stored: Vec<ChatMessage>,
    /// Their thread, as stored.
    pub thread: Thread,
}

/// A streamed reply.
pub(crate) struct Streamed {
    pub(crate) text: String,
    pub(crate) chunks: usize,
    pub(crate) tokens: Option<u32>,
    pub(crate) prompt_tokens: Option<u32>,
    pub(crate) first_chunk: Option<Duration>,
    pub(crate) end: TurnEnd,
    pub(crate) failure: Option<LlmError>,
}

/// Streams the model's reply until it ends or the turn is stopped. Fails only when nothing was received.
pub(crate) async fn stream_reply(
    deps: &TurnDeps,
    request: ChatRequest,
    chat: &mut Chat,
    started: Instant,
) -> Result<Streamed, AppError> {
    let deadline = tokio::time::sleep(chat.timeout);
    tokio::pin!(deadline);
    let budget = chat.token_budget as usize;
    let mut out = Streamed {
        text: String::new(),
        chunks: 0,
        tokens: None,
        prompt_tokens: None,
        first_chunk: None,
        end: TurnEnd::Complete,
        failure: None,
    };
    deps.metrics
        .stream_setup_seconds
        .observe(chat.requested_at.elapsed().as_secs_f64());
    let mut stream = tokio::select! {
        s = deps.llm.chat_stream(request) => s.inspect_err(|_| deps.metrics.llm_errors.inc())?,
        _ = chat.cancel.cancelled() => { out.end = TurnEnd::Cancelled; return Ok(out) }
        _ = &mut deadline => { out.end = TurnEnd::TimedOut; return Ok(out) }
    };
    loop {
        let event = tokio::select! {
            biased;
            _ = chat.cancel.cancelled() => { out.end = TurnEnd::Cancelled; break }
            _ = &mut deadline => { out.end = TurnEnd::TimedOut; break }
            e = stream.next() => e,
        };
        match event {
            None => break,
            Some(Ok(LlmEvent::Token(t))) => {
                if out.chunks == 0 {
                    let first = started.elapsed();
                    deps.metrics.stream_first_chunk_seconds.observe(first.as_secs_f64());
                    out.first_chunk = Some(first);
                }
                out.chunks += 1;
                out.text.push_str(&t);
                if let Some(sink) = chat.sink.as_mut() {
                    sink(&t, out.chunks, out.text.chars().count());
                }
                deps.metrics.stream_chunks.inc();
                if out.chunks >= budget {
                    out.end = TurnEnd::BudgetReached;
                    break;
                }
            }
            Some(Ok(LlmEvent::Done {
                completion_tokens,
                prompt_tokens,
            })) => {
                out.tokens = completion_tokens;
                out.prompt_tokens = prompt_tokens;
                break;
            }
            Some(Err(e)) if out.chunks == 0 => {
                deps.metrics.llm_errors.inc();
                return Err(e.into());
            }
            Some(Err(e)) => {
                deps.metrics.llm_errors.inc();
                tracing::warn!(error = %e, "model stream broke off; keeping the partial reply");
                out.end = TurnEnd::Failed;
                out.failure = Some(e);
                break;
            }
        }
    }
    deps.metrics.llm_seconds.observe(started.elapsed().as_secs_f64());
    Ok(out)
}

/// A turn's prompt, ready for the model.
pub struct Assembled {
    /// The persona as it was when the prompt was made.
    pub snapshot: Snapshot,
    /// The thread the message joins and the history chosen for it.
    pub placed: Placed,
    /// The request for the model.
    pub request: ChatRequest,
    /// The memories recalled into the prompt.
    pub recalled: Vec<Uuid>,
}

/// Builds the prompt a turn sends for `message` (memories, feelings, the thread's history and summary): what
/// [`run_turn`] sends, and what `persona-mcp prompt show` prints.
pub async fn assemble(
    input: &TurnInput,
    message: &str,
    images: &[Image],
    token_budget: u32,
    known: Option<Snapshot>,
) -> Result<Assembled, AppError> {
    let deps = &input.deps;
    let vector_by = Instant::now() + Duration::from_millis(deps.chat().thread_vector_wait_ms);
    let persona_id = input.conversation.persona_id;
    let snapshot = match known {
        Some(snapshot) => snapshot,
        None => persona::ask(&input.persona, persona_id, GetSnapshot).await?,
    };
    let context = TurnContext {
        persona: snapshot.persona.clone(),
        user_message: message.to_string(),
        partner: None,
    };
    let gathering = Instant::now();
    let sections = deps.hooks.sections(&context).await;
    deps.metrics.observe_stage("sections", gathering);
    let threading = Instant::now();
    let placed = Placement {
        store: &deps.store,
        embedder: deps.embedder.as_ref(),
        vector_by,
        rules: deps.thread_rules(),
        window: deps.chat().max_context_messages,
        conversation: (input.conversation.id, input.stored),
        threads: &input.threads,
        current: input.threads.first().map(|t| t.id),
        recent: &input.history,
    }
    .place(message)
    .await?;
    deps.metrics
        .thread_step_seconds
        .observe(threading.elapsed().as_secs_f64());
    deps.metrics
        .thread_step_own_seconds
        .observe(threading.elapsed().saturating_sub(placed.vector_wait).as_secs_f64());
    if placed.by_keywords {
        deps.metrics.thread_vector_late.inc();
    }
    let prompting = Instant::now();
    let summary = placed
        .thread
        .summary
        .as_deref()
        .or(input.conversation.summary.as_deref());
    let joined = input.threads.iter().any(|t| t.id == placed.thread.id);
    let choice = deps.choose_model(&Situation {
        token_budget,
        message_chars: message.chars().count(),
        threads: input.threads.len() + usize::from(!joined),
        ..Situation::new(&snapshot.persona, Task::Chat)
    });
    let sees = deps.llm.provider() != "embedded" && image::model_sees_images(&choice.model, &deps.chat().vision_models);
    let user_text = image::message_for_model(message, images, sees);
    let messages = prompt::build(&PromptInput {
        persona: &snapshot.persona,
        state: &snapshot.state,
        emotions: Some(&snapshot.emotions),
        sections: &sections,
        summary,
        history: &placed.history,
        user_message: &user_text,
        thread: Some(placed.thread.label.as_str()).filter(|l| !l.is_empty()),
        templates: &deps.templates,
    });
    let mut request = ChatRequest::new(choice, messages, token_budget);
    if sees {
        request.images = images.to_vec();
    }
    deps.metrics.observe_stage("prompt", prompting);
    Ok(Assembled {
        snapshot,
        placed,
        request,
        recalled: sections.iter().flat_map(|s| s.recalled.iter().copied()).collect(),
    })
}

/// Runs one turn; answers the outcome, the messages stored and their thread.
pub async fn run_turn(input: TurnInput, mut chat: Chat) -> Result<TurnRecord, AppError> {
    let started = Instant::now();
    let deps = &input.deps;
    deps.metrics.observe_stage("route", chat.requested_at);
    let persona_id = input.conversation.persona_id;
    let Assembled {
        snapshot,
        placed,
        request,
        recalled,
    } = assemble(
        &input,
        &chat.message,
        &chat.images,
        chat.token_budget,
        chat.snapshot.take(),
    )
    .await?;
    let streamed = stream_reply(deps, request, &mut chat, started).await?;
    let latency = started.elapsed().as_secs_f64();
    let tokens_used = streamed.tokens.unwrap_or(streamed.chunks as u32);
    let effect = persona::ask(
        &input.persona,
        persona_id,
        ApplyTurn {
            user_message: chat.message.clone(),
            conversation_len: input.history.len() + 2,
            reply_chars: streamed.text.chars().count(),
            conversation_minutes: input.conversation_minutes,
            turn_seconds: latency,
            tokens_remaining: chat.token_budget.saturating_sub(tokens_used),
            partner: None,
        },
    )
    .await??;

    let mut thread = placed.thread;
    if placed.vector_late {
        // The reply has streamed meanwhile: the message's vector (still computing when the thread was chosen)
        // is in the embedder's cache by now, and the thread's centroid takes it.
        if let Some(embedder) = deps.embedder.as_ref() {
            match embedder.embed_query(&chat.message).await {
                Ok(v) => thread.mix_vector(&v),
                Err(e) => tracing::warn!(error = %e, "the message's late vector failed; its thread keeps its centroid"),
            }
        }
    }
    let mut user = ChatMessage::new(Role::User, chat.message.clone());
    user.sender = chat.sender.clone();
    user.room_id = chat.room_id.clone();
    user.thread_id = Some(thread.id);
    user.images = chat.images.iter().map(Image::file_name).collect();
    let mut reply = ChatMessage::new(Role::Assistant, streamed.text.clone());
    reply.partial = !matches!(streamed.end, TurnEnd::Complete | TurnEnd::BudgetReached);
    reply.room_id = chat.room_id.clone();
    reply.thread_id = Some(thread.id);
    reply.stats = Some(TurnStats {
        tokens_in: streamed.prompt_tokens,
        tokens_out: tokens_used,
        latency_seconds: latency,
        ttfc_seconds: streamed.first_chunk.map(|d| d.as_secs_f64()),
        continue_score: effect.continue_score,
        emotions: effect.emotions,
        recalled,
    });
    let mut stored = vec![user, reply];
    let (conv_id, seqs) = deps
        .store
        .conversations()
        .append(input.conversation.clone(), stored.clone(), Some(thread.clone()))
        .await?;
    thread.conversation_id = conv_id;
    for (m, seq) in stored.iter_mut().zip(seqs) {
        m.seq = seq;
    }
    let processing_time = started.elapsed().as_secs_f64();
    let memory_stored = deps
        .hooks
        .after_turn(&CompletedTurn {
            persona: snapshot.persona.clone(),
            user_message: chat.message.clone(),
            reply: streamed.text.clone(),
            partial: stored[1].partial,
            sender: chat.sender.clone(),
            conversation_id: conv_id,
        })
        .await;
    let outcome = ChatOutcome {
        response: streamed.text,
        end: streamed.end,
        failure: streamed.failure,
        chunk_count: streamed.chunks,
        tokens_used,
        processing_time,
        continue_score: effect.continue_score,
        persona_state: effect.state,
        persona_id: snapshot.persona.id,
        conversation_id: conv_id,
        thread_id: thread.id,
        memory_stored,
    };
    Ok(TurnRecord {
        outcome,
        stored,
        thread,
    })
}

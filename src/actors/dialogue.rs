//! `DialogueSession`: the conversation session of two personas, or of three and more (a chatroom). It picks the
//! next speaker (two alternate; in a room the one addressed by name, else the most eager), asks the model for each
//! turn in character (relationship and feelings in the prompt), stores every turn with the speaker's continue
//! score, and ends itself when all want to stop or the token budget is spent. At the end it updates the
//! relationships from the turns, leaves a shared memory with each persona, and starts their cooldowns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::persona::{ApplyTurn, GetSnapshot, Partner, PersonaActor, Snapshot, StartCooldown};
use super::turn::{stream_reply, Chat, ChunkSink, TurnDeps};
use crate::domain::chat::{ChatMessage, Role};
use crate::domain::chatroom::{self, Candidate};
use crate::domain::compatibility::CompatibilityScores;
use crate::domain::continue_score::{cooldown_after, BASE_COOLDOWN_SECS};
use crate::domain::dialogue::{Dialogue, DialogueTurn};
use crate::domain::importance::{self, ImportanceInput, ImportanceWeights};
use crate::domain::memory::{Memory, Visibility, MEMORY_TYPE_CONVERSATION};
use crate::domain::model_rules::{Situation, Task};
use crate::domain::persona::Persona;
use crate::domain::prompt::{self, PromptInput, PromptSection};
use crate::domain::relationship::{conversation_quality, Relationship};
use crate::error::AppError;
use crate::hooks::TurnContext;
use crate::llm::ChatRequest;
use crate::memory::MemoryService;

/// Most tokens one turn may use (turns are a few sentences).
pub const MAX_TOKENS_PER_TURN: u32 = 300;

/// Why a conversation ended by itself.
pub const END_NATURAL: &str = "natural_end";
/// The token budget ran out.
pub const END_BUDGET: &str = "token_budget";

/// The actor.
pub struct DialogueSession {
    dialogue: Dialogue,
    deps: TurnDeps,
    memory: Arc<MemoryService>,
    personas: Vec<Addr<PersonaActor>>,
}

impl DialogueSession {
    /// A session for a stored conversation; `personas` in the order of its participants.
    pub fn new(
        dialogue: Dialogue,
        deps: TurnDeps,
        memory: Arc<MemoryService>,
        personas: Vec<Addr<PersonaActor>>,
    ) -> Self {
        Self {
            dialogue,
            deps,
            memory,
            personas,
        }
    }
}

impl Actor for DialogueSession {
    type Context = Context<Self>;
}

/// Asks the next speaker (or `speaker`) for a turn.
#[derive(Message)]
#[rtype(result = "Result<TurnReport, AppError>")]
pub struct TakeTurn {
    /// Who speaks; default: the one addressed by name, else the most eager (see [`chatroom::next_speaker`]; in a
    /// conversation of two, the one who did not speak last); the first participant opens.
    pub speaker: Option<Uuid>,
    /// Where chunks go while the turn streams.
    pub sink: Option<ChunkSink>,
    /// Stops the turn.
    pub cancel: CancellationToken,
    /// Longest the turn may take.
    pub timeout: Duration,
}

/// A turn and what followed.
#[derive(Debug, Clone)]
pub struct TurnReport {
    /// The turn.
    pub turn: DialogueTurn,
    /// The conversation after it.
    pub dialogue: Dialogue,
    /// Set when the conversation ended itself after this turn.
    pub ended: Option<EndReport>,
}

/// How a conversation ended.
#[derive(Debug, Clone)]
pub struct EndReport {
    /// Why.
    pub reason: String,
    /// Seconds from start to end.
    pub duration: f64,
    /// Turns taken.
    pub turns: usize,
    /// Tokens used.
    pub tokens_used: i64,
    /// The relationship after the conversation.
    pub relationship: Option<Relationship>,
}

/// Ends the conversation (idempotent: an ended one reports how it ended).
#[derive(Message)]
#[rtype(result = "Result<EndReport, AppError>")]
pub struct EndDialogue(pub String);

/// Asks for the conversation as it stands.
#[derive(Message)]
#[rtype(result = "Dialogue")]
pub struct GetDialogue;

impl Handler<GetDialogue> for DialogueSession {
    type Result = MessageResult<GetDialogue>;
    fn handle(&mut self, _: GetDialogue, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.dialogue.clone())
    }
}

/// Everything a turn or an ending works with.
#[derive(Clone)]
struct Stage {
    deps: TurnDeps,
    memory: Arc<MemoryService>,
    personas: Vec<Addr<PersonaActor>>,
}

impl Stage {
    fn index(d: &Dialogue, persona: Uuid) -> Option<usize> {
        d.participants().iter().position(|p| *p == persona)
    }

    async fn relationship(&self, d: &Dialogue) -> Result<Option<Relationship>, AppError> {
        Ok(self
            .deps
            .store
            .relationships()
            .get(d.persona1_id, d.persona2_id)
            .await?)
    }

    /// Every participant's snapshot, in participant order.
    async fn snapshots(&self) -> Result<Vec<Snapshot>, AppError> {
        let mut all = Vec::with_capacity(self.personas.len());
        for p in &self.personas {
            all.push(p.send(GetSnapshot).await?);
        }
        Ok(all)
    }

    /// The index of the next speaker: addressed by name, else the most eager given its relationship with the
    /// last speaker.
    async fn choose(&self, d: &Dialogue, snapshots: &[Snapshot]) -> Result<usize, AppError> {
        let last = d.turns.last();
        let mut candidates = Vec::with_capacity(snapshots.len());
        for s in snapshots {
            let id = s.persona.id;
            let bond = match last.filter(|t| t.speaker_id != id) {
                Some(t) => self
                    .deps
                    .store
                    .relationships()
                    .get(t.speaker_id, id)
                    .await?
                    .map_or(0.0, |r| r.strength()),
                None => 0.0,
            };
            candidates.push(Candidate {
                id,
                name: s.persona.name.clone(),
                last_score: d.last_score_of(id),
                bond,
            });
        }
        let next = chatroom::next_speaker(last.map(|t| (t.speaker_id, t.content.as_str())), &candidates);
        Ok(next.and_then(|id| Stage::index(d, id)).unwrap_or(0))
    }

    /// The speaker's prompt: identity, feelings, who it talks with (the last speaker, or whom it opens to) and how
    /// it feels about them, who else is in the room, memories, then the conversation so far from its point of
    /// view (in a room, each line with its speaker's name).
    async fn turn(&self, mut d: Dialogue, speaker: Option<usize>, mut msg: TakeTurn) -> Result<TurnReport, AppError> {
        let started = Instant::now();
        let snapshots = self.snapshots().await?;
        let speaker = match speaker {
            Some(i) => i,
            None => self.choose(&d, &snapshots).await?,
        };
        let listener = d
            .turns
            .last()
            .and_then(|t| Stage::index(&d, t.speaker_id))
            .filter(|i| *i != speaker)
            .unwrap_or((speaker + 1) % snapshots.len());
        let (me, them) = (&snapshots[speaker], &snapshots[listener]);
        let relationship = self
            .deps
            .store
            .relationships()
            .get(me.persona.id, them.persona.id)
            .await?;
        let room = snapshots.len() > 2;
        let name_of = |id: Uuid| {
            snapshots
                .iter()
                .find(|s| s.persona.id == id)
                .map_or("Someone", |s| s.persona.name.as_str())
        };
        let bystanders: Vec<&str> = snapshots
            .iter()
            .filter(|s| s.persona.id != me.persona.id && s.persona.id != them.persona.id)
            .map(|s| s.persona.name.as_str())
            .collect();
        let cue = match d.turns.last() {
            Some(t) if room => format!("{}: {}", name_of(t.speaker_id), t.content),
            Some(t) => t.content.clone(),
            None => format!(
                "({} is here. Start a conversation with them about {}.)",
                them.persona.name, d.topic
            ),
        };
        let mut sections = self
            .deps
            .hooks
            .sections(&TurnContext {
                persona: me.persona.clone(),
                user_message: format!("{} {}", d.topic, cue),
                partner: Some(them.persona.id),
            })
            .await;
        sections.push(PromptSection {
            title: "Who you are talking with".into(),
            body: prompt::describe_partner(&them.persona, relationship.as_ref(), &d.topic),
            recalled: Vec::new(),
        });
        if room {
            sections.push(PromptSection {
                title: "Who else is here".into(),
                body: format!(
                    "This is a group conversation. Also here: {}. Address someone by name to ask them something.",
                    bystanders.join(", ")
                ),
                recalled: Vec::new(),
            });
        }
        let window = self.deps.chat().max_context_messages;
        let earlier = &d.turns[..d.turns.len().saturating_sub(1)];
        let history: Vec<ChatMessage> = earlier[earlier.len().saturating_sub(window)..]
            .iter()
            .map(|t| {
                if t.speaker_id == me.persona.id {
                    ChatMessage::new(Role::Assistant, t.content.clone())
                } else if room {
                    ChatMessage::new(Role::User, format!("{}: {}", name_of(t.speaker_id), t.content))
                } else {
                    ChatMessage::new(Role::User, t.content.clone())
                }
            })
            .collect();
        let messages = prompt::build(&PromptInput {
            persona: &me.persona,
            state: &me.state,
            emotions: Some(&me.emotions),
            sections: &sections,
            summary: None,
            history: &history,
            user_message: &cue,
            thread: None,
            templates: &self.deps.templates,
        });
        let remaining = (d.token_budget - d.tokens_used).max(0) as u32;
        let max_tokens = remaining.clamp(1, MAX_TOKENS_PER_TURN);
        let choice = self.deps.choose_model(&Situation {
            token_budget: max_tokens,
            message_chars: cue.chars().count(),
            threads: 1,
            ..Situation::new(&me.persona, Task::PersonaToPersona)
        });
        let request = ChatRequest::new(choice, messages, max_tokens);
        let mut chat = Chat {
            message: cue.clone(),
            token_budget: max_tokens,
            sender: None,
            room_id: None,
            images: Vec::new(),
            sink: msg.sink.take(),
            cancel: msg.cancel.clone(),
            timeout: msg.timeout,
            requested_at: started,
            snapshot: None,
        };
        let streamed = stream_reply(&self.deps, request, &mut chat, started).await?;
        if let Some(e) = streamed.failure {
            return Err(e.into());
        }
        let tokens = streamed.tokens.unwrap_or(streamed.chunks as u32).min(max_tokens);
        let scores = CompatibilityScores::of(&me.persona, &them.persona, relationship.as_ref());
        let effect = self.personas[speaker]
            .send(ApplyTurn {
                user_message: format!("{} {}", d.topic, cue),
                conversation_len: d.turns.len() + 1,
                reply_chars: streamed.text.chars().count(),
                conversation_minutes: (Utc::now() - d.started_at).num_seconds() as f64 / 60.0,
                turn_seconds: started.elapsed().as_secs_f64(),
                tokens_remaining: remaining.saturating_sub(tokens),
                partner: Some(Partner {
                    compatibility: scores.overall(),
                    relationship_strength: relationship.as_ref().map_or(0.0, Relationship::strength),
                }),
            })
            .await??;
        let turn = DialogueTurn {
            speaker_id: me.persona.id,
            content: streamed.text,
            continue_score: effect.continue_score,
            tokens_used: i64::from(tokens),
            created_at: Utc::now(),
        };
        self.deps.store.dialogues().add_turn(d.id, turn.clone()).await?;
        d.tokens_used += turn.tokens_used;
        d.turns.push(turn.clone());
        let ended = match end_reason(&d) {
            Some(reason) => Some(self.finish(&mut d, reason).await?),
            None => None,
        };
        Ok(TurnReport {
            turn,
            dialogue: d,
            ended,
        })
    }

    /// Ends the conversation: relationship, memories, cooldowns, stored end.
    async fn finish(&self, d: &mut Dialogue, reason: &str) -> Result<EndReport, AppError> {
        let now = Utc::now();
        let minutes = (now - d.started_at).num_milliseconds() as f64 / 60_000.0;
        let relationship = if d.turns.is_empty() {
            self.relationship(d).await?
        } else {
            let ids = d.participants();
            let context = format!("conversation about {}", d.topic);
            let mut updated = Vec::new();
            for (i, a) in ids.iter().enumerate() {
                for b in &ids[i + 1..] {
                    let scores: Vec<f64> = d
                        .turns
                        .iter()
                        .filter(|t| t.speaker_id == *a || t.speaker_id == *b)
                        .map(|t| t.continue_score)
                        .collect();
                    if scores.is_empty() {
                        continue;
                    }
                    let (r, _) = self
                        .deps
                        .store
                        .relationships()
                        .record_interaction(
                            (*a, *b),
                            conversation_quality(&scores),
                            minutes.max(0.0),
                            context.clone(),
                            now,
                        )
                        .await?;
                    updated.push(r);
                }
            }
            self.remember(d, &updated).await?;
            updated.into_iter().next()
        };
        for (i, persona) in self.personas.iter().enumerate() {
            let own: Vec<f64> = d
                .turns
                .iter()
                .filter(|t| t.speaker_id == d.participants()[i])
                .map(|t| t.continue_score)
                .collect();
            if !own.is_empty() {
                let mean = own.iter().sum::<f64>() / own.len() as f64;
                persona
                    .send(StartCooldown(cooldown_after(mean, BASE_COOLDOWN_SECS)))
                    .await?;
            }
        }
        self.deps.store.dialogues().end(d.id, now, reason.to_string()).await?;
        d.ended_at = Some(now);
        d.end_reason = Some(reason.to_string());
        Ok(report(d, relationship))
    }

    /// One shared memory per participant: "Talked with Kira about magic…" (in a room, with everyone), related to
    /// the others, quoting what the last other speaker said.
    async fn remember(&self, d: &Dialogue, relationships: &[Relationship]) -> Result<(), AppError> {
        let mut personas = Vec::with_capacity(self.personas.len());
        for p in &self.personas {
            personas.push(p.send(GetSnapshot).await?.persona);
        }
        let now = Utc::now();
        let mut memories = Vec::with_capacity(personas.len());
        for me in &personas {
            let others: Vec<&Persona> = personas.iter().filter(|p| p.id != me.id).collect();
            let last_other = d.turns.iter().rev().find(|t| t.speaker_id != me.id);
            let quoted = last_other
                .and_then(|t| others.iter().find(|p| p.id == t.speaker_id))
                .or(others.first())
                .copied();
            let Some(quoted) = quoted else { continue };
            let gist: String = last_other
                .map_or("", |t| t.content.as_str())
                .chars()
                .take(200)
                .collect();
            let names: Vec<&str> = others.iter().map(|p| p.name.as_str()).collect();
            let text = format!(
                "Talked with {} about {}. {} said: \"{}\"",
                chatroom::join_names(&names),
                d.topic,
                quoted.name,
                gist.trim()
            );
            let strength = relationships
                .iter()
                .find(|r| {
                    let pair = [r.persona1_id, r.persona2_id];
                    pair.contains(&me.id) && pair.contains(&quoted.id)
                })
                .map_or(0.0, Relationship::strength);
            let score = importance::score(
                &ImportanceInput {
                    speaker: Some(me),
                    listener: Some(quoted),
                    relationship_strength: strength,
                    ..ImportanceInput::new(&text)
                },
                &ImportanceWeights::default(),
            );
            let mut m = Memory::new(me.id, text, MEMORY_TYPE_CONVERSATION, score.total, now);
            m.related_personas = others.iter().map(|p| p.id).collect();
            m.visibility = Visibility::Shared;
            m.metadata = serde_json::json!({ "conversation_id": d.id, "topic": d.topic, "turns": d.turns.len() });
            memories.push(m);
        }
        self.memory.store(memories, false).await?;
        Ok(())
    }
}

/// Why the conversation should end after its last turn, if it should.
fn end_reason(d: &Dialogue) -> Option<&'static str> {
    if d.tokens_used >= d.token_budget {
        return Some(END_BUDGET);
    }
    d.all_want_to_end().then_some(END_NATURAL)
}

fn report(d: &Dialogue, relationship: Option<Relationship>) -> EndReport {
    let end = d.ended_at.unwrap_or_else(Utc::now);
    EndReport {
        reason: d.end_reason.clone().unwrap_or_default(),
        duration: (end - d.started_at).num_milliseconds() as f64 / 1000.0,
        turns: d.turns.len(),
        tokens_used: d.tokens_used,
        relationship,
    }
}

impl DialogueSession {
    fn stage(&self) -> Stage {
        Stage {
            deps: self.deps.clone(),
            memory: self.memory.clone(),
            personas: self.personas.clone(),
        }
    }
}

impl Handler<TakeTurn> for DialogueSession {
    type Result = AtomicResponse<Self, Result<TurnReport, AppError>>;

    fn handle(&mut self, msg: TakeTurn, _: &mut Context<Self>) -> Self::Result {
        let d = self.dialogue.clone();
        let ready = if !d.active() {
            Err(AppError::Conflict(format!("Conversation {} has ended", d.id)))
        } else {
            match msg.speaker {
                None => Ok(None),
                Some(s) => Stage::index(&d, s).map(Some).ok_or_else(|| {
                    AppError::invalid(
                        "speaker_id",
                        "speaker_id must be one of the conversation's participants",
                    )
                }),
            }
        };
        let stage = self.stage();
        let fut = async move { stage.turn(d, ready?, msg).await };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(|res, act, ctx| {
            if let Ok(r) = &res {
                act.dialogue = r.dialogue.clone();
                if r.ended.is_some() {
                    ctx.stop();
                }
            }
            res
        })))
    }
}

impl Handler<EndDialogue> for DialogueSession {
    type Result = AtomicResponse<Self, Result<EndReport, AppError>>;

    fn handle(&mut self, msg: EndDialogue, _: &mut Context<Self>) -> Self::Result {
        let mut d = self.dialogue.clone();
        let stage = self.stage();
        let fut = async move {
            if d.active() {
                let r = stage.finish(&mut d, &msg.0).await?;
                Ok((r, d))
            } else {
                let rel = stage.relationship(&d).await?;
                Ok((report(&d, rel), d))
            }
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            |res: Result<(EndReport, Dialogue), AppError>, act, ctx| {
                res.map(|(r, d)| {
                    act.dialogue = d;
                    ctx.stop();
                    r
                })
            },
        )))
    }
}

//! `PersonaActor`: the only writer of one persona's interaction state and emotional state. It regenerates energy
//! on a tick, applies the cost of each chat turn and its effect on the persona's feelings, serialises emotional
//! updates, and persists every change (versioned, so a late write never wins).
//!
//! When several instances share a PostgreSQL database, each has its own actor for a persona: there every change
//! is made on the stored state, re-read under the database's write lock, and the cached copy only answers reads
//! (it is replaced by what each change stored, and re-read when another instance announces a change). Only the
//! instance holding the persona's lease regenerates it (the registry takes and renews the leases).

use std::future::Future;
use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;

use crate::config::PersonaSettings;
use crate::domain::continue_score::{self, ContinueInputs, Resources, TurnRole};
use crate::domain::emotion::{EmotionalState, EmotionalUpdate, UnknownField};
use crate::domain::importance;
use crate::domain::persona::{InteractionState, Persona, PersonaChanges, Priority};
use crate::error::AppError;
use crate::storage::{LoadedStates, StorageError, Store, StoredStates};

/// A persona, its interaction state and its feelings at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The card.
    pub persona: Persona,
    /// The state.
    pub state: InteractionState,
    /// How the persona feels, drifted to the moment of the snapshot.
    pub emotions: EmotionalState,
}

/// The actor.
pub struct PersonaActor {
    persona: Persona,
    state: InteractionState,
    version: i64,
    emotions: EmotionalState,
    emotions_version: i64,
    store: Store,
    settings: PersonaSettings,
    /// Other instances share the database: changes are made on the stored state, not on this copy.
    shared: bool,
    /// This instance regenerates the persona (it holds the persona's lease; always on SQLite).
    regenerates: bool,
}

/// The interaction state of a persona that has none stored.
fn initial_state() -> InteractionState {
    InteractionState::new(Priority::Casual, 100.0, 300.0)
}

/// One regeneration tick: energy and time come back, fatigue fades.
fn regenerated(s: &mut InteractionState, energy_per_tick: f64) {
    s.social_energy = (s.social_energy + energy_per_tick).min(s.base_energy.max(s.social_energy));
    s.interaction_fatigue = (s.interaction_fatigue - 1.0).max(0.0);
    s.available_time = (s.available_time + 10.0).min(s.base_available_time.max(s.available_time));
}

/// What a chat turn does to `persona`'s state and feelings: energy cost, fatigue, time spent, then its effect on
/// the feelings; answers the continue score (0..100, two decimals).
fn turn_applied(
    persona: &Persona,
    s: &mut InteractionState,
    feelings: &mut EmotionalState,
    turn: &ApplyTurn,
    now: chrono::DateTime<Utc>,
) -> f64 {
    s.social_energy = (s.social_energy - continue_score::energy_cost_for_turn(turn.reply_chars)).max(0.0);
    s.interaction_fatigue += continue_score::fatigue_for_turn(turn.turn_seconds, TurnRole::Speaker);
    s.available_time = (s.available_time - turn.turn_seconds).max(0.0);
    let score = continue_score::continue_score(&ContinueInputs {
        priority: s.current_priority,
        minutes_in_conversation: turn.conversation_minutes,
        topic_alignment: importance::interest(Some(persona), &turn.user_message),
        social_compatibility: turn.partner.map_or(NEUTRAL_COMPATIBILITY, |p| p.compatibility),
        resources: Resources {
            available_time_secs: s.available_time,
            tokens_remaining: f64::from(turn.tokens_remaining),
            social_energy: s.social_energy,
        },
        fatigue: s.interaction_fatigue,
        relationship_strength: turn.partner.map_or(0.0, |p| p.relationship_strength),
    })
    .total;
    *feelings = feelings.after_chat_turn(&turn.user_message, persona, turn.conversation_len, now);
    (score * 100.0).round() / 100.0
}

impl PersonaActor {
    /// An actor for `persona`; its stored state is loaded before it handles any message.
    pub fn new(persona: Persona, store: Store, settings: PersonaSettings) -> Self {
        let shared = store.is_shared();
        Self {
            state: initial_state(),
            persona,
            version: 0,
            emotions: EmotionalState::initial(Utc::now()),
            emotions_version: 0,
            store,
            settings,
            shared,
            regenerates: !shared,
        }
    }

    /// Makes `change` on the stored states (the shared path, see the module comment); the cached copy takes what
    /// was stored. Answers what `change` answered and the states as stored.
    fn change_stored<R, F>(&self, change: F) -> ResponseActFuture<Self, Result<(R, StoredStates), AppError>>
    where
        F: FnOnce(&mut InteractionState, &mut EmotionalState) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (store, id) = (self.store.clone(), self.persona.id);
        let update = async move { store.states().update(id, initial_state(), Utc::now(), change).await };
        Box::pin(update.into_actor(self).map(|stored, act, _| {
            let (stored, answer) = stored?;
            act.adopt(&stored);
            Ok((answer, stored))
        }))
    }

    /// Takes stored states that are newer than the cached ones.
    fn adopt(&mut self, stored: &StoredStates) {
        if stored.interaction.1 > self.version {
            (self.state, self.version) = stored.interaction.clone();
        }
        if stored.emotions.1 > self.emotions_version {
            (self.emotions, self.emotions_version) = stored.emotions.clone();
        }
    }

    fn persist(&mut self, ctx: &mut Context<Self>) {
        self.version += 1;
        let (store, id, state, version) = (self.store.clone(), self.persona.id, self.state.clone(), self.version);
        ctx.spawn(
            async move {
                if let Err(e) = store.states().save_interaction(id, state, version).await {
                    tracing::warn!(persona = %id, error = %e, "persisting interaction state failed");
                }
            }
            .into_actor(self),
        );
    }

    /// Stores the emotional state under a new version; the returned future does the write (and logs a failure).
    fn save_emotions(&mut self) -> impl Future<Output = Result<(), StorageError>> + 'static {
        self.emotions_version += 1;
        let (store, id, feelings, version) = (
            self.store.clone(),
            self.persona.id,
            self.emotions.clone(),
            self.emotions_version,
        );
        async move {
            let saved = store.states().save_emotions(id, feelings, version).await;
            if let Err(e) = &saved {
                tracing::warn!(persona = %id, error = %e, "persisting emotional state failed");
            }
            saved
        }
    }

    /// The feelings now: the stored state drifted toward the defaults (drift is a function of time, so it is
    /// not stored until the next change).
    fn emotions_now(&self) -> EmotionalState {
        self.emotions.drift(Utc::now())
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            persona: self.persona.clone(),
            state: self.state.clone(),
            emotions: self.emotions_now(),
        }
    }

    /// One regeneration tick, by the instance that regenerates the persona (on the stored state when shared).
    fn regenerate(&mut self, ctx: &mut Context<Self>) {
        let per_tick = self.settings.energy_per_tick;
        let mut next = self.state.clone();
        regenerated(&mut next, per_tick);
        if !self.regenerates || next == self.state {
            return;
        }
        if self.shared {
            let id = self.persona.id;
            ctx.spawn(
                self.change_stored(move |s, _| regenerated(s, per_tick))
                    .map(move |done, _, _| {
                        if let Err(e) = done {
                            tracing::warn!(persona = %id, error = %e, "regenerating the persona failed");
                        }
                    }),
            );
        } else {
            self.state = next;
            self.persist(ctx);
        }
    }
}

impl Actor for PersonaActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let (store, id) = (self.store.clone(), self.persona.id);
        let load = async move { store.states().load(id, Utc::now()).await };
        ctx.wait(load.into_actor(self).map(|loaded, act, _| match loaded {
            Ok(LoadedStates {
                interaction,
                emotions: (feelings, emotions_version),
            }) => {
                match interaction {
                    Some((state, version)) => {
                        act.state = state;
                        act.version = version;
                    }
                    None => tracing::warn!(persona = %act.persona.id, "no stored interaction state; using defaults"),
                }
                act.emotions = feelings;
                act.emotions_version = emotions_version;
            }
            Err(e) => {
                tracing::error!(persona = %act.persona.id, error = %e, "loading persona state failed; using defaults")
            }
        }));
        ctx.run_interval(Duration::from_secs(self.settings.regen_tick_secs), |act, ctx| {
            act.regenerate(ctx)
        });
    }
}

/// Asks for the persona and its state.
#[derive(Message)]
#[rtype(result = "Snapshot")]
pub struct GetSnapshot;

impl Handler<GetSnapshot> for PersonaActor {
    type Result = MessageResult<GetSnapshot>;
    fn handle(&mut self, _: GetSnapshot, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.snapshot())
    }
}

/// Asks for the snapshot, failing with -32006 while the persona cools down. Low energy never refuses a person
/// (a tired persona says so in its reply); persona-to-persona conversations check `can_converse` instead.
#[derive(Message)]
#[rtype(result = "Result<Snapshot, AppError>")]
pub struct CheckAvailable;

impl Handler<CheckAvailable> for PersonaActor {
    type Result = Result<Snapshot, AppError>;
    fn handle(&mut self, _: CheckAvailable, _: &mut Context<Self>) -> Self::Result {
        if self.state.cooldown_remaining(now_secs()) <= 0.0 {
            Ok(self.snapshot())
        } else {
            Err(AppError::PersonaUnavailable(self.persona.name.clone()))
        }
    }
}

/// `persona.update`: changes the given fields of the card, in storage and here, before the actor handles any
/// other message; answers the stored card (-32007 for a taken name, -32001 once the persona is deleted).
#[derive(Message)]
#[rtype(result = "Result<Persona, AppError>")]
pub struct UpdateCard(pub PersonaChanges);

impl Handler<UpdateCard> for PersonaActor {
    type Result = AtomicResponse<Self, Result<Persona, AppError>>;
    fn handle(&mut self, msg: UpdateCard, _: &mut Context<Self>) -> Self::Result {
        let (store, id) = (self.store.clone(), self.persona.id);
        let write = async move { store.personas().update(id, msg.0, Utc::now()).await };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(move |stored, act, _| {
            let persona = stored?.ok_or_else(|| AppError::PersonaNotFound(id.to_string()))?;
            act.persona = persona.clone();
            Ok(persona)
        })))
    }
}

/// Replaces the cached card with the stored one (another process changed it, or an avatar was uploaded).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReplaceCard(pub Persona);

impl Handler<ReplaceCard> for PersonaActor {
    type Result = ();
    fn handle(&mut self, msg: ReplaceCard, _: &mut Context<Self>) {
        self.persona = msg.0;
    }
}

/// Applies one chat turn: energy cost, fatigue, time spent, its effect on the persona's feelings; answers the
/// new state and the continue score.
#[derive(Message)]
#[rtype(result = "Result<TurnEffect, AppError>")]
pub struct ApplyTurn {
    /// The user's message.
    pub user_message: String,
    /// Messages in the conversation, counting this turn's (long conversations tire the persona).
    pub conversation_len: usize,
    /// Length of the reply in characters.
    pub reply_chars: usize,
    /// Minutes since the conversation began.
    pub conversation_minutes: f64,
    /// Seconds the turn took.
    pub turn_seconds: f64,
    /// Tokens left of the turn's budget.
    pub tokens_remaining: u32,
    /// The other persona, in a persona-to-persona conversation.
    pub partner: Option<Partner>,
}

/// What a persona knows about the persona it talks with.
#[derive(Debug, Clone, Copy)]
pub struct Partner {
    /// Overall compatibility 0..1 (compatibility engine).
    pub compatibility: f64,
    /// Relationship strength −1..1 (0 when strangers).
    pub relationship_strength: f64,
}

/// A person's compatibility with a persona is unknown: neutral.
const NEUTRAL_COMPATIBILITY: f64 = 0.5;

/// What a turn did to the persona.
#[derive(Debug, Clone)]
pub struct TurnEffect {
    /// State after the turn.
    pub state: InteractionState,
    /// How much the persona wants to go on (0..100).
    pub continue_score: f64,
    /// How the persona feels after the turn.
    pub emotions: EmotionalState,
}

impl Handler<ApplyTurn> for PersonaActor {
    type Result = ResponseActFuture<Self, Result<TurnEffect, AppError>>;
    fn handle(&mut self, turn: ApplyTurn, ctx: &mut Context<Self>) -> Self::Result {
        let now = Utc::now();
        if self.shared {
            let persona = self.persona.clone();
            return Box::pin(
                self.change_stored(move |s, feelings| turn_applied(&persona, s, feelings, &turn, now))
                    .map(|done, _, _| {
                        let (continue_score, stored) = done?;
                        Ok(TurnEffect {
                            state: stored.interaction.0,
                            continue_score,
                            emotions: stored.emotions.0,
                        })
                    }),
            );
        }
        let continue_score = turn_applied(&self.persona, &mut self.state, &mut self.emotions, &turn, now);
        self.persist(ctx);
        let save = self.save_emotions();
        ctx.spawn(
            async move {
                save.await.ok();
            }
            .into_actor(self),
        );
        Box::pin(fut::ready(Ok(TurnEffect {
            state: self.state.clone(),
            continue_score,
            emotions: self.emotions.clone(),
        })))
    }
}

/// Asks for the persona's feelings now.
#[derive(Message)]
#[rtype(result = "EmotionalState")]
pub struct GetEmotions;

impl Handler<GetEmotions> for PersonaActor {
    type Result = MessageResult<GetEmotions>;
    fn handle(&mut self, _: GetEmotions, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.emotions_now())
    }
}

/// Applies an `emotional.update_state` request (absolute values, then deltas, clamped); answers the new state
/// once it is stored. An unknown field in the deltas changes nothing (-32602 naming `deltas.<field>`); a
/// persona deleted meanwhile is -32001.
#[derive(Message)]
#[rtype(result = "Result<EmotionalState, AppError>")]
pub struct UpdateEmotions(pub EmotionalUpdate);

impl Handler<UpdateEmotions> for PersonaActor {
    type Result = ResponseActFuture<Self, Result<EmotionalState, AppError>>;
    fn handle(&mut self, msg: UpdateEmotions, _: &mut Context<Self>) -> Self::Result {
        let now = Utc::now();
        // The fields an update names do not depend on the state: checked on the cached copy when shared.
        let mut checked = self.emotions.clone();
        if let Err(UnknownField(field)) = checked.apply_update(&msg.0, now) {
            let message = UnknownField(field.clone()).to_string();
            return Box::pin(fut::ready(Err(AppError::invalid(format!("deltas.{field}"), message))));
        }
        if self.shared {
            return Box::pin(
                self.change_stored(move |_, feelings| feelings.apply_update(&msg.0, now))
                    .map(|done, _, _| {
                        let (_, stored) = done?;
                        Ok(stored.emotions.0)
                    }),
            );
        }
        self.emotions = checked;
        let updated = self.emotions.clone();
        let save = self.save_emotions();
        Box::pin(fut::wrap_future(async move {
            save.await?;
            Ok(updated)
        }))
    }
}

/// Asks a persona's actor. The actor stops only when its persona is deleted, so a closed mailbox is -32001.
pub async fn ask<M>(actor: &Addr<PersonaActor>, persona: uuid::Uuid, msg: M) -> Result<M::Result, AppError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    PersonaActor: Handler<M>,
{
    actor
        .send(msg)
        .await
        .map_err(|_| AppError::PersonaNotFound(persona.to_string()))
}

/// Seconds since the epoch, as interaction state stores time.
pub fn now_secs() -> f64 {
    Utc::now().timestamp_millis() as f64 / 1000.0
}

/// Fails with -32006 unless the persona can join a persona-to-persona conversation (cooldown passed, more
/// than 30 s of time and 10 social energy left).
#[derive(Message)]
#[rtype(result = "Result<Snapshot, AppError>")]
pub struct CheckConverse;

impl Handler<CheckConverse> for PersonaActor {
    type Result = Result<Snapshot, AppError>;
    fn handle(&mut self, _: CheckConverse, _: &mut Context<Self>) -> Self::Result {
        if self.state.can_converse(now_secs()) {
            Ok(self.snapshot())
        } else {
            Err(AppError::PersonaUnavailable(self.persona.name.clone()))
        }
    }
}

/// Starts a cooldown of `secs` seconds (after a persona-to-persona conversation); answers once the cooldown is
/// in effect (stored first when instances share the database), so a state read after it sees the cooldown.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StartCooldown(pub f64);

impl Handler<StartCooldown> for PersonaActor {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, msg: StartCooldown, ctx: &mut Context<Self>) -> Self::Result {
        let until = now_secs() + msg.0.max(0.0);
        if self.shared {
            let id = self.persona.id;
            return Box::pin(
                self.change_stored(move |s, _| s.cooldown_until = until)
                    .map(move |done, _, _| {
                        if let Err(e) = done {
                            tracing::warn!(persona = %id, error = %e, "storing the cooldown failed");
                        }
                    }),
            );
        }
        self.state.cooldown_until = until;
        self.persist(ctx);
        Box::pin(actix::fut::ready(()))
    }
}

/// Another instance sharing the database changed the persona's state: the cached copy is read again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload;

impl Handler<Reload> for PersonaActor {
    type Result = ();
    fn handle(&mut self, _: Reload, ctx: &mut Context<Self>) {
        let (store, id) = (self.store.clone(), self.persona.id);
        let read = async move { store.states().read(id).await };
        ctx.spawn(read.into_actor(self).map(move |stored, act, _| match stored {
            Ok((interaction, emotions)) => act.adopt(&StoredStates {
                interaction: interaction.unwrap_or((act.state.clone(), act.version)),
                emotions: emotions.unwrap_or((act.emotions.clone(), act.emotions_version)),
            }),
            Err(e) => tracing::warn!(persona = %id, error = %e, "re-reading the persona's state failed"),
        }));
    }
}

/// Whether this instance regenerates the persona (it holds, or no longer holds, the persona's lease).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Regenerates(pub bool);

impl Handler<Regenerates> for PersonaActor {
    type Result = ();
    fn handle(&mut self, msg: Regenerates, _: &mut Context<Self>) {
        self.regenerates = msg.0;
    }
}

/// Stops the actor (its persona was deleted).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

impl Handler<Retire> for PersonaActor {
    type Result = ();
    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

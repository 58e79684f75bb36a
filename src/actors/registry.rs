//! `Registry`: starts persona and conversation actors on demand, spreads conversations over a small pool of
//! arbiters (threads), and lets idle conversations go. On a database shared with other instances it also takes
//! and renews the leases of its running personas (the holder regenerates a persona) and has the cached state of
//! a persona or conversation read again when another instance announces a change to it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use uuid::Uuid;

use super::clock::epoch_secs;
use super::conversation::{ConversationKey, ConversationSession, ReloadWindow};
use super::dialogue::DialogueSession;
use super::persona::{PersonaActor, Regenerates, Reload, ReplaceCard, Retire};
use super::turn::TurnDeps;
use crate::config::PersonaSettings;
use crate::domain::dialogue::Dialogue;
use crate::domain::persona::Persona;
use crate::memory::MemoryService;
use crate::storage::leases::persona_lease;
use crate::storage::{Notice, Topic};

/// How long a persona's lease lasts unless renewed: an instance that dies stops regenerating its personas, and
/// another instance serving them takes over within this and one [`LEASE_RENEWAL`].
pub const LEASE_SECS: f64 = 5.0;
/// How often the leases are renewed.
const LEASE_RENEWAL: Duration = Duration::from_secs(1);

struct LiveConversation {
    addr: Addr<ConversationSession>,
    last_used: Arc<AtomicU64>,
    /// The stored conversation's id, once the session knows it.
    id: Arc<Mutex<Option<Uuid>>>,
}

/// The actor.
pub struct Registry {
    deps: TurnDeps,
    settings: PersonaSettings,
    personas: HashMap<Uuid, Addr<PersonaActor>>,
    /// `updated_at` of the card each persona actor holds, to notice changes made by another process.
    cards: HashMap<Uuid, chrono::DateTime<chrono::Utc>>,
    conversations: HashMap<ConversationKey, LiveConversation>,
    dialogues: HashMap<Uuid, Addr<DialogueSession>>,
    memory: Arc<MemoryService>,
    arbiters: Vec<Arbiter>,
    next_arbiter: usize,
    /// The personas whose lease this instance holds (on a shared database).
    leased: HashSet<Uuid>,
}

impl Registry {
    /// A registry with `threads` arbiters for conversation actors.
    pub fn new(deps: TurnDeps, memory: Arc<MemoryService>, settings: PersonaSettings, threads: usize) -> Self {
        Self {
            deps,
            settings,
            personas: HashMap::new(),
            cards: HashMap::new(),
            conversations: HashMap::new(),
            dialogues: HashMap::new(),
            memory,
            arbiters: (0..threads.max(1)).map(|_| Arbiter::new()).collect(),
            next_arbiter: 0,
            leased: HashSet::new(),
        }
    }

    /// Takes or renews the leases of the running personas; each actor learns whether it regenerates its persona.
    fn renew_leases(&mut self, ctx: &mut Context<Self>) {
        if self.personas.is_empty() {
            return;
        }
        let names: Vec<String> = self.personas.keys().map(|id| persona_lease(*id)).collect();
        let store = self.deps.store.clone();
        let hold = async move { store.leases().hold(names, LEASE_SECS).await };
        ctx.spawn(hold.into_actor(self).map(|held, act, _| {
            let held = match held {
                Ok(held) => held,
                Err(e) => {
                    // Unrenewed leases expire: stop regenerating rather than risk two instances doing it.
                    tracing::warn!(error = %e, "renewing persona leases failed");
                    HashSet::new()
                }
            };
            for (id, addr) in &act.personas {
                let holds = held.contains(&persona_lease(*id));
                if holds != act.leased.contains(id) {
                    addr.do_send(Regenerates(holds));
                    if holds {
                        act.leased.insert(*id);
                    } else {
                        act.leased.remove(id);
                    }
                }
            }
        }));
    }

    /// Another instance changed a persona's state or a conversation: its cached copy here is read again.
    fn heard(&mut self, notice: Option<Notice>) {
        let Some(notice) = notice else {
            // Announcements were missed: everything cached may be stale.
            for addr in self.personas.values() {
                addr.do_send(Reload);
            }
            for live in self.conversations.values() {
                live.addr.do_send(ReloadWindow);
            }
            return;
        };
        match notice.topic {
            Topic::State => {
                if let Some(addr) = self.personas.get(&notice.subject) {
                    addr.do_send(Reload);
                }
            }
            Topic::Conversation => {
                let wanted = Some(notice.subject);
                for live in self.conversations.values() {
                    if *crate::locks::lock(&live.id) == wanted {
                        live.addr.do_send(ReloadWindow);
                    }
                }
            }
            Topic::Vectors => {}
        }
    }

    fn persona_actor(&mut self, persona: &Persona) -> Addr<PersonaActor> {
        if let Some(addr) = self.personas.get(&persona.id).filter(|a| a.connected()) {
            return addr.clone();
        }
        // A new actor does not regenerate until the next renewal tells it that this instance holds the lease.
        self.leased.remove(&persona.id);
        let actor = PersonaActor::new(persona.clone(), self.deps.store.clone(), self.settings.clone());
        let addr = actor.start();
        self.personas.insert(persona.id, addr.clone());
        self.cards.insert(persona.id, persona.updated_at);
        addr
    }

    /// Re-reads the cards of the running persona actors, so that a change made by another process on the same
    /// database (the admin half, `--role admin`) is what the next chat uses: changed cards are replaced, the
    /// actors of deleted personas retired.
    fn refresh_cards(&mut self, ctx: &mut Context<Self>) {
        if self.personas.is_empty() {
            return;
        }
        let store = self.deps.store.clone();
        let read = async move { store.personas().list().await };
        ctx.spawn(read.into_actor(self).map(|listed, act, _| {
            let Ok(listed) = listed else { return };
            let fresh: HashMap<Uuid, Persona> = listed.into_iter().map(|p| (p.id, p)).collect();
            let running: Vec<Uuid> = act.personas.keys().copied().collect();
            for id in running {
                match fresh.get(&id) {
                    None => act.forget(id),
                    Some(p) if act.cards.get(&id) != Some(&p.updated_at) => {
                        act.card_changed(p.clone());
                    }
                    Some(_) => {}
                }
            }
        }));
    }

    fn card_changed(&mut self, persona: Persona) {
        if let Some(addr) = self.personas.get(&persona.id) {
            self.cards.insert(persona.id, persona.updated_at);
            addr.do_send(ReplaceCard(persona));
        }
    }

    fn forget(&mut self, id: Uuid) {
        self.cards.remove(&id);
        self.leased.remove(&id);
        if let Some(addr) = self.personas.remove(&id) {
            addr.do_send(Retire);
        }
        self.conversations.retain(|k, _| k.persona != id);
        self.dialogues.retain(|_, d| d.connected());
    }

    fn sweep(&mut self) {
        let idle = self.settings.conversation_idle_secs;
        let now = epoch_secs();
        self.conversations
            .retain(|_, c| c.addr.connected() && now.saturating_sub(c.last_used.load(Ordering::Relaxed)) < idle);
        self.dialogues.retain(|_, d| d.connected());
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = Duration::from_secs((self.settings.conversation_idle_secs / 4).clamp(1, 60));
        ctx.run_interval(every, |act, _| act.sweep());
        ctx.run_interval(Duration::from_millis(500), |act, ctx| act.refresh_cards(ctx));
        if let Some(mut notices) = self.deps.store.subscribe() {
            ctx.run_interval(LEASE_RENEWAL, |act, ctx| act.renew_leases(ctx));
            let me = ctx.address();
            actix::spawn(async move {
                loop {
                    match notices.recv().await {
                        Ok(n) => me.do_send(Heard(Some(n))),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => me.do_send(Heard(None)),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

/// The persona's actor, started if needed.
#[derive(Message)]
#[rtype(result = "Addr<PersonaActor>")]
pub struct PersonaActorFor(pub Persona);

impl Handler<PersonaActorFor> for Registry {
    type Result = MessageResult<PersonaActorFor>;
    fn handle(&mut self, msg: PersonaActorFor, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.persona_actor(&msg.0))
    }
}

/// The persona's actor if it is running (its card is then current: updates reach it, deletion stops it).
#[derive(Message)]
#[rtype(result = "Option<Addr<PersonaActor>>")]
pub struct RunningPersona(pub Uuid);

impl Handler<RunningPersona> for Registry {
    type Result = Option<Addr<PersonaActor>>;
    fn handle(&mut self, msg: RunningPersona, _: &mut Context<Self>) -> Self::Result {
        self.personas.get(&msg.0).filter(|a| a.connected()).cloned()
    }
}

/// The conversation's actor, started if needed.
#[derive(Message)]
#[rtype(result = "Addr<ConversationSession>")]
pub struct ConversationFor {
    /// Which conversation.
    pub key: ConversationKey,
    /// Its persona.
    pub persona: Persona,
}

impl Handler<ConversationFor> for Registry {
    type Result = MessageResult<ConversationFor>;
    fn handle(&mut self, msg: ConversationFor, _: &mut Context<Self>) -> Self::Result {
        if let Some(live) = self.conversations.get(&msg.key).filter(|c| c.addr.connected()) {
            return MessageResult(live.addr.clone());
        }
        let persona = self.persona_actor(&msg.persona);
        let last_used = Arc::new(AtomicU64::new(epoch_secs()));
        let id = Arc::new(Mutex::new(None));
        let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
        self.next_arbiter = self.next_arbiter.wrapping_add(1);
        let (deps, key, used, known) = (self.deps.clone(), msg.key.clone(), last_used.clone(), id.clone());
        let addr = ConversationSession::start_in_arbiter(&arbiter.handle(), move |_| {
            ConversationSession::new(key, deps, persona, used, known)
        });
        self.conversations.insert(
            msg.key,
            LiveConversation {
                addr: addr.clone(),
                last_used,
                id,
            },
        );
        MessageResult(addr)
    }
}

/// The actor of an active persona-to-persona conversation, started if needed (also after a restart).
#[derive(Message)]
#[rtype(result = "Addr<DialogueSession>")]
pub struct DialogueFor {
    /// The stored conversation.
    pub dialogue: Dialogue,
    /// Its participants, in order.
    pub personas: Vec<Persona>,
}

impl Handler<DialogueFor> for Registry {
    type Result = MessageResult<DialogueFor>;
    fn handle(&mut self, msg: DialogueFor, _: &mut Context<Self>) -> Self::Result {
        if let Some(addr) = self.dialogues.get(&msg.dialogue.id).filter(|a| a.connected()) {
            return MessageResult(addr.clone());
        }
        let actors = msg.personas.iter().map(|p| self.persona_actor(p)).collect();
        let id = msg.dialogue.id;
        let addr = DialogueSession::new(msg.dialogue, self.deps.clone(), self.memory.clone(), actors).start();
        self.dialogues.insert(id, addr.clone());
        MessageResult(addr)
    }
}

/// A persona's card changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CardChanged(pub Persona);

impl Handler<CardChanged> for Registry {
    type Result = ();
    fn handle(&mut self, msg: CardChanged, _: &mut Context<Self>) {
        self.card_changed(msg.0);
    }
}

/// What another instance sharing the database announced (`None`: some announcements were missed).
#[derive(Message)]
#[rtype(result = "()")]
struct Heard(Option<Notice>);

impl Handler<Heard> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Heard, _: &mut Context<Self>) {
        self.heard(msg.0);
    }
}

/// A persona was deleted: drop its actors.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forget(pub Uuid);

impl Handler<Forget> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Forget, _: &mut Context<Self>) {
        self.forget(msg.0);
    }
}

/// How many chat conversations are live in memory.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ActiveConversations;

impl Handler<ActiveConversations> for Registry {
    type Result = usize;
    fn handle(&mut self, _: ActiveConversations, _: &mut Context<Self>) -> usize {
        self.sweep();
        self.conversations.len()
    }
}

/// The whole database is about to be replaced (`state.load`): the registry lets go of every persona actor,
/// live conversation and dialogue, and answers the persona actors so the caller can retire each (awaiting
/// it), so none writes cached state over the loaded data; the next request starts fresh actors from the loaded
/// rows.
#[derive(Message)]
#[rtype(result = "Vec<Addr<PersonaActor>>")]
pub struct Quiesce;

impl Handler<Quiesce> for Registry {
    type Result = MessageResult<Quiesce>;
    fn handle(&mut self, _: Quiesce, _: &mut Context<Self>) -> Self::Result {
        self.conversations.clear();
        self.dialogues.clear();
        self.leased.clear();
        MessageResult(self.personas.drain().map(|(_, addr)| addr).collect())
    }
}

//! Persona use cases: list, read, create, change, delete, status, choosing one as current; the emotional state
//! ([`emotions`]), Character Cards ([`card`]) and the avatar ([`avatar`]).

pub mod avatar;
pub mod card;
pub mod emotions;
pub mod fields;

use std::collections::BTreeMap;

use chrono::Utc;
use futures_util::future::join_all;
use serde_json::Map;
use uuid::Uuid;

use self::fields::{CreateParams, UpdateParams};
use crate::actors::bot_supervisor::DeleteBot;
use crate::actors::persona::{now_secs, CheckAvailable, GetSnapshot, Snapshot, UpdateCard};
use crate::actors::registry::Forget;
use crate::app::Core;
use crate::domain::persona::{InteractionState, Persona, Priority};
use crate::error::AppError;
use crate::ops::results::persona::{
    CardWithStats, Created, Deleted, InteractionView, PersonaCard, PersonaList, PersonaSummary, Status, StatusCard,
    Switched, Updated,
};
use crate::ops::target::{self, Target};

async fn snapshot(core: &Core, persona: &Persona) -> Result<Snapshot, AppError> {
    core.ask_persona(persona, GetSnapshot).await
}

/// Every persona with its availability, in creation order.
pub async fn list(core: &Core) -> Result<PersonaList, AppError> {
    let all = core.store.personas().list().await?;
    let snapshots = join_all(all.iter().map(|p| snapshot(core, p))).await;
    let now = now_secs();
    let mut available = 0;
    let mut rows = Vec::with_capacity(all.len());
    for s in snapshots {
        let s = s?;
        let is_available = s.state.is_available(now);
        available += usize::from(is_available);
        rows.push(PersonaSummary {
            cooldown_remaining: s.state.cooldown_remaining(now),
            social_energy: s.state.social_energy,
            current_priority: s.state.current_priority,
            available: is_available,
            id: s.persona.id,
            name: s.persona.name,
            description: s.persona.description,
        });
    }
    Ok(PersonaList {
        total_count: all.len(),
        available_count: available,
        personas: rows,
    })
}

/// A persona's card with its memory stats (`key`: id or name).
pub async fn get(core: &Core, key: &str) -> Result<PersonaCard, AppError> {
    let persona = core.resolve_persona(key).await?;
    let memory_stats = core.memory.stats(Some(persona.id)).await?;
    Ok(PersonaCard {
        persona: CardWithStats {
            card: persona,
            memory_stats,
        },
    })
}

/// Checks that the persona named by `key` is available to talk and answers what a session that makes it current
/// (`session_id`) shows; the caller makes it current.
pub async fn switch(core: &Core, key: &str, session_id: String) -> Result<Switched, AppError> {
    let persona = core.resolve_persona(key).await?;
    let s = core.ask_persona(&persona, CheckAvailable).await??;
    Ok(Switched {
        persona_id: persona.id,
        name: persona.name,
        description: persona.description,
        status: "active",
        social_energy: s.state.social_energy,
        available_time: s.state.available_time,
        current_priority: s.state.current_priority,
        session_id,
    })
}

/// A persona with the defaults of `persona.create`, named `name`.
pub fn new_persona(name: &str) -> Persona {
    let now = Utc::now();
    Persona {
        id: Uuid::new_v4(),
        name: name.trim().to_string(),
        description: String::new(),
        personality_traits: Map::new(),
        topic_preferences: BTreeMap::new(),
        charisma: 10,
        intelligence: 10,
        social_rank: "commoner".into(),
        model: None,
        system_prompt: None,
        avatar_url: None,
        created_at: now,
        updated_at: now,
        card: Default::default(),
    }
}

/// Stores a new persona with a fresh interaction state (-32000 conflict when the name is taken).
pub async fn insert(core: &Core, persona: Persona) -> Result<(), AppError> {
    let state = InteractionState::new(Priority::Casual, 100.0, 300.0);
    Ok(core.store.personas().insert(persona, state).await?)
}

/// Creates a persona from the given card fields.
pub async fn create(core: &Core, p: CreateParams) -> Result<Created, AppError> {
    let mut persona = new_persona("");
    p.fields.into_changes().apply(&mut persona);
    insert(core, persona.clone()).await?;
    Ok(Created {
        persona_id: persona.id,
        name: persona.name,
        created: true,
    })
}

/// Changes fields of a persona's card.
pub async fn update(core: &Core, p: UpdateParams) -> Result<Updated, AppError> {
    let persona = core
        .resolve_persona(p.persona_id.as_deref().unwrap_or_default())
        .await?;
    let changes = p.updates.unwrap_or(p.fields).into_changes();
    // The persona's actor applies the change and stores it, one update at a time, so concurrent updates of
    // different fields are all kept and the running persona always has the stored card.
    let persona = core.ask_persona(&persona, UpdateCard(changes)).await??;
    Ok(Updated { persona, updated: true })
}

/// Deletes a persona and everything it owns: its bots (each process stopped, SIGTERM then SIGKILL after 10 s,
/// before its config is deleted), its rows, its actor, its memories' index.
pub async fn delete(core: &Core, key: &str) -> Result<Deleted, AppError> {
    let persona = core.resolve_persona(key).await?;
    let id = persona.id;
    for bot in core.store.bots().list().await? {
        if bot.persona_id == id {
            core.bots.send(DeleteBot(bot.id)).await??;
        }
    }
    core.store.personas().delete(id).await?;
    core.registry.do_send(Forget(id));
    core.memory.drop_persona(id);
    Ok(Deleted {
        persona_id: id,
        message: format!("Persona {} deleted", persona.name),
        name: persona.name,
        deleted: true,
    })
}

/// A persona's card, interaction state and memory stats.
pub async fn status(core: &Core, who: Target<'_>) -> Result<Status, AppError> {
    let persona = target::persona(core, who).await?;
    let s = snapshot(core, &persona).await?;
    Ok(Status {
        persona: StatusCard::from(&persona),
        interaction_state: InteractionView::of(&s.state, now_secs()),
        memory_stats: core.memory.stats(Some(persona.id)).await?,
    })
}

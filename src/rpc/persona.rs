//! `persona.*` (except chat): list, get, switch, create, update, delete, status.

use std::collections::BTreeMap;

use chrono::Utc;
use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::context::Ctx;
use super::params::{non_empty, target_persona, MaybePersona, NoParams, PersonaRef};
use super::results::persona::{
    CardWithStats, Created, Deleted, InteractionView, PersonaCard, PersonaList, PersonaSummary, Status, StatusCard,
    Switched, Updated,
};
use super::router::{Params, Router};
use crate::actors::bot_supervisor::DeleteBot;
use crate::actors::persona::{now_secs, CheckAvailable, GetSnapshot, Snapshot, UpdateCard};
use crate::actors::registry::Forget;
use crate::domain::persona::{InteractionState, Persona, PersonaChanges, Priority};
use crate::error::AppError;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method("persona.list", "List all personas with their availability", list);
    r.method("persona.get", "Get a persona's card", get);
    r.method(
        "persona.switch",
        "Make a persona the connection's current persona",
        switch,
    );
    r.method("persona.create", "Create a persona", create);
    r.method("persona.update", "Change fields of a persona", update);
    r.method(
        "persona.delete",
        "Delete a persona and everything it owns (its Matrix bots are stopped and deleted)",
        delete,
    );
    r.method(
        "persona.status",
        "A persona's card, interaction state and memory stats (persona_id, or the connection's current persona)",
        status,
    );
}

async fn snapshot(ctx: &Ctx, persona: &Persona) -> Result<Snapshot, AppError> {
    ctx.app.ask_persona(persona, GetSnapshot).await
}

async fn list(ctx: Ctx, _: NoParams) -> Result<PersonaList, AppError> {
    let all = ctx.app.store.personas().list().await?;
    let snapshots = join_all(all.iter().map(|p| snapshot(&ctx, p))).await;
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

async fn get(ctx: Ctx, p: PersonaRef) -> Result<PersonaCard, AppError> {
    let persona = ctx.app.resolve_persona(&p.persona_id).await?;
    let memory_stats = ctx.app.memory.stats(Some(persona.id)).await?;
    Ok(PersonaCard {
        persona: CardWithStats {
            card: persona,
            memory_stats,
        },
    })
}

async fn switch(ctx: Ctx, p: PersonaRef) -> Result<Switched, AppError> {
    let persona = ctx.app.resolve_persona(&p.persona_id).await?;
    let s = ctx.app.ask_persona(&persona, CheckAvailable).await??;
    ctx.conn.set_current_persona(Some(persona.id));
    Ok(Switched {
        persona_id: persona.id,
        name: persona.name,
        description: persona.description,
        status: "active",
        social_energy: s.state.social_energy,
        available_time: s.state.available_time,
        current_priority: s.state.current_priority,
        session_id: ctx.conn.session_id(),
    })
}

/// Fields of a persona card, all optional (create requires `name`).
#[derive(Deserialize, JsonSchema, Default, PartialEq)]
pub struct CardFields {
    /// Unique name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description for the system prompt.
    #[serde(default)]
    pub description: Option<String>,
    /// Trait → 0..100 (or words such as "high"), kept as sent.
    #[serde(default)]
    pub personality_traits: Option<Map<String, Value>>,
    /// Topic → preference 0..100.
    #[serde(default)]
    pub topic_preferences: Option<BTreeMap<String, f64>>,
    /// 1..20.
    #[serde(default)]
    pub charisma: Option<i64>,
    /// 1..20.
    #[serde(default)]
    pub intelligence: Option<i64>,
    /// commoner, performer, scholar, merchant, noble, royalty…
    #[serde(default)]
    pub social_rank: Option<String>,
    /// LLM model for this persona.
    #[serde(default)]
    pub model: Option<String>,
    /// Extra system prompt.
    #[serde(default)]
    pub system_prompt: Option<String>,
}

impl CardFields {
    /// Checks the values; an error names the field as `at` followed by its name (`at` is "" or "updates.").
    fn validate(&self, at: &str) -> Result<(), AppError> {
        let field = |name: &str| format!("{at}{name}");
        if let Some(name) = &self.name {
            let f = field("name");
            non_empty(&f, name)?;
            if name.chars().count() > 100 {
                return Err(AppError::invalid(&f, format!("{f} must be at most 100 characters")));
            }
        }
        for (name, value) in [("charisma", self.charisma), ("intelligence", self.intelligence)] {
            if let Some(v) = value.filter(|v| !(1..=20).contains(v)) {
                let f = field(name);
                return Err(AppError::invalid(
                    &f,
                    format!("{f} must be an integer between 1 and 20, got {v}"),
                ));
            }
        }
        if let Some(traits) = &self.personality_traits {
            if let Some((t, v)) = traits.iter().find(|(_, v)| !is_trait_value(v)) {
                let f = field("personality_traits");
                return Err(AppError::invalid(
                    &f,
                    format!("{f}.{t} must be a number between 0 and 100 or a word such as \"high\", got {v}"),
                ));
            }
        }
        if let Some(topics) = &self.topic_preferences {
            if let Some((t, v)) = topics.iter().find(|(_, v)| !(0.0..=100.0).contains(*v)) {
                let f = field("topic_preferences");
                return Err(AppError::invalid(
                    &f,
                    format!("{f}.{t} must be a number between 0 and 100, got {v}"),
                ));
            }
        }
        if self.social_rank.as_ref().is_some_and(|r| r.trim().is_empty()) {
            let f = field("social_rank");
            return Err(AppError::invalid(&f, format!("{f} must not be blank")));
        }
        if self.description.as_ref().is_some_and(|d| d.len() > 16 * 1024) {
            let f = field("description");
            return Err(AppError::invalid(&f, format!("{f} must be at most 16 KiB")));
        }
        Ok(())
    }

    /// The given fields as changes to a card (blank `model` and `system_prompt` clear them).
    fn into_changes(self) -> PersonaChanges {
        let blank_to_none = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        PersonaChanges {
            name: self.name.map(|v| v.trim().to_string()),
            description: self.description,
            personality_traits: self.personality_traits,
            topic_preferences: self.topic_preferences,
            charisma: self.charisma.map(|v| v as i32),
            intelligence: self.intelligence.map(|v| v as i32),
            social_rank: self.social_rank,
            model: self.model.map(blank_to_none),
            system_prompt: self.system_prompt.map(blank_to_none),
            avatar_url: None,
        }
    }
}

/// A trait value a persona can be read by: a number 0..100, a word kept as sent ("high") or true/false.
fn is_trait_value(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_some_and(|n| (0.0..=100.0).contains(&n)),
        Value::String(s) => !s.trim().is_empty(),
        Value::Bool(_) => true,
        _ => false,
    }
}

/// `persona.create` params.
#[derive(Deserialize, JsonSchema)]
pub struct CreateParams {
    /// The card.
    #[serde(flatten)]
    pub fields: CardFields,
}
impl Params for CreateParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("name", self.fields.name.as_deref().unwrap_or(""))?;
        self.fields.validate("")
    }
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
pub async fn insert_persona(ctx: &Ctx, persona: Persona) -> Result<(), AppError> {
    let state = InteractionState::new(Priority::Casual, 100.0, 300.0);
    Ok(ctx.app.store.personas().insert(persona, state).await?)
}

async fn create(ctx: Ctx, p: CreateParams) -> Result<Created, AppError> {
    let mut persona = new_persona("");
    p.fields.into_changes().apply(&mut persona);
    insert_persona(&ctx, persona.clone()).await?;
    Ok(Created {
        persona_id: persona.id,
        name: persona.name,
        created: true,
    })
}

/// `persona.update` params: the fields to change beside `persona_id`, or in an `updates` object.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateParams {
    /// Persona id or name.
    // Required, but an `Option` to serde: a wrong field beside it is then reported as itself, not as a missing
    // `persona_id` (serde checks the required fields before it reads the flattened ones).
    #[schemars(required)]
    pub persona_id: Option<String>,
    /// The fields to change as one object, instead of beside `persona_id`.
    #[serde(default)]
    pub updates: Option<CardFields>,
    /// Fields to change.
    #[serde(flatten)]
    pub fields: CardFields,
}
impl Params for UpdateParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("persona_id", self.persona_id.as_deref().unwrap_or_default())?;
        match &self.updates {
            Some(_) if self.fields != CardFields::default() => Err(AppError::invalid(
                "updates",
                "give the fields to change either in updates or beside persona_id, not both",
            )),
            Some(updates) => updates.validate("updates."),
            None => self.fields.validate(""),
        }
    }
}

async fn update(ctx: Ctx, p: UpdateParams) -> Result<Updated, AppError> {
    let persona = ctx
        .app
        .resolve_persona(p.persona_id.as_deref().unwrap_or_default())
        .await?;
    let changes = p.updates.unwrap_or(p.fields).into_changes();
    // The persona's actor applies the change and stores it, one update at a time, so concurrent updates of
    // different fields are all kept and the running persona always has the stored card.
    let persona = ctx.app.ask_persona(&persona, UpdateCard(changes)).await??;
    Ok(Updated { persona, updated: true })
}

async fn delete(ctx: Ctx, p: PersonaRef) -> Result<Deleted, AppError> {
    let persona = ctx.app.resolve_persona(&p.persona_id).await?;
    let id = persona.id;
    // Its bots go with it: each process is stopped (SIGTERM, SIGKILL after 10 s) before its config is deleted.
    for bot in ctx.app.store.bots().list().await? {
        if bot.persona_id == id {
            ctx.app.bots.send(DeleteBot(bot.id)).await??;
        }
    }
    ctx.app.store.personas().delete(id).await?;
    ctx.app.registry.do_send(Forget(id));
    ctx.app.memory.drop_persona(id);
    if ctx.conn.current_persona() == Some(id) {
        ctx.conn.set_current_persona(None);
    }
    Ok(Deleted {
        persona_id: id,
        message: format!("Persona {} deleted", persona.name),
        name: persona.name,
        deleted: true,
    })
}

async fn status(ctx: Ctx, p: MaybePersona) -> Result<Status, AppError> {
    let persona = target_persona(&ctx, p.persona_id.as_deref()).await?;
    let s = snapshot(&ctx, &persona).await?;
    Ok(Status {
        persona: StatusCard::from(&persona),
        interaction_state: InteractionView::of(&s.state, now_secs()),
        memory_stats: ctx.app.memory.stats(Some(persona.id)).await?,
    })
}

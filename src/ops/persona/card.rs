//! Character Cards V2/V3 (JSON, or PNG as base64) to and from a persona; `character_book` entries become the
//! persona's `lore` memories and come back out on export.

use base64::Engine;
use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::Core;
use crate::domain::card::{self, BookEntry, Card, Spec};
use crate::domain::memory::Memory;
use crate::error::AppError;
use crate::ops::input::{non_empty, Input};
use crate::ops::persona;
use crate::storage::avatars;

/// `persona.import_card`.
#[derive(Serialize, JsonSchema)]
pub struct CardImported {
    /// The new persona.
    pub persona_id: Uuid,
    /// Its name.
    pub name: String,
    /// Always true.
    pub created: bool,
    /// How many character book entries became lore memories.
    pub lore_memories: usize,
}

/// `persona.export_card`: `card` for format json, `png_base64` for format png.
#[derive(Serialize, JsonSchema)]
pub struct CardExported {
    /// The card JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<Value>,
    /// The card PNG, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub png_base64: Option<String>,
}

/// Importance of a lore memory from a character book.
const LORE_IMPORTANCE: f64 = 0.7;

/// `persona.import_card` params: one of `card` and `png_base64`.
#[derive(Deserialize, JsonSchema, Default)]
pub struct ImportParams {
    /// The card JSON (`{"spec": "chara_card_v2"|"chara_card_v3", "data": {...}}`).
    #[serde(default)]
    pub card: Option<Value>,
    /// A card PNG (tEXt chunk `ccv3` or `chara`), base64.
    #[serde(default)]
    pub png_base64: Option<String>,
}

impl Input for ImportParams {
    fn validate(&self) -> Result<(), AppError> {
        match (&self.card, &self.png_base64) {
            (None, None) => Err(AppError::required("card")),
            (Some(_), Some(_)) => Err(AppError::invalid("card", "give card or png_base64, not both")),
            _ => Ok(()),
        }
    }
}

/// The card JSON carried by the params.
fn card_json(p: ImportParams) -> Result<Value, AppError> {
    match (p.card, p.png_base64) {
        (Some(card), _) => Ok(card),
        (None, Some(b64)) => {
            let png = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| AppError::invalid("png_base64", format!("png_base64 is not base64: {e}")))?;
            card::json_from_png(&png).map_err(|e| AppError::invalid("png_base64", e.to_string()))
        }
        (None, None) => Err(AppError::required("card")),
    }
}

/// Creates a persona (and its lore memories) from a parsed card.
pub async fn import_card(core: &Core, card: Card) -> Result<CardImported, AppError> {
    let mut persona = persona::new_persona(&card.name);
    if persona.name.chars().count() > 100 {
        return Err(AppError::invalid("card", "data.name must be at most 100 characters"));
    }
    persona.description = card.description;
    persona.system_prompt = Some(card.system_prompt).filter(|s| !s.trim().is_empty());
    persona.card = card.extras;
    persona::insert(core, persona.clone()).await?;
    let now = Utc::now();
    let lore: Vec<Memory> = card
        .book
        .into_iter()
        .map(|entry| {
            let mut m = Memory::new(persona.id, entry.content, "lore", LORE_IMPORTANCE, now);
            m.metadata = json!({ "keys": entry.keys, "source": "character_book" });
            m
        })
        .collect();
    let lore_count = lore.len();
    if !lore.is_empty() {
        core.memory.store(lore, false).await?;
    }
    Ok(CardImported {
        persona_id: persona.id,
        name: persona.name,
        created: true,
        lore_memories: lore_count,
    })
}

/// Creates a persona from a card given as JSON or PNG.
pub async fn import(core: &Core, p: ImportParams) -> Result<CardImported, AppError> {
    let parsed = card::parse(&card_json(p)?).map_err(|e| AppError::invalid("card", e.to_string()))?;
    import_card(core, parsed).await
}

/// `persona.export_card` params.
#[derive(Deserialize, JsonSchema)]
pub struct ExportParams {
    /// Persona id or name.
    pub persona_id: String,
    /// `v2` or `v3` (default `v3`).
    #[serde(default = "v3")]
    pub spec: String,
    /// `json` (default) or `png`.
    #[serde(default = "json_format")]
    pub format: String,
}

fn v3() -> String {
    "v3".into()
}

fn json_format() -> String {
    "json".into()
}

impl Input for ExportParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("persona_id", &self.persona_id)?;
        if Spec::parse(&self.spec).is_none() {
            return Err(AppError::invalid("spec", "spec must be v2 or v3"));
        }
        if !matches!(self.format.as_str(), "json" | "png") {
            return Err(AppError::invalid("format", "format must be json or png"));
        }
        Ok(())
    }
}

/// A persona as a card (its lore memories as the character book).
pub async fn card_of(core: &Core, persona_id: &str) -> Result<(Card, Option<String>), AppError> {
    let persona = core.resolve_persona(persona_id).await?;
    let mut lore: Vec<Memory> = core
        .store
        .memories()
        .all(Some(persona.id))
        .await?
        .into_iter()
        .map(|s| s.memory)
        .filter(|m| m.memory_type == "lore")
        .collect();
    lore.sort_by_key(|m| m.created_at);
    let book = lore
        .into_iter()
        .map(|m| BookEntry {
            keys: serde_json::from_value(m.metadata["keys"].clone()).unwrap_or_default(),
            content: m.content,
        })
        .collect();
    let card = Card {
        name: persona.name,
        description: persona.description,
        system_prompt: persona.system_prompt.unwrap_or_default(),
        extras: persona.card,
        book,
    };
    Ok((card, persona.avatar_url))
}

/// A card PNG: the persona's avatar when it is a PNG (else a blank 1×1 image) with both card chunks.
async fn card_png(core: &Core, card: &Card, avatar_url: Option<&str>) -> Result<Vec<u8>, AppError> {
    let avatar = avatars::read(&core.settings.current().storage.data_dir, avatar_url).await?;
    let image = avatar
        .map(|(bytes, _)| bytes)
        .filter(|b| avatars::sniff_image(b).is_some_and(|(ext, _)| ext == "png"))
        .unwrap_or_else(|| card::BLANK_PNG.to_vec());
    card::png_with_cards(&image, &card::render(card, Spec::V2), &card::render(card, Spec::V3))
        .map_err(|e| AppError::Internal(format!("the avatar PNG could not carry the card: {e}")))
}

/// A persona as a Character Card of the asked spec and format.
pub async fn export(core: &Core, p: ExportParams) -> Result<CardExported, AppError> {
    if p.format == "png" {
        return Ok(CardExported {
            card: None,
            png_base64: Some(base64::engine::general_purpose::STANDARD.encode(png(core, &p.persona_id).await?)),
        });
    }
    let (card, _) = card_of(core, &p.persona_id).await?;
    let spec = Spec::parse(&p.spec).unwrap_or(Spec::V3);
    Ok(CardExported {
        card: Some(card::render(&card, spec)),
        png_base64: None,
    })
}

/// The persona named by `key` as a card PNG (both specs' chunks).
pub async fn png(core: &Core, key: &str) -> Result<Vec<u8>, AppError> {
    let (card, avatar_url) = card_of(core, key).await?;
    card_png(core, &card, avatar_url.as_deref()).await
}

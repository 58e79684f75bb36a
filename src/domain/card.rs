//! Character cards (the format SillyTavern and most character sites use): Character Card V2 (`chara_card_v2`) and
//! V3 (`chara_card_v3`) JSON, and the same embedded in a PNG as a `tEXt` chunk `chara` (V2) or `ccv3` (V3) holding
//! base64 of the UTF-8 JSON. Reading prefers `ccv3`; writing puts both before `IEND`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The card fields a persona keeps beyond its own (they go back out on export).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CardExtras {
    /// `personality`: a summary of the personality (part of the prompt's identity).
    pub personality: String,
    /// `scenario`: the circumstances of the conversation (part of the prompt's identity).
    pub scenario: String,
    /// `first_mes`: the persona's greeting.
    pub greeting: String,
    /// `alternate_greetings`.
    pub alternate_greetings: Vec<String>,
    /// `mes_example`: example dialogue.
    pub mes_example: String,
    /// `post_history_instructions`.
    pub post_history_instructions: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `creator`.
    pub creator: String,
    /// `character_version`.
    pub character_version: String,
    /// `creator_notes`.
    pub creator_notes: String,
    /// `extensions` (unknown keys kept as they came).
    pub extensions: Map<String, Value>,
}

impl CardExtras {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// One `character_book` entry (becomes a `lore` memory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookEntry {
    /// Words that trigger the entry.
    #[serde(default)]
    pub keys: Vec<String>,
    /// The lore.
    #[serde(default)]
    pub content: String,
}

/// Card spec versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    /// `chara_card_v2`, `2.0`.
    V2,
    /// `chara_card_v3`, `3.0`.
    V3,
}

impl Spec {
    /// From `v2`/`v3` (as in `?spec=`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "v2" | "2" | "chara_card_v2" => Some(Self::V2),
            "v3" | "3" | "chara_card_v3" => Some(Self::V3),
            _ => None,
        }
    }
}

/// A card as the persona sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Card {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `system_prompt`.
    pub system_prompt: String,
    /// Everything else kept on the persona.
    pub extras: CardExtras,
    /// `character_book.entries`.
    pub book: Vec<BookEntry>,
}

/// Why a card could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CardError {
    /// The PNG has no `ccv3` or `chara` text chunk.
    #[error("the PNG holds no character card (no tEXt chunk ccv3 or chara)")]
    NoCardChunk,
    /// The bytes are not a well-formed PNG.
    #[error("not a valid PNG: {0}")]
    BadPng(&'static str),
    /// The chunk is not base64 of UTF-8 JSON.
    #[error("the card chunk is not base64 JSON: {0}")]
    BadChunk(String),
    /// The JSON is not a V2/V3 card.
    #[error("not a character card: {0}")]
    NotACard(String),
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// One PNG chunk: its type and data.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The raw chunks of a PNG in order.
fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, CardError> {
    let mut rest = png
        .strip_prefix(PNG_SIGNATURE)
        .ok_or(CardError::BadPng("no PNG signature"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 12 {
            return Err(CardError::BadPng("truncated chunk"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 12 + len {
            return Err(CardError::BadPng("truncated chunk"));
        }
        let kind = [rest[4], rest[5], rest[6], rest[7]];
        out.push((kind, &rest[8..8 + len]));
        rest = &rest[12 + len..];
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(out)
}

/// The text of the `tEXt` chunk with this keyword.
fn text_chunk<'a>(chunks: &[Chunk<'a>], keyword: &str) -> Option<&'a [u8]> {
    chunks.iter().find_map(|(kind, data)| {
        let (key, text) = data.split_at(data.iter().position(|b| *b == 0)?);
        (kind == b"tEXt" && key == keyword.as_bytes()).then(|| &text[1..])
    })
}

/// The card JSON embedded in a PNG (`ccv3` first, else `chara`).
pub fn json_from_png(png: &[u8]) -> Result<Value, CardError> {
    let all = chunks(png)?;
    let text = text_chunk(&all, "ccv3")
        .or_else(|| text_chunk(&all, "chara"))
        .ok_or(CardError::NoCardChunk)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.trim_ascii())
        .map_err(|e| CardError::BadChunk(e.to_string()))?;
    serde_json::from_slice(&raw).map_err(|e| CardError::BadChunk(e.to_string()))
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// `png` with its card chunks replaced by `chara` (V2 JSON) and `ccv3` (V3 JSON), written before `IEND`.
pub fn png_with_cards(png: &[u8], v2: &Value, v3: &Value) -> Result<Vec<u8>, CardError> {
    let all = chunks(png)?;
    let mut out = PNG_SIGNATURE.to_vec();
    let b64 = |v: &Value| base64::engine::general_purpose::STANDARD.encode(v.to_string());
    for (kind, data) in &all {
        let is_card = kind == b"tEXt" && (data.starts_with(b"chara\0") || data.starts_with(b"ccv3\0"));
        if is_card {
            continue;
        }
        if kind == b"IEND" {
            write_chunk(&mut out, b"tEXt", &[b"chara\0".as_slice(), b64(v2).as_bytes()].concat());
            write_chunk(&mut out, b"tEXt", &[b"ccv3\0".as_slice(), b64(v3).as_bytes()].concat());
        }
        write_chunk(&mut out, kind, data);
    }
    Ok(out)
}

/// A 1×1 transparent PNG, for exporting a persona without a PNG avatar.
pub const BLANK_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn text(data: &Map<String, Value>, key: &str) -> String {
    data.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn texts(data: &Map<String, Value>, key: &str) -> Vec<String> {
    data.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Reads a V2 or V3 card (JSON).
pub fn parse(card: &Value) -> Result<Card, CardError> {
    let spec = card.get("spec").and_then(Value::as_str).unwrap_or_default();
    if Spec::parse(spec).is_none() {
        return Err(CardError::NotACard(format!(
            "spec must be chara_card_v2 or chara_card_v3, got {:?}",
            card.get("spec").cloned().unwrap_or(Value::Null)
        )));
    }
    let data = card
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| CardError::NotACard("data must be an object".into()))?;
    let name = text(data, "name");
    if name.trim().is_empty() {
        return Err(CardError::NotACard("data.name is required".into()));
    }
    let book = data
        .get("character_book")
        .and_then(|b| b.get("entries"))
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| serde_json::from_value::<BookEntry>(e.clone()).ok())
                .filter(|e| !e.content.trim().is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(Card {
        name,
        description: text(data, "description"),
        system_prompt: text(data, "system_prompt"),
        extras: CardExtras {
            personality: text(data, "personality"),
            scenario: text(data, "scenario"),
            greeting: text(data, "first_mes"),
            alternate_greetings: texts(data, "alternate_greetings"),
            mes_example: text(data, "mes_example"),
            post_history_instructions: text(data, "post_history_instructions"),
            tags: texts(data, "tags"),
            creator: text(data, "creator"),
            character_version: text(data, "character_version"),
            creator_notes: text(data, "creator_notes"),
            extensions: data
                .get("extensions")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        },
        book,
    })
}

/// Writes a card as V2 or V3 JSON.
pub fn render(card: &Card, spec: Spec) -> Value {
    let x = &card.extras;
    let mut data = serde_json::json!({
        "name": card.name,
        "description": card.description,
        "personality": x.personality,
        "scenario": x.scenario,
        "first_mes": x.greeting,
        "mes_example": x.mes_example,
        "creator_notes": x.creator_notes,
        "system_prompt": card.system_prompt,
        "post_history_instructions": x.post_history_instructions,
        "alternate_greetings": x.alternate_greetings,
        "tags": x.tags,
        "creator": x.creator,
        "character_version": x.character_version,
        "extensions": x.extensions,
    });
    if !card.book.is_empty() {
        let entries: Vec<Value> = card
            .book
            .iter()
            .enumerate()
            .map(|(i, e)| {
                serde_json::json!({
                    "keys": e.keys, "content": e.content, "extensions": {}, "enabled": true,
                    "insertion_order": i, "use_regex": false,
                })
            })
            .collect();
        data["character_book"] = serde_json::json!({ "entries": entries, "extensions": {} });
    }
    match spec {
        Spec::V2 => serde_json::json!({ "spec": "chara_card_v2", "spec_version": "2.0", "data": data }),
        Spec::V3 => {
            data["group_only_greetings"] = serde_json::json!([]);
            serde_json::json!({ "spec": "chara_card_v3", "spec_version": "3.0", "data": data })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v2() -> Value {
        json!({ "spec": "chara_card_v2", "spec_version": "2.0", "data": {
            "name": "Seraphina", "description": "A guardian of the forest", "personality": "kind",
            "scenario": "a glade", "first_mes": "Welcome, traveller.", "mes_example": "<START>",
            "system_prompt": "Stay in character.", "post_history_instructions": "Be brief.",
            "alternate_greetings": ["Hello again."], "tags": ["fantasy"], "creator": "ana",
            "character_version": "1.2", "creator_notes": "notes",
            "extensions": { "talkativeness": "0.5", "depth_prompt": { "depth": 4 } },
            "character_book": { "entries": [ { "keys": ["glade"], "content": "The glade is hidden." } ] }
        }})
    }

    #[test]
    fn a_v2_card_survives_png_and_v3() {
        let card = parse(&v2()).unwrap();
        assert_eq!(card.extras.greeting, "Welcome, traveller.");
        assert_eq!(card.book[0].keys, ["glade"]);
        assert_eq!(card.extras.extensions["depth_prompt"]["depth"], 4);
        let png = png_with_cards(BLANK_PNG, &render(&card, Spec::V2), &render(&card, Spec::V3)).unwrap();
        let back = json_from_png(&png).unwrap();
        assert_eq!(back["spec"], "chara_card_v3", "ccv3 is read first");
        assert_eq!(parse(&back).unwrap(), card);
        let again = png_with_cards(&png, &render(&card, Spec::V2), &render(&card, Spec::V3)).unwrap();
        assert_eq!(again, png, "old card chunks are replaced, not added");
        assert_eq!(chunks(&png).unwrap().last().unwrap().0, *b"IEND");
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(json_from_png(BLANK_PNG), Err(CardError::NoCardChunk));
        assert!(matches!(json_from_png(b"GIF89a"), Err(CardError::BadPng(_))));
        assert!(matches!(
            parse(&json!({ "spec": "other", "data": {} })),
            Err(CardError::NotACard(_))
        ));
        assert!(matches!(
            parse(&json!({ "spec": "chara_card_v2", "data": { "name": "" } })),
            Err(CardError::NotACard(_))
        ));
    }
}

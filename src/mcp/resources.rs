//! Resources: `persona://{id}` (card and state), `persona://{id}/memories` (the memories the reader may see)
//! and `persona://{id}/relationships`. A persona may be named by id or by name; every document is JSON.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::McpError;
use super::params::{paged, required_str};
use super::wire::{Page, ReadResourceResult, Resource, ResourceTemplate, TextResourceContents};
use crate::domain::memory::{Memory, Reader};
use crate::domain::persona::Persona;
use crate::error::AppError;
use crate::rpc::context::Ctx;
use crate::rpc::router::Router;

const SCHEME: &str = "persona://";
const JSON: &str = "application/json";
/// Most memories one read returns (the newest).
const MEMORY_LIMIT: usize = 100;

/// The documents there are of each persona.
#[derive(Debug, Clone, Copy, PartialEq)]
enum View {
    Card,
    Memories,
    Relationships,
}

impl View {
    const ALL: [View; 3] = [View::Card, View::Memories, View::Relationships];

    fn suffix(self) -> &'static str {
        match self {
            Self::Card => "",
            Self::Memories => "/memories",
            Self::Relationships => "/relationships",
        }
    }

    fn describe(self, name: &str) -> String {
        match self {
            Self::Card => format!("{name}'s card, interaction state and emotional state"),
            Self::Memories => format!(
                "{name}'s memories the reader may see: read as the connection's current persona, all of them \
                 when it is {name}, the shared and public ones visibility grants another; with no current \
                 persona (the operator), all of them"
            ),
            Self::Relationships => format!("{name}'s relationships with other personas"),
        }
    }

    fn title(self, name: &str) -> String {
        match self {
            Self::Card => name.to_string(),
            Self::Memories => format!("{name}: memories"),
            Self::Relationships => format!("{name}: relationships"),
        }
    }
}

/// Decodes `%XX` escapes (a persona named in a URI); `None` when malformed.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `persona://KEY[/memories|/relationships]` → the persona key and the view.
fn parse_uri(uri: &str) -> Option<(String, View)> {
    let rest = uri.strip_prefix(SCHEME)?.trim_end_matches('/');
    let (key, view) = match rest.split_once('/') {
        None => (rest, View::Card),
        Some((key, "memories")) => (key, View::Memories),
        Some((key, "relationships")) => (key, View::Relationships),
        Some(_) => return None,
    };
    let key = percent_decode(key)?;
    (!key.trim().is_empty()).then_some((key, view))
}

fn uri(persona: &Persona, view: View) -> String {
    format!("{SCHEME}{}{}", persona.id, view.suffix())
}

/// `resources/list`: the three documents of every persona, in creation order.
pub async fn list(ctx: &Ctx, params: &Map<String, Value>) -> Result<Page<Resource>, McpError> {
    let all = ctx.app.store.personas().list().await.map_err(AppError::from)?;
    let items = all
        .iter()
        .flat_map(|p| {
            View::ALL.map(|view| Resource {
                uri: uri(p, view),
                name: format!("{}{}", p.name, view.suffix()),
                title: view.title(&p.name),
                description: view.describe(&p.name),
                mime_type: JSON,
            })
        })
        .collect();
    paged(items, params)
}

/// `resources/templates/list`.
pub fn templates(params: &Map<String, Value>) -> Result<Page<ResourceTemplate>, McpError> {
    let items = View::ALL
        .map(|view| ResourceTemplate {
            uri_template: format!("{SCHEME}{{persona_id}}{}", view.suffix()),
            name: format!("persona{}", view.suffix().replace('/', "_")),
            title: view.title("A persona"),
            description: format!("{} (persona_id: id or name)", view.describe("The persona")),
            mime_type: JSON,
        })
        .into();
    paged(items, params)
}

/// `persona://{id}`: the persona's card, interaction state and emotional state, as `persona.get`,
/// `persona.status` and `emotional.get_state` answer them.
#[derive(Serialize)]
struct CardDocument {
    persona: Value,
    interaction_state: Value,
    emotional_state: Value,
}

/// `persona://{id}/memories`: the newest memories the reader may see, and how many it may see in all.
#[derive(Serialize)]
struct MemoriesDocument {
    persona_id: Uuid,
    persona_name: String,
    /// The reading persona (none: the operator).
    viewer: Option<Uuid>,
    total_visible: usize,
    memories: Vec<Memory>,
}

/// `resources/read`.
pub async fn read(router: &Router, ctx: &Ctx, params: &Map<String, Value>) -> Result<ReadResourceResult, McpError> {
    let uri = required_str(params, "uri")?;
    let not_found = || McpError::ResourceNotFound(uri.to_string());
    let (key, view) = parse_uri(uri).ok_or_else(not_found)?;
    let persona = match ctx.app.resolve_persona(&key).await {
        Ok(p) => p,
        Err(AppError::PersonaNotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let mut by_id = Map::new();
    by_id.insert("persona_id".into(), persona.id.to_string().into());
    let by_id = Value::Object(by_id);
    let answer = |method: &'static str, key: &'static str| {
        let by_id = by_id.clone();
        async move {
            let mut answer = router.answer(ctx.clone(), method, by_id).await?;
            Ok::<_, AppError>(answer.get_mut(key).map(Value::take).unwrap_or_default())
        }
    };
    let document = match view {
        View::Card => to_text(CardDocument {
            persona: answer("persona.get", "persona").await?,
            interaction_state: answer("persona.status", "interaction_state").await?,
            emotional_state: answer("emotional.get_state", "emotional_state").await?,
        })?,
        View::Relationships => router
            .answer(ctx.clone(), "relationship.list", by_id)
            .await?
            .to_string(),
        View::Memories => to_text(visible_memories(ctx, &persona).await?)?,
    };
    Ok(ReadResourceResult {
        contents: vec![TextResourceContents {
            uri: uri.to_string(),
            mime_type: JSON,
            text: document,
        }],
    })
}

/// A document as JSON text.
fn to_text(document: impl Serialize) -> Result<String, AppError> {
    serde_json::to_string(&document).map_err(|e| AppError::Internal(format!("serialising a resource: {e}")))
}

/// The newest memories of `owner` the reader may see: the reader is the connection's current persona (the
/// visibility rule of DOMAIN.md applies), or, with none, the operator, who reads them all.
async fn visible_memories(ctx: &Ctx, owner: &Persona) -> Result<MemoriesDocument, AppError> {
    let reader = ctx.conn.current_persona().map_or(Reader::Operator, Reader::Persona);
    let (memories, total_visible) = ctx.app.memory.newest_readable(owner.id, reader, MEMORY_LIMIT).await?;
    Ok(MemoriesDocument {
        persona_id: owner.id,
        persona_name: owner.name.clone(),
        viewer: reader.persona(),
        total_visible,
        memories,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_a_persona_and_a_view() {
        assert_eq!(parse_uri("persona://Aria"), Some(("Aria".into(), View::Card)));
        assert_eq!(parse_uri("persona://Aria/"), Some(("Aria".into(), View::Card)));
        assert_eq!(
            parse_uri("persona://Old%20Tom/memories"),
            Some(("Old Tom".into(), View::Memories))
        );
        assert_eq!(
            parse_uri("persona://x/relationships"),
            Some(("x".into(), View::Relationships))
        );
        assert_eq!(parse_uri("persona://x/diary"), None);
        assert_eq!(parse_uri("persona://"), None);
        assert_eq!(parse_uri("persona://%zz"), None);
        assert_eq!(parse_uri("file:///etc/passwd"), None);
    }
}

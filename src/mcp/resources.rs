//! Resources: `persona://{id}` (card and state), `persona://{id}/memories` (the memories the reader may see)
//! and `persona://{id}/relationships`. A persona may be named by id or by name; every document is JSON.

use serde_json::{json, Map, Value};

use super::error::McpError;
use super::params::{paged, required_str};
use crate::domain::memory::Reader;
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
pub async fn list(ctx: &Ctx, params: &Map<String, Value>) -> Result<Value, McpError> {
    let all = ctx.app.store.personas().list().await.map_err(AppError::from)?;
    let items = all
        .iter()
        .flat_map(|p| {
            View::ALL.map(|view| {
                json!({
                    "uri": uri(p, view),
                    "name": format!("{}{}", p.name, view.suffix()),
                    "title": view.title(&p.name),
                    "description": view.describe(&p.name),
                    "mimeType": JSON,
                })
            })
        })
        .collect();
    paged("resources", items, params)
}

/// `resources/templates/list`.
pub fn templates(params: &Map<String, Value>) -> Result<Value, McpError> {
    let items = View::ALL
        .map(|view| {
            json!({
                "uriTemplate": format!("{SCHEME}{{persona_id}}{}", view.suffix()),
                "name": format!("persona{}", view.suffix().replace('/', "_")),
                "title": view.title("A persona"),
                "description": format!("{} (persona_id: id or name)", view.describe("The persona")),
                "mimeType": JSON,
            })
        })
        .to_vec();
    paged("resourceTemplates", items, params)
}

/// `resources/read`.
pub async fn read(router: &Router, ctx: &Ctx, params: &Map<String, Value>) -> Result<Value, McpError> {
    let uri = required_str(params, "uri")?;
    let not_found = || McpError::ResourceNotFound(uri.to_string());
    let (key, view) = parse_uri(uri).ok_or_else(not_found)?;
    let persona = match ctx.app.resolve_persona(&key).await {
        Ok(p) => p,
        Err(AppError::PersonaNotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let by_id = json!({ "persona_id": persona.id.to_string() });
    let document = match view {
        View::Card => {
            let card = router.answer(ctx.clone(), "persona.get", by_id.clone()).await?;
            let status = router.answer(ctx.clone(), "persona.status", by_id.clone()).await?;
            let emotions = router.answer(ctx.clone(), "emotional.get_state", by_id).await?;
            json!({
                "persona": card["persona"],
                "interaction_state": status["interaction_state"],
                "emotional_state": emotions["emotional_state"],
            })
        }
        View::Relationships => router.answer(ctx.clone(), "relationship.list", by_id).await?,
        View::Memories => visible_memories(ctx, &persona).await?,
    };
    Ok(json!({ "contents": [{ "uri": uri, "mimeType": JSON, "text": document.to_string() }] }))
}

/// The newest memories of `owner` the reader may see: the reader is the connection's current persona (the
/// visibility rule of DOMAIN.md applies), or, with none, the operator, who reads them all.
async fn visible_memories(ctx: &Ctx, owner: &Persona) -> Result<Value, AppError> {
    let reader = ctx.conn.current_persona().map_or(Reader::Operator, Reader::Persona);
    let (visible, total) = ctx.app.memory.newest_readable(owner.id, reader, MEMORY_LIMIT).await?;
    Ok(json!({
        "persona_id": owner.id,
        "persona_name": owner.name,
        "viewer": reader.persona(),
        "total_visible": total,
        "memories": visible,
    }))
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

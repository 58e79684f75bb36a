//! Reading MCP params: required strings, and the pages of the list methods (`cursor` / `nextCursor`).

use serde_json::{Map, Value};

use super::error::McpError;
use super::wire::Page;

/// Items per page of the list methods (`cursor` / `nextCursor`).
const PAGE_SIZE: usize = 32;

/// A string param that must be there.
pub fn required_str<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, McpError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| McpError::InvalidParams(format!("{name} is required (a string)")))
}

/// One page of `items`, from the request's `cursor` (an offset this server handed out).
pub fn paged<T>(items: Vec<T>, params: &Map<String, Value>) -> Result<Page<T>, McpError> {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => c
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0 && n < items.len())
            .ok_or_else(|| McpError::InvalidCursor(c.clone()))?,
        Some(other) => return Err(McpError::InvalidCursor(other.to_string())),
    };
    let end = (start + PAGE_SIZE).min(items.len());
    Ok(Page {
        next_cursor: (end < items.len()).then(|| end.to_string()),
        items: items.into_iter().skip(start).take(PAGE_SIZE).collect(),
    })
}

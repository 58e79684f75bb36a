//! Cursor paging of admin lists: `?limit=&cursor=` in, `{items, next_cursor}` out.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::AppError;

/// The largest page.
pub const MAX_LIMIT: usize = 500;

/// `limit` (1..=500, default 50) and `cursor` (opaque; from the previous page's `next_cursor`).
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    /// Items per page.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Where to go on.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// One page of `items` (already filtered and in their final order).
    pub fn page(&self, items: Vec<Value>) -> Result<Value, AppError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let start = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => 0,
            Some(c) => c
                .strip_prefix("o")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| AppError::invalid("cursor", "cursor is not one this server gave out"))?,
        };
        let end = (start + limit).min(items.len());
        let next = (end < items.len()).then(|| format!("o{end}"));
        let page: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
        Ok(json!({ "items": page, "next_cursor": next }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_every_item_once() {
        let items: Vec<Value> = (0..7).map(|i| json!(i)).collect();
        let mut q = PageQuery {
            limit: Some(3),
            cursor: None,
        };
        let mut seen = Vec::new();
        loop {
            let p = q.page(items.clone()).unwrap();
            seen.extend(p["items"].as_array().unwrap().iter().cloned());
            match p["next_cursor"].as_str() {
                Some(c) => q.cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(PageQuery {
            limit: Some(0),
            cursor: None
        }
        .page(vec![])
        .is_err());
        assert!(PageQuery {
            limit: None,
            cursor: Some("x".into())
        }
        .page(vec![])
        .is_err());
    }
}

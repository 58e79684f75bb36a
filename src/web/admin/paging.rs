//! Cursor paging of admin lists: `?limit=&cursor=` in, `{items, next_cursor}` out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The largest page.
pub const MAX_LIMIT: usize = 500;

/// `limit` (1..=500, default 50) and `cursor` (opaque; from the previous page's `next_cursor`).
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    pub fn page<T>(&self, items: Vec<T>) -> Result<Page<T>, AppError> {
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
        let items = items.into_iter().skip(start).take(limit).collect();
        Ok(Page {
            items,
            next_cursor: next,
        })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Give it as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

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
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(PageQuery {
            limit: Some(0),
            cursor: None
        }
        .page(Vec::<Value>::new())
        .is_err());
        assert!(PageQuery {
            limit: None,
            cursor: Some("x".into())
        }
        .page(Vec::<Value>::new())
        .is_err());
    }
}

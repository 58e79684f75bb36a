//! Analytics repository: what conversation analytics are computed from, read in one go per kind.

use uuid::Uuid;

use super::sql::{analytics, Db};
use super::StorageError;
use crate::domain::analytics::{InteractionRecord, Span, ThreadActivity, TurnRow};

/// Stored turns, threads and interactions of a time range; reached through [`super::Store::analytics`].
pub struct Analytics<'a> {
    db: &'a Db,
}

impl<'a> Analytics<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// The chat replies with statistics stored in `span` (one persona's, or all), oldest first.
    pub async fn turns(&self, persona: Option<Uuid>, span: Span) -> Result<Vec<TurnRow>, StorageError> {
        self.db.run(move |c| analytics::turns(c, persona, span)).await
    }

    /// The topic threads active in `span`, most recently active first.
    pub async fn threads(&self, persona: Option<Uuid>, span: Span) -> Result<Vec<ThreadActivity>, StorageError> {
        self.db.run(move |c| analytics::threads(c, persona, span)).await
    }

    /// The relationship interactions in `span` (involving `persona`, or all), oldest first.
    pub async fn interactions(
        &self,
        persona: Option<Uuid>,
        span: Span,
    ) -> Result<Vec<InteractionRecord>, StorageError> {
        self.db.run(move |c| analytics::interactions(c, persona, span)).await
    }
}

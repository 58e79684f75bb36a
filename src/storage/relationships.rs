//! Relationship repository: one relationship per unordered pair of personas and the interactions applied to it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::{relationships, Db};
use super::StorageError;
use crate::domain::relationship::{InteractionOutcome, Relationship};
use crate::domain::relationship_stats::RelationshipStats;

/// Relationships; reached through [`super::Store::relationships`].
pub struct Relationships<'a> {
    db: &'a Db,
}

impl<'a> Relationships<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// The relationship between `a` and `b`, asked in either order.
    pub async fn get(&self, a: Uuid, b: Uuid) -> Result<Option<Relationship>, StorageError> {
        self.db.run(move |c| relationships::get(c, a, b)).await
    }

    /// The relationships between `persona` and each of `others` that exist.
    pub async fn between(&self, persona: Uuid, others: Vec<Uuid>) -> Result<Vec<Relationship>, StorageError> {
        self.db
            .run(move |c| {
                let mut found = Vec::new();
                for other in others {
                    found.extend(relationships::get(c, persona, other)?);
                }
                Ok(found)
            })
            .await
    }

    /// Every relationship `persona` is part of.
    pub async fn list_for(&self, persona: Uuid) -> Result<Vec<Relationship>, StorageError> {
        self.db.run(move |c| relationships::list_for(c, persona)).await
    }

    /// The aggregates over every relationship.
    pub async fn stats(&self) -> Result<RelationshipStats, StorageError> {
        let all = self.db.run(relationships::list_all).await?;
        Ok(RelationshipStats::of(&all))
    }

    /// Applies one interaction of `a` and `b` at `now` (see [`Relationship::apply_interaction`]), creating the
    /// relationship if there is none, and records it in the history, atomically: concurrent interactions of one
    /// pair never lose one another.
    pub async fn record_interaction(
        &self,
        (a, b): (Uuid, Uuid),
        quality: f64,
        duration_minutes: f64,
        context: String,
        now: DateTime<Utc>,
    ) -> Result<(Relationship, InteractionOutcome), StorageError> {
        self.db
            .write(move |c| relationships::record_interaction(c, a, b, quality, duration_minutes, &context, now))
            .await
            .map_err(|e| e.about(format!("{a} or {b}")))
    }

    /// True when `a` and `b` have a relationship (of any type).
    pub async fn exists(&self, a: Uuid, b: Uuid) -> Result<bool, StorageError> {
        self.db.run(move |c| relationships::has_relationship(c, a, b)).await
    }

    /// The personas `persona` has a relationship with (of any type).
    pub async fn related_to(&self, persona: Uuid) -> Result<Vec<Uuid>, StorageError> {
        self.db.run(move |c| relationships::related_to(c, persona)).await
    }
}

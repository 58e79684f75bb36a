-- PostgreSQL twin of migrations/2026-11-30-000020_persona_card.
ALTER TABLE personas ADD COLUMN card TEXT NOT NULL DEFAULT '{}';

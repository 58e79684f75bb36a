-- PostgreSQL twin of migrations/2026-11-30-000250_models_thread_titles.
ALTER TABLE chat_threads ADD COLUMN title TEXT;

//! Pure domain logic: no actix, no I/O. Each module is unit-tested on its own.

pub mod analytics;
pub mod bot;
pub mod card;
pub mod chat;
pub mod chatroom;
pub mod compatibility;
pub mod continue_score;
pub mod decay;
pub mod dialogue;
pub mod emotion;
pub mod image;
pub mod importance;
pub mod memory;
pub mod model_rules;
pub mod persona;
pub mod prompt;
pub mod pruning;
pub mod relationship;
pub mod relationship_stats;
pub mod scene;
pub mod seeds;
pub mod templates;
pub mod thread;

/// Rounds to 3 decimal places, as scores are reported.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

//! `[chat]`: the conversation window, token budgets, topic threads and images.

use serde::{Deserialize, Serialize};

use super::check::{check_min, check_within};
use super::ConfigError;

/// `[chat]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatSettings {
    /// Messages of history sent to the model.
    pub max_context_messages: usize,
    /// Past this many messages, older ones are folded into a summary.
    pub context_summary_threshold: usize,
    /// `token_budget` when the client sends none.
    pub default_token_budget: u32,
    /// Largest `token_budget` accepted.
    pub max_token_budget: u32,
    /// Largest chat message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Lowest similarity (cosine of the message's vector with a thread's; keyword overlap without an embedder)
    /// with which a message joins a topic thread instead of starting one.
    pub thread_threshold: f64,
    /// Added to the current thread's similarity, so a follow-up stays in its topic.
    pub thread_continuity_bonus: f64,
    /// How long (from the start of a turn) the threading step waits for the message's vector, which memory
    /// recall computes; past it the thread is chosen by keywords and its centroid takes the vector later.
    pub thread_vector_wait_ms: u64,
    /// Most images one chat message may carry (`images`).
    pub max_images: usize,
    /// Largest image accepted, in bytes once decoded (the whole frame must also fit `server.max_frame_bytes`).
    pub max_image_bytes: usize,
    /// Models that can see images, by name prefix (case-insensitive; `*` for every model). Other models get a
    /// short text note instead of the pictures.
    pub vision_models: Vec<String>,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            max_context_messages: 20,
            context_summary_threshold: 50,
            default_token_budget: 500,
            max_token_budget: 32_768,
            max_message_bytes: 64 * 1024,
            thread_threshold: 0.3,
            thread_continuity_bonus: 0.1,
            thread_vector_wait_ms: 5,
            max_images: 4,
            max_image_bytes: 4 * 1024 * 1024,
            vision_models: [
                "llava",
                "bakllava",
                "llama3.2-vision",
                "llama4",
                "gemma3",
                "qwen2.5vl",
                "qwen2-vl",
                "minicpm-v",
                "moondream",
                "granite3.2-vision",
                "mistral-small3",
                "pixtral",
                "gpt-4o",
                "gpt-4.1",
                "gpt-5",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl ChatSettings {
    /// Checks the window against the summary threshold, the budgets against each other and the thread numbers.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_min("chat.max_context_messages", self.max_context_messages, 1)?;
        if self.context_summary_threshold <= self.max_context_messages {
            return Err(ConfigError::new(
                "chat.context_summary_threshold",
                self.context_summary_threshold,
                "a number greater than chat.max_context_messages",
            ));
        }
        check_min("chat.default_token_budget", self.default_token_budget as usize, 1)?;
        check_within(
            "chat.thread_threshold",
            self.thread_threshold,
            0.0..=1.0,
            "a number in 0..1",
        )?;
        check_within(
            "chat.thread_continuity_bonus",
            self.thread_continuity_bonus,
            0.0..=1.0,
            "a number in 0..1",
        )?;
        if self.max_token_budget < self.default_token_budget {
            return Err(ConfigError::new(
                "chat.max_token_budget",
                self.max_token_budget,
                "at least chat.default_token_budget",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn summary_threshold_must_exceed_window() {
        let mut s = Settings::default();
        s.chat.context_summary_threshold = 10;
        assert_eq!(s.validate().unwrap_err().key, "chat.context_summary_threshold");
    }
}

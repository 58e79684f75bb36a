//! Visual context: a scene description set by `visual.update` (type "scene") for one persona or for every
//! persona, written into their prompts until a newer scene replaces it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::prompt::PromptSection;

/// A stored scene.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Scene {
    /// The persona it is for; `None`: every persona.
    pub persona_id: Option<Uuid>,
    /// What the persona sees around it.
    pub description: String,
    /// When it was set.
    pub updated_at: DateTime<Utc>,
}

/// The scene a persona sees: the newer of its own and the shared one (a shared scene set later replaces an
/// older own one, and the other way round).
pub fn current<'a>(own: Option<&'a Scene>, shared: Option<&'a Scene>) -> Option<&'a Scene> {
    match (own, shared) {
        (Some(o), Some(s)) => Some(if s.updated_at > o.updated_at { s } else { o }),
        (o, s) => o.or(s),
    }
}

/// The scene as a section of the system prompt.
pub fn section(scene: &Scene) -> PromptSection {
    PromptSection {
        title: "Where you are (what you see now)".into(),
        body: scene.description.trim().to_string(),
        recalled: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(persona: Option<Uuid>, text: &str, secs: i64) -> Scene {
        Scene {
            persona_id: persona,
            description: text.into(),
            updated_at: DateTime::from_timestamp(secs, 0).unwrap(),
        }
    }

    #[test]
    fn the_newer_scene_applies() {
        let me = Some(Uuid::new_v4());
        let own = scene(me, "a quiet library", 10);
        let shared = scene(None, "a busy market", 20);
        assert_eq!(current(Some(&own), Some(&shared)), Some(&shared));
        let later_own = scene(me, "the library again", 30);
        assert_eq!(current(Some(&later_own), Some(&shared)), Some(&later_own));
        assert_eq!(current(None, Some(&shared)), Some(&shared));
        assert_eq!(current(Some(&own), None), Some(&own));
        assert_eq!(current(None, None), None);
        assert_eq!(section(&own).body, "a quiet library");
    }
}

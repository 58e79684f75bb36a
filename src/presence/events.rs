//! Live state events: what changed about a persona (its feelings, its social energy, whether it is available,
//! its relationships, the conversation it is in, a persona-to-persona turn it took part in), and which
//! connections want to hear about it (`state.subscribe {persona_id?, events?}`).

use std::collections::BTreeSet;

use uuid::Uuid;

/// A kind of change a subscriber can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Mood, energy level, stress, curiosity or social battery.
    EmotionalState,
    /// Social energy (spent by talking, regained by resting).
    Energy,
    /// Available for interaction or not (cooldown, no social energy).
    Availability,
    /// A relationship with another persona.
    Relationship,
    /// The persona-to-persona conversation it is in started or ended.
    Conversation,
    /// A persona-to-persona turn it took part in completed.
    TurnCompleted,
}

impl Change {
    /// Every kind, in the order they are documented.
    pub const ALL: [Change; 6] = [
        Self::EmotionalState,
        Self::Energy,
        Self::Availability,
        Self::Relationship,
        Self::Conversation,
        Self::TurnCompleted,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmotionalState => "emotional_state",
            Self::Energy => "energy",
            Self::Availability => "availability",
            Self::Relationship => "relationship",
            Self::Conversation => "conversation",
            Self::TurnCompleted => "turn_completed",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name.trim())
    }
}

/// What one connection subscribed to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// Only changes of this persona; `None`: every persona.
    pub persona: Option<Uuid>,
    /// Only these kinds; empty: every kind.
    pub changes: BTreeSet<Change>,
}

impl Subscription {
    /// True when an event about `personas` with `changes` is for this subscriber.
    pub fn wants(&self, personas: &[Uuid], changes: &[Change]) -> bool {
        let persona_ok = self.persona.is_none_or(|p| personas.contains(&p));
        let change_ok = self.changes.is_empty() || changes.iter().any(|c| self.changes.contains(c));
        persona_ok && change_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Change::ALL {
            assert_eq!(Change::parse(c.as_str()), Some(c));
        }
        assert_eq!(Change::parse("mood"), None);
    }

    #[test]
    fn subscriptions_filter_by_persona_and_kind() {
        let (aria, kira) = (Uuid::new_v4(), Uuid::new_v4());
        let all = Subscription::default();
        assert!(all.wants(&[aria], &[Change::Energy]));
        let only_aria = Subscription {
            persona: Some(aria),
            changes: BTreeSet::new(),
        };
        assert!(only_aria.wants(&[kira, aria], &[Change::TurnCompleted]));
        assert!(!only_aria.wants(&[kira], &[Change::TurnCompleted]));
        let moods = Subscription {
            persona: None,
            changes: [Change::EmotionalState].into(),
        };
        assert!(moods.wants(&[kira], &[Change::Energy, Change::EmotionalState]));
        assert!(!moods.wants(&[kira], &[Change::Energy]));
    }
}

//! Prompt assembly: what a chat sends to the model (DOMAIN.md, "Prompt assembly").

use super::chat::{ChatMessage, PromptMessage, Role};
use super::emotion::EmotionalState;
use super::persona::{InteractionState, Persona};
use super::relationship::Relationship;
use uuid::Uuid;

use super::templates::{PersonaView, PromptTemplates, SectionView, SummaryContext, SystemContext};

/// Social energy under which a persona keeps its replies short and says it needs a rest.
pub const LOW_ENERGY: f64 = 30.0;

/// Extra context a feature contributes to the system prompt (memories, emotions, relationships).
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSection {
    /// Heading shown to the model, e.g. "Things you remember".
    pub title: String,
    /// The section's text.
    pub body: String,
    /// The memories it holds (their ids), recorded with the turn as recall hits.
    pub recalled: Vec<Uuid>,
}

/// The last line of [`identity`]: where the persona's card ends and, in the built-in system template, the parts
/// that change from turn to turn (feelings, memories, summary) begin.
pub const IDENTITY_END: &str = "\nStay in character. Answer as yourself, in the first person, without narrating.";

/// A system prompt split into what stays the same every turn (up to and including the end of the identity) and
/// what follows it; all of it is stable (the second part empty) when it holds no identity.
pub fn split_identity(system: &str) -> (&str, &str) {
    match system.find(IDENTITY_END) {
        Some(at) => system.split_at(at + IDENTITY_END.len()),
        None => (system, ""),
    }
}

/// The persona's name in a system prompt that begins with its [`identity`] ("You are NAME. …", ending with
/// [`IDENTITY_END`]); `None` for other prompts (a summary's instructions, a template that words it otherwise).
pub fn identity_name(system: &str) -> Option<&str> {
    if !system.contains(IDENTITY_END) {
        return None;
    }
    let (name, _) = system.strip_prefix("You are ")?.split_once(". ")?;
    Some(name.trim()).filter(|n| !n.is_empty() && !n.contains('\n'))
}

/// Everything the prompt is made from.
pub struct PromptInput<'a> {
    /// Who speaks.
    pub persona: &'a Persona,
    /// Its interaction state.
    pub state: &'a InteractionState,
    /// How it feels, written into the prompt in words.
    pub emotions: Option<&'a EmotionalState>,
    /// Sections from memory, emotions, relationships…
    pub sections: &'a [PromptSection],
    /// Summary of messages older than the window.
    pub summary: Option<&'a str>,
    /// The window of recent messages, oldest first.
    pub history: &'a [ChatMessage],
    /// The new message to answer.
    pub user_message: &'a str,
    /// The label of the topic thread the message joined.
    pub thread: Option<&'a str>,
    /// The templates the system prompt is rendered with.
    pub templates: &'a PromptTemplates,
}

/// The persona's identity as a system prompt.
pub fn identity(persona: &Persona) -> String {
    let mut out = format!("You are {}. {}", persona.name, persona.description.trim());
    let mut traits: Vec<(String, f64)> = persona
        .personality_traits
        .keys()
        .filter_map(|k| persona.trait_value(k).map(|v| (k.replace('_', " "), v)))
        .collect();
    traits.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !traits.is_empty() {
        let words: Vec<String> = traits.iter().map(|(k, v)| format!("{k} ({v:.0}/100)")).collect();
        out.push_str(&format!("\nPersonality: {}.", words.join(", ")));
    }
    let mut topics: Vec<(&String, &f64)> = persona.topic_preferences.iter().collect();
    topics.sort_by(|a, b| b.1.total_cmp(a.1));
    let favourite: Vec<String> = topics
        .iter()
        .filter(|(_, v)| **v >= 60.0)
        .take(6)
        .map(|(k, _)| k.replace('_', " "))
        .collect();
    if !favourite.is_empty() {
        out.push_str(&format!("\nFavourite topics: {}.", favourite.join(", ")));
    }
    for (label, text) in [
        ("Personality", &persona.card.personality),
        ("Scenario", &persona.card.scenario),
    ] {
        if !text.trim().is_empty() {
            out.push_str(&format!("\n{label}: {}", text.trim()));
        }
    }
    if let Some(extra) = persona.system_prompt.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push('\n');
        out.push_str(extra.trim());
    }
    out.push_str(IDENTITY_END);
    out
}

/// Words for a feeling about another persona on a −1..1 scale.
fn degree(value: f64, positive: &'static str, negative: &'static str) -> String {
    let amount = match value.abs() {
        v if v >= 0.7 => "deeply",
        v if v >= 0.4 => "clearly",
        v if v >= 0.15 => "somewhat",
        _ => return format!("neither {positive} nor {negative}"),
    };
    format!("{amount} {}", if value >= 0.0 { positive } else { negative })
}

/// The other persona of a persona-to-persona conversation and the relationship with it, in words.
pub fn describe_partner(other: &Persona, relationship: Option<&Relationship>, topic: &str) -> String {
    let mut out = format!("You are talking with {}: {}", other.name, other.description.trim());
    match relationship {
        Some(r) => out.push_str(&format!(
            "\nYou are {} ({} interactions so far). You {} them, {} them and {} them.",
            r.relationship_type.as_str().replace('_', " "),
            r.interaction_count,
            degree(r.affinity, "like", "dislike"),
            degree(r.trust, "trust", "distrust"),
            degree(r.respect, "respect", "look down on"),
        )),
        None => out.push_str("\nYou have never met before."),
    }
    out.push_str(&format!(
        "\nThe topic is {topic}. Reply to what {} just said in two or three sentences, as yourself only.",
        other.name
    ));
    out
}

/// The persona as prompt templates see it.
pub fn persona_view(persona: &Persona) -> PersonaView {
    let mut topics: Vec<(&String, &f64)> = persona.topic_preferences.iter().collect();
    topics.sort_by(|a, b| b.1.total_cmp(a.1));
    PersonaView {
        name: persona.name.clone(),
        description: persona.description.trim().to_string(),
        traits: persona
            .personality_traits
            .keys()
            .filter_map(|k| persona.trait_value(k).map(|v| (k.clone(), v)))
            .collect(),
        favourite_topics: topics
            .iter()
            .filter(|(_, v)| **v >= 60.0)
            .map(|(k, _)| k.replace('_', " "))
            .collect(),
        system_prompt: persona
            .system_prompt
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

/// The full message list for the model: system prompt (rendered from its template), window of history, new
/// message.
pub fn build(input: &PromptInput<'_>) -> Vec<PromptMessage> {
    let system = input.templates.system(&SystemContext {
        identity: identity(input.persona),
        persona: persona_view(input.persona),
        feelings: input.emotions.map(EmotionalState::describe),
        tired: input.state.social_energy < LOW_ENERGY,
        sections: input
            .sections
            .iter()
            .filter(|s| !s.body.trim().is_empty())
            .map(|s| SectionView {
                title: s.title.clone(),
                body: s.body.trim().to_string(),
            })
            .collect(),
        summary: input
            .summary
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        thread: input.thread.map(str::to_string),
    });
    let mut messages = Vec::with_capacity(input.history.len() + 2);
    messages.push(PromptMessage {
        role: Role::System,
        content: system,
    });
    messages.extend(
        input
            .history
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| PromptMessage {
                role: m.role,
                content: m.content.clone(),
            }),
    );
    messages.push(PromptMessage {
        role: Role::User,
        content: input.user_message.to_string(),
    });
    messages
}

/// `Speaker: text` lines of `messages`, the persona speaking as itself.
fn transcript(persona: &Persona, messages: &[ChatMessage]) -> String {
    let mut text = String::new();
    for m in messages {
        let who = match m.role {
            Role::Assistant => persona.name.as_str(),
            Role::User => m.sender.as_deref().unwrap_or("User"),
            Role::System => "System",
        };
        text.push_str(&format!("{who}: {}\n", m.content));
    }
    text
}

/// Instructions for folding old messages into the running summary.
pub fn summary_request(
    templates: &PromptTemplates,
    persona: &Persona,
    previous: Option<&str>,
    messages: &[ChatMessage],
) -> Vec<PromptMessage> {
    let mut text = String::new();
    if let Some(p) = previous.filter(|s| !s.trim().is_empty()) {
        text.push_str(&format!("Summary so far:\n{}\n\n", p.trim()));
    }
    text.push_str("New messages:\n");
    text.push_str(&transcript(persona, messages));
    vec![
        PromptMessage {
            role: Role::System,
            content: templates.summary(&SummaryContext {
                persona: persona_view(persona),
            }),
        },
        PromptMessage {
            role: Role::User,
            content: text,
        },
    ]
}

/// Asks for a few words naming the topic of `messages` (a thread's first exchanges).
pub fn title_request(persona: &Persona, messages: &[ChatMessage]) -> Vec<PromptMessage> {
    let text = format!("Conversation:\n{}", transcript(persona, messages));
    vec![
        PromptMessage {
            role: Role::System,
            content: "Name the topic of this conversation in two to five words. Answer with those words only: no \
                      quotes, no full sentence."
                .into(),
        },
        PromptMessage {
            role: Role::User,
            content: text,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::persona::Priority;
    use crate::domain::seeds;

    fn aria() -> Persona {
        seeds::defaults().remove(0).0
    }

    #[test]
    fn system_prompt_names_persona_traits_and_topics() {
        let p = aria();
        let s = identity(&p);
        assert!(s.starts_with("You are Aria."));
        assert!(s.contains("extroverted (90/100)"));
        assert!(s.contains("music"));
    }

    #[test]
    fn build_orders_system_history_then_message_and_adds_sections() {
        let p = aria();
        let state = InteractionState::new(Priority::Social, 150.0, 600.0);
        let history = vec![
            ChatMessage::new(Role::User, "hi"),
            ChatMessage::new(Role::Assistant, "hello!"),
        ];
        let sections = vec![PromptSection {
            title: "Things you remember".into(),
            body: "- the harvest festival".into(),
            recalled: Vec::new(),
        }];
        let msgs = build(&PromptInput {
            persona: &p,
            state: &state,
            emotions: None,
            sections: &sections,
            summary: Some("They met at the inn."),
            history: &history,
            user_message: "sing for me",
            thread: None,
            templates: &PromptTemplates::builtin(),
        });
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[0].role, Role::System);
        assert!(msgs[0].content.contains("Things you remember:\n- the harvest festival"));
        assert!(msgs[0].content.contains("They met at the inn."));
        assert_eq!(msgs[1].content, "hi");
        assert_eq!(msgs[3].content, "sing for me");
        assert!(!msgs[0].content.contains("need a rest"));
    }

    #[test]
    fn partner_description_names_the_relationship_in_words() {
        let mut personas = seeds::defaults();
        let (kira, _) = personas.remove(1);
        let (aria, _) = personas.remove(0);
        let mut r = Relationship::new(aria.id, kira.id, chrono::Utc::now());
        r.affinity = 0.5;
        r.trust = -0.2;
        r.refresh_type();
        let text = describe_partner(&kira, Some(&r), "magic");
        assert!(text.starts_with("You are talking with Kira"));
        assert!(text.contains("clearly like them, somewhat distrust them and neither respect nor look down on them"));
        assert!(text.contains("The topic is magic."));
        assert!(describe_partner(&kira, None, "art").contains("never met"));
    }

    #[test]
    fn low_energy_asks_for_short_replies() {
        let p = aria();
        let state = InteractionState::new(Priority::Social, 10.0, 600.0);
        let msgs = build(&PromptInput {
            persona: &p,
            state: &state,
            emotions: None,
            sections: &[],
            summary: None,
            history: &[],
            user_message: "hey",
            thread: None,
            templates: &PromptTemplates::builtin(),
        });
        assert!(msgs[0].content.contains("need a rest"));
    }

    #[test]
    fn feelings_are_written_in_words_after_the_identity() {
        let p = aria();
        let state = InteractionState::new(Priority::Social, 150.0, 600.0);
        let mut feelings = EmotionalState::initial(chrono::Utc::now());
        feelings.mood = 0.8;
        feelings.energy_level = 0.2;
        let msgs = build(&PromptInput {
            persona: &p,
            state: &state,
            emotions: Some(&feelings),
            sections: &[],
            summary: None,
            history: &[],
            user_message: "hey",
            thread: None,
            templates: &PromptTemplates::builtin(),
        });
        let system = &msgs[0].content;
        assert!(system.contains("\nYou feel cheerful but tired."), "{system}");
        assert!(system.find("You feel") > system.find("Stay in character"));
    }

    #[test]
    fn the_system_prompt_splits_after_the_identity() {
        let p = aria();
        let state = InteractionState::new(Priority::Social, 150.0, 600.0);
        let feelings = EmotionalState::initial(chrono::Utc::now());
        let msgs = build(&PromptInput {
            persona: &p,
            state: &state,
            emotions: Some(&feelings),
            sections: &[],
            summary: Some("We met."),
            history: &[],
            user_message: "hey",
            thread: None,
            templates: &PromptTemplates::builtin(),
        });
        let (stable, late) = split_identity(&msgs[0].content);
        assert_eq!(stable, identity(&p));
        assert!(late.contains("You feel") && late.contains("We met."), "{late}");
        assert_eq!(split_identity("Summarise this."), ("Summarise this.", ""));
    }

    #[test]
    fn the_name_is_read_back_from_the_identity_only() {
        let p = aria();
        assert_eq!(identity_name(&identity(&p)), Some("Aria"));
        assert_eq!(identity_name("You are a summariser. Be brief."), None);
        assert_eq!(identity_name(&format!("Be Aria.{IDENTITY_END}")), None);
    }
}

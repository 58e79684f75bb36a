//! Prompt templates (minijinja): the system prompt of a chat turn and the instructions of a summary, with
//! built-in defaults that any template may replace (all personas, or one persona). A template is checked when it
//! is added: parsed, then rendered once with a sample context in strict mode, so a typo or an unknown variable
//! stops the server at start with the file, line and error instead of breaking a chat later.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The built-in system prompt.
pub const DEFAULT_SYSTEM: &str = "{{ identity }}\
{% if feelings %}\n{{ feelings }}{% endif %}\
{% if tired %}\nYou are tired and low on social energy: keep your reply short and mention that you need a rest soon.{% endif %}\
{% for s in sections %}\n\n{{ s.title }}:\n{{ s.body }}{% endfor %}\
{% if summary %}\n\nEarlier in this conversation:\n{{ summary }}{% endif %}";

/// The built-in instructions for folding messages into a summary.
pub const DEFAULT_SUMMARY: &str = "You keep {{ persona.name }}'s memory of a conversation. Merge the summary so far \
and the new messages into one short summary (at most 8 sentences) of facts, names, promises and feelings worth \
remembering.";

/// The templates there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// The system prompt of a chat turn.
    System,
    /// The instructions of a summary request.
    Summary,
}

impl TemplateKind {
    /// Its name, which is also its file name without `.j2`.
    pub fn name(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Summary => "summary",
        }
    }

    /// The kind a file stem names.
    pub fn parse(stem: &str) -> Option<Self> {
        match stem {
            "system" => Some(Self::System),
            "summary" => Some(Self::Summary),
            _ => None,
        }
    }
}

/// A template that replaces a built-in one.
#[derive(Debug, Clone)]
pub struct TemplateOverride {
    /// Which template.
    pub kind: TemplateKind,
    /// For one persona (its name, any case), or for all.
    pub persona: Option<String>,
    /// Where it came from (shown in errors).
    pub file: String,
    /// Its text.
    pub source: String,
}

/// A template that does not parse or render.
#[derive(Debug, Clone, thiserror::Error)]
#[error("prompt template {file}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct TemplateError {
    /// The template's file.
    pub file: String,
    /// The line of the error, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// A section of the system prompt, as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    /// Heading.
    pub title: String,
    /// Text.
    pub body: String,
}

/// The persona, as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonaView {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Trait name → value (0..100).
    pub traits: BTreeMap<String, f64>,
    /// Its favourite topics.
    pub favourite_topics: Vec<String>,
    /// Its own extra instructions, if any.
    pub system_prompt: Option<String>,
}

/// What the system prompt template is rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct SystemContext {
    /// The persona's identity as the built-in prompt words it.
    pub identity: String,
    /// The persona.
    pub persona: PersonaView,
    /// How it feels, in words.
    pub feelings: Option<String>,
    /// True when it is low on social energy.
    pub tired: bool,
    /// Memories and other sections.
    pub sections: Vec<SectionView>,
    /// The summary of the thread's older messages.
    pub summary: Option<String>,
    /// The label of the topic thread the message joined.
    pub thread: Option<String>,
}

/// What the summary template is rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryContext {
    /// The persona whose memory it is.
    pub persona: PersonaView,
}

/// The prompt templates in use.
pub struct PromptTemplates {
    env: Environment<'static>,
}

impl std::fmt::Debug for PromptTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.env.templates().map(|(name, _)| name).collect();
        f.debug_struct("PromptTemplates").field("templates", &names).finish()
    }
}

/// The template name of a kind, for one persona or all.
fn key(kind: TemplateKind, persona: Option<&str>) -> String {
    match persona {
        Some(p) => format!("{}@{}", kind.name(), p.trim().to_lowercase()),
        None => kind.name().to_string(),
    }
}

fn sample_persona() -> PersonaView {
    PersonaView {
        name: "Sample".into(),
        description: "A sample persona.".into(),
        traits: BTreeMap::from([("curious".to_string(), 80.0)]),
        favourite_topics: vec!["music".into()],
        system_prompt: Some("Be kind.".into()),
    }
}

/// Renders a template once with sample values, so an unknown variable or filter shows at start.
fn try_render(env: &Environment<'static>, name: &str, kind: TemplateKind) -> Result<String, minijinja::Error> {
    let template = env.get_template(name)?;
    match kind {
        TemplateKind::System => template.render(SystemContext {
            identity: "You are Sample.".into(),
            persona: sample_persona(),
            feelings: Some("You feel calm.".into()),
            tired: true,
            sections: vec![SectionView {
                title: "Things you remember".into(),
                body: "- a sample memory".into(),
            }],
            summary: Some("A sample summary.".into()),
            thread: Some("sample topic".into()),
        }),
        TemplateKind::Summary => template.render(SummaryContext {
            persona: sample_persona(),
        }),
    }
}

impl PromptTemplates {
    /// The built-in templates only.
    pub fn builtin() -> Self {
        Self::new(Vec::new()).expect("the built-in templates are valid")
    }

    /// The built-in templates with `overrides` in their place; every template is checked.
    pub fn new(overrides: Vec<TemplateOverride>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let builtin = [
            (TemplateKind::System, DEFAULT_SYSTEM),
            (TemplateKind::Summary, DEFAULT_SUMMARY),
        ];
        let mut all: Vec<TemplateOverride> = builtin
            .into_iter()
            .map(|(kind, source)| TemplateOverride {
                kind,
                persona: None,
                file: format!("<built-in {}>", kind.name()),
                source: source.to_string(),
            })
            .collect();
        all.extend(overrides);
        for t in all {
            let name = key(t.kind, t.persona.as_deref());
            let failed = |e: minijinja::Error| TemplateError {
                file: t.file.clone(),
                line: e.line(),
                message: match e.detail() {
                    Some(detail) => format!("{}: {detail}", e.kind()),
                    None => e.kind().to_string(),
                },
            };
            env.add_template_owned(name.clone(), t.source.clone()).map_err(failed)?;
            try_render(&env, &name, t.kind).map_err(failed)?;
        }
        Ok(Self { env })
    }

    /// Renders the persona's own template of `kind`, or the one for all.
    fn render<S: Serialize>(&self, kind: TemplateKind, persona: &str, context: &S) -> String {
        let own = key(kind, Some(persona));
        let name = if self.env.get_template(&own).is_ok() {
            own
        } else {
            key(kind, None)
        };
        match self.env.get_template(&name).and_then(|t| t.render(context)) {
            Ok(text) => text,
            Err(e) => {
                // Checked at start with sample values; a value of another shape can still fail.
                tracing::warn!(template = %name, error = %e, "rendering a prompt template failed; using the built-in one");
                let builtin = match kind {
                    TemplateKind::System => DEFAULT_SYSTEM,
                    TemplateKind::Summary => DEFAULT_SUMMARY,
                };
                Environment::new().render_str(builtin, context).unwrap_or_default()
            }
        }
    }

    /// The system prompt.
    pub fn system(&self, context: &SystemContext) -> String {
        self.render(TemplateKind::System, &context.persona.name, context)
    }

    /// The instructions of a summary request.
    pub fn summary(&self, context: &SummaryContext) -> String {
        self.render(TemplateKind::Summary, &context.persona.name, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system_context() -> SystemContext {
        SystemContext {
            identity: "You are Aria.".into(),
            persona: PersonaView {
                name: "Aria".into(),
                ..sample_persona()
            },
            feelings: None,
            tired: false,
            sections: Vec::new(),
            summary: Some("They met.".into()),
            thread: Some("dragon ember".into()),
        }
    }

    #[test]
    fn the_builtin_system_prompt_joins_its_parts() {
        let t = PromptTemplates::builtin();
        assert_eq!(
            t.system(&system_context()),
            "You are Aria.\n\nEarlier in this conversation:\nThey met."
        );
    }

    #[test]
    fn a_persona_template_wins_over_the_one_for_all() {
        let t = PromptTemplates::new(vec![
            TemplateOverride {
                kind: TemplateKind::System,
                persona: None,
                file: "templates/system.j2".into(),
                source: "All: {{ persona.name }}".into(),
            },
            TemplateOverride {
                kind: TemplateKind::System,
                persona: Some("ARIA".into()),
                file: "templates/personas/aria/system.j2".into(),
                source: "Only {{ persona.name }} on {{ thread }}".into(),
            },
        ])
        .unwrap();
        assert_eq!(t.system(&system_context()), "Only Aria on dragon ember");
        let mut kira = system_context();
        kira.persona.name = "Kira".into();
        assert_eq!(t.system(&kira), "All: Kira");
        assert!(t
            .summary(&SummaryContext { persona: kira.persona })
            .starts_with("You keep Kira's memory"));
    }

    #[test]
    fn a_broken_template_names_its_file_and_line() {
        let broken = |source: &str| {
            PromptTemplates::new(vec![TemplateOverride {
                kind: TemplateKind::Summary,
                persona: None,
                file: "templates/summary.j2".into(),
                source: source.into(),
            }])
            .unwrap_err()
        };
        let e = broken("line one\n{% if persona.name %}\nno end");
        assert_eq!(e.file, "templates/summary.j2");
        assert!(e.line.is_some(), "{e}");
        assert!(
            e.to_string().starts_with("prompt template templates/summary.j2, line"),
            "{e}"
        );
        let e = broken("one\ntwo {{ no_such_variable.field }}");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("undefined"), "{e}");
    }
}

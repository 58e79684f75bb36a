//! Model selection (`[models]` in the settings): which model, with which options, serves a persona's task. Rules
//! are tried in order and the first whose conditions all hold wins; a persona's own entry sets its options and
//! model under the rules; a fallback chain names the models tried next when the chosen one is missing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::persona::Persona;

/// What a model call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// A user's chat turn.
    Chat,
    /// A turn of a persona-to-persona conversation.
    PersonaToPersona,
    /// Folding older messages into a thread's summary.
    Summary,
    /// A few words naming a topic thread.
    Title,
}

impl Task {
    /// Every task, in the order the settings document them.
    pub const ALL: [Task; 4] = [Task::Chat, Task::PersonaToPersona, Task::Summary, Task::Title];

    /// The settings' name of the task.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Chat => "chat",
            Task::PersonaToPersona => "persona_to_persona",
            Task::Summary => "summary",
            Task::Title => "title",
        }
    }

    /// The task of a settings name.
    pub fn parse(name: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// `[models]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelSettings {
    /// Tried in order; the first rule whose conditions all hold picks the model and its options.
    pub rules: Vec<ModelRule>,
    /// Per-persona model and options, under any rule's.
    pub personas: Vec<PersonaModel>,
    /// Models tried in order, after the rule's own `fallback`, when the chosen one is missing on the server.
    pub fallback: Vec<String>,
}

/// One rule: conditions (all optional; an absent one always holds) → a model and its options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelRule {
    /// The persona's name (any case) or id.
    pub persona: Option<String>,
    /// `chat`, `persona_to_persona`, `summary` or `title`.
    pub task: Option<String>,
    /// The call's token budget is at least this.
    pub min_token_budget: Option<u32>,
    /// The call's token budget is at most this.
    pub max_token_budget: Option<u32>,
    /// The message (or the text to summarise or name) has at least this many characters.
    pub min_message_chars: Option<usize>,
    /// The message has at most this many characters.
    pub max_message_chars: Option<usize>,
    /// The conversation has at least this many topic threads.
    pub min_threads: Option<usize>,
    /// The conversation has at most this many topic threads.
    pub max_threads: Option<usize>,
    /// The model; absent: the persona's (entry, then card), then `llm.model`.
    pub model: Option<String>,
    /// Models tried next, in order, when this one is missing.
    pub fallback: Vec<String>,
    /// Options for the model; they override the persona entry's one by one.
    pub options: ModelOptions,
}

/// A persona's model and options, for every task unless a rule says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PersonaModel {
    /// The persona's name (any case) or id.
    pub persona: String,
    /// Its model (over the persona card's `model`).
    pub model: Option<String>,
    /// Its options.
    pub options: ModelOptions,
}

/// Options passed to the model (Ollama `options`, OpenAI request fields); absent ones keep the server's or the
/// settings' defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelOptions {
    /// Sampling temperature (0..2); default `llm.temperature`.
    pub temperature: Option<f32>,
    /// Nucleus sampling (above 0, at most 1).
    pub top_p: Option<f32>,
    /// Context window in tokens (Ollama only).
    pub num_ctx: Option<u32>,
    /// Sequences that end the reply.
    pub stop: Option<Vec<String>>,
    /// A fine-tuned model (or a LoRA adapter a server serves by name): asked for first, the chosen model being
    /// the first fallback.
    pub fine_tuned: Option<String>,
}

impl ModelOptions {
    /// These options, each absent one taken from `under`.
    fn over(&self, under: &ModelOptions) -> ModelOptions {
        ModelOptions {
            temperature: self.temperature.or(under.temperature),
            top_p: self.top_p.or(under.top_p),
            num_ctx: self.num_ctx.or(under.num_ctx),
            stop: self.stop.clone().or_else(|| under.stop.clone()),
            fine_tuned: self.fine_tuned.clone().or_else(|| under.fine_tuned.clone()),
        }
    }

    /// The first bad option: its name (under the given prefix), value and what is allowed.
    fn problem(&self, at: &str) -> Option<RuleProblem> {
        if let Some(t) = self.temperature.filter(|t| !(0.0..=2.0).contains(t)) {
            return Some(RuleProblem::new(
                at,
                "options.temperature",
                t,
                "a number from 0.0 to 2.0",
            ));
        }
        if let Some(p) = self.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
            return Some(RuleProblem::new(
                at,
                "options.top_p",
                p,
                "a number above 0.0, at most 1.0",
            ));
        }
        if self.num_ctx == Some(0) {
            return Some(RuleProblem::new(at, "options.num_ctx", 0, "a whole number ≥ 1"));
        }
        if let Some(stop) = self.stop.as_ref().filter(|s| s.iter().any(String::is_empty)) {
            return Some(RuleProblem::new(
                at,
                "options.stop",
                format!("{stop:?}"),
                "non-empty strings",
            ));
        }
        if self.fine_tuned.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Some(RuleProblem::new(at, "options.fine_tuned", "", "a model name"));
        }
        None
    }
}

/// A bad entry of `[models]`: its dotted key, the value and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleProblem {
    /// E.g. `models.rules[2].task`.
    pub key: String,
    /// The value given.
    pub value: String,
    /// What would be accepted.
    pub allowed: String,
}

impl RuleProblem {
    fn new(at: &str, field: &str, value: impl ToString, allowed: &str) -> Self {
        Self {
            key: format!("{at}.{field}"),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// The facts a rule's conditions look at.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// The persona's id.
    pub persona_id: Uuid,
    /// The persona's name.
    pub persona_name: &'a str,
    /// The persona card's `model`.
    pub persona_model: Option<&'a str>,
    /// What the call is for.
    pub task: Task,
    /// The call's token budget.
    pub token_budget: u32,
    /// Characters of the message (or of the text to summarise or name).
    pub message_chars: usize,
    /// Topic threads of the conversation.
    pub threads: usize,
}

impl<'a> Situation<'a> {
    /// `persona`'s call for `task`, with no budget, message or threads (set those that apply).
    pub fn new(persona: &'a Persona, task: Task) -> Self {
        Self {
            persona_id: persona.id,
            persona_name: &persona.name,
            persona_model: persona.model.as_deref(),
            task,
            token_budget: 0,
            message_chars: 0,
            threads: 0,
        }
    }
}

/// The model a call goes to, the models tried after it and the options sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChoice {
    /// The model asked for first.
    pub model: String,
    /// Models tried next, in order, when the one before is missing.
    pub fallback: Vec<String>,
    /// The sampling temperature: the options', else the default given.
    pub temperature: f32,
    /// The options of the matching rule over the persona entry's.
    pub options: ModelOptions,
    /// The index of the rule that chose, when one did.
    pub rule: Option<usize>,
    /// True when that rule names the task (a model configured for it, not one for every task).
    pub for_task: bool,
}

/// True when `name` (a name in any case, or an id) names the persona.
fn names(name: &str, persona_id: Uuid, persona_name: &str) -> bool {
    name.eq_ignore_ascii_case(persona_name) || Uuid::parse_str(name).is_ok_and(|id| id == persona_id)
}

fn within<T: PartialOrd>(value: T, min: Option<T>, max: Option<T>) -> bool {
    min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
}

impl ModelRule {
    /// True when every condition holds in `s`.
    pub fn matches(&self, s: &Situation) -> bool {
        self.persona
            .as_deref()
            .is_none_or(|p| names(p, s.persona_id, s.persona_name))
            && self.task.as_deref().is_none_or(|t| t == s.task.as_str())
            && within(s.token_budget, self.min_token_budget, self.max_token_budget)
            && within(s.message_chars, self.min_message_chars, self.max_message_chars)
            && within(s.threads, self.min_threads, self.max_threads)
    }

    fn problem(&self, at: &str) -> Option<RuleProblem> {
        if let Some(task) = self.task.as_deref().filter(|t| Task::parse(t).is_none()) {
            return Some(RuleProblem::new(
                at,
                "task",
                task,
                "chat, persona_to_persona, summary or title",
            ));
        }
        if self.persona.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Some(RuleProblem::new(at, "persona", "", "a persona's name or id"));
        }
        if self.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Some(RuleProblem::new(at, "model", "", "a model name such as llama3.2"));
        }
        let ranges = [
            (
                "token_budget",
                self.min_token_budget.map(|v| v as usize),
                self.max_token_budget.map(|v| v as usize),
            ),
            ("message_chars", self.min_message_chars, self.max_message_chars),
            ("threads", self.min_threads, self.max_threads),
        ];
        for (name, min, max) in ranges {
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    return Some(RuleProblem::new(
                        at,
                        &format!("max_{name}"),
                        max,
                        &format!("at least min_{name} ({min})"),
                    ));
                }
            }
        }
        fallback_problem(&self.fallback, &format!("{at}.fallback")).or_else(|| self.options.problem(at))
    }
}

fn fallback_problem(chain: &[String], key: &str) -> Option<RuleProblem> {
    chain.iter().position(|m| m.trim().is_empty()).map(|i| RuleProblem {
        key: format!("{key}[{i}]"),
        value: String::new(),
        allowed: "a model name".into(),
    })
}

impl ModelSettings {
    /// The first bad entry, when there is one.
    pub fn problem(&self) -> Option<RuleProblem> {
        self.rules
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.problem(&format!("models.rules[{i}]")))
            .or_else(|| {
                self.personas.iter().enumerate().find_map(|(i, p)| {
                    let at = format!("models.personas[{i}]");
                    if p.persona.trim().is_empty() {
                        return Some(RuleProblem::new(&at, "persona", "", "a persona's name or id"));
                    }
                    if p.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
                        return Some(RuleProblem::new(&at, "model", "", "a model name such as llama3.2"));
                    }
                    p.options.problem(&at)
                })
            })
            .or_else(|| fallback_problem(&self.fallback, "models.fallback"))
    }

    /// The model, fallbacks and options for `s`: the first matching rule's, over the persona's entry, over the
    /// persona card's model and `default_model`; `default_temperature` when nothing sets one.
    pub fn choose(&self, s: &Situation, default_model: &str, default_temperature: f32) -> ModelChoice {
        let entry = self
            .personas
            .iter()
            .find(|p| names(&p.persona, s.persona_id, s.persona_name));
        let rule = self.rules.iter().position(|r| r.matches(s));
        let matched = rule.map(|i| &self.rules[i]);
        let base = entry.map(|e| e.options.clone()).unwrap_or_default();
        let options = matched.map_or(base.clone(), |r| r.options.over(&base));
        let model = matched
            .and_then(|r| r.model.clone())
            .or_else(|| entry.and_then(|e| e.model.clone()))
            .or_else(|| s.persona_model.map(str::to_string))
            .unwrap_or_else(|| default_model.to_string());
        let mut chain = Vec::new();
        if let Some(tuned) = &options.fine_tuned {
            chain.push(tuned.clone());
        }
        chain.push(model);
        chain.extend(matched.iter().flat_map(|r| r.fallback.iter().cloned()));
        chain.extend(self.fallback.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        chain.retain(|m| seen.insert(m.clone()));
        let model = chain.remove(0);
        ModelChoice {
            model,
            fallback: chain,
            temperature: options.temperature.unwrap_or(default_temperature),
            options,
            rule,
            for_task: matched.is_some_and(|r| r.task.as_deref() == Some(s.task.as_str())),
        }
    }

    /// True when some rule names `task`.
    pub fn configures(&self, task: Task) -> bool {
        self.rules.iter().any(|r| r.task.as_deref() == Some(task.as_str()))
    }

    /// Every model the settings name (rules, persona entries, fine-tuned ones, fallbacks), each once, in order.
    pub fn named_models(&self) -> Vec<String> {
        let rules = self.rules.iter().flat_map(|r| {
            r.options
                .fine_tuned
                .iter()
                .chain(r.model.iter())
                .chain(r.fallback.iter())
        });
        let personas = self
            .personas
            .iter()
            .flat_map(|p| p.options.fine_tuned.iter().chain(p.model.iter()));
        let mut seen = std::collections::HashSet::new();
        rules
            .chain(personas)
            .chain(self.fallback.iter())
            .filter(|m| seen.insert(m.as_str()))
            .cloned()
            .collect()
    }
}

/// True when the server's model list holds `model` (Ollama lists `name:latest` for a model pulled as `name`).
pub fn offered(model: &str, listed: &[String]) -> bool {
    listed
        .iter()
        .any(|l| l == model || (!model.contains(':') && l.strip_suffix(":latest") == Some(model)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aria(task: Task) -> Situation<'static> {
        Situation {
            persona_id: Uuid::nil(),
            persona_name: "Aria",
            persona_model: None,
            task,
            token_budget: 500,
            message_chars: 40,
            threads: 1,
        }
    }

    fn rule(model: &str) -> ModelRule {
        ModelRule {
            model: Some(model.into()),
            ..ModelRule::default()
        }
    }

    #[test]
    fn first_matching_rule_wins_and_conditions_filter() {
        let settings = ModelSettings {
            rules: vec![
                ModelRule {
                    task: Some("summary".into()),
                    ..rule("small")
                },
                ModelRule {
                    min_message_chars: Some(100),
                    ..rule("big")
                },
                ModelRule {
                    persona: Some("aria".into()),
                    min_threads: Some(2),
                    ..rule("aria-many")
                },
                ModelRule {
                    max_token_budget: Some(100),
                    ..rule("short")
                },
            ],
            ..ModelSettings::default()
        };
        let pick = |s: &Situation| settings.choose(s, "default", 0.8);
        assert_eq!(pick(&aria(Task::Summary)).model, "small");
        assert_eq!(pick(&aria(Task::Summary)).rule, Some(0));
        assert!(pick(&aria(Task::Summary)).for_task);
        assert_eq!(pick(&aria(Task::Chat)).model, "default");
        assert_eq!(pick(&aria(Task::Chat)).rule, None);
        let long = Situation {
            message_chars: 100,
            ..aria(Task::Chat)
        };
        assert_eq!(pick(&long).model, "big");
        assert!(!pick(&long).for_task);
        let threads = Situation {
            threads: 2,
            ..aria(Task::Chat)
        };
        assert_eq!(pick(&threads).model, "aria-many");
        let kira = Situation {
            persona_name: "Kira",
            ..threads.clone()
        };
        assert_eq!(pick(&kira).model, "default");
        let tight = Situation {
            token_budget: 100,
            ..kira
        };
        assert_eq!(pick(&tight).model, "short");
    }

    #[test]
    fn options_layer_rule_over_persona_over_defaults() {
        let settings = ModelSettings {
            rules: vec![ModelRule {
                task: Some("chat".into()),
                options: ModelOptions {
                    top_p: Some(0.5),
                    ..ModelOptions::default()
                },
                fallback: vec!["b".into(), "c".into()],
                ..ModelRule::default()
            }],
            personas: vec![PersonaModel {
                persona: Uuid::nil().to_string(),
                model: Some("aria-model".into()),
                options: ModelOptions {
                    temperature: Some(0.2),
                    top_p: Some(0.9),
                    stop: Some(vec!["\nUser:".into()]),
                    fine_tuned: Some("aria-ft".into()),
                    ..ModelOptions::default()
                },
            }],
            fallback: vec!["c".into(), "last".into()],
        };
        let choice = settings.choose(&aria(Task::Chat), "default", 0.8);
        assert_eq!(choice.model, "aria-ft");
        assert_eq!(choice.fallback, ["aria-model", "b", "c", "last"]);
        assert_eq!(choice.temperature, 0.2);
        assert_eq!(choice.options.top_p, Some(0.5));
        assert_eq!(choice.options.stop, Some(vec!["\nUser:".to_string()]));
        let card = Situation {
            persona_name: "Kira",
            persona_id: Uuid::from_u128(7),
            persona_model: Some("kira-card"),
            ..aria(Task::Title)
        };
        let choice = settings.choose(&card, "default", 0.8);
        assert_eq!(choice.model, "kira-card");
        assert_eq!(choice.fallback, ["c", "last"]);
        assert_eq!(choice.temperature, 0.8);
        assert_eq!(choice.options.top_p, None);
    }

    #[test]
    fn problems_name_the_key() {
        let bad = |rules: Vec<ModelRule>| {
            ModelSettings {
                rules,
                ..ModelSettings::default()
            }
            .problem()
            .map(|p| p.key)
        };
        assert_eq!(bad(vec![rule("m")]), None);
        let task = ModelRule {
            task: Some("poetry".into()),
            ..rule("m")
        };
        assert_eq!(bad(vec![rule("m"), task]).as_deref(), Some("models.rules[1].task"));
        let range = ModelRule {
            min_threads: Some(3),
            max_threads: Some(2),
            ..rule("m")
        };
        assert_eq!(bad(vec![range]).as_deref(), Some("models.rules[0].max_threads"));
        let hot = ModelRule {
            options: ModelOptions {
                temperature: Some(3.0),
                ..ModelOptions::default()
            },
            ..rule("m")
        };
        assert_eq!(bad(vec![hot]).as_deref(), Some("models.rules[0].options.temperature"));
        let empty = ModelRule {
            fallback: vec!["ok".into(), " ".into()],
            ..rule("m")
        };
        assert_eq!(bad(vec![empty]).as_deref(), Some("models.rules[0].fallback[1]"));
        let persona = ModelSettings {
            personas: vec![PersonaModel::default()],
            ..ModelSettings::default()
        };
        assert_eq!(persona.problem().unwrap().key, "models.personas[0].persona");
    }

    #[test]
    fn named_models_lists_each_once() {
        let settings = ModelSettings {
            rules: vec![ModelRule {
                fallback: vec!["b".into()],
                ..rule("a")
            }],
            personas: vec![PersonaModel {
                persona: "Aria".into(),
                model: Some("b".into()),
                options: ModelOptions {
                    fine_tuned: Some("ft".into()),
                    ..ModelOptions::default()
                },
            }],
            fallback: vec!["a".into(), "z".into()],
        };
        assert_eq!(settings.named_models(), ["a", "b", "ft", "z"]);
    }

    #[test]
    fn offered_knows_latest_tags() {
        let listed = vec!["llama3.2:latest".to_string(), "qwen:7b".to_string()];
        assert!(offered("llama3.2", &listed));
        assert!(offered("llama3.2:latest", &listed));
        assert!(offered("qwen:7b", &listed));
        assert!(!offered("qwen", &listed));
        assert!(!offered("llama3.2:1b", &listed));
    }
}

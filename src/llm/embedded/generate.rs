//! One generation on a thread of its own: the ChatML prompt, the saved prefix it resumes from, sampling with
//! temperature, top-p and a repeat penalty, capitalised words grounded in the prompt (see [`super::names`]), and
//! the reply's text sent piece by piece until a stop token, the token budget, or the receiver going away (a
//! cancelled turn), whichever comes first.

use std::sync::{Arc, Mutex};

use quant_kernels::sample;
use rand::{Rng, SeedableRng};
use tokenizers::Tokenizer;
use tokio::sync::mpsc;

use super::model::Model;
use super::names::{Grounding, Vocabulary};
use super::prefix::PrefixCache;
use crate::domain::chat::{PromptMessage, Role};
use crate::domain::prompt;
use crate::llm::LlmEvent;
use crate::locks::lock;

/// Tokens of the prompt processed between two checks for cancellation.
const PROMPT_CHUNK: usize = 128;
/// Recent tokens the repeat penalty looks at.
const REPEAT_WINDOW: usize = 64;
/// Tokens drawn and refused (see [`pick`]) before the likeliest allowed token is taken instead.
const REDRAWS: usize = 8;

/// The loaded model and what every generation shares.
pub struct Engine {
    /// The weights.
    pub model: Model,
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// Its tokens as [`Grounding`] reads them.
    pub vocabulary: Vocabulary,
    /// Caches of recent prompts.
    pub prefixes: Mutex<PrefixCache>,
    /// `<|im_end|>` and `<|endoftext|>`.
    pub stops: Vec<u32>,
}

/// Sampling knobs of one generation.
#[derive(Debug, Clone, Copy)]
pub struct Sampler {
    /// 0 picks the likeliest token.
    pub temperature: f32,
    /// Nucleus size.
    pub top_p: f32,
    /// Penalty on recent tokens (1.0: none).
    pub repeat_penalty: f32,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Capitalised words only from the prompt (see [`super::names`]).
    pub grounded: bool,
}

impl Sampler {
    /// The next token drawn from `scores`.
    fn draw(&self, scores: &[f32], rng: &mut impl Rng) -> u32 {
        if self.temperature <= 0.0 {
            sample::argmax(scores)
        } else {
            sample::nucleus(scores, self.temperature, self.top_p, rng.random())
        }
    }

    /// The next token drawn from `scores` among those `allowed`: a refused token is taken out and another drawn,
    /// the same as drawing from the allowed tokens alone; after [`REDRAWS`] refusals the likeliest allowed token
    /// (the model's first choice if none is).
    fn pick(&self, scores: &mut [f32], rng: &mut impl Rng, allowed: impl Fn(u32) -> bool) -> u32 {
        let first = self.draw(scores, rng);
        let mut next = first;
        for _ in 0..REDRAWS {
            if allowed(next) {
                return next;
            }
            scores[next as usize] = f32::NEG_INFINITY;
            next = self.draw(scores, rng);
        }
        let mut order: Vec<u32> = (0..scores.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
        order.into_iter().find(|&t| allowed(t)).unwrap_or(first)
    }
}

/// Added to the system prompt: a 135M model left alone tends to ramble to the end of its budget, and a short
/// reply is also a quick one.
const BREVITY: &str = "\nReply in two or three sentences.";

/// The persona's name said again, for a system prompt that begins with its identity: a 135M model asked who it
/// is otherwise answers with a name of its own invention ("I am Elara"). The name opens the stable system prompt,
/// is said again before its end, and once more at the end of the per-turn system message, the closest place to
/// the reply (README, "Chat out of the box", has the measurements).
fn named(stable: &str, name: &str) -> String {
    let body = stable.strip_suffix(prompt::IDENTITY_END).unwrap_or(stable);
    format!(
        "Your name is {name}. {body}\nYou are {name}: speak as {name}, in the first person.{}",
        prompt::IDENTITY_END
    )
}

/// The end of the per-turn system message for the persona `name` (see [`named`]).
fn name_reminder(name: &str) -> String {
    format!("You are {name}. Your name is {name}; never give yourself another name.")
}

/// The ChatML text of a conversation, ending where the assistant's reply begins.
///
/// The part of the system prompt that changes every turn (feelings, memories, summary: what follows the
/// persona's identity, see [`prompt::split_identity`]) goes in a second system message just before the new user
/// message, so the next turn's prompt starts with this one's stable system prompt and history and resumes from
/// its saved cache instead of processing the whole conversation again. The persona's name is repeated (see
/// [`named`]).
pub fn chatml(messages: &[PromptMessage]) -> String {
    let system = match messages.first() {
        Some(m) if m.role == Role::System => m.content.as_str(),
        _ => "",
    };
    let name = prompt::identity_name(system);
    let late = prompt::split_identity(system).1.trim();
    let late = match name {
        Some(name) if late.is_empty() => name_reminder(name),
        Some(name) => format!("{late}\n{}", name_reminder(name)),
        None => late.to_string(),
    };
    let last_user = messages.iter().rposition(|m| m.role == Role::User);
    let mut text = String::new();
    for (i, m) in messages.iter().enumerate() {
        if Some(i) == last_user && !late.is_empty() {
            push_message(&mut text, Role::System.as_str(), &late);
        }
        match m.role {
            Role::System if i == 0 => {
                let stable = prompt::split_identity(&m.content).0;
                let stable = name.map_or_else(|| stable.to_string(), |name| named(stable, name));
                push_message(&mut text, m.role.as_str(), &format!("{stable}{BREVITY}"));
            }
            Role::System => push_message(&mut text, m.role.as_str(), &format!("{}{BREVITY}", m.content)),
            _ => push_message(&mut text, m.role.as_str(), &m.content),
        }
    }
    text.push_str("<|im_start|>assistant\n");
    text
}

fn push_message(text: &mut String, role: &str, content: &str) {
    text.push_str("<|im_start|>");
    text.push_str(role);
    text.push('\n');
    text.push_str(content);
    text.push_str("<|im_end|>\n");
}

/// What a generation sends: text pieces, then `Done`; or an error message.
pub type Events = mpsc::Sender<Result<LlmEvent, String>>;

/// Generates a reply to `messages`, sending its pieces to `out`. Returns when done, failed (the error is sent)
/// or when `out` is closed (the turn was cancelled or its client left).
pub fn run(engine: &Arc<Engine>, messages: &[PromptMessage], sampler: Sampler, out: &Events) {
    if let Err(e) = generate(engine, messages, sampler, out) {
        let _ = out.blocking_send(Err(e));
    }
}

fn generate(engine: &Arc<Engine>, messages: &[PromptMessage], sampler: Sampler, out: &Events) -> Result<(), String> {
    let text = chatml(messages);
    let said: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    let grounding = sampler
        .grounded
        .then(|| Grounding::new(&engine.vocabulary, &said.join("\n")));
    let prompt = engine
        .tokenizer
        .encode(text, false)
        .map_err(|e| format!("tokenizing the prompt failed: {e}"))?
        .get_ids()
        .to_vec();
    let room = engine.model.config.context.saturating_sub(sampler.max_tokens as usize);
    if prompt.len() > room {
        return Err(format!(
            "the prompt has {} tokens; with a budget of {} the embedded model's context of {} is exceeded",
            prompt.len(),
            sampler.max_tokens,
            engine.model.config.context
        ));
    }
    let mut cache = lock(&engine.prefixes).resume(&prompt);
    let mut logits = None;
    for chunk in prompt[cache.len()..].chunks(PROMPT_CHUNK) {
        if out.is_closed() {
            return Ok(());
        }
        logits = Some(engine.model.forward(chunk, &mut cache).map_err(|e| e.to_string())?);
    }
    let mut logits = logits.ok_or("empty prompt")?;
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut fed = prompt.clone();
    let mut generated: Vec<u32> = Vec::new();
    let mut sent = 0usize;
    let mut reply = String::new();
    while generated.len() < sampler.max_tokens as usize {
        let mut scores: Vec<f32> = logits.to_vec1().map_err(|e| e.to_string())?;
        if sampler.repeat_penalty > 1.0 {
            sample::penalize_repeats(
                &mut scores,
                &fed[fed.len().saturating_sub(REPEAT_WINDOW)..],
                sampler.repeat_penalty,
            );
        }
        let next = sampler.pick(&mut scores, &mut rng, |t| {
            grounding.as_ref().is_none_or(|g| g.allows(&reply, t))
        });
        if engine.stops.contains(&next) {
            break;
        }
        generated.push(next);
        // The text so far, decoded whole: a piece is sent once its bytes form whole characters.
        reply = engine.tokenizer.decode(&generated, true).map_err(|e| e.to_string())?;
        if reply.len() > sent && !reply.ends_with('\u{fffd}') {
            if out
                .blocking_send(Ok(LlmEvent::Token(reply[sent..].to_string())))
                .is_err()
            {
                return Ok(());
            }
            sent = reply.len();
        }
        if generated.len() == sampler.max_tokens as usize || out.is_closed() {
            break;
        }
        logits = engine.model.forward(&[next], &mut cache).map_err(|e| e.to_string())?;
        fed.push(next);
    }
    lock(&engine.prefixes).save(fed, cache);
    let _ = out.blocking_send(Ok(LlmEvent::Done {
        completion_tokens: Some(generated.len() as u32),
        prompt_tokens: Some(prompt.len() as u32),
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_wraps_each_message_and_opens_the_reply() {
        let messages = vec![
            PromptMessage {
                role: Role::System,
                content: "Be kind.".into(),
            },
            PromptMessage {
                role: Role::User,
                content: "Hi".into(),
            },
        ];
        assert_eq!(
            chatml(&messages),
            "<|im_start|>system\nBe kind.\nReply in two or three sentences.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn the_per_turn_part_of_the_system_prompt_comes_before_the_new_message() {
        let message = |role, content: &str| PromptMessage {
            role,
            content: content.into(),
        };
        let system = format!(
            "You are Aria.{}\nYou feel calm.\n\nThings you remember:\n- a song",
            prompt::IDENTITY_END
        );
        let first = vec![message(Role::System, &system), message(Role::User, "Hi")];
        let text = chatml(&first);
        let stable = format!(
            "<|im_start|>system\nYou are Aria.{}{BREVITY}<|im_end|>\n",
            prompt::IDENTITY_END
        );
        assert_eq!(
            text,
            format!(
                "{stable}<|im_start|>system\nYou feel calm.\n\nThings you remember:\n- a song<|im_end|>\n\
                 <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
            )
        );
        // The next turn, with other feelings, starts with the stable part and the first exchange.
        let system = format!("You are Aria.{}\nYou feel glad.", prompt::IDENTITY_END);
        let next = vec![
            message(Role::System, &system),
            message(Role::User, "Hi"),
            message(Role::Assistant, "Hello!"),
            message(Role::User, "Sing?"),
        ];
        let exchange = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n";
        assert!(chatml(&next).starts_with(&format!("{stable}{exchange}<|im_start|>system\nYou feel glad.")));
    }

    #[test]
    fn the_persona_s_name_is_said_at_the_start_and_end_of_the_system_prompt_and_before_the_message() {
        let system = format!("You are Aria. A bard.{}\nYou feel calm.", prompt::IDENTITY_END);
        let messages = vec![
            PromptMessage {
                role: Role::System,
                content: system,
            },
            PromptMessage {
                role: Role::User,
                content: "Who are you?".into(),
            },
        ];
        let end = prompt::IDENTITY_END;
        assert_eq!(
            chatml(&messages),
            format!(
                "<|im_start|>system\nYour name is Aria. You are Aria. A bard.\nYou are Aria: speak as Aria, in the first \
                 person.{end}{BREVITY}<|im_end|>\n<|im_start|>system\nYou feel calm.\nYou are Aria. Your name is Aria; \
                 never give yourself another name.<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n\
                 <|im_start|>assistant\n"
            )
        );
    }
}

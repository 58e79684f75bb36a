//! Prompts: one per persona, `chat_as_{name}`, giving the persona's system prompt (its identity, as the chat
//! itself sends it to the model) so that a host's own model can speak as the persona.

use serde_json::{Map, Value};

use super::error::McpError;
use super::params::{paged, required_str};
use super::wire::{GetPromptResult, Page, Prompt, PromptArgument, PromptMessage};
use crate::domain::persona::Persona;
use crate::domain::prompt::identity;
use crate::error::AppError;
use crate::rpc::context::Ctx;

/// The prompt name of a persona: `chat_as_` + its name in lower case, with `_` for anything not a letter or
/// digit.
pub fn prompt_name(persona: &str) -> String {
    let name: String = persona
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("chat_as_{name}")
}

async fn all(ctx: &Ctx) -> Result<Vec<Persona>, McpError> {
    Ok(ctx.app.store.personas().list().await.map_err(AppError::from)?)
}

/// `prompts/list`.
pub async fn list(ctx: &Ctx, params: &Map<String, Value>) -> Result<Page<Prompt>, McpError> {
    let items = all(ctx)
        .await?
        .iter()
        .map(|p| Prompt {
            name: prompt_name(&p.name),
            title: format!("Chat as {}", p.name),
            description: format!("Speak as {}: {}", p.name, p.description.trim()),
            arguments: vec![PromptArgument {
                name: "message",
                description: "A first message for the persona to answer (optional)",
                required: false,
            }],
        })
        .collect();
    paged(items, params)
}

/// `prompts/get`.
pub async fn get(ctx: &Ctx, params: &Map<String, Value>) -> Result<GetPromptResult, McpError> {
    let name = required_str(params, "name")?;
    let persona = all(ctx)
        .await?
        .into_iter()
        .find(|p| prompt_name(&p.name) == name.to_lowercase())
        .ok_or_else(|| McpError::UnknownPrompt(name.to_string()))?;
    let mut messages = vec![PromptMessage::user(identity(&persona))];
    let first = params
        .get("arguments")
        .and_then(|a| a.get("message"))
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty());
    if let Some(message) = first {
        messages.push(PromptMessage::user(message.to_string()));
    }
    Ok(GetPromptResult {
        description: format!("System prompt of {}", persona.name),
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_names_are_lower_case_identifiers() {
        assert_eq!(prompt_name("Aria"), "chat_as_aria");
        assert_eq!(prompt_name(" Old Tom-2 "), "chat_as_old_tom_2");
    }
}

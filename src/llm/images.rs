//! Pictures in model requests, attached to the last user message: Ollama takes them as base64 strings in the
//! message's `images`; OpenAI-compatible servers take the message's content as parts, the text and then one
//! `image_url` part per picture (a `data:` URL).

use serde_json::{json, Value};

use super::ChatRequest;

/// The index of the message the pictures go with: the last user message.
fn last_user(messages: &[Value]) -> Option<usize> {
    messages.iter().rposition(|m| m["role"] == "user")
}

fn messages(request: &ChatRequest) -> Vec<Value> {
    request.messages.iter().map(|m| json!(m)).collect()
}

/// `messages` for Ollama's `/api/chat`.
pub(crate) fn ollama_messages(request: &ChatRequest) -> Value {
    let mut out = messages(request);
    if let Some(i) = last_user(&out).filter(|_| !request.images.is_empty()) {
        out[i]["images"] = request.images.iter().map(|img| json!(img.base64())).collect();
    }
    Value::Array(out)
}

/// `messages` for an OpenAI-compatible `/v1/chat/completions`.
pub(crate) fn openai_messages(request: &ChatRequest) -> Value {
    let mut out = messages(request);
    if let Some(i) = last_user(&out).filter(|_| !request.images.is_empty()) {
        let mut parts = vec![json!({ "type": "text", "text": out[i]["content"] })];
        parts.extend(
            request
                .images
                .iter()
                .map(|img| json!({ "type": "image_url", "image_url": { "url": img.data_url() } })),
        );
        out[i]["content"] = Value::Array(parts);
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::{PromptMessage, Role};
    use crate::domain::image::Image;

    fn request(images: Vec<Image>) -> ChatRequest {
        let msg = |role, content: &str| PromptMessage {
            role,
            content: content.into(),
        };
        ChatRequest {
            model: "llava".into(),
            messages: vec![
                msg(Role::System, "You are Aria."),
                msg(Role::User, "earlier"),
                msg(Role::Assistant, "hi"),
                msg(Role::User, "look at this"),
            ],
            max_tokens: 10,
            temperature: 0.5,
            top_p: None,
            num_ctx: None,
            stop: Vec::new(),
            fallback: Vec::new(),
            images,
        }
    }

    #[test]
    fn pictures_go_with_the_last_user_message() {
        let png = Image::from_bytes(b"\x89PNG\r\n\x1a\nxyz".to_vec()).unwrap();
        let r = request(vec![png.clone()]);
        let ollama = ollama_messages(&r);
        assert_eq!(ollama[3]["images"], json!([png.base64()]));
        assert_eq!(ollama[3]["content"], "look at this");
        assert!(ollama[1].get("images").is_none());
        let openai = openai_messages(&r);
        assert_eq!(openai[3]["content"][0], json!({"type": "text", "text": "look at this"}));
        assert_eq!(openai[3]["content"][1]["image_url"]["url"], png.data_url());
        assert_eq!(openai[1]["content"], "earlier");
    }

    #[test]
    fn without_pictures_messages_stay_plain() {
        let r = request(Vec::new());
        assert!(ollama_messages(&r)[3].get("images").is_none());
        assert_eq!(openai_messages(&r)[3]["content"], "look at this");
    }
}

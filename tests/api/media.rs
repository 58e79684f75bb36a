//! Pictures in chat: checked, stored by content hash, passed to vision models (Ollama `images`, OpenAI
//! `image_url` parts), and replaced by a short note for models that cannot see.

use base64::Engine;
use serde_json::{json, Value};

use crate::boot;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-a-tiny-picture";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0-another-picture";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha256_name(bytes: &[u8], ext: &str) -> String {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("{hash}.{ext}")
}

fn last_user_content(llm: &FakeLlm) -> Value {
    let req = llm.requests().last().expect("a chat request").clone();
    let msgs = req["messages"].as_array().unwrap().clone();
    msgs.iter().rev().find(|m| m["role"] == "user").unwrap().clone()
}

fn vision_server(provider: &str) -> (FakeLlm, TestServer) {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("What a lovely picture.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap().keep();
    let mut s = test_settings(&llm.url(), &dir);
    s.llm.provider = provider.parse().expect("a provider name");
    s.chat.vision_models = vec!["llama3".into()];
    (llm, TestServer::start_with(s))
}

#[tokio::test]
async fn a_vision_model_gets_the_pictures_from_ollama_and_the_files_are_stored() {
    let (llm, server) = vision_server("ollama");
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let r = c
        .result(
            "persona.chat",
            json!({"message": "What do you see?", "images": [b64(PNG), format!("data:image/gif;base64,{}", b64(GIF))]}),
        )
        .await;
    assert_eq!(r["response"], "What a lovely picture.");
    assert_eq!(llm.images(), vec![b64(PNG), b64(GIF)]);
    let user = last_user_content(&llm);
    assert_eq!(user["content"], "What do you see?");
    let media = server.data_dir().join("media");
    assert_eq!(std::fs::read(media.join(sha256_name(PNG, "png"))).unwrap(), PNG);
    assert_eq!(std::fs::read(media.join(sha256_name(GIF, "gif"))).unwrap(), GIF);

    // The stream and the bridge method take pictures too.
    let id = c
        .request(
            "persona.chat_stream",
            json!({"message": "And this?", "images": [b64(GIF)]}),
        )
        .await;
    let frames = c.stream_frames(&id).await;
    assert_eq!(frames.last().unwrap()["result"]["event_type"], "stream_complete");
    assert_eq!(llm.images().last().unwrap(), &b64(GIF));
    c.result(
        "conversation.send_message",
        json!({"content": "from the room", "sender": "@bob:hs", "room_id": "!r:hs", "images": [b64(PNG)]}),
    )
    .await;
    assert_eq!(llm.images().len(), 4);
}

#[tokio::test]
async fn openai_compatible_servers_get_image_url_parts() {
    let (llm, server) = vision_server("openai");
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    c.result("persona.chat", json!({"message": "Look", "images": [b64(PNG)]}))
        .await;
    let user = last_user_content(&llm);
    assert_eq!(user["content"][0], json!({"type": "text", "text": "Look"}));
    assert_eq!(
        user["content"][1]["image_url"]["url"],
        format!("data:image/png;base64,{}", b64(PNG))
    );
    assert_eq!(llm.images(), vec![b64(PNG)]);
}

#[tokio::test]
async fn a_model_without_vision_gets_a_note_instead() {
    let (llm, server) = boot(Some("I cannot see it, sorry."));
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let r = c
        .result("persona.chat", json!({"message": "Like my cat?", "images": [b64(PNG)]}))
        .await;
    assert_eq!(r["response"], "I cannot see it, sorry.");
    assert!(llm.images().is_empty(), "llama3.2 is not a vision model by default");
    let content = last_user_content(&llm)["content"].as_str().unwrap().to_string();
    assert!(content.starts_with("Like my cat?"), "{content}");
    assert!(
        content.contains("an image (png)") && content.contains("cannot see images"),
        "{content}"
    );
    // Stored anyway, with the message.
    assert!(server.data_dir().join("media").join(sha256_name(PNG, "png")).exists());
}

#[tokio::test]
async fn bad_pictures_are_refused_naming_the_field() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap().keep();
    let mut s = test_settings(&llm.url(), &dir);
    s.chat.max_images = 2;
    s.chat.max_image_bytes = 64;
    let server = TestServer::start_with(s);
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let cases = [
        (json!(["not base64 at all!"]), "images[0] must be base64 or a data URL"),
        (
            json!([b64(b"%PDF-1.7 a document")]),
            "images[0] must be a PNG, JPEG, WebP or GIF image",
        ),
        (
            json!([b64(PNG), b64(&[0x89; 200])]),
            "images[1] must be at most 64 bytes",
        ),
        (
            json!([b64(PNG), b64(PNG), b64(PNG)]),
            "images must hold at most 2 images",
        ),
        (json!("one.png"), "images must be a list"),
        (json!([7]), "must be a string"),
    ];
    for (images, expected) in cases {
        let e = c
            .error("persona.chat", json!({"message": "hi", "images": images}))
            .await;
        assert_eq!(e["code"], -32602, "{e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message} should contain {expected}");
        assert!(message.starts_with("images"), "{message}");
        let e = c
            .error("conversation.send_message", json!({"content": "hi", "images": images}))
            .await;
        assert_eq!(e["code"], -32602, "{e}");
    }
    assert!(llm.requests().is_empty(), "nothing reached the model");
    assert!(!server.data_dir().join("media").exists(), "nothing was stored");
}

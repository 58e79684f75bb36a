//! Topic threads: messages sorted by topic, `conversation.threads`, `thread_id` in the turn results, and the
//! history the model gets when the talk returns to an earlier topic (the fake LLM records every prompt).

use serde_json::{json, Value};

use crate::boot;
use crate::recall::metric;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

const DRAGON: [&str; 2] = [
    "I have a pet dragon named Ember who breathes fire.",
    "My dragon Ember sleeps on a pile of gold in the cave.",
];

const FOODS: [&str; 10] = [
    "pasta",
    "rice",
    "potatoes",
    "carrots",
    "onions",
    "eggs",
    "salmon",
    "beans",
    "mushrooms",
    "lentils",
];

/// A cooking question, different every time.
fn cooking(i: usize) -> String {
    let food = FOODS[i % FOODS.len()];
    match i % 3 {
        0 => format!("How long should I boil the {food} when cooking dinner?"),
        1 => format!("Which spices go well with {food} in a cooking recipe?"),
        _ => format!("Should I fry or roast the {food} for tonight's meal?"),
    }
}

/// The chat request whose new message was `message`.
fn request_for(llm: &FakeLlm, message: &str) -> Value {
    llm.requests()
        .into_iter()
        .rev()
        .find(|r| {
            r["messages"]
                .as_array()
                .and_then(|m| m.last())
                .is_some_and(|m| m["content"] == message)
        })
        .unwrap_or_else(|| panic!("no chat request ended with {message:?}"))
}

#[tokio::test]
async fn messages_join_their_topic_thread_and_threads_are_listed() {
    let (_llm, server) = boot(Some("Indeed."));
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let mut ids = Vec::new();
    for message in DRAGON.iter().copied().map(String::from).chain((0..3).map(cooking)) {
        let r = c.result("persona.chat", json!({"message": message})).await;
        ids.push(r["thread_id"].as_str().expect("thread_id in persona.chat").to_string());
    }
    assert_eq!(ids[0], ids[1], "both dragon messages in one thread: {ids:?}");
    assert_ne!(ids[1], ids[2], "cooking starts a new thread: {ids:?}");
    assert!(ids[2..].iter().all(|id| *id == ids[2]), "{ids:?}");
    // Back to the dragon, streamed this time: stream_complete carries the dragon thread.
    let id = c
        .request(
            "persona.chat_stream",
            json!({"message": "Does the dragon Ember ever leave the cave?"}),
        )
        .await;
    let frames = c.stream_frames(&id).await;
    let complete = frames.last().expect("frames");
    assert_eq!(complete["result"]["event_type"], "stream_complete", "{complete}");
    assert_eq!(complete["result"]["data"]["thread_id"], ids[0].as_str(), "{complete}");

    let list = c.result("conversation.threads", json!({})).await;
    assert_eq!(list["count"], 2, "{list}");
    let threads = list["threads"].as_array().unwrap();
    assert_eq!(
        threads[0]["thread_id"],
        ids[0].as_str(),
        "most recently active first: {list}"
    );
    assert!(threads[0]["label"].as_str().unwrap().contains("dragon"), "{list}");
    assert!(
        threads[0]["keywords"].as_array().unwrap().contains(&json!("ember")),
        "{list}"
    );
    assert_eq!(threads[0]["message_count"], 6, "three exchanges: {list}");
    assert_eq!(threads[1]["message_count"], 6, "{list}");
    assert!(threads[1]["label"].as_str().unwrap().contains("cooking"), "{list}");
    let aria = c.result("persona.get", json!({"persona_id": "Aria"})).await;
    assert_eq!(threads[0]["persona_id"], aria["persona"]["id"], "{list}");

    // Filtered by persona; another session sees none of them.
    let kira = c.result("conversation.threads", json!({"persona_id": "Kira"})).await;
    assert_eq!(kira["count"], 0, "{kira}");
    let mut other = server.client().await;
    let none = other.result("conversation.threads", json!({})).await;
    assert_eq!(none["count"], 0, "{none}");
    let resumed = other
        .result(
            "conversation.threads",
            json!({"session_id": list["session_id"], "persona_id": "aria"}),
        )
        .await;
    assert_eq!(resumed["count"], 2, "the session's own threads once resumed: {resumed}");
    let bad = other
        .error("conversation.threads", json!({"persona_id": "Nobody"}))
        .await;
    assert_eq!(bad["code"], -32001, "{bad}");
}

#[tokio::test]
async fn returning_to_an_earlier_topic_brings_its_messages_back_into_the_prompt() {
    let (llm, server) = boot(Some("How lovely."));
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    for message in DRAGON {
        c.result("persona.chat", json!({"message": message})).await;
    }
    for i in 0..30 {
        c.result("persona.chat", json!({"message": cooking(i)})).await;
    }
    let question = "Back to that dragon: what was its name?";
    let r = c.result("persona.chat", json!({"message": question})).await;
    let first = c.result("conversation.threads", json!({})).await;
    assert_eq!(r["thread_id"], first["threads"][0]["thread_id"]);

    let request = request_for(&llm, question);
    let history: Vec<&str> = request["messages"].as_array().unwrap()[1..]
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    let window = server.settings.chat.max_context_messages;
    assert!(
        60 > window,
        "the dragon messages are older than the plain window of {window} messages"
    );
    for message in DRAGON {
        assert!(
            history.contains(&message),
            "{message:?} is in the prompt's history: {history:#?}"
        );
    }
    assert!(
        history.len() <= window + 1,
        "within the budget: {} messages",
        history.len()
    );
    assert!(
        history.iter().any(|m| m.contains("cook")),
        "recent messages of other threads fill the rest: {history:#?}"
    );
    // Oldest first: the dragon exchange comes before the cooking talk.
    let dragon_at = history.iter().position(|m| *m == DRAGON[0]).unwrap();
    let cooking_at = history.iter().position(|m| m.contains("cook")).unwrap();
    assert!(dragon_at < cooking_at, "{history:#?}");
}

#[tokio::test]
async fn a_late_message_vector_leaves_the_thread_choice_to_keywords() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.chat.thread_vector_wait_ms = 0;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let mut ids = Vec::new();
    for message in DRAGON.iter().copied().map(String::from).chain([cooking(0)]) {
        let r = c.result("persona.chat", json!({"message": message})).await;
        ids.push(r["thread_id"].as_str().expect("thread_id").to_string());
    }
    assert_eq!(
        metric(&server, "persona_mcp_thread_vector_late_total").await,
        3.0,
        "no vector is ready the moment a turn starts"
    );
    assert_eq!(
        ids[0], ids[1],
        "the dragon messages share words (dragon, ember): {ids:?}"
    );
    assert_ne!(ids[1], ids[2], "cooking shares none: a new thread: {ids:?}");
    let list = c.result("conversation.threads", json!({})).await;
    assert_eq!(list["count"], 2, "{list}");
}

//! Runs a scenario through the method table (as a client would), on a fresh data dir, and checks its
//! expectations.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::file::{Direction, Expect, Scenario, Step};
use crate::app::Core;
use crate::domain::memory::Memory;
use crate::llm::scripted::Scripted;
use crate::rpc::context::{Connection, Ctx, Frame, Outbox};
use crate::rpc::hub::Hub;
use crate::rpc::router::{Reply, Router};

/// One checked expectation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The expectation, in words.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// Frames nobody reads (the runner takes results, not notifications).
struct Silent;

impl Outbox for Silent {
    fn send(&self, _: Frame) {}
}

/// Calls methods as a client.
struct Client {
    router: Router,
    ctx: Ctx,
}

impl Client {
    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        match self.router.invoke(self.ctx.clone(), method, params).await {
            Ok(Reply::Value(v)) => Ok(v),
            Ok(Reply::Sent) => Ok(Value::Null),
            Err(e) => Err(format!("{method}: {e}")),
        }
    }

    /// The type and the exact strength (not rounded as `relationship.get` shows it: a short conversation moves
    /// it by less than its third decimal) of the relationship of `a` and `b`; `none` and 0 without one.
    async fn relationship(&self, a: &str, b: &str) -> Result<(String, f64), String> {
        let app = &self.ctx.app;
        let (a, b) = (
            app.resolve_persona(a).await.map_err(|e| e.to_string())?,
            app.resolve_persona(b).await.map_err(|e| e.to_string())?,
        );
        let found = app
            .store
            .relationships()
            .get(a.id, b.id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(match found {
            Some(r) => {
                let kind = serde_json::to_value(r.relationship_type).map_err(|e| e.to_string())?;
                (kind.as_str().unwrap_or("none").to_string(), r.strength())
            }
            None => ("none".to_string(), 0.0),
        })
    }

    /// Every memory `persona` owns, whatever its visibility.
    async fn memories(&self, persona: &str) -> Result<Vec<Memory>, String> {
        let app = &self.ctx.app;
        let id = app.resolve_persona(persona).await.map_err(|e| e.to_string())?.id;
        let stored = app.store.memories().all(Some(id)).await.map_err(|e| e.to_string())?;
        Ok(stored.into_iter().map(|s| s.memory).collect())
    }
}

fn with_persona(mut params: std::collections::BTreeMap<String, Value>) -> Value {
    if let Some(p) = params.remove("persona") {
        params.insert("persona_id".into(), p);
    }
    Value::Object(params.into_iter().collect::<Map<String, Value>>())
}

/// The numbers the final expectations compare against, read after the setup.
async fn baseline(client: &Client, e: &Expect) -> Result<Option<f64>, String> {
    if let Some([a, b]) = &e.relationship {
        return Ok(Some(client.relationship(a, b).await?.1));
    }
    if let (Some(p), Some(field)) = (&e.emotion, &e.field) {
        let s = client.call("emotional.get_state", json!({ "persona_id": p })).await?;
        return Ok(s["emotional_state"][field.as_str()].as_f64());
    }
    Ok(None)
}

async fn setup(client: &Client, s: &Scenario) -> Result<(), String> {
    for p in &s.persona {
        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
        if client.call("persona.get", json!({ "persona_id": name })).await.is_err() {
            client
                .call("persona.create", Value::Object(p.clone().into_iter().collect()))
                .await?;
        }
    }
    for r in &s.setup.relationship {
        for _ in 0..r.times {
            let params = json!({ "persona1_id": r.personas[0], "persona2_id": r.personas[1],
                                 "interaction_quality": r.quality, "duration_minutes": r.minutes });
            client.call("relationship.update", params).await?;
        }
    }
    for e in &s.setup.emotion {
        client.call("emotional.update_state", with_persona(e.clone())).await?;
    }
    for m in &s.setup.memory {
        client.call("memory.store", with_persona(m.clone())).await?;
    }
    Ok(())
}

fn contains(text: &str, word: &str) -> bool {
    text.to_lowercase().contains(&word.to_lowercase())
}

async fn step(client: &Client, n: usize, st: &Step, out: &mut Vec<Outcome>) -> Result<(), String> {
    if let (Some(persona), Some(message)) = (&st.chat, &st.message) {
        let r = client
            .call("persona.chat", json!({ "persona_id": persona, "message": message }))
            .await?;
        let reply = r["response"].as_str().unwrap_or_default();
        println!("[step {n}] user → {persona}: {message}\n          {persona}: {reply}");
        for w in &st.expect_reply_contains {
            out.push(Outcome {
                name: format!("step {n}: {persona}'s reply contains {w:?}"),
                passed: contains(reply, w),
                detail: format!("reply: {reply:?}"),
            });
        }
        for w in &st.expect_reply_not_contains {
            out.push(Outcome {
                name: format!("step {n}: {persona}'s reply does not contain {w:?}"),
                passed: !contains(reply, w),
                detail: format!("reply: {reply:?}"),
            });
        }
        return Ok(());
    }
    let participants = st.conversation.clone().unwrap_or_default();
    let started = client
        .call(
            "conversation.start",
            json!({ "participants": participants, "topic": st.topic, "token_budget": st.token_budget }),
        )
        .await?;
    let id = started["conversation_id"].clone();
    let mut ended_at = None;
    for turn in 1..=st.turns {
        let t = client
            .call("conversation.turn", json!({ "conversation_id": id }))
            .await?;
        println!(
            "[step {n}] turn {turn} {} (continue {:.1}): {}",
            t["speaker_name"].as_str().unwrap_or("?"),
            t["continue_score"].as_f64().unwrap_or(0.0),
            t["content"].as_str().unwrap_or("")
        );
        if t["ended"] == true {
            println!(
                "[step {n}] ended by itself: {}",
                t["end_reason"].as_str().unwrap_or("?")
            );
            ended_at = Some(turn);
            break;
        }
    }
    if ended_at.is_none() {
        client
            .call(
                "conversation.end",
                json!({ "conversation_id": id, "reason": "scenario_turn_limit" }),
            )
            .await?;
    }
    if let Some(limit) = st.expect_ends_within {
        out.push(Outcome {
            name: format!("step {n}: the conversation ends by itself within {limit} turns"),
            passed: ended_at.is_some_and(|t| t <= limit),
            detail: match ended_at {
                Some(t) => format!("ended after {t} turns"),
                None => format!("still going after {} turns", st.turns),
            },
        });
    }
    Ok(())
}

async fn check(client: &Client, n: usize, e: &Expect, before: Option<f64>) -> Result<Vec<Outcome>, String> {
    let mut out = Vec::new();
    if let Some([a, b]) = &e.relationship {
        let (kind, strength) = client.relationship(a, b).await?;
        if let Some(want) = &e.relationship_type {
            out.push(Outcome {
                name: format!("expect {n}: {a} and {b} are {want}"),
                passed: &kind == want,
                detail: format!("type {kind}"),
            });
        }
        if let Some(dir) = e.strength {
            let was = before.unwrap_or(0.0);
            out.push(Outcome {
                name: format!(
                    "expect {n}: the relationship strength of {a} and {b} goes {}",
                    words(dir)
                ),
                passed: dir.holds(was, strength),
                detail: format!("strength {was:.6} → {strength:.6} ({:+.1e})", strength - was),
            });
        }
    }
    if let Some(p) = &e.memory {
        let memories = client.memories(p).await?;
        let visibility = |m: &Memory| match serde_json::to_value(m.visibility) {
            Ok(Value::String(v)) => v,
            _ => String::new(),
        };
        let wanted = |m: &&Memory| e.visibility.as_deref().is_none_or(|v| visibility(m) == v);
        let worded: Vec<&Memory> = memories
            .iter()
            .filter(|m| e.contains.iter().all(|w| contains(&m.content, w)))
            .collect();
        let hit = worded.iter().copied().find(wanted);
        out.push(Outcome {
            name: format!(
                "expect {n}: {p} remembers {:?}{}",
                e.contains,
                e.visibility.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()
            ),
            passed: hit.is_some(),
            detail: match (hit, worded.first()) {
                (Some(m), _) => format!("memory: {:?}", m.content),
                (None, Some(m)) => format!("only with another visibility: {:?} ({})", m.content, visibility(m)),
                (None, None) => format!("none of its {} memories has those words", memories.len()),
            },
        });
    }
    if let (Some(p), Some(field), Some(dir)) = (&e.emotion, &e.field, e.direction) {
        let s = client.call("emotional.get_state", json!({ "persona_id": p })).await?;
        let now = s["emotional_state"][field.as_str()].as_f64().unwrap_or(0.0);
        let was = before.unwrap_or(now);
        out.push(Outcome {
            name: format!("expect {n}: {p}'s {field} goes {}", words(dir)),
            passed: dir.holds(was, now),
            detail: format!("{field} {was:.3} → {now:.3}"),
        });
    }
    Ok(out)
}

fn words(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// Runs a scenario on a built core; `scripted` is the fake model when the run uses it (its replies are queued
/// per step). Answers every expectation's outcome.
pub async fn run(core: Arc<Core>, scripted: Option<&Scripted>, s: &Scenario) -> Result<Vec<Outcome>, String> {
    let conn = Arc::new(Connection::new(Arc::new(Silent)));
    let client = Client {
        router: crate::rpc::router(),
        ctx: Ctx::new(core, Arc::new(Hub::default()), conn),
    };
    setup(&client, s).await?;
    let mut before = Vec::with_capacity(s.expect.len());
    for e in &s.expect {
        before.push(baseline(&client, e).await?);
    }
    let mut out = Vec::new();
    for (i, st) in s.step.iter().enumerate() {
        if let Some(model) = scripted {
            model.queue(st.replies.iter().cloned());
        }
        step(&client, i + 1, st, &mut out).await?;
    }
    for (i, (e, was)) in s.expect.iter().zip(before).enumerate() {
        out.extend(check(&client, i + 1, e, was).await?);
    }
    client.ctx.app.memory.save_indexes().await;
    Ok(out)
}

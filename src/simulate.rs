//! `persona-mcp simulate`: runs a conversation between two personas, or a chatroom of more, against the
//! configured LLM and prints the transcript (streamed as it is made) with continue scores, and the relationships
//! before and after. It goes
//! through the same method table as every client, so what it shows is what clients get.

use std::io::Write;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::app::Core;
use crate::config::Settings;
use crate::rpc::context::{Connection, Ctx, Frame, Outbox};
use crate::rpc::hub::Hub;
use crate::rpc::router::Router;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The personas (ids or names), two or more; the first speaks first.
    pub personas: Vec<String>,
    /// Most turns before the simulation ends the conversation itself.
    pub turns: usize,
    /// What they talk about.
    pub topic: String,
    /// Tokens the conversation may use.
    pub token_budget: i64,
}

/// Prints streamed turn chunks as they arrive.
struct Printer;

impl Outbox for Printer {
    fn send(&self, frame: Frame) {
        if let Ok(v) = serde_json::from_str::<Value>(&frame) {
            if let Some(chunk) = v["params"]["chunk"].as_str() {
                print!("{chunk}");
                let _ = std::io::stdout().flush();
            }
        }
    }
}

/// The method table and the context the simulation calls it with.
struct Caller {
    router: Router,
    ctx: Ctx,
}

async fn call(caller: &Caller, method: &str, params: Value) -> Result<Value, String> {
    caller
        .router
        .answer(caller.ctx.clone(), method, params)
        .await
        .map_err(|e| e.to_string())
}

fn describe(v: &Value) -> String {
    let r = &v["relationship"];
    if r.is_null() {
        return "none (strangers)".into();
    }
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    format!(
        "{} (affinity {:.2}, trust {:.2}, respect {:.2}, intimacy {:.2}, strength {:.3}, interactions {})",
        r["relationship_type"].as_str().unwrap_or("?"),
        f("affinity"),
        f("trust"),
        f("respect"),
        f("intimacy"),
        f("relationship_strength"),
        r["interaction_count"]
    )
}

/// Prints the relationship of each pair of participants (naming the pair in a chatroom).
async fn print_relationships(caller: &Caller, pairs: &[Value], when: &str) -> Result<(), String> {
    for pair in pairs {
        let r = call(caller, "relationship.get", pair.clone()).await?;
        let who = match pairs.len() {
            1 => String::new(),
            _ => format!(
                " ({} & {})",
                pair["persona1_id"].as_str().unwrap_or("?"),
                pair["persona2_id"].as_str().unwrap_or("?")
            ),
        };
        println!("Relationship {when}{who}: {}", describe(&r));
    }
    Ok(())
}

/// Runs the simulation; must run inside an actix `System`.
pub async fn run(settings: Settings, sim: Simulation) -> Result<(), String> {
    let app = Core::build(settings).map_err(|e| e.to_string())?;
    let conn = Arc::new(Connection::new(Arc::new(Printer)));
    let caller = Caller {
        router: crate::rpc::router(),
        ctx: Ctx::new(app.clone(), Arc::new(Hub::default()), conn),
    };
    let pairs: Vec<Value> = sim
        .personas
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            sim.personas[i + 1..]
                .iter()
                .map(move |b| json!({ "persona1_id": a, "persona2_id": b }))
        })
        .collect();
    print_relationships(&caller, &pairs, "before").await?;
    let start = json!({ "participants": sim.personas, "topic": sim.topic, "token_budget": sim.token_budget });
    let started = call(&caller, "conversation.start", start).await?;
    let id = started["conversation_id"].clone();
    let names: Vec<&str> = started["participant_names"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!(
        "{} talk about {} (budget {} tokens)\n",
        crate::domain::chatroom::join_names(&names),
        sim.topic,
        sim.token_budget
    );
    let mut ended = Value::Null;
    for n in 1..=sim.turns {
        print!("[{n}] ");
        let _ = std::io::stdout().flush();
        let turn = call(
            &caller,
            "conversation.turn",
            json!({ "conversation_id": id, "stream": true }),
        )
        .await?;
        println!(
            "\n    — {} (continue score {:.1}, {} tokens)\n",
            turn["speaker_name"].as_str().unwrap_or("?"),
            turn["continue_score"].as_f64().unwrap_or(0.0),
            turn["tokens_used"]
        );
        if turn["ended"] == true {
            ended = json!({ "reason": turn["end_reason"], "final_stats": turn["final_stats"] });
            break;
        }
    }
    if ended.is_null() {
        ended = call(
            &caller,
            "conversation.end",
            json!({ "conversation_id": id, "reason": "simulation_turn_limit" }),
        )
        .await?;
    }
    let stats = &ended["final_stats"];
    println!(
        "Ended: {} after {} turns, {} tokens, {:.1} s",
        ended["reason"].as_str().unwrap_or("?"),
        stats["turns"],
        stats["tokens_used"],
        stats["duration"].as_f64().unwrap_or(0.0)
    );
    print_relationships(&caller, &pairs, "after").await?;
    app.memory.save_indexes().await;
    Ok(())
}

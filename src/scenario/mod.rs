//! `persona-mcp scenario run FILE.toml [--llm fake|configured]`: behaviour tests for persona designers. A file
//! declares personas, a setup, scripted user messages and persona-to-persona conversations, and expectations;
//! the runner plays it on a fresh temporary data dir (the seed personas plus the declared ones; your data is
//! never touched), prints the transcript and a report, and fails when an expectation does not hold.

pub mod file;
pub mod run;

use std::path::Path;
use std::sync::Arc;

use crate::app::Core;
use crate::config::Settings;
use crate::llm::scripted::Scripted;
use file::Scenario;
use run::Outcome;

/// Which model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The scripted model in the binary: each step's `replies`, then echoes. Deterministic, no server needed.
    Fake,
    /// The configured LLM backend.
    Configured,
}

/// The report's lines: one per expectation, then the count.
pub fn report(name: &str, outcomes: &[Outcome]) -> String {
    let mut text = format!("\nScenario: {name}\n");
    for o in outcomes {
        let mark = if o.passed { "PASS" } else { "FAIL" };
        text.push_str(&format!("  {mark}  {} — {}\n", o.name, o.detail));
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    text.push_str(&format!(
        "{} expectations, {} passed, {failed} failed\n",
        outcomes.len(),
        outcomes.len() - failed
    ));
    text
}

/// Runs the scenario in `path`; must run inside an actix `System`. `Ok(true)` when every expectation held.
pub async fn run_file(mut settings: Settings, path: &Path, model: Model) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario = Scenario::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = std::env::temp_dir().join(format!("persona-mcp-scenario-{}", uuid::Uuid::new_v4()));
    settings.embedder.model_dir = Some(settings.model_dir());
    settings.storage.data_dir = dir.clone();
    settings.storage.database_path = None;
    settings.storage.database_url = None;
    settings.persona.seed_defaults = true;
    settings.memory.decay_enabled = false;
    let scripted = Arc::new(Scripted::default());
    let core = match model {
        Model::Fake => Core::build_with(settings, Some(scripted.clone())),
        Model::Configured => Core::build(settings),
    }
    .map_err(|e| e.to_string())?;
    let result = run::run(core, (model == Model::Fake).then_some(scripted.as_ref()), &scenario).await;
    let _ = std::fs::remove_dir_all(&dir);
    let outcomes = result?;
    print!("{}", report(&scenario.name, &outcomes));
    Ok(outcomes.iter().all(|o| o.passed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_each_expectation_and_counts() {
        let outcomes = vec![
            Outcome {
                name: "step 1: Aria's reply contains \"hi\"".into(),
                passed: true,
                detail: "reply: \"hi\"".into(),
            },
            Outcome {
                name: "expect 1: Aria and Kira are friend".into(),
                passed: false,
                detail: "type acquaintance".into(),
            },
        ];
        let text = report("demo", &outcomes);
        assert!(text.contains("PASS  step 1: Aria's reply contains \"hi\""));
        assert!(text.contains("FAIL  expect 1: Aria and Kira are friend — type acquaintance"));
        assert!(text.ends_with("2 expectations, 1 passed, 1 failed\n"));
    }
}

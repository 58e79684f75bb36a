//! Memory decay: the background scheduler started, stopped and reported on, and decay forced now.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{check_range, persona_or_none};
use crate::actors::decay::{GetDecayStats, RunCycleNow, StartDecay, StopDecay};
use crate::app::Core;
use crate::domain::decay::DecayMode;
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::results::memory::{
    DecayConfigView, DecayForced, DecayStarted, DecayStatistics, DecayStatsResult, DecayStopped,
};
use crate::ops::target::Target;

/// `memory.decay_start` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct DecayStartParams {
    /// Minutes between cycles.
    #[serde(default)]
    pub interval_minutes: Option<u64>,
    /// linear, exponential, logarithmic or access_based.
    #[serde(default)]
    pub mode: Option<String>,
}

impl Input for DecayStartParams {
    fn validate(&self) -> Result<(), AppError> {
        if self.interval_minutes == Some(0) {
            return Err(AppError::invalid(
                "interval_minutes",
                "interval_minutes must be at least 1",
            ));
        }
        if self.mode.as_deref().is_some_and(|m| DecayMode::parse(m).is_none()) {
            return Err(AppError::invalid(
                "mode",
                "mode must be linear, exponential, logarithmic or access_based",
            ));
        }
        Ok(())
    }
}

/// Starts background decay (or reports that it runs), with the interval and mode given.
pub async fn decay_start(core: &Core, p: &DecayStartParams) -> Result<DecayStarted, AppError> {
    let o = core
        .decay
        .send(StartDecay {
            interval_minutes: p.interval_minutes,
            mode: p.mode.as_deref().and_then(DecayMode::parse),
        })
        .await?;
    Ok(DecayStarted {
        status: "background_decay_started",
        already_running: o.already_running,
        interval_hours: o.stats.interval_minutes as f64 / 60.0,
        interval_minutes: o.stats.interval_minutes,
        mode: o.stats.mode,
        auto_pruning: true,
    })
}

/// Stops background decay.
pub async fn decay_stop(core: &Core) -> Result<DecayStopped, AppError> {
    let was_running = core.decay.send(StopDecay).await?;
    Ok(DecayStopped {
        status: "background_decay_stopped",
        was_running,
    })
}

/// Statistics of memory decay.
pub async fn decay_stats(core: &Core) -> Result<DecayStatsResult, AppError> {
    let s = core.decay.send(GetDecayStats).await?;
    let m = core.memory.settings();
    Ok(DecayStatsResult {
        decay_statistics: DecayStatistics {
            background_running: s.background_running,
            config: DecayConfigView {
                mode: s.mode.clone(),
                interval_hours: s.interval_minutes as f64 / 60.0,
                max_decay_days: 90,
                auto_pruning: true,
                auto_prune_threshold: m.auto_prune_threshold,
            },
            mode: s.mode,
            last_run: s.last_run,
            total_decay_cycles: s.total_decay_cycles,
            total_memories_decayed: s.total_memories_decayed,
            total_auto_prunes_triggered: s.total_auto_prunes_triggered,
            recent_cycle: s.recent_cycle,
            message: (s.total_decay_cycles == 0).then_some("No decay cycles have run yet"),
        },
    })
}

/// `memory.decay_force` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct DecayForceParams {
    /// Persona (id or name); default: the current one; none: one cycle over all personas.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// 0..1.
    #[serde(default = "tenth")]
    pub decay_factor: f64,
}

fn tenth() -> f64 {
    0.1
}

impl Input for DecayForceParams {
    fn validate(&self) -> Result<(), AppError> {
        check_range("decay_factor", self.decay_factor, 0.0, 1.0)
    }
}

/// Decays the memories of the persona `whose` targets by `decay_factor` now; with none, runs one decay cycle over
/// all personas.
pub async fn decay_force(core: &Core, whose: Target<'_>, decay_factor: f64) -> Result<DecayForced, AppError> {
    match persona_or_none(core, whose).await? {
        Some(id) => {
            let d = core.memory.force_decay(id, decay_factor).await?;
            Ok(DecayForced::Persona {
                status: "persona_decay_completed",
                persona_id: id,
                decay_factor,
                memories_processed: d.memories_processed,
                memories_decayed: d.memories_decayed,
            })
        }
        None => {
            let c = core.decay.send(RunCycleNow).await??;
            Ok(DecayForced::Global {
                status: "global_decay_cycle_completed",
                personas_processed: c.personas_processed,
                memories_decayed: c.memories_decayed,
                auto_prunes_triggered: c.auto_prunes_triggered,
                processing_time: c.processing_time,
            })
        }
    }
}

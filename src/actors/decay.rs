//! `DecayScheduler`: runs a memory decay cycle every interval while started, never two at once, and keeps the
//! statistics `memory.decay_stats` reports. When several instances share a PostgreSQL database, the timer's
//! cycles run on the instance holding the decay lease (renewed at each of its ticks, taken over by another
//! instance's tick once it has expired); a forced cycle (`memory.decay_force`) runs where it is asked for.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::config::Settings;
use crate::domain::decay::DecayMode;
use crate::error::AppError;
use crate::memory::{DecayCycle, MemoryService};
use crate::storage::leases::DECAY_LEASE;
use crate::storage::Store;

/// How long the decay lease outlives its holder's interval: a holder that misses a tick by less keeps it.
const DECAY_LEASE_SLACK_SECS: u64 = 30;

/// Statistics of the scheduler.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DecayStats {
    /// The interval timer is on.
    pub background_running: bool,
    /// Decay mode in use.
    pub mode: String,
    /// Minutes between cycles.
    pub interval_minutes: u64,
    /// When the last cycle finished.
    pub last_run: Option<DateTime<Utc>>,
    /// Cycles run so far.
    pub total_decay_cycles: u64,
    /// Memories decayed so far.
    pub total_memories_decayed: u64,
    /// Auto-prunes triggered so far.
    pub total_auto_prunes_triggered: u64,
    /// The most recent cycle.
    pub recent_cycle: Option<DecayCycle>,
}

/// The actor.
pub struct DecayScheduler {
    memory: Arc<MemoryService>,
    store: Store,
    stats: DecayStats,
    mode: DecayMode,
    timer: Option<SpawnHandle>,
    cycle_running: bool,
}

impl DecayScheduler {
    /// A stopped scheduler.
    pub fn new(memory: Arc<MemoryService>, store: Store, mode: DecayMode, interval_minutes: u64) -> Self {
        Self {
            memory,
            store,
            stats: DecayStats {
                mode: mode.as_str().into(),
                interval_minutes,
                ..DecayStats::default()
            },
            mode,
            timer: None,
            cycle_running: false,
        }
    }

    fn record(&mut self, cycle: &DecayCycle) {
        self.stats.last_run = Some(Utc::now());
        self.stats.total_decay_cycles += 1;
        self.stats.total_memories_decayed += cycle.memories_decayed as u64;
        self.stats.total_auto_prunes_triggered += cycle.auto_prunes_triggered as u64;
        self.stats.recent_cycle = Some(cycle.clone());
    }

    /// Starts a cycle unless one is running (or, on a shared database, another instance holds the decay lease).
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.cycle_running {
            return;
        }
        self.cycle_running = true;
        let (memory, mode, store) = (self.memory.clone(), self.mode, self.store.clone());
        let ttl = (self.stats.interval_minutes.max(1) * 60 + DECAY_LEASE_SLACK_SECS) as f64;
        ctx.spawn(
            async move {
                if store.is_shared()
                    && !store
                        .leases()
                        .hold(vec![DECAY_LEASE.into()], ttl)
                        .await?
                        .contains(DECAY_LEASE)
                {
                    return Ok(None);
                }
                memory.decay_cycle(mode).await.map(Some)
            }
            .into_actor(self)
            .map(|res, act, _| {
                act.cycle_running = false;
                match res {
                    Ok(Some(cycle)) => act.record(&cycle),
                    Ok(None) => tracing::debug!("another instance holds the decay lease; no cycle here"),
                    Err(e) => tracing::warn!(error = %e, "decay cycle failed"),
                }
            }),
        );
    }
}

impl Actor for DecayScheduler {
    type Context = Context<Self>;
}

/// Starts the timer (or reports that it already runs).
#[derive(Message)]
#[rtype(result = "StartOutcome")]
pub struct StartDecay {
    /// New interval, if given.
    pub interval_minutes: Option<u64>,
    /// New mode, if given.
    pub mode: Option<DecayMode>,
}

/// What `StartDecay` did.
#[derive(Debug, Clone)]
pub struct StartOutcome {
    /// It was already running.
    pub already_running: bool,
    /// Stats after the change.
    pub stats: DecayStats,
}

impl DecayScheduler {
    /// Takes a new mode and interval; a running timer restarts when the interval changed.
    fn configure(&mut self, mode: Option<DecayMode>, interval_minutes: Option<u64>, ctx: &mut Context<Self>) {
        if let Some(mode) = mode {
            self.mode = mode;
            self.stats.mode = mode.as_str().into();
        }
        let interval_changed = interval_minutes.is_some_and(|m| m != self.stats.interval_minutes);
        if let Some(m) = interval_minutes {
            self.stats.interval_minutes = m;
        }
        match self.timer.take() {
            Some(handle) if interval_changed => {
                ctx.cancel_future(handle);
                self.start_timer(ctx);
            }
            other => self.timer = other,
        }
    }

    fn start_timer(&mut self, ctx: &mut Context<Self>) {
        let every = Duration::from_secs(self.stats.interval_minutes.max(1) * 60);
        self.timer = Some(ctx.run_interval(every, |act, ctx| act.tick(ctx)));
    }
}

impl Handler<StartDecay> for DecayScheduler {
    type Result = MessageResult<StartDecay>;
    fn handle(&mut self, msg: StartDecay, ctx: &mut Context<Self>) -> Self::Result {
        let already_running = self.timer.is_some();
        self.configure(msg.mode, msg.interval_minutes, ctx);
        if self.timer.is_none() {
            self.start_timer(ctx);
        }
        self.stats.background_running = true;
        MessageResult(StartOutcome {
            already_running,
            stats: self.stats.clone(),
        })
    }
}

/// Stops the timer; answers whether it was running.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct StopDecay;

impl Handler<StopDecay> for DecayScheduler {
    type Result = bool;
    fn handle(&mut self, _: StopDecay, ctx: &mut Context<Self>) -> bool {
        self.stats.background_running = false;
        match self.timer.take() {
            Some(h) => ctx.cancel_future(h),
            None => false,
        }
    }
}

/// Asks for the statistics.
#[derive(Message)]
#[rtype(result = "DecayStats")]
pub struct GetDecayStats;

impl Handler<GetDecayStats> for DecayScheduler {
    type Result = MessageResult<GetDecayStats>;
    fn handle(&mut self, _: GetDecayStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats.clone())
    }
}

/// Runs one cycle now (`memory.decay_force` without a persona); refused while another runs.
#[derive(Message)]
#[rtype(result = "Result<DecayCycle, AppError>")]
pub struct RunCycleNow;

impl Handler<RunCycleNow> for DecayScheduler {
    type Result = ResponseActFuture<Self, Result<DecayCycle, AppError>>;
    fn handle(&mut self, _: RunCycleNow, _: &mut Context<Self>) -> Self::Result {
        if self.cycle_running {
            return Box::pin(fut::ready(Err(AppError::Conflict(
                "A decay cycle is already running".into(),
            ))));
        }
        self.cycle_running = true;
        let (memory, mode) = (self.memory.clone(), self.mode);
        Box::pin(
            async move { memory.decay_cycle(mode).await }
                .into_actor(self)
                .map(|res, act, _| {
                    act.cycle_running = false;
                    if let Ok(cycle) = &res {
                        act.record(cycle);
                    }
                    res
                }),
        )
    }
}

/// New decay settings (a live settings change): mode and interval change; whether the timer runs does not.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reconfigure {
    /// The mode.
    pub mode: DecayMode,
    /// Minutes between cycles.
    pub interval_minutes: u64,
}

impl Handler<Reconfigure> for DecayScheduler {
    type Result = ();
    fn handle(&mut self, msg: Reconfigure, ctx: &mut Context<Self>) {
        self.configure(Some(msg.mode), Some(msg.interval_minutes), ctx);
    }
}

/// The decay part of the settings.
fn decay_settings(s: &Settings) -> (bool, DecayMode, u64) {
    let m = &s.memory;
    let mode = DecayMode::parse(&m.decay_mode).unwrap_or_default();
    (m.decay_enabled, mode, m.decay_interval_minutes)
}

/// Follows live settings changes: a new decay mode or interval reconfigures the scheduler, and
/// `memory.decay_enabled` starts or stops it.
pub fn follow_settings(decay: Addr<DecayScheduler>, mut changes: watch::Receiver<Arc<Settings>>) {
    actix::spawn(async move {
        let mut last = decay_settings(&changes.borrow_and_update());
        while changes.changed().await.is_ok() {
            let now = decay_settings(&changes.borrow_and_update());
            if now == last {
                continue;
            }
            let (enabled, mode, interval_minutes) = now;
            if (mode, interval_minutes) != (last.1, last.2) {
                decay.do_send(Reconfigure { mode, interval_minutes });
            }
            if enabled != last.0 {
                if enabled {
                    decay.do_send(StartDecay {
                        interval_minutes: None,
                        mode: None,
                    });
                } else {
                    decay.do_send(StopDecay);
                }
            }
            last = now;
        }
    });
}

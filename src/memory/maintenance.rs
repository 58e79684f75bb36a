//! Pruning, decay and statistics over stored memories (the rules are in `domain::pruning` / `domain::decay`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::MemoryService;
use crate::domain::decay::{self, DecayMode};
use crate::domain::memory::{days_between, Visibility};
use crate::domain::memory::{MemoryGroup, PruneRun, StoredMemory};
use crate::domain::pruning::{plan_auto_prune, plan_prune, PruneCandidate, PrunePlan};
use crate::error::AppError;

/// The result of pruning one persona.
#[derive(Debug, Clone)]
pub struct PruneOutcome {
    /// The plan that was (or would be) carried out.
    pub plan: PrunePlan,
    /// Memories actually removed.
    pub removed: usize,
    /// Seconds it took.
    pub processing_time: f64,
}

/// Memory counts before and after pruning several personas ([`MemoryService::prune_everyone`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PruneTotals {
    /// Memories before.
    pub before: usize,
    /// Memories after.
    pub after: usize,
    /// Personas whose pruning failed.
    pub errors: usize,
}

/// Bytes used by the database file, its write-ahead log and the vector indexes under `data_dir`.
fn disk_usage(data_dir: &Path, database: &Path) -> u64 {
    let file = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let wal = database.with_extension("db-wal");
    let vectors: u64 = std::fs::read_dir(data_dir.join("vectors"))
        .map(|dir| dir.flatten().map(|e| file(&e.path())).sum())
        .unwrap_or(0);
    file(database) + file(&wal) + vectors
}

/// The result of decaying one persona.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PersonaDecay {
    /// Memories looked at.
    pub memories_processed: usize,
    /// Memories whose importance went down.
    pub memories_decayed: usize,
    /// Mean drop in importance of those.
    pub average_decay: f64,
}

/// The result of one decay cycle over several personas.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct DecayCycle {
    /// Personas processed.
    pub personas_processed: usize,
    /// Memories whose importance went down.
    pub memories_decayed: usize,
    /// Mean drop of those.
    pub average_decay: f64,
    /// Personas auto-pruned afterwards.
    pub auto_prunes_triggered: usize,
    /// Seconds it took.
    pub processing_time: f64,
}

fn candidates(all: &[StoredMemory]) -> Vec<PruneCandidate> {
    all.iter().map(|s| PruneCandidate::from(&s.memory)).collect()
}

/// Memory statistics of one persona or all (`memory.stats`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MemoryStats {
    /// Memories.
    pub total_memories: usize,
    /// Mean importance, 3 decimals.
    pub avg_importance: f64,
    /// Type → count.
    pub memory_types: BTreeMap<String, usize>,
    /// Memories of importance ≥ 0.7.
    pub high_importance_count: usize,
    /// Memories created today (UTC).
    pub created_today: usize,
    /// How long the statistics took.
    pub stats_calculation_time_ms: f64,
    /// Persona id → count.
    pub memories_by_persona: BTreeMap<String, usize>,
    /// Counts by importance band.
    pub importance_distribution: ImportanceDistribution,
    /// private / shared / public → count.
    pub visibility_counts: BTreeMap<&'static str, usize>,
    /// Database and vector index files, MiB.
    pub storage_size_mb: f64,
}

/// Statistics of shared and public memories (`memory.shared_stats`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SharedStats {
    /// Personas.
    pub total_personas: usize,
    /// Shared memories.
    pub shared_memories: usize,
    /// Public memories.
    pub public_memories: usize,
    /// Memories with related personas.
    pub cross_references: usize,
    /// Persona id → its counts.
    pub by_persona: BTreeMap<String, PersonaShare>,
    /// The persona with the most shared and public memories.
    pub most_shared: Option<MostShared>,
}

/// One persona's shared, public and cross-referenced memories.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PersonaShare {
    /// Its name.
    pub name: String,
    /// Shared memories.
    pub shared: usize,
    /// Public memories.
    pub public: usize,
    /// Memories with related personas.
    pub cross_references: usize,
}

/// The persona with the most shared and public memories.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MostShared {
    /// It.
    pub persona_id: Uuid,
    /// Its name.
    pub name: Option<String>,
    /// Its shared and public memories.
    pub shared_and_public: usize,
}

/// Memories by importance band.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImportanceDistribution {
    /// ≥ 0.7.
    pub high: usize,
    /// 0.4..0.7.
    pub medium: usize,
    /// < 0.4.
    pub low: usize,
}

impl MemoryService {
    async fn memories_of(&self, persona: Option<Uuid>) -> Result<Vec<StoredMemory>, AppError> {
        Ok(self.store.memories().all(persona).await?)
    }

    /// Plans pruning without changing anything.
    pub async fn prune_plan(&self, persona: Uuid, force: bool) -> Result<PrunePlan, AppError> {
        let all = self.memories_of(Some(persona)).await?;
        Ok(plan_prune(&candidates(&all), &self.prune_config(), force, Utc::now()))
    }

    async fn carry_out(
        &self,
        persona: Uuid,
        all: Vec<StoredMemory>,
        plan: PrunePlan,
        started: Instant,
    ) -> Result<PruneOutcome, AppError> {
        let doomed_ids: std::collections::HashSet<Uuid> = plan.to_remove.iter().map(|v| v.id).collect();
        let doomed: Vec<StoredMemory> = all.into_iter().filter(|s| doomed_ids.contains(&s.memory.id)).collect();
        let removed = self.remove(&doomed).await?;
        let processing_time = started.elapsed().as_secs_f64();
        let run = PruneRun {
            persona_id: persona.to_string(),
            ran_at: Utc::now(),
            memories_before: plan.current_count as i64,
            memories_after: (plan.current_count - removed) as i64,
            average_importance_pruned: plan.average_importance_removed,
            processing_time,
        };
        self.store.memories().record_prune_run(run).await?;
        Ok(PruneOutcome {
            plan,
            removed,
            processing_time,
        })
    }

    /// Prunes a persona when it is over the threshold (or with `force`); `None` when nothing was needed.
    pub async fn prune(&self, persona: Uuid, force: bool) -> Result<Option<PruneOutcome>, AppError> {
        let started = Instant::now();
        let all = self.memories_of(Some(persona)).await?;
        let plan = plan_prune(&candidates(&all), &self.prune_config(), force, Utc::now());
        if !plan.needs_pruning && !force {
            return Ok(None);
        }
        Ok(Some(self.carry_out(persona, all, plan, started).await?))
    }

    /// Auto-prune after a decay cycle: memories under the auto-prune importance of a persona over its threshold.
    async fn auto_prune(&self, persona: Uuid) -> Result<bool, AppError> {
        let started = Instant::now();
        let all = self.memories_of(Some(persona)).await?;
        let plan = plan_auto_prune(&candidates(&all), &self.prune_config(), Utc::now());
        if plan.to_remove.is_empty() {
            return Ok(false);
        }
        self.carry_out(persona, all, plan, started).await?;
        Ok(true)
    }

    /// `memory.prune_all`: prunes every persona in `personas` that needs it. A persona whose pruning fails is
    /// logged and counted, and the others go on.
    pub async fn prune_everyone(&self, personas: &[Uuid]) -> Result<PruneTotals, AppError> {
        let mut totals = PruneTotals::default();
        for &persona in personas {
            match self.prune(persona, false).await {
                Ok(Some(o)) => {
                    totals.before += o.plan.current_count;
                    totals.after += o.plan.current_count - o.removed;
                }
                Ok(None) => {
                    let n = self.prune_plan(persona, false).await?.current_count;
                    totals.before += n;
                    totals.after += n;
                }
                Err(e) => {
                    tracing::warn!(persona = %persona, error = %e, "pruning failed");
                    totals.errors += 1;
                }
            }
        }
        Ok(totals)
    }

    /// Every recorded pruning run.
    pub async fn prune_runs(&self) -> Result<Vec<PruneRun>, AppError> {
        Ok(self.store.memories().prune_runs().await?)
    }

    /// `memory.decay_force` for one persona: importance·(1 − factor) on every unprotected memory.
    pub async fn force_decay(&self, persona: Uuid, factor: f64) -> Result<PersonaDecay, AppError> {
        let all = self.memories_of(Some(persona)).await?;
        let now = Utc::now();
        let cfg = self.decay;
        let updates: Vec<(i64, f64, f64)> = all
            .iter()
            .filter(|s| !decay::is_protected(&cfg, s.memory.importance, s.memory.days_since_access(now)))
            .map(|s| {
                (
                    s.key,
                    s.memory.importance,
                    decay::forced_decay(&cfg, s.memory.importance, factor),
                )
            })
            .filter(|(_, old, new)| new < old)
            .collect();
        self.apply_decay(all.len(), updates).await
    }

    async fn apply_decay(&self, processed: usize, updates: Vec<(i64, f64, f64)>) -> Result<PersonaDecay, AppError> {
        let drop: f64 = updates.iter().map(|(_, old, new)| old - new).sum();
        let result = PersonaDecay {
            memories_processed: processed,
            memories_decayed: updates.len(),
            average_decay: if updates.is_empty() {
                0.0
            } else {
                drop / updates.len() as f64
            },
        };
        let rows: Vec<(i64, f64)> = updates.into_iter().map(|(k, _, new)| (k, new)).collect();
        self.store.memories().set_importance(rows).await?;
        Ok(result)
    }

    /// Time-based decay of one persona, computed from each memory's importance at creation.
    pub async fn decay_persona(&self, persona: Uuid, mode: DecayMode) -> Result<PersonaDecay, AppError> {
        let all = self.memories_of(Some(persona)).await?;
        let now = Utc::now();
        let cfg = self.decay;
        let updates: Vec<(i64, f64, f64)> = all
            .iter()
            .filter_map(|s| {
                let m = &s.memory;
                decay::decayed_importance(
                    &cfg,
                    m.base_importance,
                    m.importance,
                    mode,
                    days_between(m.created_at, now),
                    m.accessed_count,
                    m.days_since_access(now),
                )
                .map(|new| (s.key, m.importance, new))
            })
            .collect();
        self.apply_decay(all.len(), updates).await
    }

    /// One decay cycle: the personas with most memories first, at most `max_personas_per_cycle`, then
    /// auto-pruning of those over the auto-prune threshold.
    pub async fn decay_cycle(&self, mode: DecayMode) -> Result<DecayCycle, AppError> {
        let started = Instant::now();
        let all = self.memories_of(None).await?;
        let mut counts: HashMap<Uuid, usize> = HashMap::new();
        for s in &all {
            *counts.entry(s.memory.persona_id).or_default() += 1;
        }
        drop(all);
        let mut order: Vec<(Uuid, usize)> = counts.into_iter().collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        order.truncate(self.settings().max_personas_per_cycle);
        let mut cycle = DecayCycle::default();
        let mut total_drop = 0.0;
        for (persona, count) in order {
            let d = self.decay_persona(persona, mode).await?;
            cycle.personas_processed += 1;
            cycle.memories_decayed += d.memories_decayed;
            total_drop += d.average_decay * d.memories_decayed as f64;
            if count > self.prune_config().auto_prune_threshold && self.auto_prune(persona).await? {
                cycle.auto_prunes_triggered += 1;
            }
        }
        if cycle.memories_decayed > 0 {
            cycle.average_decay = total_drop / cycle.memories_decayed as f64;
        }
        cycle.processing_time = started.elapsed().as_secs_f64();
        Ok(cycle)
    }

    /// The memories of `persona` (or all) grouped and counted by SQLite, with today's date for `created_on_day`.
    async fn groups(&self, persona: Option<Uuid>) -> Result<Vec<MemoryGroup>, AppError> {
        let today = Utc::now().date_naive();
        Ok(self.store.memories().groups(persona, today).await?)
    }

    /// `memory.stats`: for one persona, or all.
    pub async fn stats(&self, persona: Option<Uuid>) -> Result<MemoryStats, AppError> {
        let started = Instant::now();
        let storage_bytes = {
            let settings = self.settings.current();
            disk_usage(&settings.storage.data_dir, &settings.storage.database_file())
        };
        let groups = self.groups(persona).await?;
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_persona: BTreeMap<String, usize> = BTreeMap::new();
        let mut visibility: BTreeMap<&str, usize> = [("private", 0), ("shared", 0), ("public", 0)].into();
        let (mut n, mut high, mut low, mut created_today, mut sum) = (0, 0, 0, 0, 0.0);
        for g in &groups {
            *types.entry(g.memory_type.clone()).or_default() += g.count;
            *by_persona.entry(g.persona.to_string()).or_default() += g.count;
            *visibility.entry(g.visibility.as_str()).or_default() += g.count;
            n += g.count;
            sum += g.importance_sum;
            high += g.high;
            low += g.low;
            created_today += g.created_on_day;
        }
        let avg = if n == 0 { 0.0 } else { sum / n as f64 };
        Ok(MemoryStats {
            total_memories: n,
            avg_importance: (avg * 1000.0).round() / 1000.0,
            memory_types: types,
            high_importance_count: high,
            created_today,
            stats_calculation_time_ms: started.elapsed().as_secs_f64() * 1000.0,
            memories_by_persona: by_persona,
            importance_distribution: ImportanceDistribution {
                high,
                medium: n - high - low,
                low,
            },
            visibility_counts: visibility,
            storage_size_mb: (storage_bytes as f64 / 1_048_576.0 * 100.0).round() / 100.0,
        })
    }

    /// `memory.shared_stats`.
    pub async fn shared_stats(&self, personas: &[(Uuid, String)]) -> Result<SharedStats, AppError> {
        let groups = self.groups(None).await?;
        let mut by_persona: BTreeMap<String, PersonaShare> = BTreeMap::new();
        let (mut shared, mut public, mut cross) = (0, 0, 0);
        let mut counts: HashMap<Uuid, (usize, usize, usize)> = HashMap::new();
        for g in &groups {
            let e = counts.entry(g.persona).or_default();
            match g.visibility {
                Visibility::Shared => {
                    shared += g.count;
                    e.0 += g.count
                }
                Visibility::Public => {
                    public += g.count;
                    e.1 += g.count
                }
                Visibility::Private => {}
            }
            cross += g.cross_referenced;
            e.2 += g.cross_referenced;
        }
        let mut most_shared: Option<(Uuid, usize)> = None;
        for (id, name) in personas {
            let (s, p, c) = counts.get(id).copied().unwrap_or_default();
            by_persona.insert(
                id.to_string(),
                PersonaShare {
                    name: name.clone(),
                    shared: s,
                    public: p,
                    cross_references: c,
                },
            );
            if s + p > 0 && most_shared.is_none_or(|(_, best)| s + p > best) {
                most_shared = Some((*id, s + p));
            }
        }
        let most_shared = most_shared.map(|(id, n)| MostShared {
            persona_id: id,
            name: personas.iter().find(|(p, _)| *p == id).map(|(_, n)| n.clone()),
            shared_and_public: n,
        });
        Ok(SharedStats {
            total_personas: personas.len(),
            shared_memories: shared,
            public_memories: public,
            cross_references: cross,
            by_persona,
            most_shared,
        })
    }
}

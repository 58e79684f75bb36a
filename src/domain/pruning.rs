//! Memory pruning: which memories of a persona go when it has too many (DOMAIN.md, Pruning).
//!
//! A plan is computed here from the persona's memories and applied by storage in one step (SQLite and
//! the vector index together). Limits, in this order: a run happens only over the threshold or when
//! forced; it never leaves fewer than `min_safe_count` memories; it never removes more than
//! `max_prune_percent` of them; protected memories are never removed, whatever the limits allow.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::memory::{days_between, Memory, MEMORY_TYPE_RELATIONSHIP};

/// Weight of low importance in [`prune_score`].
pub const PRUNE_IMPORTANCE_WEIGHT: f64 = 0.6;
/// Weight of age in [`prune_score`].
pub const PRUNE_AGE_WEIGHT: f64 = 0.3;
/// Weight of few accesses in [`prune_score`].
pub const PRUNE_ACCESS_WEIGHT: f64 = 0.1;
/// Age (days) at which the age part of [`prune_score`] is full.
pub const PRUNE_AGE_HORIZON_DAYS: f64 = 365.0;

/// The numbers of pruning (DOMAIN.md defaults; settings under `memory.pruning`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PruneConfig {
    /// A persona with more memories than this is pruned.
    pub pruning_threshold: usize,
    /// Pruning never leaves fewer memories than this.
    pub min_safe_count: usize,
    /// At most this share (0..1) of a persona's memories go in one run.
    pub max_prune_percent: f64,
    /// After a decay cycle, a persona with more memories than this is auto-pruned.
    pub auto_prune_threshold: usize,
    /// Auto-pruning removes only memories under this importance.
    pub auto_prune_below: f64,
    /// Memories this important (or more) are protected.
    pub protected_importance: f64,
    /// Memories accessed within this many days are protected.
    pub recent_access_days: f64,
    /// Memories accessed this many times (or more) are protected.
    pub frequent_access_count: i64,
}

impl Default for PruneConfig {
    fn default() -> Self {
        Self {
            pruning_threshold: 900,
            min_safe_count: 10,
            max_prune_percent: 0.25,
            auto_prune_threshold: 1000,
            auto_prune_below: 0.3,
            protected_importance: 0.8,
            recent_access_days: 7.0,
            frequent_access_count: 3,
        }
    }
}

/// What pruning needs to know about one memory.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneCandidate {
    /// The memory.
    pub id: Uuid,
    /// Current importance.
    pub importance: f64,
    /// Its type (`relationship` memories are protected).
    pub memory_type: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// How many times a search returned it.
    pub accessed_count: i64,
    /// When a search last returned it.
    pub last_accessed: Option<DateTime<Utc>>,
    /// Shared with, or related to, another persona (see [`Memory::involves_other_personas`]).
    pub involves_others: bool,
}

impl From<&Memory> for PruneCandidate {
    fn from(m: &Memory) -> Self {
        Self {
            id: m.id,
            importance: m.importance,
            memory_type: m.memory_type.clone(),
            created_at: m.created_at,
            accessed_count: m.accessed_count,
            last_accessed: m.last_accessed,
            involves_others: m.involves_other_personas(),
        }
    }
}

/// Why a memory may not be pruned, `None` when it may. Checked in the order of DOMAIN.md.
pub fn protection_reason(c: &PruneCandidate, cfg: &PruneConfig, now: DateTime<Utc>) -> Option<&'static str> {
    if c.importance >= cfg.protected_importance {
        Some("high importance")
    } else if c
        .last_accessed
        .is_some_and(|t| days_between(t, now) <= cfg.recent_access_days)
    {
        Some("accessed recently")
    } else if c.accessed_count >= cfg.frequent_access_count {
        Some("accessed often")
    } else if c.memory_type == MEMORY_TYPE_RELATIONSHIP {
        Some("relationship memory")
    } else if c.involves_others {
        Some("shared with or related to another persona")
    } else {
        None
    }
}

/// How much a memory deserves to go, 0..1, higher first: low importance weighs most, then age (full at
/// [`PRUNE_AGE_HORIZON_DAYS`]), then few accesses (never accessed scores the whole part).
pub fn prune_score(c: &PruneCandidate, now: DateTime<Utc>) -> f64 {
    let unimportance = 1.0 - c.importance.clamp(0.0, 1.0);
    let age = (days_between(c.created_at, now) / PRUNE_AGE_HORIZON_DAYS).min(1.0);
    let neglect = 1.0 / (1.0 + c.accessed_count.max(0) as f64);
    PRUNE_IMPORTANCE_WEIGHT * unimportance + PRUNE_AGE_WEIGHT * age + PRUNE_ACCESS_WEIGHT * neglect
}

/// One memory a plan removes.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneVictim {
    /// The memory.
    pub id: Uuid,
    /// Its importance.
    pub importance: f64,
    /// Why it goes, in words ("importance 0.21, 120 days old, never accessed").
    pub reason: String,
}

/// The outcome of planning one persona's pruning; changes nothing by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PrunePlan {
    /// Over the threshold (a forced run plans removals even when this is false).
    pub needs_pruning: bool,
    /// Memories now.
    pub current_count: usize,
    /// The count the run aims at within its limits; protected memories can keep it from getting there.
    pub target_count: usize,
    /// Memories to remove, the most prunable first.
    pub to_remove: Vec<PruneVictim>,
    /// Average importance of `to_remove` (0 when empty).
    pub average_importance_removed: f64,
    /// Average importance of the memories that stay (0 when none stay).
    pub average_importance_kept: f64,
    /// Lowest and highest importance of `to_remove`, `None` when empty.
    pub importance_range: Option<(f64, f64)>,
}

impl PrunePlan {
    /// Memories left after the plan is applied.
    pub fn count_after(&self) -> usize {
        self.current_count - self.to_remove.len()
    }
}

/// Plans `memory.prune` (and `memory.prune_recommendations`) for one persona's memories.
///
/// Removes down to `pruning_threshold` when over it; a forced run removes as many as the limits allow.
/// Either way at most `max_prune_percent` of the count, never below `min_safe_count`, never a protected
/// memory, the highest [`prune_score`] first.
pub fn plan_prune(all: &[PruneCandidate], cfg: &PruneConfig, force: bool, now: DateTime<Utc>) -> PrunePlan {
    let count = all.len();
    let needs_pruning = count > cfg.pruning_threshold;
    let wanted = match (needs_pruning, force) {
        (_, true) => count,
        (true, false) => count - cfg.pruning_threshold,
        (false, false) => 0,
    };
    plan(all, cfg, needs_pruning, wanted, now, |_| true)
}

/// Plans the auto-prune that follows a decay cycle: a persona over `auto_prune_threshold` loses its
/// unprotected memories under `auto_prune_below`, within the same limits as [`plan_prune`].
pub fn plan_auto_prune(all: &[PruneCandidate], cfg: &PruneConfig, now: DateTime<Utc>) -> PrunePlan {
    let needs_pruning = all.len() > cfg.auto_prune_threshold;
    let wanted = if needs_pruning { all.len() } else { 0 };
    plan(all, cfg, needs_pruning, wanted, now, |c| {
        c.importance < cfg.auto_prune_below
    })
}

/// The most removals the limits allow out of `count`: `max_prune_percent` of it, never below
/// `min_safe_count`.
pub fn removal_limit(count: usize, cfg: &PruneConfig) -> usize {
    // The epsilon keeps 0.29·100 from flooring to 28.
    let share = (count as f64 * cfg.max_prune_percent.clamp(0.0, 1.0) + 1e-9).floor() as usize;
    share.min(count.saturating_sub(cfg.min_safe_count))
}

/// The plan shared by [`plan_prune`] and [`plan_auto_prune`]: up to `wanted` removals within the limits,
/// among the unprotected memories `eligible` accepts.
fn plan(
    all: &[PruneCandidate],
    cfg: &PruneConfig,
    needs_pruning: bool,
    wanted: usize,
    now: DateTime<Utc>,
    eligible: impl Fn(&PruneCandidate) -> bool,
) -> PrunePlan {
    let count = all.len();
    let budget = wanted.min(removal_limit(count, cfg));
    let mut ranked: Vec<(&PruneCandidate, f64)> = all
        .iter()
        .filter(|c| eligible(c) && protection_reason(c, cfg, now).is_none())
        .map(|c| (c, prune_score(c, now)))
        .collect();
    // Highest score first; ties: least important, then oldest, then id, so plans are reproducible.
    ranked.sort_by(|(a, sa), (b, sb)| {
        sb.total_cmp(sa)
            .then(a.importance.total_cmp(&b.importance))
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
    let to_remove: Vec<PruneVictim> = ranked
        .into_iter()
        .take(budget)
        .map(|(c, _)| PruneVictim {
            id: c.id,
            importance: c.importance,
            reason: victim_reason(c, now),
        })
        .collect();

    let removed_sum: f64 = to_remove.iter().map(|v| v.importance).sum();
    let total_sum: f64 = all.iter().map(|c| c.importance).sum();
    let kept = count - to_remove.len();
    let importance_range = to_remove.iter().map(|v| v.importance).fold(None, |acc, i| {
        Some(match acc {
            None => (i, i),
            Some((lo, hi)) => (f64::min(lo, i), f64::max(hi, i)),
        })
    });
    PrunePlan {
        needs_pruning,
        current_count: count,
        target_count: count - budget,
        average_importance_removed: average(removed_sum, to_remove.len()),
        average_importance_kept: average(total_sum - removed_sum, kept),
        importance_range,
        to_remove,
    }
}

/// `sum / n`, 0 for no items.
fn average(sum: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// The `reason` of a removed memory, in words.
fn victim_reason(c: &PruneCandidate, now: DateTime<Utc>) -> String {
    let days = days_between(c.created_at, now).floor();
    let accesses = match c.accessed_count {
        i64::MIN..=0 => "never accessed".to_owned(),
        1 => "accessed once".to_owned(),
        n => format!("accessed {n} times"),
    };
    format!("importance {:.2}, {days:.0} days old, {accesses}", c.importance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).single().expect("valid date")
    }

    /// An unprotected memory: low importance, 30 days old, never accessed, private, not related.
    fn cand(n: u128, importance: f64) -> PruneCandidate {
        PruneCandidate {
            id: Uuid::from_u128(n),
            importance,
            memory_type: "conversation".to_owned(),
            created_at: now() - Duration::days(30),
            accessed_count: 0,
            last_accessed: None,
            involves_others: false,
        }
    }

    fn many(n: usize, importance: f64) -> Vec<PruneCandidate> {
        (0..n).map(|i| cand(i as u128 + 1, importance)).collect()
    }

    fn removed_ids(p: &PrunePlan) -> Vec<u128> {
        p.to_remove.iter().map(|v| v.id.as_u128()).collect()
    }

    #[test]
    fn defaults_are_domain_numbers() {
        let c = PruneConfig::default();
        assert_eq!(
            (c.pruning_threshold, c.min_safe_count, c.auto_prune_threshold),
            (900, 10, 1000)
        );
        assert_eq!((c.max_prune_percent, c.auto_prune_below), (0.25, 0.3));
    }

    #[test]
    fn each_protection() {
        let cfg = PruneConfig::default();
        assert_eq!(protection_reason(&cand(1, 0.2), &cfg, now()), None);

        let c = PruneCandidate {
            importance: 0.8,
            ..cand(1, 0.2)
        };
        assert_eq!(protection_reason(&c, &cfg, now()), Some("high importance"));
        let c = PruneCandidate {
            importance: 0.79,
            ..cand(1, 0.2)
        };
        assert_eq!(protection_reason(&c, &cfg, now()), None);

        let c = PruneCandidate {
            accessed_count: 1,
            last_accessed: Some(now() - Duration::days(7)),
            ..cand(1, 0.2)
        };
        assert_eq!(protection_reason(&c, &cfg, now()), Some("accessed recently"));
        let c = PruneCandidate {
            accessed_count: 1,
            last_accessed: Some(now() - Duration::days(8)),
            ..cand(1, 0.2)
        };
        assert_eq!(protection_reason(&c, &cfg, now()), None);

        let c = PruneCandidate {
            accessed_count: 3,
            last_accessed: Some(now() - Duration::days(100)),
            ..cand(1, 0.2)
        };
        assert_eq!(protection_reason(&c, &cfg, now()), Some("accessed often"));
        let c = PruneCandidate { accessed_count: 2, ..c };
        assert_eq!(protection_reason(&c, &cfg, now()), None);

        let c = PruneCandidate {
            memory_type: MEMORY_TYPE_RELATIONSHIP.to_owned(),
            ..cand(1, 0.2)
        };
        assert_eq!(protection_reason(&c, &cfg, now()), Some("relationship memory"));

        let c = PruneCandidate {
            involves_others: true,
            ..cand(1, 0.2)
        };
        assert_eq!(
            protection_reason(&c, &cfg, now()),
            Some("shared with or related to another persona")
        );
    }

    #[test]
    fn candidate_from_memory() {
        let mut m = Memory::new(Uuid::from_u128(9), "x", "event", 0.4, now());
        assert!(!PruneCandidate::from(&m).involves_others);
        m.related_personas.push(Uuid::from_u128(10));
        let c = PruneCandidate::from(&m);
        assert!(c.involves_others);
        assert_eq!((c.id, c.importance, c.memory_type.as_str()), (m.id, 0.4, "event"));
    }

    #[test]
    fn prune_score_orders_low_old_unused_first() {
        let n = now();
        let base = cand(1, 0.5);
        let less_important = PruneCandidate {
            importance: 0.2,
            ..base.clone()
        };
        let older = PruneCandidate {
            created_at: n - Duration::days(300),
            ..base.clone()
        };
        let used = PruneCandidate {
            accessed_count: 1,
            ..base.clone()
        };
        assert!(prune_score(&less_important, n) > prune_score(&base, n));
        assert!(prune_score(&older, n) > prune_score(&base, n));
        assert!(prune_score(&base, n) > prune_score(&used, n));
        // 0.6·0.5 + 0.3·30/365 + 0.1·1
        let want = 0.3 + 0.3 * 30.0 / 365.0 + 0.1;
        assert!((prune_score(&base, n) - want).abs() < 1e-12);
        let ancient = PruneCandidate {
            created_at: n - Duration::days(5000),
            ..base
        };
        assert!(
            (prune_score(&ancient, n) - (0.3 + 0.3 + 0.1)).abs() < 1e-12,
            "age capped"
        );
    }

    #[test]
    fn removal_limits() {
        let cfg = PruneConfig::default();
        assert_eq!(removal_limit(12, &cfg), 2, "25% = 3, but 10 must stay");
        assert_eq!(removal_limit(10, &cfg), 0);
        assert_eq!(removal_limit(5, &cfg), 0);
        assert_eq!(removal_limit(0, &cfg), 0);
        assert_eq!(removal_limit(40, &cfg), 10);
        assert_eq!(removal_limit(1000, &cfg), 250);
        let odd = PruneConfig {
            max_prune_percent: 0.29,
            ..cfg
        };
        assert_eq!(removal_limit(100, &odd), 29);
    }

    #[test]
    fn under_threshold_without_force_does_nothing() {
        let cfg = PruneConfig::default();
        let all = many(900, 0.2);
        let p = plan_prune(&all, &cfg, false, now());
        assert!(!p.needs_pruning);
        assert!(p.to_remove.is_empty());
        assert_eq!((p.current_count, p.target_count, p.count_after()), (900, 900, 900));
        assert_eq!(p.importance_range, None);
        assert_eq!(p.average_importance_removed, 0.0);
        assert!((p.average_importance_kept - 0.2).abs() < 1e-9);
    }

    #[test]
    fn over_threshold_prunes_down_to_it() {
        let cfg = PruneConfig::default();
        let all = many(950, 0.2);
        let p = plan_prune(&all, &cfg, false, now());
        assert!(p.needs_pruning);
        assert_eq!(p.to_remove.len(), 50);
        assert_eq!((p.target_count, p.count_after()), (900, 900));
    }

    #[test]
    fn over_threshold_never_more_than_the_share() {
        let cfg = PruneConfig {
            pruning_threshold: 20,
            ..PruneConfig::default()
        };
        let all = many(100, 0.2);
        let p = plan_prune(&all, &cfg, false, now());
        assert_eq!(p.to_remove.len(), 25, "80 over the threshold, 25% cap");
        assert_eq!(p.target_count, 75);
    }

    #[test]
    fn forced_run_takes_the_share_but_keeps_the_safe_count() {
        let cfg = PruneConfig::default();
        let p = plan_prune(&many(12, 0.2), &cfg, true, now());
        assert!(!p.needs_pruning);
        assert_eq!(p.to_remove.len(), 2);
        assert_eq!((p.target_count, p.count_after()), (10, 10));

        let p = plan_prune(&many(100, 0.2), &cfg, true, now());
        assert_eq!(p.to_remove.len(), 25);

        let p = plan_prune(&many(10, 0.2), &cfg, true, now());
        assert!(p.to_remove.is_empty(), "never below 10");
        assert!(plan_prune(&[], &cfg, true, now()).to_remove.is_empty());
    }

    #[test]
    fn protected_memories_are_never_removed() {
        let cfg = PruneConfig::default();
        let mut all = many(40, 0.2);
        // 37 of 40 protected, one way or another; the limit would allow 10.
        for (i, c) in all.iter_mut().enumerate().skip(3) {
            match i % 5 {
                0 => c.importance = 0.9,
                1 => c.last_accessed = Some(now() - Duration::days(1)),
                2 => c.accessed_count = 5,
                3 => c.memory_type = MEMORY_TYPE_RELATIONSHIP.to_owned(),
                _ => c.involves_others = true,
            }
        }
        let p = plan_prune(&all, &cfg, true, now());
        assert_eq!(removed_ids(&p), vec![1, 2, 3]);
        assert_eq!(p.target_count, 30, "the goal the protections kept it from");
        assert_eq!(p.count_after(), 37);
    }

    #[test]
    fn removes_the_most_prunable_first_and_reports() {
        let cfg = PruneConfig::default();
        let n = now();
        let mut all = many(12, 0.6);
        all[4].importance = 0.15;
        all[7].importance = 0.25;
        all[9].importance = 0.25;
        all[9].created_at = n - Duration::days(200);
        let p = plan_prune(&all, &cfg, true, n);
        // 2 allowed: the old 0.25 (0.45 + 0.3·200/365 + 0.1 ≈ 0.714) outranks the young 0.15
        // (0.51 + 0.3·30/365 + 0.1 ≈ 0.635), which outranks the young 0.25 (≈ 0.575)
        assert_eq!(removed_ids(&p), vec![10, 5]);
        assert_eq!(p.importance_range, Some((0.15, 0.25)));
        assert!((p.average_importance_removed - 0.2).abs() < 1e-9);
        // kept: nine at 0.6 and one 0.25
        assert!((p.average_importance_kept - (9.0 * 0.6 + 0.25) / 10.0).abs() < 1e-9);
        assert_eq!(p.to_remove[0].reason, "importance 0.25, 200 days old, never accessed");
        assert_eq!(p.to_remove[1].reason, "importance 0.15, 30 days old, never accessed");
    }

    #[test]
    fn reason_mentions_accesses() {
        let c = PruneCandidate {
            accessed_count: 2,
            last_accessed: Some(now() - Duration::days(20)),
            ..cand(1, 0.3)
        };
        assert_eq!(
            victim_reason(&c, now()),
            "importance 0.30, 30 days old, accessed 2 times"
        );
        let c = PruneCandidate { accessed_count: 1, ..c };
        assert_eq!(victim_reason(&c, now()), "importance 0.30, 30 days old, accessed once");
    }

    #[test]
    fn equal_scores_break_ties_by_id() {
        let cfg = PruneConfig::default();
        let mut all = many(12, 0.5);
        all.reverse();
        let p = plan_prune(&all, &cfg, true, now());
        assert_eq!(removed_ids(&p), vec![1, 2]);
    }

    #[test]
    fn auto_prune_only_over_its_threshold() {
        let cfg = PruneConfig::default();
        let p = plan_auto_prune(&many(1000, 0.1), &cfg, now());
        assert!(!p.needs_pruning);
        assert!(p.to_remove.is_empty());
    }

    #[test]
    fn auto_prune_removes_only_under_its_importance() {
        let cfg = PruneConfig::default();
        let mut all = many(1001, 0.5);
        for c in all.iter_mut().take(40) {
            c.importance = 0.29;
        }
        all[40].importance = 0.3;
        let p = plan_auto_prune(&all, &cfg, now());
        assert!(p.needs_pruning);
        assert_eq!(p.to_remove.len(), 40);
        assert!(p.to_remove.iter().all(|v| v.importance < 0.3));
        assert_eq!(p.target_count, 1001 - 250, "the share caps the goal");
    }

    #[test]
    fn auto_prune_keeps_the_limits_and_protections() {
        let cfg = PruneConfig {
            auto_prune_threshold: 10,
            ..PruneConfig::default()
        };
        let mut all = many(12, 0.1);
        all[0].involves_others = true;
        let p = plan_auto_prune(&all, &cfg, now());
        assert_eq!(p.to_remove.len(), 2, "never below 10");
        assert!(!removed_ids(&p).contains(&1));
        let all = many(100, 0.1);
        assert_eq!(plan_auto_prune(&all, &cfg, now()).to_remove.len(), 25, "25% cap");
    }
}

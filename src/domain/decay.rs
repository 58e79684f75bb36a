//! Memory decay: how much a memory's importance fades with age (DOMAIN.md, Decay).
//!
//! Decay is computed from the importance a memory had at creation (`base_importance`), never from the
//! already decayed value, so a cycle that runs twice in a row changes nothing and a memory's importance
//! depends only on its age and accesses, not on how often the scheduler ran.

use serde::{Deserialize, Serialize};

/// How the decay factor grows with age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecayMode {
    /// `min(rate·d, max_factor)`.
    Linear,
    /// `1 − 0.5^(d/half_life)`.
    Exponential,
    /// `min(ln(1+d)/ln(1+horizon), max_factor)`.
    Logarithmic,
    /// `min(1 − 0.7^(d/30), 0.6)`, doubled if never accessed, halved if accessed often.
    #[default]
    AccessBased,
}

impl DecayMode {
    /// Parses a wire name (case-insensitive); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "linear" => Self::Linear,
            "exponential" => Self::Exponential,
            "logarithmic" => Self::Logarithmic,
            "access_based" => Self::AccessBased,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Exponential => "exponential",
            Self::Logarithmic => "logarithmic",
            Self::AccessBased => "access_based",
        }
    }
}

/// The numbers of decay (DOMAIN.md defaults; settings under `memory.decay`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecayConfig {
    /// From this age on (days) every mode uses `max_factor` (`max_decay_days` in `memory.decay_stats`).
    pub max_decay_days: f64,
    /// The factor at `max_decay_days`, and the cap of `linear` and `logarithmic`.
    pub max_factor: f64,
    /// `linear`: factor per day.
    pub linear_rate_per_day: f64,
    /// `exponential`: days until the factor reaches 0.5.
    pub half_life_days: f64,
    /// `logarithmic`: the age whose logarithm is the scale.
    pub log_horizon_days: f64,
    /// `access_based`: share of importance kept per `access_period_days`.
    pub access_retention: f64,
    /// `access_based`: the period of `access_retention`.
    pub access_period_days: f64,
    /// `access_based`: cap of the factor before the access multipliers.
    pub access_max_factor: f64,
    /// `access_based`: multiplier for a memory never accessed.
    pub never_accessed_multiplier: f64,
    /// `access_based`: multiplier for a memory accessed `frequent_access_count` times or more.
    pub frequent_access_multiplier: f64,
    /// `access_based`: how many accesses make a memory frequently accessed.
    pub frequent_access_count: i64,
    /// Memories this important (or more) never decay.
    pub protected_importance: f64,
    /// Memories accessed within this many days do not decay.
    pub recent_access_days: f64,
    /// Decay never takes importance below this.
    pub min_importance: f64,
}

impl Default for DecayConfig {
    fn default() -> Self {
        Self {
            max_decay_days: 90.0,
            max_factor: 0.8,
            linear_rate_per_day: 0.01,
            half_life_days: 30.0,
            log_horizon_days: 90.0,
            access_retention: 0.7,
            access_period_days: 30.0,
            access_max_factor: 0.6,
            never_accessed_multiplier: 2.0,
            frequent_access_multiplier: 0.5,
            frequent_access_count: 3,
            protected_importance: 0.8,
            recent_access_days: 7.0,
            min_importance: 0.1,
        }
    }
}

/// Two importances closer than this are the same (no write needed).
const SAME_IMPORTANCE: f64 = 1e-9;

/// The decay factor f (0..1) of a memory `age_days` old, accessed `accessed_count` times.
///
/// Exactly DOMAIN.md, with one clamp: `access_based` on a never-accessed memory can reach 1.2 before
/// 90 days (0.6 × 2); it is reported as 1, which gives the same importance (the floor) and keeps f a
/// share. A negative or NaN age counts as 0.
pub fn decay_factor(cfg: &DecayConfig, mode: DecayMode, age_days: f64, accessed_count: i64) -> f64 {
    let d = age_days.max(0.0);
    if d >= cfg.max_decay_days {
        return cfg.max_factor;
    }
    let f = match mode {
        DecayMode::Linear => (cfg.linear_rate_per_day * d).min(cfg.max_factor),
        DecayMode::Exponential => 1.0 - 0.5_f64.powf(d / cfg.half_life_days),
        DecayMode::Logarithmic => (d.ln_1p() / cfg.log_horizon_days.ln_1p()).min(cfg.max_factor),
        DecayMode::AccessBased => {
            let f = (1.0 - cfg.access_retention.powf(d / cfg.access_period_days)).min(cfg.access_max_factor);
            if accessed_count <= 0 {
                f * cfg.never_accessed_multiplier
            } else if accessed_count >= cfg.frequent_access_count {
                f * cfg.frequent_access_multiplier
            } else {
                f
            }
        }
    };
    f.clamp(0.0, 1.0)
}

/// Whether decay skips a memory: importance ≥ `protected_importance`, or accessed within
/// `recent_access_days` (`last_accessed_days_ago` is `None` when never accessed).
pub fn is_protected(cfg: &DecayConfig, importance: f64, last_accessed_days_ago: Option<f64>) -> bool {
    importance >= cfg.protected_importance || last_accessed_days_ago.is_some_and(|days| days <= cfg.recent_access_days)
}

/// The importance a decay cycle gives a memory, `None` when it stays as it is (protected, or unchanged).
///
/// new = max(base·(1 − f), `min_importance`), computed from `base_importance` so that decay never
/// compounds, and never above `current_importance` (a memory lowered by `memory.decay_force`, or stored
/// under the floor, is not raised back).
pub fn decayed_importance(
    cfg: &DecayConfig,
    base_importance: f64,
    current_importance: f64,
    mode: DecayMode,
    age_days: f64,
    accessed_count: i64,
    last_accessed_days_ago: Option<f64>,
) -> Option<f64> {
    if is_protected(cfg, current_importance, last_accessed_days_ago) {
        return None;
    }
    let f = decay_factor(cfg, mode, age_days, accessed_count);
    let new = (base_importance * (1.0 - f))
        .max(cfg.min_importance)
        .min(current_importance);
    ((current_importance - new).abs() > SAME_IMPORTANCE).then_some(new)
}

/// `memory.decay_force` on one unprotected memory: importance·(1 − factor), factor clamped to 0..1,
/// never below `min_importance` nor above the current importance. Unlike a decay cycle it starts from the
/// current importance: forcing twice decays twice, which is what the caller asked for.
pub fn forced_decay(cfg: &DecayConfig, importance: f64, decay_factor: f64) -> f64 {
    let factor = decay_factor.clamp(0.0, 1.0);
    (importance * (1.0 - factor)).max(cfg.min_importance).min(importance)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-6;
    const AGES: [f64; 7] = [0.0, 1.0, 7.0, 30.0, 89.0, 90.0, 365.0];

    fn assert_factors(mode: DecayMode, accessed_count: i64, expected: [f64; 7]) {
        let cfg = DecayConfig::default();
        for (age, want) in AGES.iter().zip(expected) {
            let got = decay_factor(&cfg, mode, *age, accessed_count);
            assert!(
                (got - want).abs() < EPS,
                "{mode:?} accessed {accessed_count} at {age} days: {got} != {want}"
            );
        }
    }

    #[test]
    fn mode_wire_names() {
        for m in [
            DecayMode::Linear,
            DecayMode::Exponential,
            DecayMode::Logarithmic,
            DecayMode::AccessBased,
        ] {
            assert_eq!(DecayMode::parse(m.as_str()), Some(m));
            assert_eq!(
                serde_json::to_value(m).expect("serialises"),
                serde_json::Value::String(m.as_str().to_owned())
            );
        }
        assert_eq!(DecayMode::parse("Access_Based"), Some(DecayMode::AccessBased));
        assert_eq!(DecayMode::parse("quadratic"), None);
        assert_eq!(DecayMode::default(), DecayMode::AccessBased);
    }

    #[test]
    fn linear_factors() {
        // min(0.01·d, 0.8); d ≥ 90 → 0.8
        assert_factors(DecayMode::Linear, 1, [0.0, 0.01, 0.07, 0.3, 0.8, 0.8, 0.8]);
    }

    #[test]
    fn exponential_factors() {
        // 1 − 0.5^(d/30): 1 − 0.5^(1/30) = 0.022840032, 1 − 0.5^(7/30) = 0.149332839,
        // 1 − 0.5^(89/30) = 0.872078264 (no cap before 90 days); d ≥ 90 → 0.8
        assert_factors(
            DecayMode::Exponential,
            1,
            [0.0, 0.022840032, 0.149332839, 0.5, 0.872078264, 0.8, 0.8],
        );
    }

    #[test]
    fn logarithmic_factors() {
        // ln(1+d)/ln(91): ln 2/ln 91 = 0.153661886, ln 8/ln 91 = 0.460985659,
        // ln 31/ln 91 = 0.761271150, ln 90/ln 91 = 0.9976 → cap 0.8
        assert_factors(
            DecayMode::Logarithmic,
            1,
            [0.0, 0.153661886, 0.460985659, 0.761271150, 0.8, 0.8, 0.8],
        );
    }

    #[test]
    fn access_based_factors() {
        // min(1 − 0.7^(d/30), 0.6): 0.011818768, 0.079855130, 0.3, 0.6528… → 0.6
        assert_factors(
            DecayMode::AccessBased,
            1,
            [0.0, 0.011818768, 0.079855130, 0.3, 0.6, 0.8, 0.8],
        );
        assert_factors(
            DecayMode::AccessBased,
            2,
            [0.0, 0.011818768, 0.079855130, 0.3, 0.6, 0.8, 0.8],
        );
    }

    #[test]
    fn access_based_never_accessed_doubles() {
        // ×2: 0.023637536, 0.159710260, 0.6, 1.2 → reported as 1; d ≥ 90 → 0.8
        assert_factors(
            DecayMode::AccessBased,
            0,
            [0.0, 0.023637536, 0.159710260, 0.6, 1.0, 0.8, 0.8],
        );
    }

    #[test]
    fn access_based_frequently_accessed_halves() {
        let halved = [0.0, 0.005909384, 0.039927565, 0.15, 0.3, 0.8, 0.8];
        assert_factors(DecayMode::AccessBased, 3, halved);
        assert_factors(DecayMode::AccessBased, 40, halved);
    }

    #[test]
    fn odd_ages_count_as_zero() {
        let cfg = DecayConfig::default();
        assert_eq!(decay_factor(&cfg, DecayMode::Linear, -5.0, 0), 0.0);
        assert_eq!(decay_factor(&cfg, DecayMode::Exponential, f64::NAN, 0), 0.0);
    }

    #[test]
    fn protection() {
        let cfg = DecayConfig::default();
        assert!(is_protected(&cfg, 0.8, None));
        assert!(is_protected(&cfg, 0.95, Some(100.0)));
        assert!(!is_protected(&cfg, 0.79, None));
        assert!(is_protected(&cfg, 0.2, Some(0.0)));
        assert!(is_protected(&cfg, 0.2, Some(7.0)));
        assert!(!is_protected(&cfg, 0.2, Some(7.01)));
    }

    #[test]
    fn protected_memories_do_not_decay() {
        let cfg = DecayConfig::default();
        let m = DecayMode::Linear;
        assert_eq!(decayed_importance(&cfg, 0.9, 0.85, m, 60.0, 0, None), None);
        assert_eq!(decayed_importance(&cfg, 0.5, 0.5, m, 60.0, 1, Some(2.0)), None);
    }

    #[test]
    fn decay_is_computed_from_base() {
        let cfg = DecayConfig::default();
        // linear at 30 days: f = 0.3 → 0.5·0.7 = 0.35
        let new = decayed_importance(&cfg, 0.5, 0.5, DecayMode::Linear, 30.0, 1, None);
        assert!(new.is_some_and(|v| (v - 0.35).abs() < EPS), "{new:?}");
        // 365 days: f = 0.8 → 0.5·0.2 = 0.1
        let new = decayed_importance(&cfg, 0.5, 0.5, DecayMode::Exponential, 365.0, 0, Some(40.0));
        assert!(new.is_some_and(|v| (v - 0.1).abs() < EPS), "{new:?}");
    }

    #[test]
    fn decay_floors_at_min_importance() {
        let cfg = DecayConfig::default();
        // never accessed, 60 days, access_based: f = min(0.51, 0.6)·2 = 1.02 → 1 → floor 0.1
        let new = decayed_importance(&cfg, 0.7, 0.7, DecayMode::AccessBased, 60.0, 0, None);
        assert!(new.is_some_and(|v| (v - 0.1).abs() < EPS), "{new:?}");
    }

    #[test]
    fn decay_twice_in_a_row_changes_nothing() {
        let cfg = DecayConfig::default();
        for mode in [
            DecayMode::Linear,
            DecayMode::Exponential,
            DecayMode::Logarithmic,
            DecayMode::AccessBased,
        ] {
            for age in AGES {
                let base = 0.7;
                let once = decayed_importance(&cfg, base, base, mode, age, 1, None).unwrap_or(base);
                let twice = decayed_importance(&cfg, base, once, mode, age, 1, None);
                assert_eq!(twice, None, "{mode:?} at {age} days decayed again");
            }
        }
    }

    #[test]
    fn decay_over_cycles_does_not_compound() {
        let cfg = DecayConfig::default();
        let m = DecayMode::Linear;
        let day10 = decayed_importance(&cfg, 0.6, 0.6, m, 10.0, 1, None);
        assert!(day10.is_some_and(|v| (v - 0.54).abs() < EPS), "{day10:?}");
        let day20 = decayed_importance(&cfg, 0.6, day10.unwrap_or(0.6), m, 20.0, 1, None);
        // from base: 0.6·(1 − 0.2) = 0.48, not 0.54·0.8 = 0.432
        assert!(day20.is_some_and(|v| (v - 0.48).abs() < EPS), "{day20:?}");
    }

    #[test]
    fn decay_never_raises_importance() {
        let cfg = DecayConfig::default();
        let m = DecayMode::Linear;
        // forced down to 0.2 earlier; the cycle's 0.5·0.9 = 0.45 would raise it
        assert_eq!(decayed_importance(&cfg, 0.5, 0.2, m, 10.0, 1, None), None);
        // stored under the floor
        assert_eq!(decayed_importance(&cfg, 0.05, 0.05, m, 10.0, 1, None), None);
        // at 90 days the factor drops from 1 (never accessed, access_based) to 0.8: the floor stays
        let day89 = decayed_importance(&cfg, 0.7, 0.7, DecayMode::AccessBased, 89.0, 0, None);
        assert!(day89.is_some_and(|v| (v - 0.1).abs() < EPS));
        let day90 = decayed_importance(&cfg, 0.7, day89.unwrap_or(0.7), DecayMode::AccessBased, 90.0, 0, None);
        assert_eq!(day90, None);
    }

    #[test]
    fn new_memories_do_not_change() {
        let cfg = DecayConfig::default();
        assert_eq!(
            decayed_importance(&cfg, 0.6, 0.6, DecayMode::Exponential, 0.0, 0, None),
            None
        );
    }

    #[test]
    fn forced_decay_values() {
        let cfg = DecayConfig::default();
        assert!((forced_decay(&cfg, 0.5, 0.1) - 0.45).abs() < EPS);
        assert!((forced_decay(&cfg, 0.5, 0.0) - 0.5).abs() < EPS);
        assert!((forced_decay(&cfg, 0.5, 0.9) - 0.1).abs() < EPS, "floor");
        assert!((forced_decay(&cfg, 0.5, 7.0) - 0.1).abs() < EPS, "factor clamped");
        assert!((forced_decay(&cfg, 0.5, -1.0) - 0.5).abs() < EPS, "factor clamped");
        assert!((forced_decay(&cfg, 0.05, 0.1) - 0.05).abs() < EPS, "never raised");
        // Forcing compounds, on purpose.
        let twice = forced_decay(&cfg, forced_decay(&cfg, 0.5, 0.1), 0.1);
        assert!((twice - 0.405).abs() < EPS);
    }
}

//! Diesel table definitions for relationships, their interaction history and emotional states, matching
//! `migrations/2026-11-24-000003_social` (to be merged into `schema.rs`).

diesel::table! {
    relationships (persona1_id, persona2_id) {
        persona1_id -> Text,
        persona2_id -> Text,
        affinity -> Double,
        trust -> Double,
        respect -> Double,
        intimacy -> Double,
        relationship_type -> Text,
        interaction_count -> BigInt,
        total_interaction_time -> Double,
        first_meeting -> Nullable<Text>,
        last_interaction -> Nullable<Text>,
        recent_interaction_quality -> Nullable<Double>,
    }
}

diesel::table! {
    interactions (seq) {
        seq -> BigInt,
        persona1_id -> Text,
        persona2_id -> Text,
        quality -> Double,
        duration_minutes -> Double,
        context -> Text,
        memorable -> Bool,
        at -> Text,
    }
}

diesel::table! {
    emotional_states (persona_id) {
        persona_id -> Text,
        mood -> Double,
        energy_level -> Double,
        stress_level -> Double,
        curiosity -> Double,
        social_battery -> Double,
        last_updated -> Text,
        version -> BigInt,
    }
}

//! Diesel table definitions, matching `migrations/` (what `diesel print-schema` prints for them).

diesel::table! {
    personas (seq) {
        seq -> BigInt,
        id -> Text,
        name -> Text,
        description -> Text,
        personality_traits -> Text,
        topic_preferences -> Text,
        charisma -> Integer,
        intelligence -> Integer,
        social_rank -> Text,
        model -> Nullable<Text>,
        system_prompt -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
        card -> Text,
    }
}

diesel::table! {
    interaction_states (persona_id) {
        persona_id -> Text,
        interest_level -> Double,
        interaction_fatigue -> Double,
        current_priority -> Text,
        available_time -> Double,
        social_energy -> Double,
        base_energy -> Double,
        base_available_time -> Double,
        cooldown_until -> Double,
        version -> BigInt,
    }
}

diesel::table! {
    chat_conversations (id) {
        id -> Text,
        session_id -> Text,
        persona_id -> Text,
        channel -> Text,
        summary -> Nullable<Text>,
        summarized_through -> BigInt,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    chat_messages (seq) {
        seq -> BigInt,
        conversation_id -> Text,
        role -> Text,
        content -> Text,
        sender -> Nullable<Text>,
        room_id -> Nullable<Text>,
        partial -> Bool,
        created_at -> Text,
        thread_id -> Nullable<Text>,
        images -> Text,
        tokens_in -> Nullable<BigInt>,
        tokens_out -> Nullable<BigInt>,
        latency_seconds -> Nullable<Double>,
        ttfc_seconds -> Nullable<Double>,
        continue_score -> Nullable<Double>,
        emotions -> Nullable<Text>,
        recalled -> Nullable<Text>,
    }
}

diesel::table! {
    chat_threads (id) {
        id -> Text,
        conversation_id -> Text,
        label -> Text,
        keywords -> Text,
        centroid -> Nullable<Binary>,
        message_count -> BigInt,
        summary -> Nullable<Text>,
        summarized_through -> BigInt,
        created_at -> Text,
        last_active -> Text,
        title -> Nullable<Text>,
    }
}

diesel::table! {
    memories (key) {
        key -> BigInt,
        id -> Text,
        persona_id -> Text,
        content -> Text,
        memory_type -> Text,
        importance -> Double,
        base_importance -> Double,
        emotional_valence -> Double,
        related_personas -> Text,
        visibility -> Text,
        metadata -> Text,
        created_at -> Text,
        accessed_count -> BigInt,
        last_accessed -> Nullable<Text>,
        embedding -> Nullable<Binary>,
        embedder -> Nullable<Text>,
    }
}

diesel::table! {
    prune_runs (id) {
        id -> BigInt,
        persona_id -> Text,
        ran_at -> Text,
        memories_before -> BigInt,
        memories_after -> BigInt,
        average_importance_pruned -> Double,
        processing_time -> Double,
    }
}

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

diesel::table! {
    dialogues (id) {
        id -> Text,
        persona1_id -> Text,
        persona2_id -> Text,
        topic -> Text,
        token_budget -> BigInt,
        tokens_used -> BigInt,
        started_at -> Text,
        ended_at -> Nullable<Text>,
        end_reason -> Nullable<Text>,
        more_participants -> Text,
    }
}

diesel::table! {
    dialogue_turns (seq) {
        seq -> BigInt,
        dialogue_id -> Text,
        speaker_id -> Text,
        content -> Text,
        continue_score -> Double,
        tokens_used -> BigInt,
        created_at -> Text,
    }
}

diesel::table! {
    bots (id) {
        id -> Text,
        persona_id -> Text,
        homeserver -> Text,
        user_id -> Text,
        password -> Nullable<Text>,
        access_token -> Nullable<Text>,
        rooms -> Text,
        invite_allowlist -> Text,
        reply_mode -> Text,
        enabled -> Bool,
        since -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
        device_id -> Nullable<Text>,
        device_key -> Nullable<Text>,
    }
}

diesel::table! {
    scenes (scope) {
        scope -> Text,
        persona_id -> Nullable<Text>,
        description -> Text,
        updated_at -> Text,
    }
}

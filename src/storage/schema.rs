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
    }
}

diesel::allow_tables_to_appear_in_same_query!(personas, interaction_states, chat_conversations, chat_messages);

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

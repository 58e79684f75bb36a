//! Which admin route serves each JSON-RPC method, and which methods are for chat clients only. The parity test
//! (tests/api/admin_parity.rs) fails when a method of the table is in neither list, or a listed route is not
//! served.

/// JSON-RPC method → the admin route (`METHOD /path` under `/admin/api/v1`) that does the same.
pub const ROUTES: &[(&str, &str)] = &[
    ("persona.list", "GET /personas"),
    ("persona.get", "GET /personas/{id}"),
    ("persona.create", "POST /personas"),
    ("persona.update", "PATCH /personas/{id}"),
    ("persona.delete", "DELETE /personas/{id}"),
    ("persona.status", "GET /personas/{id}/status"),
    ("persona.import_card", "POST /personas/import"),
    ("persona.export_card", "GET /personas/{id}/card"),
    ("persona.memory", "GET /memories"),
    ("persona.relationship", "GET /relationships"),
    ("memory.store", "POST /memories"),
    ("memory.search", "GET /memories"),
    ("memory.get", "GET /memories/{mid}"),
    ("memory.delete", "DELETE /memories/{mid}"),
    ("memory.stats", "GET /memories/stats"),
    ("memory.prune", "POST /personas/{id}/prune"),
    ("memory.prune_all", "POST /prune"),
    ("memory.prune_recommendations", "GET /personas/{id}/prune"),
    ("memory.prune_stats", "GET /prune/stats"),
    ("memory.decay_start", "POST /decay/start"),
    ("memory.decay_stop", "POST /decay/stop"),
    ("memory.decay_stats", "GET /decay"),
    ("memory.decay_force", "POST /decay/force"),
    ("memory.search_cross_persona", "GET /memories/shared"),
    ("memory.shared_stats", "GET /memories/shared/stats"),
    ("relationship.get", "GET /relationships/{a}/{b}"),
    ("relationship.list", "GET /relationships"),
    ("relationship.compatibility", "GET /relationships/{a}/{b}/compatibility"),
    ("relationship.update", "PUT /relationships/{a}/{b}"),
    ("relationship.stats", "GET /relationships/stats"),
    ("emotional.get_state", "GET /personas/{id}/emotions"),
    ("emotional.update_state", "PUT /personas/{id}/emotions"),
    ("conversation.list", "GET /conversations"),
    ("conversation.status", "GET /conversations/{cid}"),
    ("system.status", "GET /system/status"),
    ("system.models", "GET /system/models"),
];

/// Methods that act for a chat client or its connection, not on the server's data: no admin route.
pub const CHAT_ONLY: &[&str] = &[
    "persona.switch",
    "persona.chat",
    "persona.chat_stream",
    "persona.chat_cancel",
    "conversation.send_message",
    "conversation.start",
    "conversation.turn",
    "conversation.end",
    "visual.update",
    "visual.subscribe",
];

//! The admin API's session: it has no connection, so no current persona and a fresh session per call.

use uuid::Uuid;

use crate::ops::target::Session;

/// A session without a current persona, new for this call.
pub fn admin_session() -> Session {
    Session {
        current_persona: None,
        session_id: Uuid::new_v4().to_string(),
    }
}

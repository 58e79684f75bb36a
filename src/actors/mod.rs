//! The actix actors: one per persona, per chat conversation, per dialogue, and the registry that
//! starts them on demand.

pub mod bot_child;
pub mod bot_supervisor;
pub mod clock;
pub mod conversation;
pub mod decay;
pub mod dialogue;
pub mod persona;
pub mod registry;
pub mod threading;
pub mod titling;
pub mod turn;

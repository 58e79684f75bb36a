//! Conversation operations: persona-to-persona dialogues and chatrooms (start, turn, end, status, list), and the
//! topic threads of a session's chat conversations, and the operator's list of conversations and transcripts.

pub mod dialogue;
pub mod threads;
pub mod transcripts;

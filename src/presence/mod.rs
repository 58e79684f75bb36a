//! Presence: what personas see and how clients watch them. The scene in each persona's prompt ([`scene`]) and
//! the live state events that subscribed connections receive ([`events`]).

pub mod events;
pub mod scene;

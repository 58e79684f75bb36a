//! JSON-RPC 2.0: framing, the method table, and one module per namespace.

pub mod access;
pub mod analytics;
pub mod batch;
pub mod bot;
pub mod chat;
pub mod config;
pub mod connection;
pub mod context;
pub mod conversation;
pub mod docs;
pub mod emotional;
pub mod framing;
pub mod hub;
pub mod images;
pub mod live;
pub mod memory;
pub mod params;
pub mod persona;
pub mod relationship;
pub mod results;
pub mod router;
pub mod state;
pub mod system;
pub mod threads;
pub mod visual;

/// The full method table.
pub fn router() -> router::Router {
    let mut r = router::Router::default();
    persona::register(&mut r);
    chat::register(&mut r);
    system::register(&mut r);
    visual::register(&mut r);
    config::register(&mut r);
    memory::register(&mut r);
    conversation::register(&mut r);
    threads::register(&mut r);
    analytics::register(&mut r);
    relationship::register(&mut r);
    emotional::register(&mut r);
    bot::register(&mut r);
    state::register(&mut r);
    live::register(&mut r);
    r
}

#[cfg(test)]
mod fuzz;

//! The process's log filter, reloadable: the binary installs it once ([`layer`]); a live change of
//! `logging.level` swaps it ([`set`]).

use std::sync::OnceLock;

use tracing_subscriber::reload;
use tracing_subscriber::{EnvFilter, Registry};

static HANDLE: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// The filter layer for `level` (first layer on the registry); later [`set`] calls change it.
pub fn layer(level: &str) -> reload::Layer<EnvFilter, Registry> {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(filter);
    let _ = HANDLE.set(handle);
    layer
}

/// Puts the filter `level` in force; answers false when this process installed no reloadable filter (a library
/// user with its own subscriber) or the filter does not parse.
pub fn set(level: &str) -> bool {
    let Some(handle) = HANDLE.get() else {
        tracing::warn!("no reloadable log filter in this process; logging.level applies after a restart");
        return false;
    };
    match EnvFilter::try_new(level) {
        Ok(filter) => handle.reload(filter).is_ok(),
        Err(_) => false,
    }
}

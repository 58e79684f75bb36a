//! SIGHUP: re-read the configuration files and apply what can change live.

use super::LiveSettings;

/// Listens for SIGHUP for as long as the runtime runs; each one re-reads the files. A bad file is logged and
/// changes nothing. The handler is in place when this returns (a SIGHUP right after start never ends the
/// process). Must run inside a Tokio runtime.
pub fn watch_sighup(live: LiveSettings) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP");
                return;
            }
        };
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let file = live
                    .file()
                    .map(|f| f.display().to_string())
                    .unwrap_or_else(|| "persona-mcp.toml".into());
                match live.reload() {
                    Ok(outcome) => tracing::info!(
                        %file,
                        applied = outcome.applied.len(),
                        needs_restart = outcome.needs_restart.len(),
                        "SIGHUP: settings re-read"
                    ),
                    Err(e) => tracing::error!(%file, error = %e, "SIGHUP: settings not changed"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = live;
}

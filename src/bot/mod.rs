//! `persona-mcp bot --id BOT_ID`: one Matrix bot, run as a child of the server by the `BotSupervisor`. It reads
//! its configuration and secrets from stdin (never argv or the environment), talks to the homeserver through the
//! Matrix Rust SDK (end-to-end encryption included, its keys in a crypto store of its own) and asks the server for
//! the persona's replies over WebSocket JSON-RPC. It exits on
//! SIGTERM, when its stdin closes, and (Linux) when its parent dies.

pub mod account;
pub mod content;
pub mod link;
pub mod login;
pub mod policy;
pub mod protocol;
pub mod runner;

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};
use uuid::Uuid;

use protocol::{Launch, ParentMessage, EXIT_FATAL};
use runner::{Exit, OtherBots};

/// How long the child waits for its launch line.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The Matrix SDK's own crates log at warn and above unless `level` names them; not its failed requests (the bot
/// logs what fails of its own calls, and the SDK's optional lookups, e.g. of key backup settings, fail routinely)
/// nor the key backup the bot does not use.
const SDK_LOG: &str = "matrix_sdk=warn,matrix_sdk_base=warn,matrix_sdk_crypto=warn,matrix_sdk_sqlite=warn,\
                       matrix_sdk_common=warn,matrix_sdk::http_client=off,matrix_sdk_crypto::backups=error";

fn init_logging(level: &str) {
    let directives = if level.contains("matrix_sdk") {
        level.to_string()
    } else {
        format!("{level},{SDK_LOG}")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs the bot process; the exit code tells the supervisor whether to restart it.
pub fn main(bot_id: Uuid, log_level: &str) -> ExitCode {
    init_logging(log_level);
    // The child dies with the server even when the server is killed (SIGKILL leaves no time to stop children).
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)) {
        tracing::warn!(error = %e, "cannot ask to be killed with the parent; relying on stdin");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run(bot_id));
    // Not waiting for the blocking stdin read still in flight.
    runtime.shutdown_background();
    code
}

async fn run(bot_id: Uuid) -> ExitCode {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let launch: Launch = match tokio::time::timeout(LAUNCH_TIMEOUT, lines.next_line()).await {
        Ok(Ok(Some(line))) => match serde_json::from_str(&line) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "bad launch line on stdin");
                return ExitCode::from(2);
            }
        },
        _ => {
            tracing::error!("no launch line on stdin: this command is started by the server (bot.start)");
            return ExitCode::from(2);
        }
    };
    if launch.bot.id != bot_id {
        tracing::error!(expected = %bot_id, got = %launch.bot.id, "launch line for another bot");
        return ExitCode::from(2);
    }
    let other_bots: OtherBots = Arc::new(Mutex::new(launch.other_bots.iter().cloned().collect::<HashSet<_>>()));
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGTERM");
            return ExitCode::from(1);
        }
    };
    tokio::select! {
        exit = runner::run(launch, other_bots.clone()) => match exit {
            Exit::Fatal => ExitCode::from(EXIT_FATAL as u8),
            Exit::Retry => ExitCode::from(1),
        },
        () = watch_parent(lines, other_bots) => {
            tracing::info!("supervisor gone (stdin closed); exiting");
            ExitCode::SUCCESS
        }
        _ = term.recv() => {
            tracing::info!("stopping (SIGTERM)");
            ExitCode::SUCCESS
        }
    }
}

/// Applies the supervisor's later messages; returns when stdin closes.
async fn watch_parent(mut lines: Lines<BufReader<Stdin>>, other_bots: OtherBots) {
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<ParentMessage>(&line) {
            Ok(ParentMessage::OtherBots { user_ids }) => {
                *crate::locks::lock(&other_bots) = user_ids.into_iter().collect();
            }
            Err(e) => tracing::warn!(error = %e, "unknown message from the supervisor"),
        }
    }
}

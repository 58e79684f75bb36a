//! One bot child process: spawned with piped stdio, its launch line written to stdin, its stdout events and
//! stderr log lines read and handed on (with the bot's secrets scrubbed out), stopped with SIGTERM and, after
//! 10 s, SIGKILL.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::bot::protocol::ChildEvent;

/// How long a child gets to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// What a child's watcher reports.
#[derive(Debug)]
pub enum ChildNews {
    /// A log line (stderr, or stdout that is not an event), secrets scrubbed.
    Line(String),
    /// An event from its stdout.
    Event(ChildEvent),
    /// It exited; how (`exited with code 1`, `killed by signal 9`…) and its exit code.
    Exited {
        /// Human-readable.
        how: String,
        /// The exit code, when it exited rather than being killed.
        code: Option<i32>,
    },
}

/// Handles to a running child kept by the supervisor.
pub struct ChildControl {
    /// Its process id.
    pub pid: u32,
    /// Lines for its stdin.
    pub stdin: mpsc::UnboundedSender<String>,
    /// Fired (or dropped) to stop it.
    pub stop: Option<oneshot::Sender<()>>,
}

/// Replaces every secret in `line` with `<redacted>`.
pub fn scrub(line: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(line.to_string(), |l, s| l.replace(s.as_str(), "<redacted>"))
}

fn describe(status: std::io::Result<ExitStatus>) -> (String, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => (format!("exited with code {code}"), Some(code)),
            (None, Some(sig)) => (format!("killed by signal {sig}"), None),
            _ => ("exited".into(), None),
        },
        Err(e) => (format!("lost: {e}"), None),
    }
}

/// Starts `exe bot --id ID` with the launch line (which holds the secrets) first on its stdin. Must be called on
/// a thread that lives as long as the server: the child's parent-death signal follows the spawning thread.
pub fn spawn(
    exe: &Path,
    bot_id: Uuid,
    launch_line: String,
    secrets: Vec<String>,
    news: impl Fn(ChildNews) + Clone + Send + Sync + 'static,
) -> std::io::Result<ChildControl> {
    let mut child = Command::new(exe)
        .arg("bot")
        .arg("--id")
        .arg(bot_id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().unwrap_or_default();
    let (stdin, stdout, stderr) = match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
        (Some(i), Some(o), Some(e)) => (i, o, e),
        _ => return Err(std::io::Error::other("child without piped stdio")),
    };
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let _ = in_tx.send(launch_line);
    let (stop_tx, stop_rx) = oneshot::channel();
    tokio::spawn(feed_stdin(stdin, in_rx));
    let out = tokio::spawn(read_lines(stdout, secrets.clone(), news.clone(), true));
    let err = tokio::spawn(read_lines(stderr, secrets, news.clone(), false));
    tokio::spawn(async move {
        let status = wait_or_stop(&mut child, stop_rx, &news).await;
        // Every line it wrote is handed on before its exit.
        let _ = out.await;
        let _ = err.await;
        let (how, code) = describe(status);
        news(ChildNews::Exited { how, code });
    });
    Ok(ChildControl {
        pid,
        stdin: in_tx,
        stop: Some(stop_tx),
    })
}

/// Writes the supervisor's lines to the child's stdin; stdin closes (and the child exits) when the supervisor
/// drops the sender.
async fn feed_stdin(mut stdin: ChildStdin, mut lines: mpsc::UnboundedReceiver<String>) {
    while let Some(line) = lines.recv().await {
        if stdin.write_all(format!("{line}\n").as_bytes()).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}

async fn read_lines(pipe: impl AsyncRead + Unpin, secrets: Vec<String>, news: impl Fn(ChildNews), events: bool) {
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if events {
            if let Ok(event) = serde_json::from_str::<ChildEvent>(&line) {
                news(ChildNews::Event(event));
                continue;
            }
        }
        news(ChildNews::Line(scrub(&line, &secrets)));
    }
}

async fn wait_or_stop(
    child: &mut Child,
    stop: oneshot::Receiver<()>,
    news: &impl Fn(ChildNews),
) -> std::io::Result<ExitStatus> {
    tokio::select! {
        status = child.wait() => status,
        _ = stop => {
            if let Some(pid) = child.id().and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            match tokio::time::timeout(STOP_GRACE, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    news(ChildNews::Line(format!("supervisor: no exit {} s after SIGTERM; SIGKILL", STOP_GRACE.as_secs())));
                    let _ = child.start_kill();
                    child.wait().await
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_from_lines() {
        let secrets = vec!["hunter2".to_string(), "syt_abc".to_string(), String::new()];
        assert_eq!(
            scrub("login with hunter2 gave syt_abc", &secrets),
            "login with <redacted> gave <redacted>"
        );
        assert_eq!(scrub("nothing here", &secrets), "nothing here");
    }
}

//! `persona-mcp stdio`: the server in-process on stdin/stdout, for MCP hosts that start their servers as
//! child processes (Claude Desktop and most others). One JSON-RPC message per line each way; stdout carries
//! nothing else (logs go to stderr). The same data dir and settings as `serve`; JSON-RPC methods work beside
//! MCP, as on the WebSocket.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinSet;

use super::dispatch::Dispatcher;
use crate::app::{Core, StartError};
use crate::config::Settings;
use crate::rpc;
use crate::rpc::context::{Connection, Ctx, Frame, Outbox};
use crate::rpc::framing::{failure, RpcError};
use crate::rpc::hub::Hub;

/// Frames for stdout, written in order by one task.
struct StdoutOutbox(UnboundedSender<Frame>);

impl Outbox for StdoutOutbox {
    fn send(&self, frame: Frame) {
        let _ = self.0.send(frame);
    }
}

/// Serves MCP on stdin/stdout until stdin closes or a signal arrives; the exit code follows `main`'s rules.
pub fn run(settings: Settings) -> ExitCode {
    match actix_web::rt::System::new().block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("persona-mcp: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn serve(settings: Settings) -> Result<(), StartError> {
    let max_frame = settings.server.max_frame_bytes;
    let max_batch = settings.server.max_batch;
    let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
    let app = Core::build(settings)?;
    let mcp = Arc::new(Dispatcher::new(Arc::new(rpc::router())));
    let hub = Arc::new(Hub::default());
    let (tx, mut rx) = mpsc::unbounded_channel::<Frame>();
    let writer = actix::spawn(async move {
        let mut out = tokio::io::stdout();
        while let Some(frame) = rx.recv().await {
            let written = async {
                out.write_all(frame.as_bytes()).await?;
                out.write_all(b"\n").await?;
                out.flush().await
            };
            if let Err(e) = written.await {
                tracing::warn!(error = %e, "stdout closed");
                break;
            }
        }
    });
    let conn = Arc::new(Connection::new(Arc::new(StdoutOutbox(tx))));
    hub.add(conn.clone());
    tracing::info!("persona-mcp serving MCP on stdio");
    let ctx = Ctx::new(app.clone(), hub.clone(), conn.clone());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut requests = JoinSet::new();
    let stop = terminated();
    tokio::pin!(stop);
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            () = &mut stop => break,
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "reading stdin failed");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > max_frame {
            let e = RpcError::invalid_request(&format!("message larger than {max_frame} bytes"));
            conn.send(failure(&serde_json::Value::Null, e).to_string());
            continue;
        }
        let ctx = ctx.clone();
        let mcp = mcp.clone();
        requests.spawn_local(async move {
            if let Some(answer) = mcp.handle_text(&ctx, &line, max_batch).await {
                ctx.conn.send(answer.into_text());
            }
        });
        while requests.try_join_next().is_some() {}
    }
    // The client is gone or done: let running requests finish for a moment, then stop what is left.
    let _ = tokio::time::timeout(grace, async { while requests.join_next().await.is_some() {} }).await;
    conn.closed.cancel();
    requests.shutdown().await;
    hub.remove(conn.id);
    drop((ctx, conn));
    let _ = tokio::time::timeout(grace, writer).await;
    app.memory.save_indexes().await;
    Ok(())
}

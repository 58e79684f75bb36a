//! The server's WebSocket JSON-RPC as the benchmarks speak it: connect, send and read JSON frames, call a method.

use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// How long a client waits for the server's next frame.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(60);

/// A client connection.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The WebSocket URL of a server on the loopback `port`.
pub fn url(port: u16) -> String {
    format!("ws://127.0.0.1:{port}/mcp")
}

/// Connects to `url` (at most 30 s).
pub async fn connect_url(url: &str) -> Result<Ws, String> {
    let (ws, _) = tokio::time::timeout(Duration::from_secs(30), tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    Ok(ws)
}

/// Connects to the server on the loopback `port`.
pub async fn connect(port: u16) -> Result<Ws, String> {
    connect_url(&url(port)).await
}

/// Sends one JSON frame.
pub async fn send_json(ws: &mut Ws, value: Value) -> Result<(), String> {
    ws.send(Message::text(value.to_string()))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// The next JSON text frame (of a whole or a split WebSocket stream) within [`FRAME_TIMEOUT`]; pings are
/// answered by tungstenite itself.
pub async fn next_json<S>(stream: &mut S) -> Result<Value, String>
where
    S: Stream<Item = Result<Message, WsError>> + Unpin,
{
    next_json_within(stream, FRAME_TIMEOUT).await
}

/// The next JSON text frame within `timeout`.
pub async fn next_json_within<S>(stream: &mut S, timeout: Duration) -> Result<Value, String>
where
    S: Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(timeout, stream.next())
            .await
            .map_err(|_| format!("no frame for {} s", timeout.as_secs()))?;
        match message {
            None => return Err("connection closed by the server".to_string()),
            Some(Err(e)) => return Err(format!("receive: {e}")),
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).map_err(|e| format!("frame is not JSON: {e}"))
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("server closed the connection: {frame:?}")),
            Some(Ok(_)) => {}
        }
    }
}

/// Sends a request and answers the response frame with its id (a result or an error), skipping other frames;
/// each frame may take up to `timeout`.
pub async fn call_frame(ws: &mut Ws, id: u64, method: &str, params: Value, timeout: Duration) -> Result<Value, String> {
    send_json(
        ws,
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .await?;
    loop {
        let frame = next_json_within(ws, timeout).await?;
        if frame.get("id") == Some(&json!(id)) {
            return Ok(frame);
        }
    }
}

/// The result of a call; a JSON-RPC error is an `Err` naming the method.
pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Result<Value, String> {
    call_within(ws, id, method, params, FRAME_TIMEOUT).await
}

/// [`call`] for a method that may take up to `timeout`.
pub async fn call_within(
    ws: &mut Ws,
    id: u64,
    method: &str,
    params: Value,
    timeout: Duration,
) -> Result<Value, String> {
    let mut frame = call_frame(ws, id, method, params, timeout).await?;
    match frame.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(format!("{method}: {}", describe_error(&frame))),
    }
}

/// A response's error object (or the whole frame when it has none), in one line.
pub fn describe_error(frame: &Value) -> String {
    frame.get("error").unwrap_or(frame).to_string()
}

//! The bot's line to the persona-mcp server: WebSocket JSON-RPC, one connection per reply (so a server restart
//! costs at most the reply in flight). Each connection takes the bot's persona with `persona.switch` and the same
//! `session_id` (`bot:<bot id>`), so every room (or thread) and speaker keeps one stored conversation across
//! reconnects.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// Longest wait for one frame of a reply (the server's own stream timeout is 300 s).
const FRAME_TIMEOUT: Duration = Duration::from_secs(330);

/// Why the server could not give a reply.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The server could not be reached or went away.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// The server answered with a JSON-RPC error.
    #[error("server error {code}: {message}")]
    Rpc {
        /// JSON-RPC code.
        code: i64,
        /// Its message.
        message: String,
    },
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where and as whom the bot asks the server.
pub struct PersonaLink {
    url: String,
    token: Option<String>,
    persona_id: Uuid,
    session_id: String,
}

/// One piece of a streamed reply.
#[derive(Debug, PartialEq)]
pub enum StreamEvent {
    /// More text.
    Chunk(String),
    /// The whole reply.
    Complete(String),
}

/// A reply being streamed.
pub struct ReplyStream {
    ws: Socket,
}

fn rpc_error(frame: &Value) -> Option<LinkError> {
    let e = frame.get("error").filter(|e| !e.is_null())?;
    Some(LinkError::Rpc {
        code: e["code"].as_i64().unwrap_or(0),
        message: e["message"].as_str().unwrap_or("").to_string(),
    })
}

async fn next_frame(ws: &mut Socket) -> Result<Value, LinkError> {
    loop {
        let msg = tokio::time::timeout(FRAME_TIMEOUT, ws.next())
            .await
            .map_err(|_| LinkError::Unreachable("no answer in time".into()))?
            .ok_or_else(|| LinkError::Unreachable("connection closed".into()))?
            .map_err(|e| LinkError::Unreachable(e.to_string()))?;
        match msg {
            Message::Text(t) => {
                return serde_json::from_str(t.as_str()).map_err(|e| LinkError::Unreachable(format!("bad frame: {e}")))
            }
            Message::Close(_) => return Err(LinkError::Unreachable("connection closed".into())),
            _ => continue,
        }
    }
}

impl PersonaLink {
    /// A link to the server at `url` (`ws://…/mcp`) speaking as `persona_id` for bot `bot_id`.
    pub fn new(url: &str, token: Option<String>, persona_id: Uuid, bot_id: Uuid) -> Self {
        Self {
            url: url.to_string(),
            token,
            persona_id,
            session_id: format!("bot:{bot_id}"),
        }
    }

    async fn call(&self, ws: &mut Socket, id: u64, method: &str, mut params: Value) -> Result<(), LinkError> {
        params["session_id"] = json!(self.session_id);
        let frame = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        ws.send(Message::text(frame.to_string()))
            .await
            .map_err(|e| LinkError::Unreachable(e.to_string()))
    }

    /// Connects and takes the bot's persona; answers the socket and the persona's name.
    async fn open(&self) -> Result<(Socket, String), LinkError> {
        let mut req = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| LinkError::Unreachable(e.to_string()))?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| LinkError::Unreachable("server token is not a valid header value".into()))?;
            req.headers_mut().insert("authorization", value);
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| LinkError::Unreachable(e.to_string()))?;
        self.call(&mut ws, 1, "persona.switch", json!({ "persona_id": self.persona_id }))
            .await?;
        loop {
            let frame = next_frame(&mut ws).await?;
            if frame["id"] != 1 {
                continue;
            }
            if let Some(e) = rpc_error(&frame) {
                return Err(e);
            }
            let name = frame["result"]["name"].as_str().unwrap_or_default().to_string();
            return Ok((ws, name));
        }
    }

    /// The persona's name (and a check that the server is there and the persona exists).
    pub async fn persona_name(&self) -> Result<String, LinkError> {
        let (mut ws, name) = self.open().await?;
        let _ = ws.close(None).await;
        Ok(name)
    }

    /// Asks for the persona's reply to `message` from `sender` in `room_id` (in the thread of `room_thread`, its
    /// root's event id, when the message is in one: a conversation of its own), streamed.
    pub async fn reply(
        &self,
        message: &str,
        sender: &str,
        room_id: &str,
        room_thread: Option<&str>,
    ) -> Result<ReplyStream, LinkError> {
        let (mut ws, _) = self.open().await?;
        let mut params = json!({ "message": message, "sender": sender, "room_id": room_id });
        if let Some(root) = room_thread {
            params["room_thread"] = json!(root);
        }
        self.call(&mut ws, 2, "persona.chat_stream", params).await?;
        Ok(ReplyStream { ws })
    }
}

impl ReplyStream {
    /// The next chunk, or the whole reply at the end.
    pub async fn next(&mut self) -> Result<StreamEvent, LinkError> {
        loop {
            let frame = next_frame(&mut self.ws).await?;
            if frame["id"] != 2 {
                continue;
            }
            if let Some(e) = rpc_error(&frame) {
                return Err(e);
            }
            let result = &frame["result"];
            match result["event_type"].as_str() {
                Some("stream_chunk") => {
                    return Ok(StreamEvent::Chunk(
                        result["data"]["chunk"].as_str().unwrap_or("").to_string(),
                    ))
                }
                Some("stream_complete") => {
                    let _ = self.ws.close(None).await;
                    let full = result["data"]["full_response"].as_str().unwrap_or("").to_string();
                    return Ok(StreamEvent::Complete(full));
                }
                Some("stream_cancelled") => {
                    return Err(LinkError::Rpc {
                        code: 0,
                        message: "stream cancelled".into(),
                    })
                }
                _ => continue,
            }
        }
    }
}

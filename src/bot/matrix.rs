//! A thin Matrix client-server API (v3) client over reqwest: the calls a bot needs and nothing else. The access
//! token travels in the `Authorization` header only, so no URL (and so no error message) ever holds it.
//! `M_LIMIT_EXCEEDED` answers are waited out (`retry_after_ms`) and retried.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};

/// Longest wait a rate-limit answer is honoured with before the call gives up.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// Rate-limited attempts per call.
const RATE_LIMIT_ATTEMPTS: u32 = 5;

/// A failed Matrix call.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The homeserver answered with an error.
    #[error("{errcode}: {error} (HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// Matrix `errcode`, e.g. `M_FORBIDDEN`.
        errcode: String,
        /// Matrix `error` text.
        error: String,
    },
    /// The homeserver could not be reached or answered something that is not Matrix.
    #[error("homeserver unreachable: {0}")]
    Transport(String),
}

impl MatrixError {
    /// True when the credentials are wrong: retrying will not help.
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Api { errcode, .. }
            if matches!(errcode.as_str(), "M_FORBIDDEN" | "M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN" | "M_USER_DEACTIVATED"))
    }
}

fn transport(e: reqwest::Error) -> MatrixError {
    // Without the URL: it holds nothing secret, but keeps the message short.
    MatrixError::Transport(e.without_url().to_string())
}

/// What `/login` gave.
#[derive(Debug, Clone)]
pub struct Session {
    /// Access token (secret).
    pub access_token: String,
    /// The user id the homeserver says we are.
    pub user_id: String,
}

/// A Matrix client for one account.
pub struct MatrixClient {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    txn: AtomicU64,
    txn_prefix: String,
}

impl MatrixClient {
    /// A client for the homeserver at `base` (e.g. `http://127.0.0.1:8008`).
    pub fn new(base: &str) -> Result<Self, MatrixError> {
        let base = Url::parse(base).map_err(|e| MatrixError::Transport(format!("homeserver URL: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(90))
            .build()
            .map_err(transport)?;
        Ok(Self {
            http,
            base,
            token: None,
            txn: AtomicU64::new(0),
            txn_prefix: format!("{}", chrono::Utc::now().timestamp_micros()),
        })
    }

    /// Uses this access token from now on.
    pub fn set_token(&mut self, token: String) {
        self.token = Some(token);
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["_matrix", "client", "v3"]).extend(segments);
        }
        url
    }

    /// One call, waiting out rate limits.
    async fn call(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Value, MatrixError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(token) = &self.token {
                req = req.bearer_auth(token);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            let resp = req.send().await.map_err(transport)?;
            let status = resp.status();
            let retry_header = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .map(|secs| secs * 1000);
            let value: Value = resp.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(value);
            }
            let errcode = value["errcode"].as_str().unwrap_or("M_UNKNOWN").to_string();
            let error = value["error"].as_str().unwrap_or("").to_string();
            if status == StatusCode::TOO_MANY_REQUESTS || errcode == "M_LIMIT_EXCEEDED" {
                let wait = value["retry_after_ms"].as_u64().or(retry_header).unwrap_or(1000);
                let wait = Duration::from_millis(wait).min(MAX_RATE_LIMIT_WAIT);
                if attempt < RATE_LIMIT_ATTEMPTS {
                    tracing::warn!(
                        wait_ms = wait.as_millis() as u64,
                        "rate-limited by the homeserver, waiting"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(MatrixError::Api {
                status: status.as_u16(),
                errcode,
                error,
            });
        }
    }

    /// Logs in with a password (`m.login.password`) and keeps the token.
    pub async fn login(&mut self, user_id: &str, password: &str) -> Result<Session, MatrixError> {
        let body = json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": user_id },
            "password": password,
            "initial_device_display_name": "persona-mcp bot",
        });
        let v = self.call(Method::POST, self.url(&["login"]), Some(&body)).await?;
        let session = Session {
            access_token: v["access_token"].as_str().unwrap_or_default().to_string(),
            user_id: v["user_id"].as_str().unwrap_or(user_id).to_string(),
        };
        if session.access_token.is_empty() {
            return Err(MatrixError::Transport("login answer without an access token".into()));
        }
        self.token = Some(session.access_token.clone());
        Ok(session)
    }

    /// Who the access token belongs to.
    pub async fn whoami(&self) -> Result<String, MatrixError> {
        let v = self.call(Method::GET, self.url(&["account", "whoami"]), None).await?;
        Ok(v["user_id"].as_str().unwrap_or_default().to_string())
    }

    /// One `/sync` long-poll from `since` (none: the first, full sync), waiting up to `timeout_ms` for news.
    pub async fn sync(&self, since: Option<&str>, timeout_ms: u64) -> Result<Value, MatrixError> {
        let filter = json!({
            "room": { "timeline": { "limit": 50 }, "state": { "lazy_load_members": true } },
            "presence": { "not_types": ["*"] },
            "account_data": { "not_types": ["*"] },
        });
        let mut url = self.url(&["sync"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("timeout", &timeout_ms.to_string());
            q.append_pair("filter", &filter.to_string());
            if let Some(since) = since {
                q.append_pair("since", since);
            }
        }
        self.call(Method::GET, url, None).await
    }

    /// Joins a room by id or alias; answers its room id.
    pub async fn join(&self, room: &str) -> Result<String, MatrixError> {
        let v = self
            .call(Method::POST, self.url(&["join", room]), Some(&json!({})))
            .await?;
        Ok(v["room_id"].as_str().unwrap_or(room).to_string())
    }

    /// Leaves (or rejects the invite to) a room.
    pub async fn leave(&self, room_id: &str) -> Result<(), MatrixError> {
        self.call(Method::POST, self.url(&["rooms", room_id, "leave"]), Some(&json!({})))
            .await
            .map(drop)
    }

    /// How many members have joined the room.
    pub async fn joined_member_count(&self, room_id: &str) -> Result<usize, MatrixError> {
        let v = self
            .call(Method::GET, self.url(&["rooms", room_id, "joined_members"]), None)
            .await?;
        Ok(v["joined"].as_object().map_or(0, |m| m.len()))
    }

    async fn send(&self, room_id: &str, content: &Value) -> Result<String, MatrixError> {
        let txn = format!("{}.{}", self.txn_prefix, self.txn.fetch_add(1, Ordering::Relaxed));
        let url = self.url(&["rooms", room_id, "send", "m.room.message", &txn]);
        let v = self.call(Method::PUT, url, Some(content)).await?;
        Ok(v["event_id"].as_str().unwrap_or_default().to_string())
    }

    /// Posts a text message; answers its event id.
    pub async fn send_text(&self, room_id: &str, body: &str) -> Result<String, MatrixError> {
        self.send(room_id, &json!({ "msgtype": "m.text", "body": body })).await
    }

    /// Posts a text message in the thread of `thread_root`, answering `in_reply_to` (the thread's latest event
    /// when the bot writes): an `m.thread` relation with `is_falling_back`, so clients without threads show it
    /// as a reply to that event. Answers its event id.
    pub async fn send_thread_text(
        &self,
        room_id: &str,
        thread_root: &str,
        in_reply_to: &str,
        body: &str,
    ) -> Result<String, MatrixError> {
        self.send(room_id, &thread_content(thread_root, in_reply_to, body))
            .await
    }

    /// Replaces the text of an earlier message (`m.replace`, with the `"* "` fallback body).
    pub async fn edit_text(&self, room_id: &str, event_id: &str, body: &str) -> Result<String, MatrixError> {
        let content = json!({
            "msgtype": "m.text",
            "body": format!("* {body}"),
            "m.new_content": { "msgtype": "m.text", "body": body },
            "m.relates_to": { "rel_type": "m.replace", "event_id": event_id },
        });
        self.send(room_id, &content).await
    }

    /// Shows or clears the typing notification.
    pub async fn typing(&self, room_id: &str, user_id: &str, typing: bool) -> Result<(), MatrixError> {
        let body = if typing {
            json!({ "typing": true, "timeout": 30_000 })
        } else {
            json!({ "typing": false })
        };
        self.call(
            Method::PUT,
            self.url(&["rooms", room_id, "typing", user_id]),
            Some(&body),
        )
        .await
        .map(drop)
    }
}

/// The content of a text message in a thread (Matrix spec, threading: the fallback for clients without threads
/// is a reply to `in_reply_to`).
fn thread_content(thread_root: &str, in_reply_to: &str, body: &str) -> Value {
    json!({
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": true,
            "m.in_reply_to": { "event_id": in_reply_to },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_messages_carry_the_thread_relation_and_the_reply_fallback() {
        let c = thread_content("$root", "$last", "hi");
        assert_eq!(c["body"], "hi");
        assert_eq!(c["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(c["m.relates_to"]["event_id"], "$root");
        assert_eq!(c["m.relates_to"]["is_falling_back"], true);
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$last");
    }

    #[test]
    fn urls_encode_room_ids_and_aliases() {
        let c = MatrixClient::new("http://127.0.0.1:8008/").expect("client");
        let url = c.url(&["join", "#lobby:localhost"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8008/_matrix/client/v3/join/%23lobby:localhost"
        );
        let url = c.url(&["rooms", "!abc:localhost", "typing", "@aria:localhost"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8008/_matrix/client/v3/rooms/!abc:localhost/typing/@aria:localhost"
        );
    }

    /// A homeserver stand-in on a loopback port answering each request (one per connection) with the next of
    /// `answers` (status, JSON body); answers the URL and the request lines it saw.
    fn fake_homeserver(answers: Vec<(u16, &'static str)>) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((stream, _)) = listener.accept() else { return };
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body_in = vec![0; length];
                let _ = reader.read_exact(&mut body_in);
                let _ = tx.send(request_line.trim().to_string());
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, rx)
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out() {
        let limited = r#"{"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 400}"#;
        let (url, seen) = fake_homeserver(vec![(429, limited), (200, r#"{"event_id": "$sent"}"#)]);
        let mut client = MatrixClient::new(&url).expect("client");
        client.set_token("tok".into());
        let started = std::time::Instant::now();
        let id = client
            .send_text("!room:localhost", "hello")
            .await
            .expect("sent after waiting");
        assert_eq!(id, "$sent");
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
        let first = seen.recv().expect("first request");
        let second = seen.recv().expect("second request");
        assert!(first.starts_with("PUT /_matrix/client/v3/rooms/!room:localhost/send/m.room.message/"));
        assert_eq!(
            first, second,
            "the retry repeats the same transaction (the homeserver dedupes it)"
        );
    }

    #[tokio::test]
    async fn refused_logins_carry_the_errcode() {
        let forbidden = r#"{"errcode": "M_FORBIDDEN", "error": "Invalid username or password"}"#;
        let (url, _seen) = fake_homeserver(vec![(403, forbidden)]);
        let mut client = MatrixClient::new(&url).expect("client");
        let err = client.login("@aria:localhost", "wrong").await.expect_err("refused");
        assert!(err.is_auth(), "{err}");
        assert!(err.to_string().contains("M_FORBIDDEN"), "{err}");
    }

    #[test]
    fn auth_errors_are_recognised() {
        let e = |code: &str| MatrixError::Api {
            status: 403,
            errcode: code.into(),
            error: String::new(),
        };
        assert!(e("M_FORBIDDEN").is_auth());
        assert!(e("M_UNKNOWN_TOKEN").is_auth());
        assert!(!e("M_LIMIT_EXCEEDED").is_auth());
        assert!(!MatrixError::Transport("down".into()).is_auth());
    }
}

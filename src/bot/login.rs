//! The bot's way in: `/login` with a password (as the bot's recorded device when it has one) or `/whoami` with an
//! access token, over plain reqwest, so that the user and device ids are known before the Matrix SDK opens the
//! crypto store they belong to. The secret travels in the request body or the `Authorization` header only, so no
//! URL (and so no error message) ever holds it. `M_LIMIT_EXCEEDED` answers are waited out (`retry_after_ms`).

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
    /// True when the credentials are wrong (or missing): retrying will not help.
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Api { errcode, .. } if is_auth_errcode(errcode))
    }
}

/// True for the errcodes that say the credentials are wrong.
pub fn is_auth_errcode(errcode: &str) -> bool {
    matches!(
        errcode,
        "M_FORBIDDEN" | "M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN" | "M_USER_DEACTIVATED" | "M_MISSING_PARAM"
    )
}

fn transport(e: reqwest::Error) -> MatrixError {
    // Without the URL: it holds nothing secret, but keeps the message short.
    MatrixError::Transport(e.without_url().to_string())
}

/// Who the bot is on the homeserver.
#[derive(Clone)]
pub struct Session {
    /// Access token (secret).
    pub access_token: String,
    /// The user id the homeserver says we are.
    pub user_id: String,
    /// The device the token belongs to.
    pub device_id: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// Logs in (or asks who an access token is) on one homeserver.
pub struct Login {
    http: reqwest::Client,
    base: Url,
}

impl Login {
    /// For the homeserver at `base` (e.g. `http://127.0.0.1:8008`).
    pub fn new(base: &str) -> Result<Self, MatrixError> {
        let base = Url::parse(base).map_err(|e| MatrixError::Transport(format!("homeserver URL: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(transport)?;
        Ok(Self { http, base })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["_matrix", "client", "v3"]).extend(segments);
        }
        url
    }

    /// One call, waiting out rate limits.
    async fn call(
        &self,
        method: Method,
        url: Url,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, MatrixError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(token) = token {
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

    /// Logs in with a password (`m.login.password`), as `device_id` when given (the homeserver keeps that
    /// device), else as a new device.
    pub async fn password(
        &self,
        user_id: &str,
        password: &str,
        device_id: Option<&str>,
    ) -> Result<Session, MatrixError> {
        let mut body = json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": user_id },
            "password": password,
            "initial_device_display_name": "persona-mcp bot",
        });
        if let Some(device_id) = device_id {
            body["device_id"] = json!(device_id);
        }
        let v = self.call(Method::POST, self.url(&["login"]), None, Some(&body)).await?;
        session(&v, v["access_token"].as_str().unwrap_or_default(), user_id)
    }

    /// Who `token` belongs to: its user and device.
    pub async fn whoami(&self, token: &str) -> Result<Session, MatrixError> {
        let v = self
            .call(Method::GET, self.url(&["account", "whoami"]), Some(token), None)
            .await?;
        session(&v, token, "")
    }
}

/// The session a `/login` or `/whoami` answer describes.
fn session(v: &Value, token: &str, user_id: &str) -> Result<Session, MatrixError> {
    let session = Session {
        access_token: token.to_string(),
        user_id: v["user_id"].as_str().unwrap_or(user_id).to_string(),
        device_id: v["device_id"].as_str().unwrap_or_default().to_string(),
    };
    if session.access_token.is_empty() || session.user_id.is_empty() || session.device_id.is_empty() {
        return Err(MatrixError::Transport(
            "the homeserver's answer names no access token, user or device".into(),
        ));
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_room_and_user_ids() {
        let c = Login::new("http://127.0.0.1:8008/").expect("client");
        let url = c.url(&["account", "whoami"]);
        assert_eq!(url.as_str(), "http://127.0.0.1:8008/_matrix/client/v3/account/whoami");
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
        let ok = r#"{"access_token": "tok", "user_id": "@aria:localhost", "device_id": "PERSONA1"}"#;
        let (url, seen) = fake_homeserver(vec![(429, limited), (200, ok)]);
        let login = Login::new(&url).expect("client");
        let started = std::time::Instant::now();
        let session = login
            .password("@aria:localhost", "pw", Some("PERSONA1"))
            .await
            .expect("logged in after waiting");
        assert_eq!(
            (session.user_id.as_str(), session.device_id.as_str()),
            ("@aria:localhost", "PERSONA1")
        );
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
        let first = seen.recv().expect("first request");
        let second = seen.recv().expect("second request");
        assert_eq!(first, "POST /_matrix/client/v3/login HTTP/1.1");
        assert_eq!(first, second);
    }

    #[tokio::test]
    async fn whoami_names_the_tokens_device_and_sessions_never_show_the_token() {
        let (url, _seen) = fake_homeserver(vec![(200, r#"{"user_id": "@aria:localhost", "device_id": "TOKDEV"}"#)]);
        let session = Login::new(&url)
            .expect("client")
            .whoami("syt_secret")
            .await
            .expect("whoami");
        assert_eq!(session.device_id, "TOKDEV");
        assert_eq!(session.access_token, "syt_secret");
        assert!(!format!("{session:?}").contains("syt_secret"));
    }

    #[tokio::test]
    async fn refused_logins_carry_the_errcode() {
        let forbidden = r#"{"errcode": "M_FORBIDDEN", "error": "Invalid username or password"}"#;
        let (url, _seen) = fake_homeserver(vec![(403, forbidden)]);
        let login = Login::new(&url).expect("client");
        let err = login
            .password("@aria:localhost", "wrong", None)
            .await
            .expect_err("refused");
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

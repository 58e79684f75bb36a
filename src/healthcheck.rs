//! `persona-mcp healthcheck`: asks a running server's `/readyz` whether it is ready, for container health checks
//! (Docker's `HEALTHCHECK`, Kubernetes exec probes) in an image that has no curl. Plain HTTP/1.0 over a socket
//! with timeouts: no runtime, no TLS, nothing to install.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::config::Settings;

/// What `/readyz` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The HTTP status (200 when ready, 503 when the database does not answer).
    pub status: u16,
    /// The response body (the readiness JSON).
    pub body: String,
}

impl Probe {
    /// True when the server said it is ready.
    pub fn ready(&self) -> bool {
        self.status == 200
    }
}

/// The `/readyz` URL of the server these settings describe, as seen from its own host: a wildcard or empty bind
/// address is reached on loopback.
pub fn local_url(settings: &Settings) -> String {
    let host = match settings.server.host.trim() {
        "" | "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
        h => h,
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("http://{host}:{}/readyz", settings.server.port)
}

/// GETs `url` (`http://HOST:PORT/PATH` only) and answers its status and body; the whole exchange takes at most
/// `timeout`.
pub fn probe(url: &str, timeout: Duration) -> Result<Probe, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs can be probed"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    let started = Instant::now();
    let left = || timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream.set_write_timeout(Some(left())).map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        stream.set_read_timeout(Some(left())).map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("{addr}: no answer within {timeout:?}: {e}")),
        }
        if started.elapsed() >= timeout {
            return Err(format!("{addr}: no whole answer within {timeout:?}"));
        }
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{addr}: not an HTTP answer"))?;
    Ok(Probe {
        status,
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot HTTP server answering `status` with `body`; answers the URL of `/readyz` on it.
    fn answering(status: &'static str, body: &'static str, delay: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /readyz HTTP/1.0\r\n"));
            std::thread::sleep(delay);
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\r\n{body}");
        });
        format!("http://127.0.0.1:{port}/readyz")
    }

    #[test]
    fn a_200_is_ready_and_a_503_is_not() {
        let ok = probe(
            &answering("200 OK", r#"{"ready":true}"#, Duration::ZERO),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(ok.ready());
        assert_eq!(ok.body, r#"{"ready":true}"#);
        let down = probe(
            &answering("503 Service Unavailable", r#"{"ready":false}"#, Duration::ZERO),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(down.status, 503);
        assert!(!down.ready());
    }

    #[test]
    fn a_closed_port_or_a_silent_server_is_an_error_within_the_timeout() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert!(probe(&format!("http://127.0.0.1:{port}/readyz"), Duration::from_secs(2)).is_err());
        let slow = answering("200 OK", "{}", Duration::from_secs(3));
        let started = Instant::now();
        assert!(probe(&slow, Duration::from_millis(300)).is_err());
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn a_wildcard_bind_address_is_probed_on_loopback() {
        let mut s = Settings::default();
        s.server.host = "0.0.0.0".into();
        s.server.port = 8000;
        assert_eq!(local_url(&s), "http://127.0.0.1:8000/readyz");
        s.server.host = "::1".into();
        assert_eq!(local_url(&s), "http://[::1]:8000/readyz");
    }
}

//! The model server's HTTP client, whose timeouts follow the live settings: a change of
//! `llm.connect_timeout_secs` or `llm.read_timeout_secs` makes a new client for the next request (requests under
//! way keep the one they started with).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Settings;
use crate::live::LiveSettings;

/// (connect, read) timeouts in seconds.
type Timeouts = (u64, u64);

/// A `reqwest::Client` kept in step with the settings; cheap to clone (clones share it).
#[derive(Clone)]
pub(crate) struct LiveClient {
    live: LiveSettings,
    made: Arc<Mutex<(Timeouts, reqwest::Client)>>,
}

impl LiveClient {
    /// A client for the timeouts in force.
    pub(crate) fn new(live: LiveSettings) -> Result<Self, reqwest::Error> {
        let timeouts = timeouts(&live.current());
        let client = make(timeouts)?;
        Ok(Self {
            live,
            made: Arc::new(Mutex::new((timeouts, client))),
        })
    }

    /// The client for the timeouts in force now.
    pub(crate) fn get(&self) -> reqwest::Client {
        let wanted = timeouts(&self.live.current());
        let mut made = crate::locks::lock(&self.made);
        if made.0 != wanted {
            match make(wanted) {
                Ok(client) => *made = (wanted, client),
                Err(e) => tracing::warn!(error = %e, "LLM client not rebuilt for the new timeouts"),
            }
        }
        made.1.clone()
    }
}

fn timeouts(s: &Settings) -> Timeouts {
    (s.llm.connect_timeout_secs, s.llm.read_timeout_secs)
}

fn make((connect, read): Timeouts) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(connect))
        .read_timeout(Duration::from_secs(read))
        .pool_max_idle_per_host(1024)
        .build()
}

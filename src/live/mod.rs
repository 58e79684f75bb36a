//! Live configuration: the settings in force, changed while the server runs by `system.config_set` or a
//! SIGHUP re-read of the configuration files. Live keys ([`keys`]) apply at once; the others answer "needs a
//! restart"; a bad value changes nothing; every change is logged with secrets redacted. Readers take
//! [`LiveSettings::current`] each time they need a value, or [`LiveSettings::subscribe`] to react to changes.

pub mod keys;
pub mod log_filter;
pub mod signal;

use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::watch;

use crate::config::{ConfigError, Settings};

/// Why a change was refused (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No setting has this key.
    #[error("{0} is not a setting")]
    UnknownKey(String),
    /// These keys cannot change while the server runs.
    #[error("{} needs a restart", .0.join(", "))]
    NeedsRestart(Vec<String>),
    /// The value has the wrong type for the key.
    #[error("{key}: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The value is out of range (or the files hold a bad value).
    #[error("{0}")]
    Invalid(#[from] ConfigError),
}

impl LiveError {
    /// The key the refusal is about.
    pub fn key(&self) -> String {
        match self {
            Self::UnknownKey(key) | Self::BadValue { key, .. } => key.clone(),
            Self::NeedsRestart(keys) => keys.join(", "),
            Self::Invalid(e) => e.key.clone(),
        }
    }
}

/// One applied change, as it may be shown (secrets redacted).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Dotted key.
    pub key: String,
    /// The value before.
    pub old: Value,
    /// The value now.
    pub new: Value,
}

/// What a re-read of the files did.
#[derive(Debug, Default)]
pub struct Reload {
    /// Live keys that changed.
    pub applied: Vec<Change>,
    /// Keys whose new value waits for a restart (they keep their value in force).
    pub needs_restart: Vec<String>,
}

/// The settings in force; cheap to clone (all clones share them).
#[derive(Clone)]
pub struct LiveSettings {
    inner: Arc<Inner>,
}

struct Inner {
    tx: watch::Sender<Arc<Settings>>,
    /// One change at a time (read, modify, publish).
    changing: Mutex<()>,
    /// The `--config` file the process started with (SIGHUP reads it again).
    file: Option<PathBuf>,
}

impl std::fmt::Debug for LiveSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSettings").finish_non_exhaustive()
    }
}

impl LiveSettings {
    /// These settings in force from now on; SIGHUP re-reads the file they came from
    /// ([`Settings::config_file`], or the default places).
    pub fn new(settings: Settings) -> Self {
        let file = settings.config_file.clone();
        Self {
            inner: Arc::new(Inner {
                tx: watch::Sender::new(Arc::new(settings)),
                changing: Mutex::new(()),
                file,
            }),
        }
    }

    /// The settings in force now.
    pub fn current(&self) -> Arc<Settings> {
        self.inner.tx.borrow().clone()
    }

    /// A receiver told of every change.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Settings>> {
        self.inner.tx.subscribe()
    }

    /// Every key with its value in force (secrets redacted) and whether it changes live.
    pub fn keys(&self) -> Vec<(String, Value, bool)> {
        keys::flatten(&to_json(&self.current()))
            .into_iter()
            .map(|(key, value)| {
                let live = keys::is_live(&key);
                let value = keys::shown(&key, &value);
                (key, value, live)
            })
            .collect()
    }

    /// Sets one live key (`system.config_set`); the value is checked as at start. Nothing changes on error.
    pub fn set(&self, key: &str, value: Value) -> Result<Change, LiveError> {
        let _one = self.lock();
        let current = self.current();
        let mut json = to_json(&current);
        let Some(old) = keys::replace(&mut json, key, value) else {
            return Err(LiveError::UnknownKey(key.to_string()));
        };
        if !keys::is_live(key) {
            return Err(LiveError::NeedsRestart(vec![key.to_string()]));
        }
        let next = from_json(json, key)?;
        let changes = self.publish(&current, next);
        Ok(changes.into_iter().next().unwrap_or_else(|| Change {
            key: key.to_string(),
            old: keys::shown(key, &old),
            new: keys::shown(key, &old),
        }))
    }

    /// Reads the configuration files again (SIGHUP): live keys that changed apply at once; others are reported
    /// as needing a restart and keep their value in force. A bad file changes nothing.
    pub fn reload(&self) -> Result<Reload, LiveError> {
        let read = Settings::load(self.inner.file.as_deref())?;
        self.adopt(&read)
    }

    /// Takes the live keys of `read` (settings read anew) and lists the others that differ.
    pub fn adopt(&self, read: &Settings) -> Result<Reload, LiveError> {
        let _one = self.lock();
        let current = self.current();
        let mut json = to_json(&current);
        let mut needs_restart = Vec::new();
        let before = keys::flatten(&json);
        for (key, value) in keys::flatten(&to_json(read)) {
            if before.get(&key) == Some(&value) {
                continue;
            }
            if keys::is_live(&key) {
                keys::replace(&mut json, &key, value);
            } else {
                needs_restart.push(key);
            }
        }
        let next = from_json(json, "(config)")?;
        let applied = self.publish(&current, next);
        if !needs_restart.is_empty() {
            tracing::warn!(keys = %needs_restart.join(", "), "settings changed in the files need a restart");
        }
        Ok(Reload { applied, needs_restart })
    }

    /// The configuration file SIGHUP re-reads (`None`: the default places).
    pub fn file(&self) -> Option<&Path> {
        self.inner.file.as_deref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        crate::locks::lock(&self.inner.changing)
    }

    /// Puts `next` in force, logs each changed key and applies the log filter; answers the changes.
    fn publish(&self, current: &Settings, next: Settings) -> Vec<Change> {
        let before = keys::flatten(&to_json(current));
        let changes: Vec<Change> = keys::flatten(&to_json(&next))
            .into_iter()
            .filter(|(key, value)| before.get(key) != Some(value))
            .map(|(key, value)| Change {
                old: keys::shown(&key, before.get(&key).unwrap_or(&Value::Null)),
                new: keys::shown(&key, &value),
                key,
            })
            .collect();
        if changes.is_empty() {
            return changes;
        }
        if next.logging.level != current.logging.level {
            log_filter::set(&next.logging.level);
        }
        for c in &changes {
            tracing::info!(key = %c.key, old = %c.old, new = %c.new, "setting changed");
        }
        self.inner.tx.send_replace(Arc::new(next));
        changes
    }
}

fn to_json(settings: &Settings) -> Value {
    serde_json::to_value(settings).unwrap_or(Value::Null)
}

/// Settings from their JSON form, validated; a type error is reported against `key`.
fn from_json(json: Value, key: &str) -> Result<Settings, LiveError> {
    let next: Settings = serde_json::from_value(json).map_err(|e| LiveError::BadValue {
        key: key.to_string(),
        message: e.to_string(),
    })?;
    next.validate()?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> LiveSettings {
        LiveSettings::new(Settings::default())
    }

    #[test]
    fn a_live_key_changes_and_subscribers_see_it() {
        let live = live();
        let rx = live.subscribe();
        let change = live.set("llm.temperature", json!(0.25)).unwrap();
        assert_eq!(change.key, "llm.temperature");
        assert_eq!(change.new, json!(0.25));
        assert!((live.current().llm.temperature - 0.25).abs() < 1e-6);
        assert!(rx.has_changed().unwrap());
    }

    #[test]
    fn restart_keys_unknown_keys_and_bad_values_change_nothing() {
        let live = live();
        let before = to_json(&live.current());
        let e = live.set("server.port", json!(9000)).unwrap_err();
        assert!(matches!(e, LiveError::NeedsRestart(_)));
        assert!(e.to_string().contains("server.port needs a restart"));
        assert!(matches!(
            live.set("server.nope", json!(1)),
            Err(LiveError::UnknownKey(_))
        ));
        let e = live.set("chat.max_context_messages", json!("lots")).unwrap_err();
        assert_eq!(e.key(), "chat.max_context_messages");
        let e = live.set("llm.temperature", json!(7.0)).unwrap_err();
        assert_eq!(e.key(), "llm.temperature");
        let e = live.set("memory.decay_mode", json!("sideways")).unwrap_err();
        assert_eq!(e.key(), "memory.decay_mode");
        assert_eq!(to_json(&live.current()), before);
    }

    #[test]
    fn adopt_takes_live_keys_and_lists_the_rest() {
        let live = live();
        let mut read = Settings::default();
        read.memory.prompt_memories = 9;
        read.server.port = 9999;
        read.llm.api_key = Some("sk-secret".into());
        let outcome = live.adopt(&read).unwrap();
        assert_eq!(outcome.applied.len(), 1);
        assert_eq!(outcome.applied[0].key, "memory.prompt_memories");
        assert_eq!(
            outcome.needs_restart,
            vec!["llm.api_key".to_string(), "server.port".to_string()]
        );
        assert_eq!(live.current().memory.prompt_memories, 9);
        assert_eq!(live.current().server.port, Settings::default().server.port);
        assert!(live.current().llm.api_key.is_none());
    }

    #[test]
    fn keys_redact_secrets() {
        let mut s = Settings::default();
        s.server.token = Some("a-very-secret-token".into());
        let live = LiveSettings::new(s);
        let keys = live.keys();
        let token = keys.iter().find(|(k, _, _)| k == "server.token").unwrap();
        assert_eq!(token.1, json!(keys::REDACTED));
        assert!(!token.2);
        assert!(keys.iter().any(|(k, _, live)| k == "memory.decay_mode" && *live));
    }
}

//! The bot's Matrix account on the Matrix Rust SDK: the session (from [`super::login`]) restored into a client
//! whose SQLite store (state, sync position and the crypto keys of the bot's device) lives in the bot's own
//! directory under the data directory, and what became of that store. A store that is missing although a device
//! was recorded, unreadable, or holding another account is set aside (never deleted) and reported: the bot then
//! logs in as a new device when it has a password (`recreated`), or keeps its token's device with new keys and
//! says what to do (`lost`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::store::RoomLoadSettings;
use matrix_sdk::{Client, SessionMeta, SessionTokens};

use super::login::{Login, MatrixError, Session};
use crate::domain::bot::{BotDevice, BotSecrets, CryptoStoreState};

/// Longest a homeserver request may take (a long-poll `/sync` gets its timeout on top).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Tries of one homeserver request (rate limits and transient failures are retried by the SDK).
const REQUEST_RETRIES: usize = 3;

/// Why the account could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Logging in failed (see [`MatrixError::is_auth`] for refused credentials).
    #[error(transparent)]
    Login(#[from] MatrixError),
    /// The store could not be opened, even anew.
    #[error("crypto store at {path}: {error}")]
    Store {
        /// Its directory.
        path: PathBuf,
        /// What failed.
        error: String,
    },
}

/// A logged-in account with its store.
pub struct Account {
    /// The SDK client.
    pub client: Client,
    /// The bot's user id.
    pub user_id: String,
    /// Its device, with its key.
    pub device: BotDevice,
    /// What became of its store.
    pub store: CryptoStoreState,
    /// What happened to the store and what to do, when it is not `ok` or `new`.
    pub message: Option<String>,
    /// The store is new (it holds no room state yet, even if the bot has synced before).
    pub fresh: bool,
}

/// Logs in and opens the store in `dir`; `recorded` is the device the bot used before.
pub async fn open(
    homeserver: &str,
    user_id: &str,
    secrets: &BotSecrets,
    dir: &Path,
    recorded: Option<&BotDevice>,
) -> Result<Account, AccountError> {
    let had_store = has_store(dir);
    let mut fresh = !had_store;
    // Why the recorded device's keys are gone, if they are.
    let mut lost: Option<String> = None;
    if recorded.is_some() && !had_store {
        lost = Some(format!("the crypto store at {} is missing", dir.display()));
    }
    let mut client = match build(homeserver, dir).await {
        Ok(c) => c,
        Err(e) => {
            fresh = true;
            let aside = set_aside(dir)?;
            let why = format!(
                "the crypto store could not be opened ({e}); it was kept at {}",
                aside.display()
            );
            tracing::warn!("{why}");
            if recorded.is_some() {
                lost = Some(why);
            }
            build(homeserver, dir).await.map_err(|e| store_error(dir, e))?
        }
    };
    let login = Login::new(homeserver)?;
    let session = match (secrets.access_token.as_deref(), secrets.password.as_deref()) {
        (Some(token), _) if !token.is_empty() => login.whoami(token).await?,
        (_, Some(password)) if !password.is_empty() => {
            // A lost store's device cannot be used again: its keys are gone. A password makes a new one.
            let device = recorded.filter(|_| lost.is_none()).map(|d| d.device_id.as_str());
            login.password(user_id, password, device).await?
        }
        _ => {
            return Err(MatrixError::Api {
                status: 0,
                errcode: "M_MISSING_PARAM".into(),
                error: "no password or access token".into(),
            }
            .into())
        }
    };
    if let Err(e) = restore(&client, &session).await {
        // The store holds another account (another user or device), or its keys cannot be read.
        fresh = true;
        let aside = set_aside(dir)?;
        tracing::warn!(error = %e, kept_at = %aside.display(), "the crypto store does not fit this login; starting a new one");
        if recorded.is_some() {
            lost = Some(format!(
                "the crypto store did not fit this device ({e}); it was kept at {}",
                aside.display()
            ));
        }
        client = build(homeserver, dir).await.map_err(|e| store_error(dir, e))?;
        restore(&client, &session).await.map_err(|e| store_error(dir, e))?;
    }
    let ed25519 = client.encryption().ed25519_key().await.unwrap_or_default();
    let device = BotDevice {
        device_id: session.device_id.clone(),
        ed25519,
    };
    if let Some(r) = recorded {
        if lost.is_none() && r.device_id == device.device_id && r.ed25519 != device.ed25519 {
            lost = Some(format!(
                "the crypto store at {} holds new keys for this device",
                dir.display()
            ));
        }
    }
    let by_token = secrets.access_token.as_deref().is_some_and(|t| !t.is_empty());
    let (store, message) = match (lost, recorded) {
        (None, None) => (CryptoStoreState::New, None),
        (None, Some(_)) => (CryptoStoreState::Ok, None),
        (Some(why), Some(old)) if by_token => (
            CryptoStoreState::Lost,
            Some(format!(
                "The keys of device {} were lost: {why}. The access token binds the bot to that device, so people's \
                 clients see its keys change and may not encrypt for it. Give the bot a password, or the access token \
                 of a new login, with bot.update: it then starts as a new device.",
                old.device_id
            )),
        ),
        (Some(why), old) => (
            CryptoStoreState::Recreated,
            Some(format!(
                "The keys of device {} were lost: {why}. The bot logged in as the new device {}: messages encrypted \
                 for the old device cannot be read, and people who verified the bot need to verify it again.",
                old.map_or("?", |d| d.device_id.as_str()),
                device.device_id
            )),
        ),
    };
    Ok(Account {
        client,
        user_id: session.user_id,
        device,
        store,
        message,
        fresh,
    })
}

/// True when `dir` holds a store from an earlier run.
fn has_store(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// An SDK client on the homeserver with its SQLite stores in `dir` (made with owner-only permissions: it holds
/// the device's private keys).
async fn build(homeserver: &str, dir: &Path) -> Result<Client, String> {
    create_private_dir(dir).map_err(|e| e.to_string())?;
    Client::builder()
        .homeserver_url(homeserver)
        .sqlite_store(dir, None)
        .request_config(
            RequestConfig::new()
                .timeout(REQUEST_TIMEOUT)
                .retry_limit(REQUEST_RETRIES),
        )
        .build()
        .await
        .map_err(|e| e.to_string())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        }
        other => other,
    }
}

async fn restore(client: &Client, session: &Session) -> Result<(), String> {
    let meta = SessionMeta {
        user_id: session
            .user_id
            .as_str()
            .try_into()
            .map_err(|e| format!("user id: {e}"))?,
        device_id: session.device_id.as_str().into(),
    };
    let session = MatrixSession {
        meta,
        tokens: SessionTokens {
            access_token: session.access_token.clone(),
            refresh_token: None,
        },
    };
    client
        .matrix_auth()
        .restore_session(session, RoomLoadSettings::default())
        .await
        .map_err(|e| e.to_string())
}

/// Moves the store in `dir` aside (`<dir>.unusable-<time>`), keeping it for whoever wants to look into it.
fn set_aside(dir: &Path) -> Result<PathBuf, AccountError> {
    let name = format!(
        "{}.unusable-{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("store"),
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let aside = dir.with_file_name(name);
    std::fs::rename(dir, &aside).map_err(|e| store_error(dir, e.to_string()))?;
    Ok(aside)
}

fn store_error(dir: &Path, error: String) -> AccountError {
    AccountError::Store {
        path: dir.to_path_buf(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_store_is_private_and_an_unusable_one_is_set_aside_not_deleted() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("bot");
        assert!(!has_store(&dir));
        build("http://127.0.0.1:9", &dir).await.expect("a new store");
        assert!(has_store(&dir));
        let mode = std::fs::metadata(&dir).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);

        let aside = set_aside(&dir).expect("set aside");
        assert!(!dir.exists());
        assert!(has_store(&aside), "the old store is kept");
        assert!(aside
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("bot.unusable-"));
    }

    #[tokio::test]
    async fn a_garbled_store_does_not_open() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("bot");
        build("http://127.0.0.1:9", &dir).await.expect("a new store");
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "sqlite3") {
                std::fs::write(&path, b"not a database at all, just garbage bytes").expect("garble");
            }
        }
        assert!(build("http://127.0.0.1:9", &dir).await.is_err());
    }
}

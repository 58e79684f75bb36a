//! Bot repository: Matrix bot configurations, their write-only secrets and their `/sync` position.

use uuid::Uuid;

use super::sql::{bots, Db};
use super::StorageError;
use crate::domain::bot::{Bot, BotDevice, BotResume, BotSecrets};

/// Matrix bots; reached through [`super::Store::bots`]. Secrets go in with [`Bots::insert`] and [`Bots::update`]
/// and come out only through [`Bots::resume`], for the supervisor to hand to the bot's process.
pub struct Bots<'a> {
    db: &'a Db,
}

impl<'a> Bots<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Every bot, oldest first.
    pub async fn list(&self) -> Result<Vec<Bot>, StorageError> {
        self.db.run(bots::list).await
    }

    /// The bot with this id.
    pub async fn get(&self, id: Uuid) -> Result<Option<Bot>, StorageError> {
        self.db.run(move |c| bots::get(c, id)).await
    }

    /// Stores a new bot with its secrets; a taken `user_id` is a [`StorageError::Conflict`].
    pub async fn insert(&self, bot: Bot, secrets: BotSecrets) -> Result<(), StorageError> {
        self.db.write(move |c| bots::insert(c, &bot, &secrets)).await
    }

    /// Replaces a bot's configuration and, when given, its secrets (another homeserver or user forgets the
    /// `/sync` position). False when there is no such bot.
    pub async fn update(&self, bot: Bot, secrets: Option<BotSecrets>) -> Result<bool, StorageError> {
        self.db.write(move |c| bots::update(c, &bot, secrets.as_ref())).await
    }

    /// Deletes a bot; false when there was none.
    pub async fn delete(&self, id: Uuid) -> Result<bool, StorageError> {
        self.db.write(move |c| bots::delete(c, id)).await
    }

    /// The bot's secrets, its last `/sync` token and its device, for starting it.
    pub async fn resume(&self, id: Uuid) -> Result<Option<BotResume>, StorageError> {
        self.db.run(move |c| bots::resume(c, id)).await
    }

    /// Records the device the bot logged in as.
    pub async fn set_device(&self, id: Uuid, device: BotDevice) -> Result<(), StorageError> {
        self.db.write(move |c| bots::set_device(c, id, &device)).await
    }

    /// Records the `/sync` token the bot has taken in.
    pub async fn set_since(&self, id: Uuid, since: String) -> Result<(), StorageError> {
        self.db.write(move |c| bots::set_since(c, id, &since)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bot::ReplyMode;
    use crate::domain::seeds;
    use crate::storage::Store;

    fn store_with_persona() -> (tempfile::TempDir, Store, Uuid) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("t.db"), 2, 5000).expect("db");
        let seeded = seeds::defaults();
        store.seed_if_empty(&seeded, &[]).expect("seeded");
        (dir, store, seeded[0].0.id)
    }

    fn bot(persona_id: Uuid, user_id: &str) -> Bot {
        let now = chrono::Utc::now();
        Bot {
            id: Uuid::new_v4(),
            persona_id,
            homeserver: "http://127.0.0.1:8008".into(),
            user_id: user_id.into(),
            rooms: vec!["#lobby:localhost".into()],
            invite_allowlist: vec![],
            reply_mode: ReplyMode::All,
            enabled: true,
            created_at: now,
            updated_at: now,
        }
    }

    #[tokio::test]
    async fn round_trip_secrets_since_device_and_conflicts() {
        let (_dir, store, persona) = store_with_persona();
        let repo = store.bots();
        let b = bot(persona, "@aria:localhost");
        let secrets = BotSecrets {
            password: Some("pw".into()),
            access_token: None,
        };
        repo.insert(b.clone(), secrets.clone()).await.expect("insert");
        let back = repo.get(b.id).await.expect("get").expect("present");
        assert_eq!(back.user_id, b.user_id);
        assert_eq!(back.rooms, b.rooms);
        assert_eq!(back.reply_mode, ReplyMode::All);
        repo.set_since(b.id, "s1".into()).await.expect("since");
        let device = BotDevice {
            device_id: "PERSONA1".into(),
            ed25519: "key".into(),
        };
        repo.set_device(b.id, device.clone()).await.expect("device");
        let resume = |secrets: &BotSecrets, since: Option<&str>, device: Option<&BotDevice>| BotResume {
            secrets: secrets.clone(),
            since: since.map(str::to_string),
            device: device.cloned(),
        };
        assert_eq!(
            repo.resume(b.id).await.expect("resume"),
            Some(resume(&secrets, Some("s1"), Some(&device)))
        );

        let dup = repo.insert(bot(persona, "@aria:localhost"), secrets.clone()).await;
        assert!(matches!(dup, Err(StorageError::Conflict(_))), "{dup:?}");

        // Same account: the sync position and the device stay; secrets untouched without new ones.
        let mut changed = back.clone();
        changed.reply_mode = ReplyMode::Mention;
        assert!(repo.update(changed.clone(), None).await.expect("update"));
        assert_eq!(
            repo.resume(b.id).await.expect("resume"),
            Some(resume(&secrets, Some("s1"), Some(&device)))
        );
        // Another account: the position and the device are forgotten.
        changed.user_id = "@aria2:localhost".into();
        let token = BotSecrets {
            password: None,
            access_token: Some("tok".into()),
        };
        assert!(repo.update(changed.clone(), Some(token.clone())).await.expect("update"));
        assert_eq!(
            repo.resume(b.id).await.expect("resume"),
            Some(resume(&token, None, None))
        );

        assert_eq!(repo.list().await.expect("list").len(), 1);
        assert!(repo.delete(b.id).await.expect("delete"));
        assert!(!repo.delete(b.id).await.expect("delete again"));
        assert!(!repo.update(changed.clone(), None).await.expect("update missing"));
    }
}

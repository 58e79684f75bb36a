//! Bot repo: Matrix bot configurations, their write-only secrets and their `/sync` position.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::schema::bots;
use super::{from_text, parse_uuid, to_text, Db, StorageError};
use crate::domain::bot::{Bot, BotSecrets, ReplyMode};

#[derive(Queryable, Selectable)]
#[diesel(table_name = bots)]
struct BotRow {
    id: String,
    persona_id: String,
    homeserver: String,
    user_id: String,
    rooms: String,
    invite_allowlist: String,
    reply_mode: String,
    enabled: bool,
    created_at: String,
    updated_at: String,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = bots)]
struct BotValues {
    id: String,
    persona_id: String,
    homeserver: String,
    user_id: String,
    rooms: String,
    invite_allowlist: String,
    reply_mode: String,
    enabled: bool,
    created_at: String,
    updated_at: String,
}

fn list_json(field: &str, text: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt(format!("bot {field}: {e}")))
}

impl BotRow {
    fn into_domain(self) -> Result<Bot, StorageError> {
        Ok(Bot {
            id: parse_uuid(&self.id)?,
            persona_id: parse_uuid(&self.persona_id)?,
            homeserver: self.homeserver,
            user_id: self.user_id,
            rooms: list_json("rooms", &self.rooms)?,
            invite_allowlist: list_json("invite_allowlist", &self.invite_allowlist)?,
            reply_mode: ReplyMode::parse(&self.reply_mode)
                .ok_or_else(|| StorageError::Corrupt(format!("bot reply_mode {:?}", self.reply_mode)))?,
            enabled: self.enabled,
            created_at: from_text(&self.created_at)?,
            updated_at: from_text(&self.updated_at)?,
        })
    }
}

impl From<&Bot> for BotValues {
    fn from(b: &Bot) -> Self {
        Self {
            id: b.id.to_string(),
            persona_id: b.persona_id.to_string(),
            homeserver: b.homeserver.clone(),
            user_id: b.user_id.clone(),
            rooms: serde_json::to_string(&b.rooms).unwrap_or_else(|_| "[]".into()),
            invite_allowlist: serde_json::to_string(&b.invite_allowlist).unwrap_or_else(|_| "[]".into()),
            reply_mode: b.reply_mode.as_str().into(),
            enabled: b.enabled,
            created_at: to_text(b.created_at),
            updated_at: to_text(b.updated_at),
        }
    }
}

fn user_conflict(e: DieselError, user_id: &str) -> StorageError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            StorageError::Conflict(format!("A bot with user_id {user_id} already exists"))
        }
        other => other.into(),
    }
}

fn list(conn: &mut SqliteConnection) -> Result<Vec<Bot>, StorageError> {
    bots::table
        .order(bots::created_at.asc())
        .select(BotRow::as_select())
        .load(conn)?
        .into_iter()
        .map(BotRow::into_domain)
        .collect()
}

fn get(conn: &mut SqliteConnection, id: Uuid) -> Result<Option<Bot>, StorageError> {
    bots::table
        .filter(bots::id.eq(id.to_string()))
        .select(BotRow::as_select())
        .first(conn)
        .optional()?
        .map(BotRow::into_domain)
        .transpose()
}

/// The bots table, over the shared database handle. Secrets go in with [`BotRepo::insert`] and
/// [`BotRepo::update`] and come out only through [`BotRepo::secrets`], for the supervisor to hand to the bot.
#[derive(Clone)]
pub struct BotRepo {
    db: Db,
}

impl BotRepo {
    /// The repo over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Every bot, oldest first.
    pub async fn list(&self) -> Result<Vec<Bot>, StorageError> {
        self.db.run(list).await
    }

    /// The bot with this id.
    pub async fn get(&self, id: Uuid) -> Result<Option<Bot>, StorageError> {
        self.db.run(move |c| get(c, id)).await
    }

    /// Stores a new bot with its secrets (a taken `user_id` is a conflict).
    pub async fn insert(&self, bot: &Bot, secrets: &BotSecrets) -> Result<(), StorageError> {
        let values = BotValues::from(bot);
        let secrets = secrets.clone();
        self.db
            .write(move |c| {
                let user_id = values.user_id.clone();
                diesel::insert_into(bots::table)
                    .values((
                        &values,
                        bots::password.eq(secrets.password),
                        bots::access_token.eq(secrets.access_token),
                    ))
                    .execute(c)
                    .map_err(|e| user_conflict(e, &user_id))?;
                Ok(())
            })
            .await
    }

    /// Replaces a bot's configuration and, when `secrets` is given, its secrets; a changed homeserver or user
    /// forgets the `/sync` position. False when there is no such bot.
    pub async fn update(&self, bot: &Bot, secrets: Option<BotSecrets>) -> Result<bool, StorageError> {
        let values = BotValues::from(bot);
        self.db
            .write(move |c| {
                c.immediate_transaction(|c| {
                    let row = bots::table.filter(bots::id.eq(&values.id));
                    let old: Option<(String, String)> = row
                        .select((bots::homeserver, bots::user_id))
                        .first(c)
                        .optional()?;
                    let Some(old) = old else { return Ok(false) };
                    let user_id = values.user_id.clone();
                    if old != (values.homeserver.clone(), values.user_id.clone()) {
                        diesel::update(row).set(bots::since.eq(None::<String>)).execute(c)?;
                    }
                    diesel::update(row)
                        .set(&values)
                        .execute(c)
                        .map_err(|e| user_conflict(e, &user_id))?;
                    if let Some(s) = secrets {
                        diesel::update(row)
                            .set((bots::password.eq(s.password), bots::access_token.eq(s.access_token)))
                            .execute(c)?;
                    }
                    Ok(true)
                })
            })
            .await
    }

    /// Deletes a bot; false when there was none.
    pub async fn delete(&self, id: Uuid) -> Result<bool, StorageError> {
        self.db
            .write(move |c| Ok(diesel::delete(bots::table.filter(bots::id.eq(id.to_string()))).execute(c)? > 0))
            .await
    }

    /// The bot's secrets and its last `/sync` token, for starting it.
    pub async fn secrets(&self, id: Uuid) -> Result<Option<(BotSecrets, Option<String>)>, StorageError> {
        self.db
            .run(move |c| {
                let row: Option<(Option<String>, Option<String>, Option<String>)> = bots::table
                    .filter(bots::id.eq(id.to_string()))
                    .select((bots::password, bots::access_token, bots::since))
                    .first(c)
                    .optional()?;
                Ok(row.map(|(password, access_token, since)| {
                    (
                        BotSecrets {
                            password,
                            access_token,
                        },
                        since,
                    )
                }))
            })
            .await
    }

    /// Records the `/sync` token the bot has taken in.
    pub async fn set_since(&self, id: Uuid, since: String) -> Result<(), StorageError> {
        self.db
            .write(move |c| {
                diesel::update(bots::table.filter(bots::id.eq(id.to_string())))
                    .set(bots::since.eq(Some(since)))
                    .execute(c)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::seeds;
    use crate::storage::personas;

    async fn repo_with_persona() -> (tempfile::TempDir, BotRepo, Uuid) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("t.db"), 2, 5000).expect("db");
        let (persona, state) = seeds::defaults().remove(0);
        personas::insert(&mut db.conn().expect("conn"), &persona, &state).expect("persona");
        (dir, BotRepo::new(db), persona.id)
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
    async fn round_trip_secrets_since_and_conflicts() {
        let (_dir, repo, persona) = repo_with_persona().await;
        let b = bot(persona, "@aria:localhost");
        let secrets = BotSecrets {
            password: Some("pw".into()),
            access_token: None,
        };
        repo.insert(&b, &secrets).await.expect("insert");
        let back = repo.get(b.id).await.expect("get").expect("present");
        assert_eq!(back.user_id, b.user_id);
        assert_eq!(back.rooms, b.rooms);
        assert_eq!(back.reply_mode, ReplyMode::All);
        repo.set_since(b.id, "s1".into()).await.expect("since");
        assert_eq!(repo.secrets(b.id).await.expect("secrets"), Some((secrets.clone(), Some("s1".into()))));

        let dup = repo.insert(&bot(persona, "@aria:localhost"), &secrets).await;
        assert!(matches!(dup, Err(StorageError::Conflict(_))), "{dup:?}");

        // Same account: the sync position stays; secrets untouched without new ones.
        let mut changed = back.clone();
        changed.reply_mode = ReplyMode::Mention;
        assert!(repo.update(&changed, None).await.expect("update"));
        assert_eq!(repo.secrets(b.id).await.expect("secrets"), Some((secrets, Some("s1".into()))));
        // Another account: the position is forgotten.
        changed.user_id = "@aria2:localhost".into();
        let token = BotSecrets {
            password: None,
            access_token: Some("tok".into()),
        };
        assert!(repo.update(&changed, Some(token.clone())).await.expect("update"));
        assert_eq!(repo.secrets(b.id).await.expect("secrets"), Some((token, None)));

        assert_eq!(repo.list().await.expect("list").len(), 1);
        assert!(repo.delete(b.id).await.expect("delete"));
        assert!(!repo.delete(b.id).await.expect("delete again"));
        assert!(!repo.update(&changed, None).await.expect("update missing"));
    }
}

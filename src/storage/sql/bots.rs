//! Bot queries: Matrix bot configurations, their write-only secrets and their `/sync` position.

use super::AnyConn;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use uuid::Uuid;

use super::schema::bots;
use super::{from_text, parse_uuid, to_text, StorageError};
use crate::domain::bot::{Bot, BotDevice, BotResume, BotSecrets, ReplyMode};

/// One row of `bots` without its secrets and sync position: read, inserted and updated as is.
#[derive(Queryable, Selectable, Insertable, AsChangeset)]
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

impl From<&Bot> for BotRow {
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

/// Every bot, oldest first.
pub fn list(conn: &mut AnyConn) -> Result<Vec<Bot>, StorageError> {
    bots::table
        .order(bots::created_at.asc())
        .select(BotRow::as_select())
        .load(conn)?
        .into_iter()
        .map(BotRow::into_domain)
        .collect()
}

/// The bot with this id.
pub fn get(conn: &mut AnyConn, id: Uuid) -> Result<Option<Bot>, StorageError> {
    bots::table
        .filter(bots::id.eq(id.to_string()))
        .select(BotRow::as_select())
        .first(conn)
        .optional()?
        .map(BotRow::into_domain)
        .transpose()
}

/// Stores a new bot with its secrets (a taken `user_id` is a conflict).
pub fn insert(conn: &mut AnyConn, bot: &Bot, secrets: &BotSecrets) -> Result<(), StorageError> {
    let values = BotRow::from(bot);
    diesel::insert_into(bots::table)
        .values((
            &values,
            bots::password.eq(&secrets.password),
            bots::access_token.eq(&secrets.access_token),
        ))
        .execute(conn)
        .map_err(|e| user_conflict(e, &bot.user_id))?;
    Ok(())
}

/// Replaces a bot's configuration and, when given, its secrets; another homeserver or user forgets the `/sync`
/// position. False when there is no such bot.
pub fn update(conn: &mut AnyConn, bot: &Bot, secrets: Option<&BotSecrets>) -> Result<bool, StorageError> {
    let values = BotRow::from(bot);
    super::write_tx(conn, |c| {
        let row = bots::table.filter(bots::id.eq(&values.id));
        let old: Option<(String, String)> = row.select((bots::homeserver, bots::user_id)).first(c).optional()?;
        let Some(old) = old else { return Ok(false) };
        if old != (values.homeserver.clone(), values.user_id.clone()) {
            diesel::update(row)
                .set((
                    bots::since.eq(None::<String>),
                    bots::device_id.eq(None::<String>),
                    bots::device_key.eq(None::<String>),
                ))
                .execute(c)?;
        }
        diesel::update(row)
            .set(&values)
            .execute(c)
            .map_err(|e| user_conflict(e, &bot.user_id))?;
        if let Some(s) = secrets {
            diesel::update(row)
                .set((bots::password.eq(&s.password), bots::access_token.eq(&s.access_token)))
                .execute(c)?;
        }
        Ok(true)
    })
}

/// Deletes a bot; false when there was none.
pub fn delete(conn: &mut AnyConn, id: Uuid) -> Result<bool, StorageError> {
    Ok(diesel::delete(bots::table.filter(bots::id.eq(id.to_string()))).execute(conn)? > 0)
}

/// What the bot's process starts from: its secrets, its last `/sync` token and its device.
pub fn resume(conn: &mut AnyConn, id: Uuid) -> Result<Option<BotResume>, StorageError> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = bots::table
        .filter(bots::id.eq(id.to_string()))
        .select((
            bots::password,
            bots::access_token,
            bots::since,
            bots::device_id,
            bots::device_key,
        ))
        .first(conn)
        .optional()?;
    Ok(
        row.map(|(password, access_token, since, device_id, device_key)| BotResume {
            secrets: BotSecrets { password, access_token },
            since,
            device: device_id
                .zip(device_key)
                .map(|(device_id, ed25519)| BotDevice { device_id, ed25519 }),
        }),
    )
}

/// Records the device the bot logged in as.
pub fn set_device(conn: &mut AnyConn, id: Uuid, device: &BotDevice) -> Result<(), StorageError> {
    diesel::update(bots::table.filter(bots::id.eq(id.to_string())))
        .set((
            bots::device_id.eq(&device.device_id),
            bots::device_key.eq(&device.ed25519),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the `/sync` token the bot has taken in.
pub fn set_since(conn: &mut AnyConn, id: Uuid, since: &str) -> Result<(), StorageError> {
    diesel::update(bots::table.filter(bots::id.eq(id.to_string())))
        .set(bots::since.eq(Some(since)))
        .execute(conn)?;
    Ok(())
}

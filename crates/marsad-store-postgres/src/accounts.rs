//! Users and sessions (AccountStore).
//!
//! Sessions are stored by the SHA-256 of their cookie. Changing a user's
//! password or disabling the user ends the user's sessions in the same
//! transaction.

use marsad_core::UtcTime;
use marsad_store::{NewSession, NewUser, Result, Role, SessionRecord, StoreError, UserRecord};
use postgres::{Row, Transaction};

use crate::{PgStore, backend, time};

/// The user columns [`to_user`] reads, in its order (`u` is `users`).
const USER_COLUMNS: &str =
    "u.id, u.name, u.role, u.password_hash, u.created_at, u.password_changed_at, u.disabled_at";

/// A user read with [`USER_COLUMNS`] first.
fn to_user(r: &Row) -> Result<UserRecord> {
    let name: String = r.get(1);
    let role: String = r.get(2);
    Ok(UserRecord {
        id: r.get(0),
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            record: format!("user {name:?}"),
            problem: format!("unknown role {role:?}"),
        })?,
        name,
        password_hash: r.get(3),
        created_at: time(r.get(4))?,
        password_changed_at: time(r.get(5))?,
        disabled_at: r.get::<_, Option<i64>>(6).map(time).transpose()?,
    })
}

/// Deletes every session of the user of that name.
fn end_sessions_of(tx: &mut Transaction<'_>, name: &str) -> Result<()> {
    tx.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = $1)", &[&name])
        .map_err(backend)?;
    Ok(())
}

impl marsad_store::AccountStore for PgStore {
    fn add_user(&mut self, user: &NewUser) -> Result<UserRecord> {
        let now = UtcTime::now();
        let id: Option<i64> = self.write(|tx| {
            Ok(tx
                .query_opt(
                    "INSERT INTO users (name, role, password_hash, created_at, password_changed_at)
                     VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING RETURNING id",
                    &[&user.name, &user.role.as_str(), &user.password_hash, &now.unix_micros()],
                )
                .map_err(backend)?
                .map(|r| r.get(0)))
        })?;
        let Some(id) = id else {
            return Err(StoreError::Conflict(format!("user {:?}", user.name)));
        };
        Ok(UserRecord {
            id,
            name: user.name.clone(),
            role: user.role,
            password_hash: user.password_hash.clone(),
            created_at: now,
            password_changed_at: now,
            disabled_at: None,
        })
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        // By name in code point order, as SQLite's BINARY collation.
        let rows = self
            .db()?
            .query(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name COLLATE \"C\""), &[])
            .map_err(backend)?;
        rows.iter().map(to_user).collect()
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        let row = self
            .db()?
            .query_opt(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"), &[&name])
            .map_err(backend)?;
        row.as_ref().map(to_user).transpose()
    }

    fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool> {
        let now = UtcTime::now().unix_micros();
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE users SET password_changed_at = $1, password_hash = $3 WHERE name = $2",
                    &[&now, &name, &password_hash],
                )
                .map_err(backend)?;
            if n > 0 {
                end_sessions_of(tx, name)?;
            }
            Ok(n > 0)
        })
    }

    fn disable_user(&mut self, name: &str) -> Result<bool> {
        let now = UtcTime::now().unix_micros();
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL",
                    &[&now, &name],
                )
                .map_err(backend)?;
            if n > 0 {
                end_sessions_of(tx, name)?;
            }
            Ok(n > 0)
        })
    }

    fn add_session(&mut self, s: &NewSession) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&s.created_at.unix_micros()])
                .map_err(backend)?;
            tx.execute(
                "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&&s.hash[..], &s.user_id, &s.csrf, &s.created_at.unix_micros(), &s.expires_at.unix_micros()],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn session(&self, hash: &[u8; 32], now: UtcTime) -> Result<Option<SessionRecord>> {
        let row = self
            .db()?
            .query_opt(
                &format!(
                    "SELECT {USER_COLUMNS}, s.csrf, s.created_at, s.expires_at
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
                ),
                &[&&hash[..], &now.unix_micros()],
            )
            .map_err(backend)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            user: to_user(&r)?,
            csrf: r.get(7),
            created_at: time(r.get(8))?,
            expires_at: time(r.get(9))?,
        }))
    }

    fn end_session(&mut self, hash: &[u8; 32]) -> Result<bool> {
        let n = self
            .write(|tx| tx.execute("DELETE FROM sessions WHERE hash = $1", &[&&hash[..]]).map_err(backend))?;
        Ok(n > 0)
    }
}

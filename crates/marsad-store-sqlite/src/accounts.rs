//! Users and sessions.

use marsad_core::UtcTime;
use marsad_store::{NewSession, NewUser, Result, Role, SessionRecord, StoreError, UserRecord};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;
use crate::read::time;

const USER_COLUMNS: &str =
    "u.id, u.name, u.role, u.password_hash, u.created_at, u.password_changed_at, u.disabled_at";

type UserRow = (i64, String, String, String, i64, i64, Option<i64>);

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn to_user(row: UserRow) -> Result<UserRecord> {
    let (id, name, role, password_hash, created, changed, disabled) = row;
    Ok(UserRecord {
        id,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            record: format!("user {name:?}"),
            problem: format!("unknown role {role:?}"),
        })?,
        name,
        password_hash,
        created_at: time(created)?,
        password_changed_at: time(changed)?,
        disabled_at: disabled.map(time).transpose()?,
    })
}

pub(crate) fn add_user(conn: &Connection, user: &NewUser) -> Result<UserRecord> {
    let now = UtcTime::now();
    let added = conn
        .execute(
            "INSERT INTO users (name, role, password_hash, created_at, password_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT DO NOTHING",
            params![user.name, user.role.as_str(), user.password_hash, now.unix_micros()],
        )
        .map_err(backend)?;
    if added == 0 {
        return Err(StoreError::Conflict(format!("user {:?}", user.name)));
    }
    Ok(UserRecord {
        id: conn.last_insert_rowid(),
        name: user.name.clone(),
        role: user.role,
        password_hash: user.password_hash.clone(),
        created_at: now,
        password_changed_at: now,
        disabled_at: None,
    })
}

pub(crate) fn users(conn: &Connection) -> Result<Vec<UserRecord>> {
    let mut stmt =
        conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name")).map_err(backend)?;
    let rows: Vec<UserRow> =
        stmt.query_map([], user_row).map_err(backend)?.collect::<rusqlite::Result<_>>().map_err(backend)?;
    rows.into_iter().map(to_user).collect()
}

pub(crate) fn user(conn: &Connection, name: &str) -> Result<Option<UserRecord>> {
    let row = conn
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = ?1"))
        .map_err(backend)?
        .query_row([name], user_row)
        .optional()
        .map_err(backend)?;
    row.map(to_user).transpose()
}

/// Runs the UPDATE `change` (`?1` the time, `?2` the name, `?3` `value`)
/// and, when it changed a user, deletes the user's sessions, in one
/// transaction.
fn change_user(
    conn: &mut Connection,
    name: &str,
    change: &str,
    at: i64,
    value: Option<&str>,
) -> Result<bool> {
    let tx = conn.transaction().map_err(backend)?;
    let n = match value {
        Some(v) => tx.execute(change, params![at, name, v]),
        None => tx.execute(change, params![at, name]),
    }
    .map_err(backend)?;
    if n > 0 {
        tx.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)", [name])
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)?;
    Ok(n > 0)
}

pub(crate) fn set_password(conn: &mut Connection, name: &str, password_hash: &str) -> Result<bool> {
    change_user(
        conn,
        name,
        "UPDATE users SET password_changed_at = ?1, password_hash = ?3 WHERE name = ?2",
        UtcTime::now().unix_micros(),
        Some(password_hash),
    )
}

pub(crate) fn disable_user(conn: &mut Connection, name: &str) -> Result<bool> {
    change_user(
        conn,
        name,
        "UPDATE users SET disabled_at = ?1 WHERE name = ?2 AND disabled_at IS NULL",
        UtcTime::now().unix_micros(),
        None,
    )
}

pub(crate) fn add_session(conn: &mut Connection, s: &NewSession) -> Result<()> {
    let tx = conn.transaction().map_err(backend)?;
    tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [s.created_at.unix_micros()])
        .map_err(backend)?;
    tx.execute(
        "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![&s.hash[..], s.user_id, s.csrf, s.created_at.unix_micros(), s.expires_at.unix_micros()],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)
}

pub(crate) fn session(conn: &Connection, hash: &[u8; 32], now: UtcTime) -> Result<Option<SessionRecord>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, s.csrf, s.created_at, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL"
        ))
        .map_err(backend)?
        .query_row(params![&hash[..], now.unix_micros()], |r| {
            Ok((user_row(r)?, r.get::<_, String>(7)?, r.get::<_, i64>(8)?, r.get::<_, i64>(9)?))
        })
        .optional()
        .map_err(backend)?;
    let Some((user, csrf, created, expires)) = row else { return Ok(None) };
    Ok(Some(SessionRecord {
        user: to_user(user)?,
        csrf,
        created_at: time(created)?,
        expires_at: time(expires)?,
    }))
}

pub(crate) fn end_session(conn: &Connection, hash: &[u8; 32]) -> Result<bool> {
    let n = conn.execute("DELETE FROM sessions WHERE hash = ?1", [&hash[..]]).map_err(backend)?;
    Ok(n > 0)
}

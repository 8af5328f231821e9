//! Access tokens and the audit log.

use marsad_core::UtcTime;
use marsad_store::{AuditRecord, NewAuditEvent, NewToken, Result, Role, StoreError, TokenRecord};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;
use crate::read::time;

const TOKEN_COLUMNS: &str = "id, name, role, prefix, created_at, revoked_at";

fn token_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, i64, Option<i64>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_token(row: (i64, String, String, String, i64, Option<i64>)) -> Result<TokenRecord> {
    let (id, name, role, prefix, created, revoked) = row;
    Ok(TokenRecord {
        id,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            record: format!("token {name:?}"),
            problem: format!("unknown role {role:?}"),
        })?,
        name,
        prefix,
        created_at: time(created)?,
        revoked_at: revoked.map(time).transpose()?,
    })
}

pub(crate) fn add_token(conn: &Connection, token: &NewToken) -> Result<TokenRecord> {
    let now = UtcTime::now();
    let added = conn
        .execute(
            "INSERT INTO tokens (name, role, hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
            params![token.name, token.role.as_str(), &token.hash[..], token.prefix, now.unix_micros()],
        )
        .map_err(backend)?;
    if added == 0 {
        return Err(StoreError::Conflict(format!("token {:?}", token.name)));
    }
    Ok(TokenRecord {
        id: conn.last_insert_rowid(),
        name: token.name.clone(),
        role: token.role,
        prefix: token.prefix.clone(),
        created_at: now,
        revoked_at: None,
    })
}

pub(crate) fn tokens(conn: &Connection) -> Result<Vec<TokenRecord>> {
    let mut stmt =
        conn.prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id")).map_err(backend)?;
    let rows: Vec<_> =
        stmt.query_map([], token_row).map_err(backend)?.collect::<rusqlite::Result<_>>().map_err(backend)?;
    rows.into_iter().map(to_token).collect()
}

pub(crate) fn revoke_token(conn: &Connection, name: &str) -> Result<bool> {
    let n = conn
        .execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL",
            params![UtcTime::now().unix_micros(), name],
        )
        .map_err(backend)?;
    Ok(n > 0)
}

pub(crate) fn token_by_hash(conn: &Connection, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
    let row = conn
        .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1 AND revoked_at IS NULL"))
        .map_err(backend)?
        .query_row([&hash[..]], token_row)
        .optional()
        .map_err(backend)?;
    row.map(to_token).transpose()
}

pub(crate) fn append_audit(conn: &mut Connection, events: &[NewAuditEvent]) -> Result<()> {
    let tx = conn.transaction().map_err(backend)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO audit_log (at, actor, action, target, status, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(backend)?;
        for e in events {
            insert
                .execute(params![e.at.unix_micros(), e.actor, e.action, e.target, e.status, e.detail])
                .map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)
}

pub(crate) fn audit(
    conn: &Connection,
    since: Option<UtcTime>,
    limit: Option<u64>,
    visit: &mut dyn FnMut(AuditRecord) -> Result<()>,
) -> Result<()> {
    let since = since.map_or(i64::MIN, |t| t.unix_micros());
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    // The newest `limit` events, oldest first.
    let mut stmt = conn
        .prepare(
            "SELECT * FROM (SELECT id, at, actor, action, target, status, detail FROM audit_log
                            WHERE at >= ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
        )
        .map_err(backend)?;
    let mut rows = stmt.query(params![since, limit]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let status: Option<i64> = r.get(5).map_err(backend)?;
        visit(AuditRecord {
            id: r.get(0).map_err(backend)?,
            event: NewAuditEvent {
                at: time(r.get(1).map_err(backend)?)?,
                actor: r.get(2).map_err(backend)?,
                action: r.get(3).map_err(backend)?,
                target: r.get(4).map_err(backend)?,
                status: status.and_then(|s| u16::try_from(s).ok()),
                detail: r.get(6).map_err(backend)?,
            },
        })?;
    }
    Ok(())
}

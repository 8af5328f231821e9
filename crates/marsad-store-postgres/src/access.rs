//! Access tokens and the audit log (AccessStore).
//!
//! Only a token's SHA-256 is stored. The audit log is append-only: the
//! schema's triggers refuse any UPDATE, DELETE or TRUNCATE of it, so this
//! module only ever inserts into it and reads it.

use marsad_core::UtcTime;
use marsad_store::{AuditRecord, NewAuditEvent, NewToken, Result, Role, StoreError, TokenRecord};
use postgres::Row;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use crate::{PgStore, backend, time};

/// The columns [`to_token`] reads, in its order.
const TOKEN_COLUMNS: &str = "id, name, role, prefix, created_at, revoked_at";

/// A token read with [`TOKEN_COLUMNS`].
fn to_token(r: &Row) -> Result<TokenRecord> {
    let name: String = r.get(1);
    let role: String = r.get(2);
    Ok(TokenRecord {
        id: r.get(0),
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            record: format!("token {name:?}"),
            problem: format!("unknown role {role:?}"),
        })?,
        name,
        prefix: r.get(3),
        created_at: time(r.get(4))?,
        revoked_at: r.get::<_, Option<i64>>(5).map(time).transpose()?,
    })
}

impl marsad_store::AccessStore for PgStore {
    fn add_token(&mut self, token: &NewToken) -> Result<TokenRecord> {
        let now = UtcTime::now();
        // A name taken by a token not revoked, or a hash stored already,
        // inserts nothing: a conflict.
        let id: Option<i64> = self.write(|tx| {
            Ok(tx
                .query_opt(
                    "INSERT INTO tokens (name, role, hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT DO NOTHING RETURNING id",
                    &[&token.name, &token.role.as_str(), &&token.hash[..], &token.prefix, &now.unix_micros()],
                )
                .map_err(backend)?
                .map(|r| r.get(0)))
        })?;
        let Some(id) = id else {
            return Err(StoreError::Conflict(format!("token {:?}", token.name)));
        };
        Ok(TokenRecord {
            id,
            name: token.name.clone(),
            role: token.role,
            prefix: token.prefix.clone(),
            created_at: now,
            revoked_at: None,
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows = self
            .db()?
            .query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"), &[])
            .map_err(backend)?;
        rows.iter().map(to_token).collect()
    }

    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        let now = UtcTime::now().unix_micros();
        let n = self.write(|tx| {
            tx.execute(
                "UPDATE tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
                &[&now, &name],
            )
            .map_err(backend)
        })?;
        Ok(n > 0)
    }

    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        let row = self
            .db()?
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1 AND revoked_at IS NULL"),
                &[&&hash[..]],
            )
            .map_err(backend)?;
        row.as_ref().map(to_token).transpose()
    }

    fn append_audit(&mut self, events: &[NewAuditEvent]) -> Result<()> {
        // One INSERT of every event, in their order (ids follow it).
        let at: Vec<i64> = events.iter().map(|e| e.at.unix_micros()).collect();
        let actor: Vec<&str> = events.iter().map(|e| e.actor.as_str()).collect();
        let action: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        let target: Vec<Option<&str>> = events.iter().map(|e| e.target.as_deref()).collect();
        let status: Vec<Option<i32>> = events.iter().map(|e| e.status.map(i32::from)).collect();
        let detail: Vec<Option<&str>> = events.iter().map(|e| e.detail.as_deref()).collect();
        self.write(|tx| {
            if events.is_empty() {
                return Ok(());
            }
            tx.execute(
                "INSERT INTO audit_log (at, actor, action, target, status, detail)
                 SELECT at, actor, action, target, status, detail
                 FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[])
                      WITH ORDINALITY AS e (at, actor, action, target, status, detail, n)
                 ORDER BY n",
                &[&at, &actor, &action, &target, &status, &detail],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn audit(
        &self,
        since: Option<UtcTime>,
        limit: Option<u64>,
        visit: &mut dyn FnMut(AuditRecord) -> Result<()>,
    ) -> Result<()> {
        let since = since.map_or(i64::MIN, |t| t.unix_micros());
        // LIMIT NULL is no limit.
        let limit: Option<i64> = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let params: [&(dyn ToSql + Sync); 2] = [&since, &limit];
        let mut c = self.db()?;
        // The newest `limit` events, oldest first, streamed.
        let mut rows = c
            .query_raw(
                "SELECT * FROM (SELECT id, at, actor, action, target, status, detail FROM audit_log
                                WHERE at >= $1 ORDER BY id DESC LIMIT $2) newest ORDER BY id",
                params,
            )
            .map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let status: Option<i32> = r.get(5);
            visit(AuditRecord {
                id: r.get(0),
                event: NewAuditEvent {
                    at: time(r.get(1))?,
                    actor: r.get(2),
                    action: r.get(3),
                    target: r.get(4),
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    detail: r.get(6),
                },
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use marsad_core::UtcTime;
    use marsad_store::{AccessStore, NewAuditEvent};

    #[test]
    fn a_batch_of_events_keeps_its_order_and_the_log_refuses_changes() {
        let scratch = crate::ScratchStore::new().expect("the test database");
        let mut store = scratch.open().expect("open");
        let event = |action: &str, status| NewAuditEvent {
            at: UtcTime::from_unix_micros(1_000_000).expect("time"),
            actor: "ci".into(),
            action: action.into(),
            target: None,
            status,
            detail: Some("{}".into()),
        };
        let events = [event("c", Some(404)), event("a", None), event("b", Some(200))];
        store.append_audit(&events).expect("append");
        store.append_audit(&[]).expect("nothing to append");
        let mut read = Vec::new();
        store
            .audit(None, None, &mut |r| {
                read.push(r.event);
                Ok(())
            })
            .expect("audit");
        assert_eq!(read, events, "one event per row, in the order given");
        let mut c =
            scratch.url().parse::<postgres::Config>().expect("url").connect(postgres::NoTls).expect("db");
        for change in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
            assert!(c.batch_execute(change).is_err(), "{change}");
        }
    }
}

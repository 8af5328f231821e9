//! Theme codes and the taxonomy.

use marsad_core::ReleaseId;
use marsad_store::{CodeRecord, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend;
use crate::read::time;

pub(crate) fn taxonomy(conn: &Connection) -> Result<Option<String>> {
    conn.query_row("SELECT body FROM taxonomy WHERE id = 1", [], |r| r.get(0)).optional().map_err(backend)
}

pub(crate) fn set_taxonomy(conn: &Connection, toml: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO taxonomy (id, body) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        [toml],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn set_code(conn: &Connection, c: &CodeRecord) -> Result<()> {
    let exists = conn
        .query_row("SELECT 1 FROM releases WHERE id = ?1", [c.release.0], |_| Ok(()))
        .optional()
        .map_err(backend)?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound(format!("no release {}", c.release.0)));
    }
    let secondary = serde_json::to_string(&c.secondary).unwrap_or_else(|_| "[]".to_owned());
    conn.execute(
        "INSERT INTO theme_codes (taxonomy, release_id, coder, primary_theme, secondary, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (taxonomy, release_id, coder) DO UPDATE SET
             primary_theme = excluded.primary_theme, secondary = excluded.secondary, at = excluded.at",
        params![c.taxonomy, c.release.0, c.coder, c.primary, secondary, c.at.unix_micros()],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn codes(
    conn: &Connection,
    taxonomy: &str,
    release: Option<ReleaseId>,
) -> Result<Vec<CodeRecord>> {
    let mut stmt = conn
        .prepare(
            "SELECT release_id, coder, primary_theme, secondary, at FROM theme_codes
             WHERE taxonomy = ?1 AND (?2 IS NULL OR release_id = ?2) ORDER BY release_id, coder",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![taxonomy, release.map(|r| r.0)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (release, coder, primary, secondary, at) = row.map_err(backend)?;
        let secondary: Vec<String> = serde_json::from_str(&secondary).map_err(|e| StoreError::Corrupt {
            record: format!("theme code of release {release} by {coder:?}"),
            problem: format!("secondary themes: {e}"),
        })?;
        out.push(CodeRecord {
            taxonomy: taxonomy.to_owned(),
            release: ReleaseId(release),
            coder,
            primary,
            secondary,
            at: time(at)?,
        });
    }
    Ok(out)
}

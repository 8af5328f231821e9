//! Theme codes and the taxonomy (CodingStore).
//!
//! A code's secondary themes are stored as a JSON array of keys.

use marsad_core::ReleaseId;
use marsad_store::{CodeRecord, Result, StoreError};

use crate::{PgStore, backend, time};

impl marsad_store::CodingStore for PgStore {
    fn taxonomy(&self) -> Result<Option<String>> {
        let row = self.db()?.query_opt("SELECT body FROM taxonomy WHERE id = 1", &[]).map_err(backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_taxonomy(&mut self, toml: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO taxonomy (id, body) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                &[&toml],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn set_code(&mut self, c: &CodeRecord) -> Result<()> {
        let secondary = serde_json::to_string(&c.secondary).unwrap_or_else(|_| "[]".to_owned());
        self.write(|tx| {
            let exists = tx.query_opt("SELECT 1 FROM releases WHERE id = $1", &[&c.release.0]).map_err(backend)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("no release {}", c.release.0)));
            }
            tx.execute(
                "INSERT INTO theme_codes (taxonomy, release_id, coder, primary_theme, secondary, at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (taxonomy, release_id, coder) DO UPDATE SET
                     primary_theme = excluded.primary_theme, secondary = excluded.secondary, at = excluded.at",
                &[&c.taxonomy, &c.release.0, &c.coder, &c.primary, &secondary, &c.at.unix_micros()],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn codes(&self, taxonomy: &str, release: Option<ReleaseId>) -> Result<Vec<CodeRecord>> {
        // By release, then coder in code point order (SQLite's BINARY).
        let rows = self
            .db()?
            .query(
                "SELECT release_id, coder, primary_theme, secondary, at FROM theme_codes
                 WHERE taxonomy = $1 AND ($2::bigint IS NULL OR release_id = $2)
                 ORDER BY release_id, coder COLLATE \"C\"",
                &[&taxonomy, &release.map(|r| r.0)],
            )
            .map_err(backend)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let (release, coder, secondary): (i64, String, String) = (r.get(0), r.get(1), r.get(3));
            let secondary: Vec<String> =
                serde_json::from_str(&secondary).map_err(|e| StoreError::Corrupt {
                    record: format!("theme code of release {release} by {coder:?}"),
                    problem: format!("secondary themes: {e}"),
                })?;
            out.push(CodeRecord {
                taxonomy: taxonomy.to_owned(),
                release: ReleaseId(release),
                coder,
                primary: r.get(2),
                secondary,
                at: time(r.get(4))?,
            });
        }
        Ok(out)
    }
}

//! Theme coding: analysts code releases by theme (a primary theme and
//! optional secondary ones) from the taxonomy in use — Winter's six of
//! 2015 unless another was imported — blind to each other's codes of a
//! release until they have coded it themselves; their agreement, per pair
//! (Cohen's kappa) and overall (Krippendorff's alpha); and the share of
//! releases per theme per bucket ([`marsad_observe::themes`]).

use std::collections::BTreeMap;
use std::path::Path;

use marsad_core::{ReleaseId, UtcTime};
use marsad_observe::analytics::Filter;
use marsad_observe::calendar::Bucket;
use marsad_observe::themes::{self, Code};
pub use marsad_observe::themes::{Taxonomy, Theme, ThemeShare};
use marsad_store::CodeRecord;
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, invalid};

/// A code as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CodeView {
    /// The release.
    pub release: i64,
    /// The analyst.
    pub coder: String,
    /// The primary theme's key.
    pub primary: String,
    /// Secondary themes' keys.
    pub secondary: Vec<String>,
    /// When it was set (RFC 3339).
    pub at: String,
}

impl From<CodeRecord> for CodeView {
    fn from(c: CodeRecord) -> Self {
        CodeView {
            release: c.release.0,
            coder: c.coder,
            primary: c.primary,
            secondary: c.secondary,
            at: c.at.to_rfc3339(),
        }
    }
}

/// A release's codes as one analyst may see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReleaseCodes {
    /// The taxonomy's name.
    pub taxonomy: String,
    /// The asker's own code, if any.
    pub mine: Option<CodeView>,
    /// The others' codes: shown once the asker has coded the release (or
    /// to an asker who does not code).
    pub others: Vec<CodeView>,
    /// Others' codes not shown yet (the asker has not coded the release).
    pub hidden: usize,
}

/// One pair of coders' agreement.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PairAgreement {
    /// One coder.
    pub a: String,
    /// The other.
    pub b: String,
    /// Releases both coded.
    pub releases: u64,
    /// Cohen's kappa of their primary themes (`null` when undefined).
    pub kappa: Option<f64>,
    /// Their share of identical primary themes.
    pub agreement: Option<f64>,
}

/// The coders' agreement (`marsad analyze agreement`, `/themes`).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Agreement {
    /// The taxonomy's name.
    pub taxonomy: String,
    /// Coders.
    pub coders: Vec<String>,
    /// Releases coded by anyone.
    pub releases_coded: u64,
    /// Releases coded by two or more.
    pub releases_shared: u64,
    /// Every pair of coders who coded a release in common.
    pub pairs: Vec<PairAgreement>,
    /// Krippendorff's alpha (nominal) of the primary themes, all coders.
    pub alpha: Option<f64>,
}

impl Engine {
    /// The taxonomy in use: the one imported, else [`themes::DEFAULT_TAXONOMY`].
    pub fn taxonomy(&self) -> Result<Taxonomy> {
        match self.store().taxonomy()? {
            Some(text) => {
                Taxonomy::parse(&text).map_err(|e| EngineError::Invalid(format!("the stored taxonomy: {e}")))
            }
            None => Ok(Taxonomy::default_taxonomy()),
        }
    }

    /// Makes the taxonomy of the TOML file at `path` the one in use.
    pub fn import_taxonomy(&mut self, actor: &str, path: &Path) -> Result<Taxonomy> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path.display(), e))?;
        if text.len() > 1 << 20 {
            return Err(invalid!("{}: larger than 1 MiB", path.display()));
        }
        let t = Taxonomy::parse(&text).map_err(|e| invalid!("{}: {e}", path.display()))?;
        self.store_mut().set_taxonomy(&text)?;
        let detail = serde_json::json!({ "name": t.name, "themes": t.themes.len() });
        self.audit_now(actor, "theme.taxonomy", Some(&t.name), Some(detail.to_string()))?;
        Ok(t)
    }

    /// Codes release `release` as `coder`: a primary theme and secondary
    /// ones, all of the taxonomy in use (the primary is not also
    /// secondary). A coder's later code replaces the earlier; audited.
    pub fn code_release(
        &mut self,
        coder: &str,
        release: i64,
        primary: &str,
        secondary: &[String],
    ) -> Result<CodeView> {
        let t = self.taxonomy()?;
        if !t.has(primary) {
            return Err(invalid!(
                "primary theme {primary:?} is not one of {}'s: {}",
                t.name,
                t.themes.iter().map(|t| t.key.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let mut second: Vec<String> = Vec::new();
        for s in secondary {
            if !t.has(s) {
                return Err(invalid!("secondary theme {s:?} is not one of {}'s", t.name));
            }
            if s != primary && !second.contains(s) {
                second.push(s.clone());
            }
        }
        let code = CodeRecord {
            taxonomy: t.name.clone(),
            release: ReleaseId(release),
            coder: coder.to_owned(),
            primary: primary.to_owned(),
            secondary: second,
            at: UtcTime::now(),
        };
        self.store_mut().set_code(&code).map_err(|e| match e {
            marsad_store::StoreError::NotFound(m) => EngineError::NotFound(m),
            other => other.into(),
        })?;
        let detail =
            serde_json::json!({ "taxonomy": t.name, "primary": primary, "secondary": code.secondary });
        self.audit_now(coder, "theme.code", Some(&format!("release:{release}")), Some(detail.to_string()))?;
        Ok(code.into())
    }

    /// The codes of `release` as `asker` may see them: the others' only
    /// once the asker coded it, unless the asker does not code (`coder`
    /// false: a viewer, an admin reading).
    pub fn release_codes(&self, asker: &str, coder: bool, release: i64) -> Result<ReleaseCodes> {
        let t = self.taxonomy()?;
        let all = self.store().codes(&t.name, Some(ReleaseId(release)))?;
        let (mine, others): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.coder == asker);
        let mine = mine.into_iter().next().map(CodeView::from);
        let show = mine.is_some() || !coder;
        Ok(ReleaseCodes {
            taxonomy: t.name,
            hidden: if show { 0 } else { others.len() },
            others: if show { others.into_iter().map(CodeView::from).collect() } else { Vec::new() },
            mine,
        })
    }

    /// Every code of the taxonomy in use.
    pub fn codes(&self) -> Result<Vec<CodeView>> {
        let t = self.taxonomy()?;
        Ok(self.store().codes(&t.name, None)?.into_iter().map(CodeView::from).collect())
    }

    /// The coders' agreement on the primary themes.
    pub fn agreement(&self) -> Result<Agreement> {
        let t = self.taxonomy()?;
        let codes = self.store().codes(&t.name, None)?;
        let mut by_coder: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
        let mut by_release: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for c in &codes {
            by_coder.entry(c.coder.clone()).or_default().insert(c.release.0, c.primary.clone());
            by_release.entry(c.release.0).or_default().push(c.primary.clone());
        }
        let coders: Vec<String> = by_coder.keys().cloned().collect();
        let mut pairs = Vec::new();
        for (i, a) in coders.iter().enumerate() {
            for b in &coders[i + 1..] {
                let (ca, cb) = (&by_coder[a], &by_coder[b]);
                let shared: Vec<i64> = ca.keys().filter(|r| cb.contains_key(r)).copied().collect();
                if shared.is_empty() {
                    continue;
                }
                let same = shared.iter().filter(|r| ca[r] == cb[r]).count();
                pairs.push(PairAgreement {
                    a: a.clone(),
                    b: b.clone(),
                    releases: shared.len() as u64,
                    kappa: themes::cohen_kappa(ca, cb).map(|(k, _)| k),
                    agreement: Some(same as f64 / shared.len() as f64),
                });
            }
        }
        let units: Vec<Vec<String>> = by_release.values().cloned().collect();
        Ok(Agreement {
            taxonomy: t.name,
            coders,
            releases_coded: by_release.len() as u64,
            releases_shared: by_release.values().filter(|v| v.len() >= 2).count() as u64,
            pairs,
            alpha: themes::krippendorff_alpha(&units).map(|(a, _)| a),
        })
    }

    /// The share of coded releases per primary theme per `bucket`
    /// (`marsad analyze themes`).
    pub fn theme_shares(
        &mut self,
        filter: &Filter,
        bucket: Bucket,
        by_outlet: bool,
    ) -> Result<Vec<ThemeShare>> {
        let obs = self.observatory()?;
        let t = self.taxonomy()?;
        let codes: Vec<Code> = self
            .store()
            .codes(&t.name, None)?
            .into_iter()
            .map(|c| Code {
                release: c.release.0,
                coder: c.coder,
                primary: c.primary,
                secondary: c.secondary,
            })
            .collect();
        Ok(themes::shares(&obs, filter, bucket, by_outlet, &t, &codes))
    }
}

/// `marsad analyze themes`: the share table and the coders' agreement.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ThemesReport {
    /// The taxonomy's name.
    pub taxonomy: String,
    /// Share of coded releases per primary theme per bucket (and outlet).
    pub rows: Vec<ThemeShare>,
    /// The coders' agreement.
    pub agreement: Agreement,
}

/// The buckets `marsad analyze themes` accepts.
pub const THEME_BUCKETS: &[&str] = &["day", "week", "month", "hijri-month", "year"];

impl Engine {
    /// The themes table of `filter`'s releases per `bucket` (one of
    /// [`THEME_BUCKETS`]), per outlet when `by` is `outlet`, with the
    /// coders' agreement.
    pub fn themes_report(&mut self, filter: &Filter, bucket: &str, by: Option<&str>) -> Result<ThemesReport> {
        let bucket = crate::observatory::parse_bucket(bucket, THEME_BUCKETS)?;
        let by_outlet = match by {
            None => false,
            Some("outlet") => true,
            Some(other) => return Err(invalid!("--by {other:?}: themes are shown by outlet only")),
        };
        let rows = self.theme_shares(filter, bucket, by_outlet)?;
        let agreement = self.agreement()?;
        Ok(ThemesReport { taxonomy: agreement.taxonomy.clone(), rows, agreement })
    }
}

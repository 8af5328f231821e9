//! The observatory: releases, their outlets, and the measurements
//! researchers publish.
//!
//! - [`group`]: sightings grouped into releases by shared content
//!   (incremental, order-independent);
//! - [`explain`]: the links that joined one release's posts, found again;
//! - [`describe`]: a release's format, language and outlet (with evidence);
//! - [`registry`]: the outlet registry (TOML);
//! - [`update`]: bringing a store's releases up to date;
//! - [`analytics`]: timelines, trends, silences, dormancy, recycling and
//!   amplification over an [`analytics::Observatory`];
//! - [`calendar`]: buckets, the Umm al-Qura Hijri month included;
//! - [`themes`]: theme taxonomies, the share of releases per theme, and
//!   coders' agreement (Cohen's kappa, Krippendorff's alpha).
#![deny(missing_docs)]

pub mod analytics;
pub mod calendar;
pub mod describe;
pub mod explain;
pub mod group;
pub mod registry;
pub mod snapshot;
pub mod themes;
pub mod update;

/// RFC 3339 (UTC, `Z`) of a time in microseconds.
pub fn rfc3339(micros: i64) -> String {
    marsad_core::UtcTime::from_unix_micros(micros).map(|t| t.to_rfc3339()).unwrap_or_default()
}

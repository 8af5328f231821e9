//! Hash banks: the signals of known material, as trust-and-safety teams
//! share them (ThreatExchange, HMA, the GIFCT hash-sharing database), and
//! matching against them.
//!
//! - [`values`]: the canonical text form of each signal type, validated.
//! - [`bankfile`]: the CSV and JSON-lines bank files `marsad bank import`
//!   reads and `marsad bank export` writes, with per-line errors.
//! - [`BankMatcher`]: every bank of a store indexed in memory (PDQ exact
//!   range index, exact digests, vPDQ, Chromaprint, text LSH); it is also
//!   the match stage of ingestion ([`marsad_ingest::Matcher`]).
//! - The PDQ index is cached beside the store and kept current
//!   incrementally (`cache`).
#![deny(missing_docs)]

pub mod bankfile;
mod cache;
#[doc(hidden)]
pub mod fuzzing;
mod matcher;
pub mod values;

pub use matcher::{BankMatcher, Found, MatchConfig, MatchError, PYTX_VARIANT};

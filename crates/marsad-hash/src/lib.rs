//! Fingerprints of media and text. Pure computation: this crate does no I/O;
//! callers feed it bytes or decoded pixels.
//!
//! - [`audio`]: Chromaprint audio fingerprints (the default algorithm).
//! - [`digest`]: exact digests (SHA-256 and MD5) computed in one pass.
//! - [`pdq`]: Meta's PDQ perceptual image hash, bit-identical to the reference.
//! - [`image`]: image bytes to 8-bit RGB, with limits for untrusted input.
//! - [`vpdq`]: vPDQ frame hashes and their text forms.
//! - [`text`]: the Arabic-aware text normalizer and MinHash signatures.
//!
//! ```
//! let mut d = marsad_hash::digest::ExactDigests::new();
//! d.update(b"abc");
//! let out = d.finish();
//! assert_eq!(out.md5_hex(), "900150983cd24fb0d6963f7d28e17f72");
//! ```
#![deny(missing_docs)]

pub mod audio;
pub mod digest;
pub mod image;
pub mod pdq;
pub mod text;
pub mod vpdq;

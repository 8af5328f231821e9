//! Integration tests for marsad-ingest (one test crate, modules per area).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod fingerprint;
mod roundtrip;
mod splitter;

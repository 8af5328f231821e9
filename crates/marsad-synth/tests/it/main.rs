//! Integration tests: generate corpora into the target's temp folder, then
//! read them back as a consumer would, with serde_json only.
#![allow(clippy::unwrap_used)] // Tests fail loudly.

mod demo;
mod export;
mod text_export;

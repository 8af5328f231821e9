//! Integration tests for marsad-index: every matcher against its definition.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod audio;
mod pdq;
mod text;
mod vpdq;

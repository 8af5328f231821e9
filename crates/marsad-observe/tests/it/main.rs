//! Integration tests for marsad-observe.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod concurrent;
mod grouping;
mod trend;

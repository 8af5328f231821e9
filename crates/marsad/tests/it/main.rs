//! Integration tests: the real `marsad` binary on real files in temporary
//! folders, bad input included. One test crate, modules per area.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod banks;
mod budget;
mod caches;
mod cli;
mod confinement;
mod fingerprints;
mod hash;
mod hygiene;
mod json_shapes;
mod jsonl;
mod observatory;
mod postgres;
mod pytx;
mod queue;
mod readers;
mod report;
mod serve;
mod soundtrack;
mod support;
mod telegram;
mod telegram_bad_input;
mod telegram_kill;
mod telegram_lenient;
mod themes;
mod users;
mod variants;

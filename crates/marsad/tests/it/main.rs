//! Integration tests: the real `marsad` binary on real files in temporary
//! folders, bad input included. One test crate, modules per area.

mod cli;
mod jsonl;
mod support;
mod telegram;
mod telegram_bad_input;
mod telegram_kill;

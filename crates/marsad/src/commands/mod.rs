//! One module per command; each turns parsed flags into library calls and
//! prints the result (text, or JSON with `--json`).

mod bank;
mod demo;
mod hash;
mod ingest;
mod matching;
mod observe;
mod posts;
mod queue;
mod report;
mod serve;
mod stats;
mod text;
mod users;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<ExitCode> {
    crate::store::set_memory(cli.memory);
    match cli.command {
        Command::Init => {
            let info = crate::store::open(&cli.db)?.info();
            if cli.json {
                println!("{}", serde_json::to_string(&info)?);
            } else {
                println!("store ready: {} (schema version {})", info.db, info.schema_version);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(cmd) => ingest::run(&cli.db, &cli.nats, cli.json, cmd),
        Command::Stats => stats::run(&cli.db, cli.json),
        Command::Posts(cmd) => posts::run(&cli.db, cli.json, cmd),
        Command::Hash(cmd) => hash::run(cli.json, cmd),
        Command::Text(cmd) => text::run(cmd),
        Command::Bank(cmd) => bank::run(&cli.db, &cli.nats, cli.json, cmd),
        Command::Match(args) => matching::run(&cli.db, args),
        Command::Matches(args) => matching::list(&cli.db, cli.json, &args),
        Command::Outlets(cmd) => observe::outlets(&cli.db, cli.json, cmd),
        Command::Releases(args) => observe::releases(&cli.db, cli.json, args),
        Command::Analyze(cmd) => observe::analyze(&cli.db, cli.json, cmd),
        Command::Themes(cmd) => observe::themes(&cli.db, cli.json, cmd),
        Command::Report(args) => report::report(&cli.db, cli.json, args),
        Command::Export(args) => report::export(&cli.db, cli.json, args),
        Command::Demo(args) => demo::run(args, cli.json),
        Command::Serve(args) => serve::serve(&cli.db, &cli.nats, cli.memory, args),
        Command::Token(cmd) => serve::token(&cli.db, cli.json, cmd),
        Command::User(cmd) => users::run(&cli.db, cli.json, cmd),
        Command::Audit(args) => serve::audit(&cli.db, cli.json, &args),
        Command::Worker(args) => queue::worker(&cli.db, &cli.nats, cli.memory, args),
        Command::Jobs(args) => queue::jobs(&cli.db, cli.json, args),
    }
}

/// `1 release`, `2 releases`: a count with its noun (plural with an `s`).
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DemoArgs;
use crate::reporter::Bars;

pub fn run(args: DemoArgs, json: bool) -> Result<ExitCode> {
    let out = &args.out;
    let s = marsad_engine::demo::run(out, args.seed, &Bars::new(), &mut || {
        if !json {
            println!("generating a synthetic corpus in {} (seed {}) …", out.display(), args.seed);
        }
    })?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    println!("ingested {} exports into {}", s.ingests.len(), s.db);
    for i in &s.ingests {
        let p = std::path::Path::new(&i.export);
        let rel = p.strip_prefix(out).unwrap_or(p);
        let m = &i.summary;
        println!(
            "  {:<40} {:>6} posts ({} new), {:>4} media ({} new, {} missing), {} service skipped",
            rel.display(),
            m.posts_valid(),
            m.posts_added,
            m.media_added + m.media_missing,
            m.media_added,
            m.media_missing,
            m.service_skipped
        );
    }
    println!();
    println!("sources ({}):", s.sources.len());
    let mut t = crate::table::Table::new(&["", "", "", ""]);
    t.right(2);
    for src in &s.sources {
        t.row(vec![
            src.key.clone(),
            src.name.clone(),
            format!("{} posts", src.posts),
            format!("{} → {}", src.first, src.last),
        ]);
    }
    for l in t.lines().iter().skip(1) {
        println!("  {l}");
    }
    println!();
    let st = &s.stats;
    println!(
        "store: {} sources, {} posts, {} media items, {} fingerprints",
        st.sources, st.posts, st.media, st.fingerprints
    );
    println!(
        "observatory: {} outlets registered; {} releases ({} attributed), {} sightings, {} silences of 24 h or more",
        s.outlets, s.releases, s.official, s.sightings, s.silences
    );
    println!("outlet registry: {}", s.outlets_toml);
    println!("planted truth:   {}", s.truth_json);
    println!();
    println!("report: {}", s.report);
    println!();
    // Commands a newcomer can paste as they are: this binary's own path
    // (it is not on PATH after a cargo build), and the store's.
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| {
            let cwd = std::env::current_dir().ok()?;
            Some(p.strip_prefix(&cwd).map(|r| std::path::Path::new(".").join(r)).unwrap_or(p))
        })
        .map_or_else(|| "marsad".to_owned(), |p| p.display().to_string());
    let me = shell_quote(&me);
    let db = shell_quote(&s.db);
    println!("next: {me} --db {db} releases");
    println!("      {me} --db {db} analyze timeline --bucket week --by outlet");
    println!("      {me} --db {db} analyze silences --min-hours 24");
    Ok(ExitCode::SUCCESS)
}

/// `s` as one shell word: as it is when it holds only safe characters,
/// else in single quotes.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

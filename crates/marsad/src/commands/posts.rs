use std::process::ExitCode;

use anyhow::Result;

use crate::cli::PostsCommand;
use crate::table::shown;

pub fn run(db: &str, json: bool, cmd: PostsCommand) -> Result<ExitCode> {
    let PostsCommand::History { source, post_id } = cmd;
    let h = crate::store::open(db)?.post_history(&source, &post_id)?;
    if json {
        println!("{}", serde_json::to_string(&h)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("post {} of {} posted {}", shown(&h.post_id), shown(&h.source), h.posted_at);
    for (i, v) in h.versions.iter().enumerate() {
        let edited = v.edited_at.map_or_else(|| "original".to_owned(), |t| format!("edited {t}"));
        println!("version {} ({edited}; superseded, recorded {}):", i + 1, v.recorded_at);
        println!("  {}", shown(&v.text));
    }
    let edited = h.edited_at.map_or_else(|| "original".to_owned(), |t| format!("edited {t}"));
    println!("now ({edited}):");
    println!("  {}", shown(&h.text));
    Ok(ExitCode::SUCCESS)
}

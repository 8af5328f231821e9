use std::process::ExitCode;

use anyhow::Result;

pub fn run(db: &str, json: bool) -> Result<ExitCode> {
    let s = crate::store::open(db)?.stats()?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!("store         {db}");
        println!("sources       {:>12}", s.sources);
        println!("posts         {:>12}", s.posts);
        println!("media         {:>12}", s.media);
        println!("fingerprints  {:>12}", s.fingerprints);
    }
    Ok(ExitCode::SUCCESS)
}

use std::process::ExitCode;

use anyhow::Result;
use marsad_store::prelude::*;

pub fn run(db: &str, json: bool) -> Result<ExitCode> {
    let store = crate::store::open(db)?;
    let s = store.stats()?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "sources": s.sources,
                "posts": s.posts,
                "media": s.media,
                "fingerprints": s.fingerprints,
            })
        );
    } else {
        println!("store         {db}");
        println!("sources       {:>12}", s.sources);
        println!("posts         {:>12}", s.posts);
        println!("media         {:>12}", s.media);
        println!("fingerprints  {:>12}", s.fingerprints);
    }
    Ok(ExitCode::SUCCESS)
}

//! Reading stored posts back: a post's text now and its earlier texts.

use marsad_core::{Platform, SourceKey, UtcTime};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result};

/// A post's text and the texts it had before (`marsad posts history`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PostHistory {
    /// The source, `platform:id`.
    pub source: String,
    /// The post's id within the source.
    pub post_id: String,
    /// When it was posted.
    pub posted_at: UtcTime,
    /// Its text now.
    pub text: String,
    /// When that text was last edited, when known.
    pub edited_at: Option<UtcTime>,
    /// Its earlier texts, oldest first.
    pub versions: Vec<PostVersionRow>,
}

/// An earlier text of a post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PostVersionRow {
    /// The text.
    pub text: String,
    /// When that text was last edited (`null` for the original).
    pub edited_at: Option<UtcTime>,
    /// When the store learnt that it was superseded.
    pub recorded_at: UtcTime,
}

/// Parses `platform:id` (`telegram:1000000001`).
pub fn parse_source(s: &str) -> Result<SourceKey> {
    let invalid =
        || EngineError::Invalid(format!("source {s:?}: expected platform:id, e.g. telegram:1000000001"));
    let (platform, id) = s.split_once(':').ok_or_else(invalid)?;
    if id.is_empty() {
        return Err(invalid());
    }
    let platform = Platform::new(platform).map_err(|_| invalid())?;
    Ok(SourceKey { platform, platform_id: id.to_owned() })
}

impl Engine {
    /// The post `post_id` of `source` (`platform:id`) with its earlier
    /// texts; [`EngineError::NotFound`] when it is not stored.
    pub fn post_history(&self, source: &str, post_id: &str) -> Result<PostHistory> {
        let key = parse_source(source)?;
        let store = self.store();
        let not_found = || EngineError::NotFound(format!("no post {post_id} of {key} in the store"));
        let post = store.post(&key, post_id)?.ok_or_else(not_found)?;
        let versions = store.post_versions(&key, post_id)?.ok_or_else(not_found)?;
        Ok(PostHistory {
            source: key.to_string(),
            post_id: post.platform_post_id,
            posted_at: post.posted_at,
            text: post.text,
            edited_at: post.edited_at,
            versions: versions
                .into_iter()
                .map(|v| PostVersionRow { text: v.text, edited_at: v.edited_at, recorded_at: v.recorded_at })
                .collect(),
        })
    }
}

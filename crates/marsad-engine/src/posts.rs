//! Reading stored posts back: a post's text now and its earlier texts.

use marsad_core::{Platform, PostId, SourceKey, UtcTime};
use marsad_store::{PostCursor, PostQuery, StoredMediaRef, StoredPost};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result};

/// A post's text and the texts it had before (`marsad posts history`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostHistory {
    /// The source, `platform:id`.
    pub source: String,
    /// The post's id within the source.
    pub post_id: String,
    /// When it was posted.
    #[schema(value_type = String, format = DateTime)]
    pub posted_at: UtcTime,
    /// Its text now.
    pub text: String,
    /// When that text was last edited, when known.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<UtcTime>,
    /// Its earlier texts, oldest first.
    pub versions: Vec<PostVersionRow>,
}

/// An earlier text of a post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostVersionRow {
    /// The text.
    pub text: String,
    /// When that text was last edited (`null` for the original).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<UtcTime>,
    /// When the store learnt that it was superseded.
    #[schema(value_type = String, format = DateTime)]
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

/// A source and how many of its posts are stored (`GET /api/v1/sources`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SourceRow {
    /// `platform:id`.
    pub source: String,
    /// Its display name.
    pub name: String,
    /// Its kind (`public_channel`, `jsonl`…).
    pub kind: String,
    /// Posts stored.
    pub posts: u64,
}

/// A media reference of a post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MediaRefRow {
    /// `image`, `video`, `audio` or `document`.
    pub kind: String,
    /// The path as the export gave it.
    pub path: String,
    /// The media item's SHA-256 (hex), when the file was read.
    pub sha256: Option<String>,
    /// Why it is missing, when it is.
    pub missing: Option<String>,
}

impl From<&StoredMediaRef> for MediaRefRow {
    fn from(m: &StoredMediaRef) -> Self {
        MediaRefRow {
            kind: m.kind.as_str().to_owned(),
            path: m.path.clone(),
            sha256: m.sha256.map(|s| s.to_hex()),
            missing: m.missing.clone(),
        }
    }
}

/// A stored post (`GET /api/v1/posts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostRow {
    /// The source, `platform:id`.
    pub source: String,
    /// The post's id within the source.
    pub post_id: String,
    /// When it was posted (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub posted_at: UtcTime,
    /// When it was last edited, when known.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<UtcTime>,
    /// Its text.
    pub text: String,
    /// Its link.
    pub url: Option<String>,
    /// Whom it was forwarded from.
    pub forwarded_from: Option<String>,
    /// The post it replies to.
    pub reply_to: Option<String>,
    /// Its media references, in order.
    pub media: Vec<MediaRefRow>,
}

impl From<StoredPost> for PostRow {
    fn from(p: StoredPost) -> Self {
        PostRow {
            source: p.source.to_string(),
            post_id: p.platform_post_id,
            posted_at: p.posted_at,
            edited_at: p.edited_at,
            text: p.text,
            url: p.url,
            forwarded_from: p.forwarded_from,
            reply_to: p.reply_to,
            media: p.media.iter().map(MediaRefRow::from).collect(),
        }
    }
}

/// Which posts to read: parsed by the front end, each value typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostFilter {
    /// Only this source's posts.
    pub source: Option<SourceKey>,
    /// Posted at or after.
    pub from: Option<UtcTime>,
    /// Posted before.
    pub to: Option<UtcTime>,
    /// Full-text query, as typed: normalized here as ingestion normalizes
    /// text, so diacritics, tatweel and hamza forms do not matter; every
    /// word must occur.
    pub text: Option<String>,
    /// Continue after this post (from [`PostsPage::next`]).
    pub after: Option<PostCursor>,
    /// At most this many posts.
    pub limit: usize,
}

/// A page of posts, and where the next one starts (`None`: the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostsPage {
    /// The posts, by time then store order.
    pub items: Vec<PostRow>,
    /// The cursor of the next page.
    pub next: Option<PostCursor>,
}

/// A post cursor as text: `<posted at, µs>.<store id>`.
pub fn format_cursor(c: &PostCursor) -> String {
    format!("{}.{}", c.posted_at.unix_micros(), c.id.0)
}

/// A cursor from [`format_cursor`].
pub fn parse_cursor(text: &str) -> Result<PostCursor> {
    let invalid = || EngineError::Invalid(format!("cursor {text:?} is not one this API gave"));
    let (at, id) = text.split_once('.').ok_or_else(invalid)?;
    let at = at.parse::<i64>().ok().and_then(UtcTime::from_unix_micros).ok_or_else(invalid)?;
    let id = id.parse::<i64>().map_err(|_| invalid())?;
    Ok(PostCursor { posted_at: at, id: PostId(id) })
}

impl Engine {
    /// Every source with its count of posts, by platform and id.
    pub fn sources(&self) -> Result<Vec<SourceRow>> {
        Ok(self
            .store()
            .source_counts()?
            .into_iter()
            .map(|c| SourceRow {
                source: c.source.key.to_string(),
                name: c.source.name,
                kind: c.source.kind,
                posts: c.posts,
            })
            .collect())
    }

    /// One page of the posts `filter` selects. A query left with no word
    /// once normalized (only punctuation or marks) is refused.
    pub fn search_posts(&self, filter: &PostFilter) -> Result<PostsPage> {
        let words: Vec<String> = match &filter.text {
            None => Vec::new(),
            Some(text) => {
                let words: Vec<String> = marsad_hash::text::normalize(text)
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect();
                if words.is_empty() {
                    return Err(EngineError::Invalid(format!(
                        "q {text:?} has no word to search once normalized (only punctuation, marks or spaces)"
                    )));
                }
                words
            }
        };
        let limit = filter.limit.max(1);
        let query = PostQuery {
            source: filter.source.clone(),
            from: filter.from,
            to: filter.to,
            words,
            after: filter.after,
            limit: limit + 1,
        };
        let mut found = self.store().search_posts(&query)?;
        let next = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|f| PostCursor { posted_at: f.post.posted_at, id: f.id })
        } else {
            None
        };
        Ok(PostsPage { items: found.into_iter().map(|f| PostRow::from(f.post)).collect(), next })
    }
}

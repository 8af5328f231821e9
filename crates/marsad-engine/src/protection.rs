//! Reviewer protection: what people who look at the material see by
//! default, and what they chose to see.
//!
//! - Images and video frames are shown as previews made here, small,
//!   greyscale and blurred ([`marsad_media::preview`]): the unblurred bytes
//!   leave the server only when a user reveals one item
//!   ([`Engine::reveal`]), which is audited (`ui.reveal`) and counted
//!   against the user's daily exposure.
//! - The blur is a level from 0 (none) to [`MAX_BLUR`]; each user may
//!   choose theirs, never below the floor the admin sets
//!   ([`DEFAULT_FLOOR`] unless set); [`DEFAULT_BLUR`] until chosen.
//! - Each user's items revealed per UTC day are counted; past the admin's
//!   soft limit ([`DEFAULT_EXPOSURE_LIMIT`] unless set) pages say so.
//!
//! Previews need the media's bytes: a store ingested with
//! `--retain-media` keeps them in its media folder, by SHA-256.

use std::io::Read;
use std::path::PathBuf;

use marsad_core::{MediaKind, Sha256, UtcTime};
use marsad_media::preview::{self, PreviewOptions};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, invalid};

/// The strongest blur.
pub const MAX_BLUR: u8 = 10;
/// A user's blur until chosen.
pub const DEFAULT_BLUR: u8 = 6;
/// The lowest blur a user may choose, until the admin sets it.
pub const DEFAULT_FLOOR: u8 = 3;
/// Items a user may reveal per day before pages warn, until the admin sets it.
pub const DEFAULT_EXPOSURE_LIMIT: u64 = 50;
/// A preview's longest side, in pixels.
pub const PREVIEW_SIDE: u32 = 320;
/// Frames of a video's preview strip.
pub const STRIP_FRAMES: usize = 4;
/// Largest image read for a preview.
const MAX_IMAGE_BYTES: u64 = 64 << 20;

const FLOOR_KEY: &str = "blur_floor";
const LIMIT_KEY: &str = "exposure_limit";

/// The Gaussian's sigma, in preview pixels, of a blur level.
pub fn sigma(level: u8) -> f32 {
    f32::from(level.min(MAX_BLUR)) * 1.8
}

/// What protects one user now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// The blur previews are made with: the user's level, never below the floor.
    pub blur: u8,
    /// The level the user chose, if any.
    pub chosen: Option<u8>,
    /// The lowest level allowed.
    pub floor: u8,
    /// Items the user revealed today (UTC).
    pub exposure_today: u64,
    /// The soft limit of items revealed per day.
    pub exposure_limit: u64,
}

/// One item revealed: its previews unblurred, in colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revealed {
    /// `image` or `video`.
    pub kind: MediaKind,
    /// PNG images: the image, or the video's strip of frames.
    pub images: Vec<Vec<u8>>,
    /// The user's count of items revealed today, this one included.
    pub exposure_today: u64,
}

fn today() -> i64 {
    UtcTime::now().unix_micros().div_euclid(86_400_000_000)
}

impl Engine {
    /// The admin's floor and soft limit.
    fn protection_settings(&self) -> Result<(u8, u64)> {
        let mut floor = DEFAULT_FLOOR;
        let mut limit = DEFAULT_EXPOSURE_LIMIT;
        for (k, v) in self.store().ui_settings()? {
            match k.as_str() {
                FLOOR_KEY => floor = v.clamp(0, i64::from(MAX_BLUR)) as u8,
                LIMIT_KEY => limit = v.max(0) as u64,
                _ => {}
            }
        }
        Ok((floor, limit))
    }

    /// What protects `user` now.
    pub fn protection(&self, user: &str) -> Result<Protection> {
        let (floor, exposure_limit) = self.protection_settings()?;
        let chosen = self.store().user_blur(user)?;
        Ok(Protection {
            blur: chosen.unwrap_or(DEFAULT_BLUR).max(floor).min(MAX_BLUR),
            chosen,
            floor,
            exposure_today: self.store().exposure(user, today())?,
            exposure_limit,
        })
    }

    /// Sets `user`'s blur level (`None`: the default); refused below the
    /// floor or above [`MAX_BLUR`].
    pub fn set_blur(&mut self, user: &str, level: Option<u8>) -> Result<Protection> {
        let (floor, _) = self.protection_settings()?;
        if let Some(l) = level {
            if l > MAX_BLUR {
                return Err(invalid!("blur {l}: the levels are 0 to {MAX_BLUR}"));
            }
            if l < floor {
                return Err(invalid!("blur {l}: the admin's floor is {floor}"));
            }
        }
        if !self.store_mut().set_user_blur(user, level)? {
            return Err(EngineError::NotFound(format!("no user {user:?}")));
        }
        self.audit_now(user, "ui.blur", Some(user), Some(serde_json::json!({ "blur": level }).to_string()))?;
        self.protection(user)
    }

    /// Sets the blur floor and the daily exposure soft limit (admins).
    pub fn set_protection(&mut self, actor: &str, floor: u8, exposure_limit: u64) -> Result<()> {
        if floor > MAX_BLUR {
            return Err(invalid!("floor {floor}: the levels are 0 to {MAX_BLUR}"));
        }
        if exposure_limit > 100_000 {
            return Err(invalid!("exposure limit {exposure_limit}: at most 100000 items a day"));
        }
        self.store_mut().set_ui_setting(FLOOR_KEY, i64::from(floor))?;
        self.store_mut().set_ui_setting(LIMIT_KEY, exposure_limit as i64)?;
        let detail = serde_json::json!({ "blur_floor": floor, "exposure_limit": exposure_limit });
        self.audit_now(actor, "ui.protection", None, Some(detail.to_string()))
    }

    /// The kept bytes of a media item: its kind and file, when the store
    /// retained it (the file is found by its SHA-256 in the media folder,
    /// never by a path read from the store).
    fn retained_media(&self, sha: &Sha256) -> Result<(MediaKind, PathBuf)> {
        let item =
            self.store().media(sha)?.ok_or_else(|| EngineError::NotFound(format!("no media item {sha}")))?;
        let dir = self
            .media_dir()
            .ok_or_else(|| EngineError::NotFound("this store keeps no media files".to_owned()))?;
        let hex = sha.to_hex();
        let path = dir.join(&hex[0..2]).join(&hex[2..4]).join(&hex);
        if item.retained_path.is_none() || !path.is_file() {
            return Err(EngineError::NotFound(format!(
                "media item {sha} was not kept (ingest with --retain-media to see previews)"
            )));
        }
        Ok((item.kind, path))
    }

    /// The previews of a media item at blur `level` (0: unblurred, in
    /// colour): one PNG for an image, a strip of [`STRIP_FRAMES`] for a
    /// video. Audio and documents have none.
    pub fn media_previews(&self, sha: &Sha256, level: u8) -> Result<Vec<Vec<u8>>> {
        let (kind, path) = self.retained_media(sha)?;
        let opts = if level == 0 {
            PreviewOptions::revealed(PREVIEW_SIDE)
        } else {
            PreviewOptions::protected(PREVIEW_SIDE, sigma(level))
        };
        let failed = |e: marsad_media::MediaError| EngineError::Invalid(format!("media item {sha}: {e}"));
        match kind {
            MediaKind::Image => {
                let mut bytes = Vec::new();
                std::fs::File::open(&path)
                    .and_then(|f| f.take(MAX_IMAGE_BYTES + 1).read_to_end(&mut bytes))
                    .map_err(|e| EngineError::io(path.display(), e))?;
                if bytes.len() as u64 > MAX_IMAGE_BYTES {
                    return Err(invalid!(
                        "media item {sha}: larger than {MAX_IMAGE_BYTES} bytes, no preview"
                    ));
                }
                if marsad_hash::digest::Digests::of(&bytes).sha256_hex() != sha.to_hex() {
                    return Err(EngineError::Invalid(format!(
                        "media item {sha}: the kept file's content changed; no preview"
                    )));
                }
                // Tighter than hashing's: a preview is small, and many may be
                // made at once.
                let limits = marsad_hash::image::DecodeLimits {
                    max_pixels: 50_000_000,
                    max_side: 65_535,
                    max_alloc: (256 << 20).min(self.memory().total()),
                };
                Ok(vec![preview::image(&bytes, &opts, &limits).map_err(failed)?])
            }
            MediaKind::Video => preview::video(&path, STRIP_FRAMES, &opts, &self.limits()).map_err(failed),
            other => Err(invalid!("media item {sha} is {}: it has no preview", other.as_str())),
        }
    }

    /// Reveals one item to `user`: its previews unblurred, audited
    /// (`ui.reveal`) and counted in the user's exposure today.
    pub fn reveal(&mut self, user: &str, sha: &Sha256) -> Result<Revealed> {
        let (kind, _) = self.retained_media(sha)?;
        let images = self.media_previews(sha, 0)?;
        let exposure_today = self.store_mut().add_exposure(user, today(), 1)?;
        let detail = serde_json::json!({ "kind": kind.as_str(), "exposure_today": exposure_today });
        self.audit_now(user, "ui.reveal", Some(&format!("media:{sha}")), Some(detail.to_string()))?;
        Ok(Revealed { kind, images, exposure_today })
    }
}

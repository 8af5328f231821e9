//! Media as reviewers see it: blurred, grey previews made on the server
//! (`GET /media/{sha256}/preview/{n}`, at the user's blur level, never
//! below the admin's floor), and one item revealed on request
//! (`POST /media/{sha256}/reveal`, with the session's CSRF token: audited,
//! counted in the user's exposure today, the unblurred previews inlined in
//! the answer so that nothing else fetches them). Audio is never played:
//! the pages name it and offer nothing to start.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use marsad_core::Sha256;
use marsad_engine::protection::STRIP_FRAMES;
use maud::{Markup, html};

use super::catalogue::problem;
use super::{UiUser, error_page, html_response, local_path, page};
use crate::state::AppState;

/// The blurred previews of a media item, with its reveal button, or what
/// stands in for them (`back`: the page to return to).
pub(super) fn previews(user: &UiUser, sha: &str, kind: &str, retained: bool, back: &str) -> Markup {
    let frames = match kind {
        "image" => 1,
        "video" => STRIP_FRAMES,
        "audio" => return html! { p.media-note { "Audio: never played here." } },
        _ => return html! {},
    };
    if !retained {
        return html! { p.media-note { "No preview: the store did not keep this file (ingest with --retain-media)." } };
    }
    let level = user.protection.blur;
    html! {
        figure.preview {
            div.strip {
                @for i in 0..frames {
                    img.blurred src={ "/media/" (sha) "/preview/" (i) "?blur=" (level) } alt={ "blurred preview of " (kind) } width="160" loading="lazy";
                }
            }
            form.inline method="post" action={ "/media/" (sha) "/reveal" } {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="back" value=(back);
                button.reveal type="submit" { (user.t("Reveal")) }
            }
        }
    }
}

fn parse_sha(sha: &str) -> Option<Sha256> {
    (sha.len() == 64).then(|| Sha256::from_hex(sha).ok()).flatten()
}

/// `GET /media/{sha256}/preview/{n}`: frame `n` (0 for an image) blurred
/// at the user's level, as PNG.
pub(super) async fn preview(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Path((sha, n)): Path<(String, String)>,
) -> Response {
    let (Some(sha), Ok(n)) = (parse_sha(&sha), n.parse::<usize>()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&user),
            "not a media item's SHA-256 and frame number",
        );
    };
    let level = user.protection.blur;
    let found = state.with_engine(move |e| Ok(e.media_previews(&sha, level)?)).await;
    match found {
        Ok(mut images) if n < images.len() => {
            let png = images.swap_remove(n);
            let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "image/png")], png).into_response();
            // Private to this browser; the blur level is in the address.
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=600"));
            r
        }
        Ok(_) => error_page(StatusCode::NOT_FOUND, Some(&user), "no such frame"),
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}

/// `POST /media/{sha256}/reveal`: the item unblurred, in colour.
pub(super) async fn reveal(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Path(sha): Path<String>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(sha) = parse_sha(&sha) else {
        return error_page(StatusCode::BAD_REQUEST, Some(&user), "not a media item's SHA-256");
    };
    let back = local_path(form.iter().find(|(k, _)| k == "back").map(|(_, v)| v.as_str()));
    let who = user.name.clone();
    let revealed = or_page!(user, state.with_engine(move |e| Ok(e.reveal(&who, &sha)?)).await);
    let mut user = user;
    user.protection.exposure_today = revealed.exposure_today;
    let body = html! {
        h1 { "Revealed" }
        p.meta { "This view is in the audit log, and counts in your exposure today." }
        figure.revealed {
            div.strip {
                @for png in &revealed.images {
                    img.revealed src={ "data:image/png;base64," (base64::engine::general_purpose::STANDARD.encode(png)) } alt={ "revealed " (revealed.kind.as_str()) };
                }
            }
        }
        p { a href=(back) { "Back, blurred again" } }
    };
    html_response(StatusCode::OK, page("Revealed", Some(&user), body))
}

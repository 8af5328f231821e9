//! The catalogue's pages: releases with the CLI's filters, and posts with
//! full-text search over the normalized text. Both read through the same
//! functions as the API's lists ([`crate::api::catalogue`]), so a filter
//! means the same in the page, the API and the CLI.

use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use marsad_engine::observatory::ReleaseOrder;
use maud::{Markup, html};

use super::{UiUser, html_response, page};
use crate::api::Params;
use crate::api::catalogue::{POST_PARAMS, RELEASE_PARAMS, post_page, release_page};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The query's pairs without the empty ones (a form sends every field)
/// and without `lang`, which every page takes ([`super::messages`]).
pub(super) fn given(q: Q) -> Result<Vec<(String, String)>, String> {
    match q {
        Ok(Query(pairs)) => {
            Ok(pairs.into_iter().filter(|(k, v)| !v.trim().is_empty() && k != "lang").collect())
        }
        Err(e) => Err(format!("query string: {e}")),
    }
}

pub(super) fn value<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// The link to the next page: this query with `cursor` replaced.
pub(super) fn next_link(path: &str, pairs: &[(String, String)], cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "cursor") {
        query.append_pair(k, v);
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}

/// A parameter's problem, as the page shows it.
pub(super) fn problem(e: &ApiError) -> String {
    e.body()["message"].as_str().map_or_else(|| e.body().to_string(), str::to_owned)
}

/// The non-empty parameters, checked against those the list takes.
pub(super) fn checked(pairs: &[(String, String)], allowed: &[&str]) -> Result<Params, ApiError> {
    Params::new(Ok(Query(pairs.to_vec())), allowed)
}

/// A list page: its filters, then the list, or the problem the API would
/// answer for these parameters (with its status).
pub(super) fn list_page(
    title: &str,
    user: &UiUser,
    form: Markup,
    list: Result<Markup, ApiError>,
) -> Response {
    let (status, body) = match list {
        Ok(list) => (StatusCode::OK, list),
        Err(e) => (e.status, html! { p.error role="alert" { (problem(&e)) } }),
    };
    html_response(status, page(title, Some(user), html! { h1 { (title) } (form) (body) }))
}

pub(super) fn filter_field(label: &str, name: &str, current: &str, placeholder: &str) -> Markup {
    html! {
        label {
            span { (label) }
            input type="text" name=(name) value=(current) placeholder=(placeholder);
        }
    }
}

/// The form of the releases' filters (the CLI's): period, format, outlet,
/// official only; the catalogue's and the dashboard's.
pub(super) fn release_filters(
    user: &UiUser,
    action: &str,
    pairs: &[(String, String)],
    button: &str,
    sort: bool,
) -> Markup {
    let chosen = value(pairs, "sort");
    html! {
        form.filters method="get" action=(action) {
            (filter_field(user.t("From"), "from", value(pairs, "from"), "2017-01-01"))
            (filter_field(user.t("To"), "to", value(pairs, "to"), "2018-01-01"))
            (filter_field(user.t("Format"), "format", value(pairs, "format"), "video,-text"))
            (filter_field(user.t("Outlet"), "outlet", value(pairs, "outlet"), "an outlet's name"))
            label.check {
                input type="checkbox" name="official_only" value="true" checked[value(pairs, "official_only") == "true"];
                span { (user.t("Official only")) }
            }
            @if sort {
                label {
                    span { (user.t("Sort")) }
                    select name="sort" {
                        @for o in ReleaseOrder::ALL {
                            option value=(o.as_str()) selected[chosen == o.as_str()] { (user.t(sort_label(o))) }
                        }
                    }
                }
            }
            button type="submit" { (button) }
        }
    }
}

/// How the catalogue's sort menu names an order.
fn sort_label(o: ReleaseOrder) -> &'static str {
    match o {
        ReleaseOrder::FirstSeen => "Oldest first",
        ReleaseOrder::Newest => "Newest first",
        ReleaseOrder::LastSeen => "Seen again lately",
        ReleaseOrder::Sightings => "Most sightings",
    }
}

/// `GET /releases`: the releases the CLI's filters select, in the order
/// chosen (oldest first unless `sort` says otherwise), a page at a time.
pub(super) async fn releases(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let form = release_filters(&user, "/releases", &pairs, user.t("Filter"), true);
    let found = match checked(&pairs, RELEASE_PARAMS) {
        Ok(params) => release_page(&state, &params).await,
        Err(e) => Err(e),
    };
    let list = found.map(|(rows, next)| {
            html! {
                @if rows.is_empty() { p.empty { "No release matches these filters." } }
                @else {
                    table.list {
                        thead { tr { th { (user.t("Release")) } th { (user.t("First seen")) } th { (user.t("Last seen")) } th { (user.t("Format")) } th { (user.t("Outlet")) } th.n { (user.t("Sightings")) } th.n { (user.t("Channels")) } th { (user.t("Language")) } } }
                        tbody {
                            @for r in &rows {
                                tr {
                                    td { a href={ "/releases/" (r.id.0) } { (r.id.0) } }
                                    td { time { (r.first_seen) } }
                                    td { time { (r.last_seen) } }
                                    td { (r.format.as_str()) }
                                    td { @if let Some(o) = &r.outlet { (super::release::outlet_link(o)) } @else { "—" } }
                                    td.n { (r.sightings) }
                                    td.n { (r.channels) }
                                    td { (r.language.as_deref().unwrap_or("—")) }
                                }
                            }
                        }
                    }
                }
                @if let Some(c) = next { p.more { a rel="next" href=(next_link("/releases", &pairs, &c)) { "Next page" } } }
            }
    });
    list_page(user.t("Releases"), &user, form, list)
}

/// `GET /posts`: posts by source and time, and full-text search (Arabic
/// found whatever its diacritics, hamza forms or tatweel: the store
/// searches the normalized text).
pub(super) async fn posts(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let form = html! {
        form.filters method="get" action="/posts" {
            label.wide {
                span { (user.t("Words")) }
                input type="search" name="q" value=(value(&pairs, "q")) dir="auto" placeholder="words of the text";
            }
            (filter_field(user.t("Source"), "source", value(&pairs, "source"), "telegram:1001234567"))
            (filter_field(user.t("From"), "from", value(&pairs, "from"), "2017-01-01"))
            (filter_field(user.t("To"), "to", value(&pairs, "to"), "2018-01-01"))
            button type="submit" { (user.t("Search")) }
        }
    };
    let found = match checked(&pairs, POST_PARAMS) {
        Ok(params) => post_page(&state, &params).await,
        Err(e) => Err(e),
    };
    let list = found.map(|page_of| {
            html! {
                @if page_of.items.is_empty() { p.empty { "No post matches." } }
                @else {
                    table.list {
                        thead { tr { th { (user.t("Source")) } th { "Post" } th { (user.t("Posted")) } th { "Text" } th.n { "Media" } } }
                        tbody {
                            @for p in &page_of.items {
                                tr {
                                    td { (super::release::source_link(&p.source)) }
                                    td { (p.post_id) }
                                    td { time { (p.posted_at.to_rfc3339()) } }
                                    td.text { (super::release::user_text(&p.text)) }
                                    td.n { (p.media.len()) }
                                }
                            }
                        }
                    }
                }
                @if let Some(c) = &page_of.next_cursor { p.more { a rel="next" href=(next_link("/posts", &pairs, c)) { "Next page" } } }
            }
    });
    list_page(user.t("Posts"), &user, form, list)
}

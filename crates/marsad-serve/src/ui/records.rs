//! The pages of what the store holds besides releases: sources, banks and
//! their entries, stored matches, ingest jobs and (for admins) the audit
//! log.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use marsad_engine::banks::EntryQuery;
use marsad_engine::matching::MatchedThing;
use marsad_store::Role;
use maud::{Markup, html};

use super::catalogue::{Q, checked, filter_field, given, list_page, next_link, value};
use super::release::source_link;
use super::{UiUser, html_response, page};
use crate::api::{bad_param, param_error};
use crate::state::AppState;

/// A link to a bank's page.
pub(super) fn bank_link(name: &str) -> Markup {
    html! { a href={ "/banks/" (super::path_segment(name)) } { bdi { (name) } } }
}

/// `GET /sources`.
pub(super) async fn sources(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
) -> Response {
    let rows = or_page!(user, state.with_engine(|e| Ok(e.sources()?)).await);
    let body = html! {
        h1 { (user.t("Sources")) }
        @if rows.is_empty() { p.empty { "No source yet: ingest an export first." } } @else {
            table.list {
                thead { tr { th { (user.t("Source")) } th { (user.t("Name")) } th { "Kind" } th.n { (user.t("Posts")) } } }
                tbody {
                    @for s in &rows {
                        tr { td { (source_link(&s.source)) } td dir="auto" { (s.name) } td { (s.kind) } td.n { (s.posts) } }
                    }
                }
            }
        }
    };
    html_response(StatusCode::OK, page(user.t("Sources"), Some(&user), body))
}

/// `GET /banks`.
pub(super) async fn banks(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
) -> Response {
    let rows = or_page!(user, state.with_engine(|e| Ok(e.banks()?)).await);
    let body = html! {
        h1 { (user.t("Banks")) }
        @if user.role >= Role::Moderator { (super::uploads::import_form(&user, None)) }
        @if rows.is_empty() { p.empty { "No bank yet: import a bank file here, or marsad bank import NAME FILE --create, or POST /c/banks." } } @else {
            table.list {
                thead { tr { th { (user.t("Bank")) } th { "HMA name" } th { "Created" } th { "Entries" } th.n { "In all" } } }
                tbody {
                    @for b in &rows {
                        tr {
                            td { (bank_link(&b.name)) }
                            td { code { (b.hma_name) } }
                            td { time { (b.created_at) } }
                            td { @for (t, n) in &b.entries { span.tag { (t) " " (n) } " " } }
                            td.n { (b.total) }
                        }
                    }
                }
            }
        }
    };
    html_response(StatusCode::OK, page(user.t("Banks"), Some(&user), body))
}

/// `GET /banks/{name}`: its settings, and its entries a page at a time,
/// by signal type or by value.
pub(super) async fn bank(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Path(name): Path<String>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let parsed = checked(&pairs, &["type", "value", "cursor", "limit"]).and_then(|p| {
        let signal_type = p
            .one("type")?
            .map(|t| {
                marsad_core::SignalType::parse(t)
                    .ok_or_else(|| bad_param("type", format!("{t:?} is not a signal type")))
            })
            .transpose()?;
        let after = p
            .one("cursor")?
            .map(|c| {
                c.parse::<i64>()
                    .map_err(|_| bad_param("cursor", format!("{c:?} is not a cursor this list gave")))
            })
            .transpose()?;
        let value = p.one("value")?.map(str::to_owned);
        if value.as_ref().is_some_and(|v| v.len() > 1 << 20) {
            return Err(bad_param("value", "longer than 1 MiB"));
        }
        Ok(EntryQuery { signal_type, value, after, limit: p.limit()? as u64 })
    });
    let query = or_page!(user, parsed);
    let who = name.clone();
    let found = state.with_engine(move |e| Ok((e.bank(&who)?, e.bank_entries(&who, &query)?))).await;
    let (detail, (entries, next)) = or_page!(user, found);
    let path = format!("/banks/{}", super::path_segment(&detail.name));
    let form = html! {
        form.filters method="get" action=(path) {
            (filter_field("Signal type", "type", value(&pairs, "type"), "pdq"))
            label.wide { span { "Value" } input type="search" name="value" value=(value(&pairs, "value")) placeholder="a hash, exactly"; }
            button type="submit" { (user.t("Search")) }
        }
    };
    let list = html! {
        dl.facts {
            dt { "HMA name" } dd { code { (detail.hma_name) } }
            dt { "Created" } dd { time { (detail.created_at) } }
            dt { "Entries" } dd { (detail.total) @for (t, n) in &detail.entries { " · " (t) " " (n) } }
            dt { "Matching" } dd { (format!("{:.0} %", detail.enabled_ratio * 100.0)) " of content" }
            dt { "PDQ distance" } dd { @if let Some(d) = detail.pdq_threshold { (d) } @else { "the server's" } }
        }
        (super::uploads::export_links(&user, &detail.name, &detail.entries.keys().copied().collect::<Vec<_>>()))
        @if user.role >= Role::Moderator { details { summary { (user.t("Import into this bank")) } (super::uploads::import_form(&user, Some(&detail.name))) } }
        @if entries.is_empty() { p.empty { "No entry matches." } } @else {
            table.list {
                thead { tr { th.n { "Entry" } th { "Signal" } th { "Value" } th { "Labels" } th { "Added" } } }
                tbody {
                    @for e in &entries {
                        tr {
                            td.n { (e.id) }
                            td { (e.signal_type) }
                            td { code.hash { (e.value.chars().take(80).collect::<String>()) @if e.value.chars().count() > 80 { "…" } } }
                            td { @for (k, v) in &e.labels { span.tag { (k) "=" bdi { (v) } } " " } }
                            td { time { (e.added_at) } }
                        }
                    }
                }
            }
        }
        @if let Some(n) = next { p.more { a rel="next" href=(next_link(&path, &pairs, &n.to_string())) { "Next page" } } }
    };
    list_page(&detail.name, &user, form, Ok(list))
}

/// `GET /matches`: the matches stored at ingest and rescan, by bank or
/// source.
pub(super) async fn matches(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let form = html! {
        form.filters method="get" action="/matches" {
            (filter_field(user.t("Bank"), "bank", value(&pairs, "bank"), "a bank's name"))
            (filter_field(user.t("Source"), "source", value(&pairs, "source"), "telegram:1001234567"))
            button type="submit" { (user.t("Filter")) }
        }
    };
    let lang = user.lang;
    let st = state.clone();
    let list = async move {
        let params = checked(&pairs, &["bank", "source", "limit", "cursor"])?;
        params.limit()?;
        let bank = params.one("bank")?.map(str::to_owned);
        let source = params
            .one("source")?
            .map(|s| marsad_engine::posts::parse_source(s).map_err(|e| param_error("source", e)))
            .transpose()?;
        let rows = st.with_engine(move |e| Ok(e.stored_matches_of(bank.as_deref(), source.as_ref())?)).await?;
        let (rows, next) = crate::api::paginate(rows, &params)?;
        Ok(html! {
            @if rows.is_empty() { p.empty { "No match." } } @else {
                table.list {
                    thead { tr { th { "Found" } th { (lang.t("Bank")) } th { "Signal" } th.n { "Distance" } th { "What matched" } th { "Labels" } } }
                    tbody {
                        @for m in &rows {
                            tr {
                                td { time { (m.matched_at) } }
                                td { (bank_link(&m.bank)) }
                                td { (m.signal_type) }
                                td.n { (serde_json::to_string(&m.distance).unwrap_or_default()) }
                                td {
                                    @match &m.item {
                                        MatchedThing::Media { media, posts } => {
                                            "media " code.hash { (media.chars().take(16).collect::<String>()) "…" }
                                            @for p in posts { br; (source_link(&p.source)) " · " (p.post_id) }
                                        }
                                        MatchedThing::Post { post } => { "text of " (source_link(&post.source)) " · " (post.post_id) }
                                    }
                                }
                                td { @for (k, v) in &m.labels { span.tag { (k) "=" bdi { (v) } } " " } }
                            }
                        }
                    }
                }
            }
            @if let Some(c) = next { p.more { a rel="next" href=(next_link("/matches", &pairs, &c)) { "Next page" } } }
        })
    }
    .await;
    list_page(user.t("Matches"), &user, form, list)
}

/// `GET /jobs`: ingest jobs, newest first, with their progress.
pub(super) async fn jobs(State(state): State<Arc<AppState>>, Extension(user): Extension<UiUser>) -> Response {
    let rows = or_page!(user, state.with_engine(|e| Ok(e.jobs(100)?)).await);
    let body = html! {
        h1 { "Ingest jobs" }
        p.meta { "An export uploaded here or with POST /api/v1/jobs (a .zip, .tar or .tar.gz of a Telegram Desktop export folder, or a JSON lines file) is ingested in the background, one job at a time; its progress shows here (reload the page)." }
        @if user.role >= Role::Analyst { (super::uploads::job_form(&user)) }
        @if rows.is_empty() { p.empty { "No job yet." } } @else {
            table.list {
                thead { tr { th.n { "Job" } th { "Status" } th { "File" } th.n { "Bytes" } th { "Sent by" } th { "Accepted" } th { "Finished" } th { "Progress or outcome" } } }
                tbody {
                    @for j in &rows {
                        tr id={ "job-" (j.id) } {
                            td.n { (j.id) }
                            td { span class={ "status " (j.status) } { (j.status) } }
                            td dir="auto" { (j.file_name) }
                            td.n { (j.bytes) }
                            td { bdi { (j.created_by) } }
                            td { time { (j.created) } }
                            td { @if let Some(f) = &j.finished { time { (f) } } @else { "—" } }
                            td {
                                @if let Some(e) = &j.error { span.error { (e) } }
                                @else if let Some(s) = &j.summary { code { (compact(s)) } }
                                @else if let Some(p) = &j.progress { code { (compact(p)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    html_response(StatusCode::OK, page(user.t("Jobs"), Some(&user), body))
}

/// A JSON object's top-level numbers and strings, `key value` each.
fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(_, v)| v.is_number() || v.is_string())
            .map(|(k, v)| format!("{k} {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect::<Vec<_>>()
            .join(" · "),
        other => other.to_string(),
    }
}

/// `GET /audit` (admins): the newest events, since a time.
pub(super) async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let form = html! {
        form.filters method="get" action="/audit" {
            (filter_field("Since", "since", value(&pairs, "since"), "2026-01-01"))
            (filter_field("Actor", "actor", value(&pairs, "actor"), "a user or token"))
            (filter_field("Action", "action", value(&pairs, "action"), "ui.reveal"))
            button type="submit" { (user.t("Filter")) }
        }
    };
    let st = state.clone();
    let list = async move {
        let params = checked(&pairs, &["since", "actor", "action", "limit"])?;
        let since = params.time("since")?;
        let limit = params.limit()?;
        let actor = params.one("actor")?.map(str::to_owned);
        let action = params.one("action")?.map(str::to_owned);
        let mut rows = st.with_engine(move |e| Ok(e.audit(since, Some(10_000))?)).await?;
        rows.retain(|r| {
            actor.as_ref().is_none_or(|a| &r.actor == a) && action.as_ref().is_none_or(|a| r.action.starts_with(a.as_str()))
        });
        rows.reverse();
        rows.truncate(limit);
        Ok::<_, crate::error::ApiError>(html! {
            @if rows.is_empty() { p.empty { "No event." } } @else {
                table.list {
                    thead { tr { th.n { "#" } th { "When" } th { "Who" } th { "What" } th { "On" } th.n { "Status" } th { "Detail" } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td.n { (r.id) }
                                td { time { (r.at) } }
                                td { bdi { (r.actor) } }
                                td { code { (r.action) } }
                                td { bdi { (r.target.as_deref().unwrap_or("")) } }
                                td.n { @if let Some(s) = r.status { (s) } }
                                td { @if let Some(d) = &r.detail { code { (d.to_string()) } } }
                            }
                        }
                    }
                }
            }
        })
    }
    .await;
    list_page(user.t("Audit log"), &user, form, list)
}

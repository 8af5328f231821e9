//! The moderators' review queue: matches found at ingest and releases
//! attributed to no outlet, decided one at a time or in bulk (confirm,
//! reject, escalate) with a note; a confirmation may add the items' hashes
//! to a bank; every decision can be undone, latest first. The decisions
//! are the API's (`/api/v1/decisions`), webhook included.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use marsad_engine::matching::MatchedThing;
use marsad_engine::review::{DecisionRequest, DecisionView, QueueItemView, parse_target};
use marsad_store::Verdict;
use maud::{Markup, html};

use super::catalogue::{Q, checked, given, next_link, problem};
use super::records::bank_link;
use super::release::{outlet_link, source_link};
use super::{UiUser, error_page, html_response, page, see_other};
use crate::api::review::{decide_as, queue_state, undo_as};
use crate::state::AppState;

/// Items shown per page.
const PAGE: u64 = 50;

fn verdict_buttons(user: &UiUser, name: &str, item: Option<&str>) -> Markup {
    let v = |verdict: &str| item.map_or_else(|| verdict.to_owned(), |i| format!("{verdict}|{i}"));
    html! {
        span.verdicts {
            button.confirm type="submit" name=(name) value=(v("confirm")) { (user.t("Confirm")) }
            button.reject type="submit" name=(name) value=(v("reject")) { (user.t("Reject")) }
            button.escalate type="submit" name=(name) value=(v("escalate")) { (user.t("Escalate")) }
        }
    }
}

fn item_markup(user: &UiUser, i: &QueueItemView) -> Markup {
    let key = format!("{}:{}", i.kind, i.id);
    html! {
        article.item {
            header {
                label.check { input type="checkbox" name="item" value=(key); span { (i.kind) " " (i.id) } }
                " · since " time { (i.since) }
                @if let Some(d) = &i.decision {
                    " · " span.status.escalated { "escalated by " bdi { (d.actor) } }
                    @if let Some(n) = &d.note { ": " span dir="auto" { (n) } }
                }
            }
            @if let Some(m) = &i.r#match {
                p {
                    "Matched entry of " (bank_link(&m.bank)) " by " code { (m.signal_type) }
                    ", distance " (serde_json::to_string(&m.distance).unwrap_or_default())
                    @for (k, v) in &m.labels { " " span.tag { (k) "=" bdi { (v) } } }
                }
                @match &m.item {
                    MatchedThing::Media { media, posts } => {
                        p { "Media item " code.hash { (media) } }
                        @if let Some(q) = &i.media { (super::media::previews(user, &q.sha256, &q.kind, q.retained, "/review")) }
                        ul { @for p in posts { li { (source_link(&p.source)) " · post " (p.post_id) " · " time { (p.posted_at) } } } }
                    }
                    MatchedThing::Post { post } => {
                        p { "The text of " (source_link(&post.source)) " · post " (post.post_id) " · " time { (post.posted_at) } }
                    }
                }
            }
            @if let Some(r) = &i.release {
                p {
                    a href={ "/releases/" (r.id.0) } { "Release " (r.id.0) } ": " (r.format.as_str()) ", "
                    (r.sightings) " sighting" @if r.sightings != 1 { "s" } " in " (r.channels) " channel" @if r.channels != 1 { "s" }
                    ", first seen " time { (r.first_seen) } "; no outlet"
                    @if let Some(o) = &r.outlet { " (" (outlet_link(o)) ")" }
                }
            }
            (verdict_buttons(user, "one", Some(&key)))
        }
    }
}

fn decision_row(d: &DecisionView, csrf: &str) -> Markup {
    html! {
        tr {
            td.n { (d.id) }
            td { time { (d.at) } }
            td { bdi { (d.actor) } }
            td { span class={ "verdict " (d.verdict) } { (d.verdict) } }
            td { @if d.kind == "release" { a href={ "/releases/" (d.target) } { "release " (d.target) } } @else { "match " (d.target) } }
            td dir="auto" { (d.note.as_deref().unwrap_or("")) }
            td { @if let Some(b) = &d.bank { (bank_link(b)) } }
            td {
                @if let Some(at) = &d.undone_at {
                    "undone " time { (at) } " by " bdi { (d.undone_by.as_deref().unwrap_or("")) }
                } @else {
                    form.inline method="post" action="/review/undo" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="decision" value=(d.id);
                        button.undo type="submit" { "Undo" }
                    }
                }
            }
        }
    }
}

/// `GET /review`: the queue (open or escalated), a page at a time, and the
/// latest decisions with their undo.
pub(super) async fn queue(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let parsed = checked(&pairs, &["state", "cursor", "decided"]).and_then(|p| {
        Ok((
            queue_state(p.one("state")?)?,
            p.one("cursor")?.map(str::to_owned),
            p.one("decided")?.map(str::to_owned),
        ))
    });
    let (which, cursor, decided) = or_page!(user, parsed);
    let found = state
        .with_engine(move |e| {
            let page = e
                .review_queue(which, cursor.as_deref(), PAGE)
                .map_err(|e| crate::api::param_error("cursor", e))?;
            Ok((page, e.banks()?, e.latest_decisions(20)?))
        })
        .await;
    let (queue, banks, latest) = or_page!(user, found);
    let escalated = which == marsad_store::QueueState::Escalated;
    let body = html! {
        h1 { (user.t("Review queue")) }
        nav.tabs {
            a href="/review" aria-current=[(!escalated).then_some("page")] { "Open (" (queue.open) ")" }
            a href="/review?state=escalated" aria-current=[escalated.then_some("page")] { "Escalated (" (queue.escalated) ")" }
        }
        @if let Some(ids) = &decided { p.notice role="status" { "Decided: " (ids) ". Undo any of them below." } }
        @if queue.items.is_empty() {
            p.empty { @if escalated { "Nothing escalated." } @else { "Nothing waits for a decision." } }
        } @else {
            form.review method="post" action="/review/decide" {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="state" value=(if escalated { "escalated" } else { "open" });
                div.bulk {
                    label.wide { span { (user.t("Note")) } input type="text" name="note" maxlength="4096" dir="auto" placeholder="why (kept with the decision)"; }
                    label {
                        span { "On confirm, add the hashes to" }
                        select name="bank" {
                            option value="" { "no bank" }
                            @for b in &banks { option value=(b.name) { (b.name) } }
                        }
                    }
                    span { "Selected: " } (verdict_buttons(&user, "verdict", None))
                }
                @for i in &queue.items { (item_markup(&user, i)) }
            }
            @if let Some(c) = &queue.next_cursor { p.more { a rel="next" href=(next_link("/review", &pairs, c)) { "Next page" } } }
        }
        h2 { (user.t("Latest decisions")) }
        @if latest.is_empty() { p.empty { "None yet." } } @else {
            table.list {
                thead { tr { th.n { "#" } th { "When" } th { "Who" } th { (user.t("Decision")) } th { "Item" } th { (user.t("Note")) } th { (user.t("Bank")) } th { "" } } }
                tbody { @for d in &latest { (decision_row(d, &user.csrf)) } }
            }
        }
    };
    html_response(StatusCode::OK, page(user.t("Review queue"), Some(&user), body))
}

/// `POST /review/decide`: one item (`one=verdict|kind:id`) or the items
/// ticked (`item=kind:id`, repeated, with `verdict`), with the note and the
/// bank.
pub(super) async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let back = if field("state") == Some("escalated") { "/review?state=escalated" } else { "/review" };
    let (verdict, targets) = match field("one") {
        Some(one) => match one.split_once('|') {
            Some((v, item)) => (v.to_owned(), vec![item.to_owned()]),
            None => (String::new(), Vec::new()),
        },
        None => (
            field("verdict").unwrap_or_default().to_owned(),
            form.iter().filter(|(k, _)| k == "item").map(|(_, v)| v.clone()).collect(),
        ),
    };
    let Some(verdict) = Verdict::parse(&verdict) else {
        return error_page(StatusCode::BAD_REQUEST, Some(&user), "Choose confirm, reject or escalate.");
    };
    if targets.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&user),
            "No item chosen: tick one or more, or use an item's own buttons.",
        );
    }
    let targets = match targets.iter().map(|t| parse_target(t)).collect::<Result<Vec<_>, _>>() {
        Ok(t) => t,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, Some(&user), &e.to_string()),
    };
    let bank = field("bank").filter(|b| !b.is_empty() && verdict == Verdict::Confirm).map(str::to_owned);
    let req = DecisionRequest { targets, verdict, note: field("note").map(str::to_owned), bank };
    match decide_as(&state, user.name.clone(), req).await {
        Ok(made) => {
            let ids: Vec<String> = made.iter().map(|d| d.id.to_string()).collect();
            let sep = if back.contains('?') { '&' } else { '?' };
            see_other(&format!("{back}{sep}decided={}", ids.join(",")))
        }
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}

/// `POST /review/undo`: `decision=ID`.
pub(super) async fn undo(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let id = form.iter().find(|(k, _)| k == "decision").and_then(|(_, v)| v.parse::<i64>().ok());
    let Some(id) = id else {
        return error_page(StatusCode::BAD_REQUEST, Some(&user), "No decision to undo.");
    };
    match undo_as(&state, user.name.clone(), id).await {
        Ok(_) => see_other("/review"),
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}

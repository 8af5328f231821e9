//! A release's page, and the outlets' pages.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use marsad_core::{Evidence, ReleaseId};
use marsad_engine::observatory::{Analysis, Query as Analytics, analyze};
use marsad_engine::report::ReportRequest;
use maud::{Markup, PreEscaped, html};

use super::catalogue::{Q, checked, given, problem, value};
use super::{UiUser, error_page, html_response, page};
use crate::state::AppState;

/// Characters of a text shown before the rest is folded away.
pub(super) const FOLDED: usize = 280;

/// A user's text: isolated, its direction its own, a long one collapsed.
pub(super) fn user_text(text: &str) -> Markup {
    let shown: String = text.chars().take(FOLDED).collect();
    html! {
        @if shown.len() < text.len() {
            details.text dir="auto" { summary { (shown) "…" } (text) }
        } @else {
            div.text dir="auto" { (text) }
        }
    }
}

/// A link to a source's posts.
pub(super) fn source_link(source: &str) -> Markup {
    let q: String = form_urlencoded::byte_serialize(source.as_bytes()).collect();
    html! { a href={ "/posts?source=" (q) } { bdi { (source) } } }
}

/// A link to an outlet's page.
pub(super) fn outlet_link(name: &str) -> Markup {
    html! { a href={ "/outlets/" (super::path_segment(name)) } { bdi { (name) } } }
}

/// Why the release is attributed as it is.
fn evidence(e: &Evidence) -> Markup {
    match e {
        Evidence::Channel { channel, post_id, posted_at } => html! {
            "Its earliest sighting is in the outlet's registered channel " (source_link(&channel.to_string()))
            " (post " (post_id) ", " time { (posted_at.to_rfc3339()) } ")."
        },
        Evidence::BankLabel { bank, entry_id, label, value } => html! {
            "An item matched entry " (entry_id.0) " of bank " bdi { (bank) } ", whose label "
            code { (label) } " names the outlet: " bdi { (value) } "."
        },
        Evidence::Text { channel, post_id, name } => html! {
            "The outlet's name " q { bdi { (name) } } " occurs in post " (post_id) " of " (source_link(&channel.to_string())) "."
        },
        Evidence::None => html! { "Nothing attributes it to a registered outlet." },
    }
}

/// `GET /releases/{id}`.
pub(super) async fn release(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&user),
            &format!("{id:?} is not a release id (an integer)."),
        );
    };
    let (who, coder) = (user.name.clone(), user.role >= marsad_store::Role::Analyst);
    let found = state
        .with_engine(move |e| {
            Ok((e.release(ReleaseId(id))?, e.taxonomy()?, e.release_codes(&who, coder, id)?))
        })
        .await;
    let (detail, taxonomy, codes) = or_page!(user, found);
    let r = &detail.release;
    let title = format!("Release {}", r.id.0);
    let body = html! {
        h1 { (title) }
        dl.facts {
            dt { (user.t("Format")) } dd { (r.format.as_str()) }
            dt { (user.t("Outlet")) } dd { @if let Some(o) = &r.outlet { (outlet_link(o)) } @else { "—" } }
            dt { (user.t("First seen")) } dd { time { (r.first_seen) } }
            dt { (user.t("Last seen")) } dd { time { (r.last_seen) } }
            dt { (user.t("Sightings")) } dd { (r.sightings) " in " (r.channels) " channel" @if r.channels != 1 { "s" } }
            dt { (user.t("Language")) } dd { (r.language.as_deref().unwrap_or("—")) }
        }
        h2 { (user.t("Attribution")) }
        p.evidence { (evidence(&r.evidence)) }
        h2 { (user.t("Sightings")) }
        table.list {
            thead { tr { th { (user.t("Channel")) } th { (user.t("Posted")) } th { "Post" } th.n { (user.t("Posts")) } } }
            tbody {
                @for s in &detail.sightings {
                    tr { td { (source_link(&s.source)) } td { time { (s.posted_at) } } td { (s.post_id) } td.n { (s.posts) } }
                }
            }
        }
        h2 { (user.t("What joined them")) }
        @if detail.links.is_empty() {
            p.empty { "One post: nothing to join." }
        } @else {
            table.list.links {
                thead { tr { th { "Post" } th { "Joined through" } th { "Rule" } th { "What it saw" } } }
                tbody {
                    @for l in &detail.links {
                        tr {
                            td { bdi { (l.to.source) } " · " (l.to.post_id) }
                            td { bdi { (l.from.source) } " · " (l.from.post_id) }
                            td { code { (l.rule) } }
                            td { (l.detail) }
                        }
                    }
                }
            }
        }
        h2 { (user.t("Posts")) }
        @for p in &detail.posts {
            article.post {
                header { (source_link(&p.source)) " · post " (p.post_id) " · " time { (p.posted_at) } }
                @if !p.text.is_empty() { (user_text(&p.text)) }
                @for m in &p.media {
                    div.media {
                        (super::media::previews(&user, &m.sha256, &m.kind, m.retained, &format!("/releases/{}", r.id.0)))
                        span.kind { (m.kind) } " "
                        code.hash title="SHA-256" { (m.sha256) }
                        ul.fingerprints {
                            @for f in &m.fingerprints {
                                li {
                                    code { (f.signal_type) @if let Some(v) = &f.variant { " (" (v) ")" } } " "
                                    code.hash { (f.value.chars().take(80).collect::<String>()) @if f.value.chars().count() > 80 { "…" } }
                                    @if let Some(q) = f.quality { " quality " (q) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (user.t("Themes")) }
        (themes_section(&user, r.id.0, &taxonomy, &codes))
        h2 { (user.t("Matches")) }
        @if detail.matches.is_empty() {
            p.empty { "No bank entry matched its posts or media." }
        } @else {
            table.list {
                thead { tr { th { (user.t("Bank")) } th.n { "Entry" } th { "Signal" } th { "Value" } th { "Labels" } } }
                tbody {
                    @for m in &detail.matches {
                        tr {
                            td { (super::records::bank_link(&m.bank)) }
                            td.n { (m.entry) }
                            td { (m.signal_type) }
                            td { code.hash { (m.value.chars().take(64).collect::<String>()) } }
                            td { @for (k, v) in &m.labels { span.tag { (k) "=" bdi { (v) } } " " } }
                        }
                    }
                }
            }
        }
    };
    html_response(StatusCode::OK, page(&title, Some(&user), body))
}

/// `GET /outlets`: the registry, with each outlet's releases and whether
/// it has gone silent.
pub(super) async fn outlets(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
) -> Response {
    let found = state
        .with_engine(|e| {
            let req = ReportRequest::new(
                String::new(),
                marsad_engine::analytics::Filter::default(),
                24.0,
                30.0,
                30.0,
            )?;
            Ok((e.outlets()?, e.report_data(&req)?.0.outlet_rows))
        })
        .await;
    let (registry, rows) = or_page!(user, found);
    let body = html! {
        h1 { (user.t("Outlets")) }
        @if registry.is_empty() {
            p.empty { "No outlet registry: import one with marsad outlets import FILE.toml (or POST /api/v1/outlets)." }
        } @else {
            table.list {
                thead { tr { th { (user.t("Outlet")) } th { (user.t("Region")) } th { "Parent" } th.n { (user.t("Channels")) } th.n { (user.t("Releases")) } th.n { (user.t("Sightings")) } th { "Last release" } th { "Now" } } }
                tbody {
                    @for o in &registry {
                        @let row = rows.iter().find(|r| r.name == o.name);
                        tr {
                            td { (outlet_link(&o.name)) }
                            td { bdi { (o.region.as_deref().unwrap_or("—")) } }
                            td { bdi { (o.parent.as_deref().unwrap_or("—")) } }
                            td.n { (o.channels.len()) }
                            td.n { (row.map_or(0, |r| r.releases)) }
                            td.n { (row.map_or(0, |r| r.sightings)) }
                            td { @if let Some(t) = row.and_then(|r| r.last) { time { (rfc3339(t)) } } @else { "—" } }
                            td { @if row.is_some_and(|r| r.silent_at_end) { span.silent { "silent" } } @else { "active" } }
                        }
                    }
                }
            }
        }
    };
    html_response(StatusCode::OK, page(user.t("Outlets"), Some(&user), body))
}

fn rfc3339(micros: i64) -> String {
    marsad_core::UtcTime::from_unix_micros(micros).map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// `GET /outlets/{name}`: the registry entry, the monthly timeline, the
/// silences and whether the outlet is dormant now.
pub(super) async fn outlet(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Path(name): Path<String>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let silence_days = value(&pairs, "silence_days");
    let silence_days: f64 = if silence_days.is_empty() {
        7.0
    } else {
        match silence_days.parse::<f64>() {
            Ok(d) if d.is_finite() && d > 0.0 => d,
            _ => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    Some(&user),
                    &format!("silence_days: {silence_days:?} is not a positive number of days"),
                );
            }
        }
    };
    if let Err(e) = checked(&pairs, &["silence_days"]) {
        return error_page(e.status, Some(&user), &problem(&e));
    }
    let who = name.clone();
    let found = state
        .with_engine(move |e| {
            let Some(entry) = e.outlets()?.into_iter().find(|o| o.name == who) else {
                return Err(crate::error::ApiError::not_found(format!(
                    "no outlet named {who:?} is registered"
                )));
            };
            let filter =
                marsad_engine::observatory::FilterSpec { outlets: vec![who.clone()], ..Default::default() }
                    .parse()?;
            let obs = e.observatory()?;
            let timeline = analyze(&obs, &filter, &Analytics::timeline("month", None)?)?;
            let silences = analyze(&obs, &filter, &Analytics::silences(silence_days * 24.0)?)?;
            let now = marsad_core::UtcTime::now().to_rfc3339();
            let dormancy = analyze(&obs, &filter, &Analytics::dormancy(&now, 30.0)?)?;
            let req = ReportRequest::new(String::new(), filter, silence_days * 24.0, 30.0, 30.0)?;
            let (data, _) = e.report_data(&req)?;
            Ok((entry, timeline, silences, dormancy, data))
        })
        .await;
    let (entry, timeline, silences, dormancy, data) = or_page!(user, found);
    let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let body = html! {
        h1 { bdi { (entry.name) } }
        dl.facts {
            dt { (user.t("Aliases")) } dd { @if entry.aliases.is_empty() { "—" } @for a in &entry.aliases { bdi { (a) } " " } }
            dt { (user.t("Region")) } dd { bdi { (entry.region.as_deref().unwrap_or("—")) } }
            dt { "Parent" } dd { bdi { (entry.parent.as_deref().unwrap_or("—")) } }
            dt { (user.t("Channels")) } dd { @if entry.channels.is_empty() { "—" } @for c in &entry.channels { (source_link(c)) " " } }
            dt { (user.t("Releases")) } dd { a href={ "/releases?outlet=" (q) } { (data.releases) " releases" } ", " (data.sightings) " sightings" }
        }
        @if let Analysis::Dormancy(d) = &dormancy {
            @for s in &d.outlets {
                p.state {
                    @if s.silent { span.silent { "Silent" } " for 30 days or more" } @else { "Active in the last 30 days" }
                    @if let Some(t) = s.last_release { "; its last release was first seen " time { (t.to_rfc3339()) } } "."
                }
            }
        }
        @if data.releases > 0 {
            h2 { "Releases per " (marsad_report::data::unit_name(data.bucket)) }
            figure.chart { (PreEscaped(marsad_report::svg::releases_stacked(&data))) }
        }
        h2 { (user.t("Timeline")) }
        @if let Analysis::Timeline(rows) = &timeline {
            @if rows.is_empty() { p.empty { "No release." } } @else {
                table.list {
                    thead { tr { th { "Month" } th.n { (user.t("Releases")) } th.n { (user.t("Sightings")) } } }
                    tbody { @for r in rows { tr { td { time { (r.bucket.to_rfc3339()) } } td.n { (r.releases) } td.n { (r.sightings) } } } }
                }
            }
        }
        h2 { "Silences of " (silence_days) " days or more" }
        form.filters method="get" {
            label { span { "Days" } input type="text" name="silence_days" value=(silence_days) inputmode="decimal"; }
            button type="submit" { (user.t("Show")) }
        }
        @if let Analysis::Silences(rows) = &silences {
            @if rows.is_empty() { p.empty { "None." } } @else {
                table.list {
                    thead { tr { th { (user.t("From")) } th { (user.t("To")) } th.n { "Days" } } }
                    tbody { @for s in rows { tr { td { time { (s.start.to_rfc3339()) } } td { time { (s.end.to_rfc3339()) } } td.n { (format!("{:.1}", s.hours / 24.0)) } } } }
                }
            }
        }
    };
    html_response(StatusCode::OK, page(&entry.name, Some(&user), body))
}

fn theme_label(t: &marsad_engine::coding::Taxonomy, key: &str) -> String {
    t.themes.iter().find(|th| th.key == key).map_or_else(|| key.to_owned(), |th| th.label.clone())
}

/// A release's theme codes, and for analysts the form to code it: the
/// others' codes stay hidden from a coder until they have coded it.
fn themes_section(
    user: &UiUser,
    release: i64,
    t: &marsad_engine::coding::Taxonomy,
    codes: &marsad_engine::coding::ReleaseCodes,
) -> Markup {
    let mine = codes.mine.as_ref();
    html! {
        @if user.role >= marsad_store::Role::Analyst {
            form.coding method="post" action={ "/releases/" (release) "/codes" } {
                input type="hidden" name="csrf" value=(user.csrf);
                fieldset {
                    legend { "Primary theme (" (t.name) ")" }
                    @for th in &t.themes {
                        label.check title=(th.description) {
                            input type="radio" name="primary" value=(th.key) required checked[mine.is_some_and(|m| m.primary == th.key)];
                            span { (th.label) }
                        }
                    }
                }
                fieldset {
                    legend { (user.t("Secondary themes")) }
                    @for th in &t.themes {
                        label.check {
                            input type="checkbox" name="secondary" value=(th.key) checked[mine.is_some_and(|m| m.secondary.contains(&th.key))];
                            span { (th.label) }
                        }
                    }
                }
                button type="submit" { @if mine.is_some() { "Change my code" } @else { "Code" } }
            }
        }
        @if let Some(m) = mine {
            p.mine { "Your code: " strong { (theme_label(t, &m.primary)) }
                @if !m.secondary.is_empty() { " (also " (m.secondary.iter().map(|s| theme_label(t, s)).collect::<Vec<_>>().join(", ")) ")" } "." }
        }
        @if codes.hidden > 0 {
            p.meta { (codes.hidden) " other analyst" @if codes.hidden != 1 { "s" } " coded this release: their codes are shown once you have coded it." }
        }
        @if !codes.others.is_empty() {
            table.list.codes {
                thead { tr { th { (user.t("Analyst")) } th { "Primary" } th { "Secondary" } th { "When" } } }
                tbody {
                    @for c in &codes.others {
                        tr {
                            td { bdi { (c.coder) } }
                            td { (theme_label(t, &c.primary)) }
                            td { (c.secondary.iter().map(|s| theme_label(t, s)).collect::<Vec<_>>().join(", ")) }
                            td { time { (c.at) } }
                        }
                    }
                }
            }
        } @else if mine.is_none() && codes.hidden == 0 {
            p.empty { "Not coded yet." }
        }
    }
}

/// `POST /releases/{id}/codes`: the analyst's code (`primary`, `secondary`
/// repeated).
pub(super) async fn code(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&user),
            &format!("{id:?} is not a release id (an integer)."),
        );
    };
    let primary = form.iter().find(|(k, _)| k == "primary").map(|(_, v)| v.clone()).unwrap_or_default();
    if primary.is_empty() {
        return error_page(StatusCode::BAD_REQUEST, Some(&user), "Choose a primary theme.");
    }
    let secondary: Vec<String> =
        form.iter().filter(|(k, _)| k == "secondary").map(|(_, v)| v.clone()).take(64).collect();
    let who = user.name.clone();
    match state.with_engine(move |e| Ok(e.code_release(&who, id, &primary, &secondary)?)).await {
        Ok(_) => super::see_other(&format!("/releases/{id}")),
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}

/// `GET /themes`: the taxonomy, the coders' agreement and the share of
/// coded releases per theme per month.
pub(super) async fn themes(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
) -> Response {
    let found = state
        .with_engine(|e| {
            Ok((e.taxonomy()?, e.themes_report(&marsad_engine::analytics::Filter::default(), "month", None)?))
        })
        .await;
    let (t, report) = or_page!(user, found);
    let a = &report.agreement;
    let num = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.3}"));
    let body = html! {
        h1 { (user.t("Themes")) }
        p.meta { (t.name) @if !t.title.is_empty() { ": " (t.title) } }
        h2 { (user.t("Agreement")) }
        p { (a.releases_coded) " releases coded by " (a.coders.len()) " analyst" @if a.coders.len() != 1 { "s" } "; "
            (a.releases_shared) " coded by two or more. Krippendorff's alpha (nominal, primary themes, all coders): "
            strong.alpha { (num(a.alpha)) } "." }
        @if a.pairs.is_empty() { p.empty { "No two analysts have coded the same release yet." } } @else {
            table.list.agreement {
                thead { tr { th { (user.t("Analyst")) } th { (user.t("Analyst")) } th.n { "Releases both coded" } th.n { "Same primary" } th.n { "Cohen's kappa" } } }
                tbody {
                    @for p in &a.pairs {
                        tr {
                            td { bdi { (p.a) } } td { bdi { (p.b) } }
                            td.n { (p.releases) }
                            td.n { (p.agreement.map_or_else(|| "—".to_owned(), |v| format!("{:.0} %", v * 100.0))) }
                            td.n.kappa { (num(p.kappa)) }
                        }
                    }
                }
            }
        }
        h2 { "Share of releases per theme, by month" }
        @if report.rows.is_empty() { p.empty { "No release is coded yet: code one on its page." } } @else {
            table.list {
                thead { tr { th { "Month" } @for th in &t.themes { th.n { (th.label) } } th.n { "Coded" } } }
                tbody {
                    @for chunk in report.rows.chunks(t.themes.len().max(1)) {
                        tr {
                            td { time { (chunk[0].bucket) } }
                            @for r in chunk { td.n { (format!("{:.0} %", r.share * 100.0)) } }
                            td.n { (chunk[0].coded) }
                        }
                    }
                }
            }
        }
        h2 { "The themes" }
        dl.facts { @for th in &t.themes { dt { (th.label) } dd { (th.description) } } }
    };
    html_response(StatusCode::OK, page(user.t("Themes"), Some(&user), body))
}

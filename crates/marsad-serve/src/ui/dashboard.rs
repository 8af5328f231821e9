//! The dashboard: the report's figures and charts (the same SVG the HTML
//! report draws, computed live from the store) for the period, outlets and
//! formats chosen in its form.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use marsad_engine::report::ReportRequest;
use maud::{Markup, PreEscaped, html};

use super::catalogue::{Q, checked, given, problem, release_filters};
use super::{UiUser, html_response, page};
use crate::state::AppState;

/// The dashboard's parameters: the report's filters.
const PARAMS: &[&str] = &["from", "to", "format", "outlet", "official_only"];

/// A share as the report prints it.
fn pct(part: u64, whole: u64) -> String {
    if whole == 0 { "—".to_owned() } else { format!("{:.0} %", part as f64 * 100.0 / whole as f64) }
}

/// A legend swatch (a presentation attribute, which the page's
/// Content-Security-Policy allows where an inline style is refused).
fn swatch(colour: &str) -> Markup {
    html! { svg.swatch width="12" height="12" aria-hidden="true" { rect width="12" height="12" rx="2" fill=(colour) {} } }
}

/// `GET /`: the dashboard.
pub(super) async fn dashboard(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let form = release_filters(&user, "/", &pairs, user.t("Show"), false);
    let filter = match checked(&pairs, PARAMS).and_then(|p| p.filter(true)) {
        Ok(f) => f,
        Err(e) => {
            let body = html! { h1 { (user.t("Dashboard")) } (form) p.error role="alert" { (problem(&e)) } };
            return html_response(e.status, page(user.t("Dashboard"), Some(&user), body));
        }
    };
    // The report's part of the page is the same for every user of a
    // language until the releases change: made once per language, filters
    // and state of the releases (a few are kept), the store's counts read
    // each time.
    let key = format!("{}|{pairs:?}", user.lang.code());
    let counts = state.with_engine(|e| Ok((e.releases_state()?, e.stats()?, e.banks()?.len()))).await;
    let (generation, stats, banks) = or_page!(user, counts);
    let report = match state.dashboard_cached(&key, generation) {
        Some(r) => r,
        None => {
            let found = state
                .with_engine(move |e| {
                    let req = ReportRequest::new("marsad".to_owned(), filter, 24.0, 30.0, 30.0)?;
                    Ok(e.report_data(&req)?)
                })
                .await;
            let (data, unknown) = or_page!(user, found);
            let made = std::sync::Arc::new(report_part(&user, &data, &unknown).into_string());
            state.dashboard_keep(key, generation, made.clone());
            made
        }
    };
    let store = [
        ("sources", stats.sources),
        ("posts", stats.posts),
        ("media items", stats.media),
        ("fingerprints", stats.fingerprints),
        ("banks", banks as u64),
    ];
    let body = html! {
        h1 { (user.t("Dashboard")) }
        (form)
        (PreEscaped(report.as_str()))
        h2 { (user.t("The store")) }
        ul.figures.small {
            @for (label, n) in store { li { span.n { (n) } " " span.label { (user.t(label)) } } }
        }
    };
    html_response(StatusCode::OK, page(user.t("Dashboard"), Some(&user), body))
}

fn marsad_observe_time(micros: i64) -> String {
    marsad_core::UtcTime::from_unix_micros(micros).map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// The report's part of the dashboard: its figures and charts.
fn report_part(
    user: &UiUser,
    data: &marsad_report::ReportData,
    unknown: &[marsad_engine::observatory::UnknownOutlet],
) -> Markup {
    let recycled: u64 = data.recycling.iter().map(|p| p.recycled).sum();
    let seen: u64 = data.recycling.iter().map(|p| p.sightings).sum();
    let figures = [
        ("releases", data.releases.to_string()),
        ("sightings", data.sightings.to_string()),
        ("channels", data.sources.to_string()),
        ("attributed to an outlet", pct(data.official, data.releases)),
        ("silences ≥ 24 h", data.silences.len().to_string()),
        ("sightings recycled (≥ 30 days old)", pct(recycled, seen)),
    ];
    let unit = marsad_report::data::unit_name(data.bucket);
    html! {
        @for u in unknown { p.error role="alert" { (u.to_string()) } }
        p.meta { (marsad_observe_time(data.start)) " to " (marsad_observe_time(data.end)) " (UTC)" }
        ul.figures {
            @for (label, n) in &figures { li { span.n { (n) } " " span.label { (user.t(label)) } } }
        }
        @if data.releases == 0 && data.sightings == 0 {
            p.empty { "No releases in this period: ingest exports first (marsad ingest telegram PATH, or upload one under Jobs)." }
        } @else {
            h2 { "Releases per " (unit) }
            figure.chart {
                (PreEscaped(marsad_report::svg::releases_stacked(data)))
                div.legend {
                    @for (s, colour) in data.series.iter().zip(marsad_report::svg::series_colours(data)) {
                        span { (swatch(colour)) bdi { (s.name) } " (" (s.counts.iter().sum::<u64>()) ")" }
                    }
                }
            }
            h2 { "Outlets × " (marsad_report::data::unit_plural(data.heat_bucket)) }
            figure.chart { (PreEscaped(marsad_report::svg::heatmap(data))) }
            @if !data.silent_share.is_empty() {
                h2 { "Outlets gone silent" }
                figure.chart { (PreEscaped(marsad_report::svg::silent_share(data, 30.0))) }
            }
            h2 { "Recycled material" }
            figure.chart { (PreEscaped(marsad_report::svg::recycling(data, 30.0))) }
            h2 { (user.t("Formats")) }
            figure.chart { (PreEscaped(marsad_report::svg::formats(data))) }
        }
    }
}

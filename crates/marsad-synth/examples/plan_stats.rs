//! Prints facts of a planned demo corpus: `plan_stats DAYS SCALE SEED`.
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let cfg = marsad_synth::DemoConfig {
        days: a.first().and_then(|s| s.parse().ok()).unwrap_or(120),
        scale: a.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.0),
        seed: a.get(2).and_then(|s| s.parse().ok()).unwrap_or(2026),
        ..marsad_synth::DemoConfig::default()
    };
    let t = marsad_synth::plan_demo(&cfg).expect("plan");
    let max_age = t
        .releases
        .iter()
        .flat_map(|r| r.sightings.iter().map(move |s| s.posted_unix - r.first_seen))
        .max()
        .unwrap_or(0);
    let year_old = t
        .releases
        .iter()
        .flat_map(|r| r.sightings.iter().map(move |s| s.posted_unix - r.first_seen))
        .filter(|&a| a >= 365 * 86_400)
        .count();
    println!(
        "releases {} media files {} max repost age {:.0} days, reposts a year or more later {}",
        t.releases.len(),
        t.totals.media_files,
        max_age as f64 / 86_400.0,
        year_old
    );
}

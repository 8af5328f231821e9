//! Prometheus text metrics: requests and latency per route, index sizes,
//! the banks' cursor, matches answered.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use marsad_engine::live::LiveBanks;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The server's metrics.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    index: Mutex<BTreeMap<&'static str, usize>>,
    max_entry_id: AtomicI64,
    log_seq: AtomicI64,
    matches: AtomicU64,
}

impl Metrics {
    /// Counts a request to `route` (the route's pattern, not the path).
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let r = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *r.by_status.entry(status).or_default() += 1;
        r.count += 1;
        r.sum += seconds;
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            r.buckets[i] += 1;
        }
    }

    /// Counts matches answered.
    pub fn matched(&self, n: usize) {
        self.matches.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Records the index's sizes and cursor.
    pub fn set_index(&self, live: &LiveBanks) {
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        for (t, n) in live.sizes() {
            index.insert(t.as_str(), *n);
        }
        let c = live.cursor();
        self.max_entry_id.store(c.max_entry_id, Ordering::Relaxed);
        self.log_seq.store(c.log_seq, Ordering::Relaxed);
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP marsad_http_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE marsad_http_requests_total counter\n");
        for ((method, route), r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "marsad_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP marsad_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE marsad_http_request_duration_seconds histogram\n");
        for ((method, route), r) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (b, n) in BUCKETS.iter().zip(r.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "marsad_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "marsad_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(out, "marsad_http_request_duration_seconds_sum{{{labels}}} {}", r.sum);
            let _ = writeln!(out, "marsad_http_request_duration_seconds_count{{{labels}}} {}", r.count);
        }
        drop(routes);
        out.push_str("# HELP marsad_index_entries Bank entries in the live index, by signal type.\n");
        out.push_str("# TYPE marsad_index_entries gauge\n");
        for (t, n) in self.index.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "marsad_index_entries{{signal_type=\"{t}\"}} {n}");
        }
        out.push_str("# HELP marsad_bank_max_entry_id The largest bank entry id the index holds.\n");
        out.push_str("# TYPE marsad_bank_max_entry_id gauge\n");
        let _ = writeln!(out, "marsad_bank_max_entry_id {}", self.max_entry_id.load(Ordering::Relaxed));
        out.push_str("# HELP marsad_bank_generation The bank change log record the index has applied.\n");
        out.push_str("# TYPE marsad_bank_generation gauge\n");
        let _ = writeln!(out, "marsad_bank_generation {}", self.log_seq.load(Ordering::Relaxed));
        out.push_str("# HELP marsad_matches_total Matches answered by lookups.\n");
        out.push_str("# TYPE marsad_matches_total counter\n");
        let _ = writeln!(out, "marsad_matches_total {}", self.matches.load(Ordering::Relaxed));
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

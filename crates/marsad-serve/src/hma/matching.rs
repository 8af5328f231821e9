//! `/m`: matching (HMA's `blueprints/matching.py`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use marsad_core::{SignalType, UtcTime};
use marsad_engine::live::{LiveBanks, LiveMatch};
use serde_json::{Value, json};

use super::{bank_filter, distance_str, parse_bool, required, signal_type, validate_signal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{pyrandom, upload};

/// A signal type name and value checked as HMA checks them.
pub fn parse_signal(name: &str, value: &str) -> ApiResult<(SignalType, String)> {
    let t = signal_type(name).ok_or_else(|| ApiError::bad_request(format!("No such SignalType '{name}'")))?;
    let v =
        validate_signal(t, name, value).map_err(|e| ApiError::bad_request(format!("invalid signal: {e}")))?;
    Ok((t, v))
}

/// The index's matches of one signal, searched on the request's thread
/// (gathering concurrent PDQ lookups into batches was measured slower:
/// BENCHMARKS.md).
fn query_index(state: &AppState, t: SignalType, value: &str) -> ApiResult<Vec<LiveMatch>> {
    let found = state.with_live(|live| Ok(live.lookup(t, value)?))?;
    state.metrics.matched(found.len());
    Ok(found)
}

fn in_banks(live: &LiveBanks, m: &LiveMatch, banks: Option<&HashSet<String>>) -> bool {
    banks.is_none_or(|b| live.bank(m.bank_id).is_some_and(|bank| b.contains(&bank.settings.hma_name)))
}

/// `GET /m/raw_lookup`: the index's hits, by content id (no enabled or
/// coin-flip filtering, as in HMA).
pub async fn raw_lookup(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    // pydantic reports every bad field of RawLookupRequest at once, in the
    // model's order
    let fields = (required(&q, "signal"), required(&q, "signal_type"), parse_bool(&q, "include_distance"));
    let (signal, st, include_distance) = match fields {
        (Ok(signal), Ok(st), Ok(d)) => (signal, st, d.unwrap_or(false)),
        (a, b, c) => return Err(ApiError::all_of([a.err(), b.err(), c.err()].into_iter().flatten())),
    };
    let (t, value) = parse_signal(st, signal)?;
    let banks: Option<HashSet<String>> = bank_filter(&q).map(|b| b.into_iter().collect());
    let found = query_index(&state, t, &value)?;
    let matches = state.with_live(|live| {
        Ok(found
            .iter()
            .filter(|m| in_banks(live, m, banks.as_ref()))
            .map(|m| {
                if include_distance {
                    json!({ "bank_content_id": m.content_id, "distance": distance_str(t, m.distance, m.detail.as_ref()) })
                } else {
                    json!(m.content_id)
                }
            })
            .collect::<Vec<_>>())
    })?;
    Ok(Json(json!({ "matches": matches })))
}

/// The coin HMA flips once per lookup: a bank takes part when its enabled
/// ratio is at least this (0 when bypassed; Python's `random.Random(seed)`
/// when seeded, so that the same seed decides the same way as in HMA).
fn coinflip(q: &HashMap<String, String>, bypass: bool) -> f64 {
    if bypass {
        return 0.0;
    }
    match q.get("seed") {
        Some(seed) => pyrandom::random_of_seed(seed),
        None => pyrandom::random_unseeded(),
    }
}

/// Matches of one signal grouped by bank, as `/m/lookup` answers them:
/// enabled content only, of banks passing the coin flip.
async fn lookup_by_bank(
    state: &Arc<AppState>,
    t: SignalType,
    value: &str,
    q: &HashMap<String, String>,
    coin: f64,
) -> ApiResult<Value> {
    let include_metadata = parse_bool(q, "include_metadata")?.unwrap_or(false);
    let banks: Option<HashSet<String>> = bank_filter(q).map(|b| b.into_iter().collect());
    let found = query_index(state, t, value)?;
    let now = UtcTime::now().unix_micros().div_euclid(1_000_000);
    let kept: Vec<(String, LiveMatch)> = state.with_live(|live| {
        Ok(found
            .into_iter()
            .filter(|m| live.content_enabled(m.content_id, now))
            .filter_map(|m| {
                let bank = live.bank(m.bank_id)?;
                (bank.settings.enabled_ratio >= coin && in_banks(live, &m, banks.as_ref()))
                    .then(|| (bank.settings.hma_name.clone(), m))
            })
            .collect())
    })?;
    let metadata = if include_metadata && !kept.is_empty() {
        let ids: Vec<i64> = kept.iter().map(|(_, m)| m.content_id).collect();
        let contents = state.with_engine(move |e| Ok(e.store().bank_contents(&ids)?)).await?;
        contents.into_iter().map(|c| (c.id, content_metadata(&c))).collect()
    } else {
        HashMap::new()
    };
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (bank, m) in kept {
        let mut entry = json!({ "bank_content_id": m.content_id, "distance": distance_str(t, m.distance, m.detail.as_ref()) });
        if let Some(meta) = metadata.get(&m.content_id) {
            entry["metadata"] = meta.clone();
        }
        out.entry(bank).or_default().push(entry);
    }
    serde_json::to_value(out).map_err(ApiError::internal)
}

/// What `include_metadata=true` adds to a match: the entry's labels, note,
/// metadata and where it came from.
pub fn content_metadata(c: &marsad_store::BankContent) -> Value {
    let meta: Value = c.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or(Value::Null);
    json!({
        "bank": c.bank_settings.hma_name,
        "labels": c.labels,
        "note": c.note,
        "metadata": meta,
        "source": c.labels.get("source"),
        "added_at": c.added_at.to_rfc3339(),
    })
}

/// `GET /m/lookup`: by `signal_type` and `signal` (or `url`, which this
/// server does not fetch).
pub async fn lookup_get(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    // HMA declares `bypass_coinflip` but ignores it here; marsad honours it.
    let bypass = parse_bool(&q, "bypass_coinflip")?.unwrap_or(false);
    let coin = coinflip(&q, bypass);
    if let Some(url) = q.get("url").filter(|u| !u.is_empty()) {
        let hashes = super::hashing::hash_url_content(&state, url, &q).await?;
        let mut out = serde_json::Map::new();
        for (name, value) in &hashes {
            let Some(t) = signal_type(name) else { continue };
            let found =
                if value.is_empty() { json!({}) } else { lookup_by_bank(&state, t, value, &q, coin).await? };
            out.insert(name.clone(), found);
        }
        // With `signal_type` too, the outer level is that type's.
        if let Some(st) = q.get("signal_type") {
            return Ok(Json(out.remove(st).unwrap_or_else(|| json!({}))));
        }
        return Ok(Json(Value::Object(out)));
    }
    let (Some(signal), Some(st)) = (q.get("signal"), q.get("signal_type")) else {
        return Err(ApiError::bad_request("Either url or both signal and signal_type are required"));
    };
    let (t, value) = parse_signal(st, signal)?;
    Ok(Json(lookup_by_bank(&state, t, &value, &q, coin).await?))
}

/// `POST /m/lookup`: an uploaded file, hashed then looked up per signal
/// type; `include_hashes=true` adds the hashes.
pub async fn lookup_post(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    body: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    let (_, hashes) = upload::read_and_hash(&state, body, &q).await?;
    // As HMA: the string `true` bypasses, anything else does not.
    let bypass = q.get("bypass_coinflip").is_some_and(|v| v == "true");
    let coin = coinflip(&q, bypass);
    let mut out = serde_json::Map::new();
    for (name, value) in &hashes {
        let Some(t) = signal_type(name) else { continue };
        // An image below PDQ's quality threshold has no usable hash: it
        // matches nothing (HMA answers 400 for its empty hash).
        if value.is_empty() {
            out.insert(name.clone(), json!({}));
            continue;
        }
        out.insert(name.clone(), lookup_by_bank(&state, t, value, &q, coin).await?);
    }
    if parse_bool(&q, "include_hashes")?.unwrap_or(false) {
        out.insert("hashes".into(), serde_json::to_value(&hashes).map_err(ApiError::internal)?);
    }
    Ok(Json(Value::Object(out)))
}

/// `POST /m/compare`: `{"<signal_type>": [a, b], …}` → `{"pdq": [true,
/// {"distance": 9}]}`.
pub async fn compare(headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    let json_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
        ));
    }
    let data: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Failed to decode JSON object: {e}")))?;
    let Value::Object(pairs) = data else {
        return Err(ApiError::bad_request("Request input was not a dict"));
    };
    let mut out = serde_json::Map::new();
    for (name, hashes) in pairs {
        let Value::Array(hashes) = hashes else {
            return Err(ApiError::bad_request(format!("Comparison hashes for {name} was not a list")));
        };
        if hashes.len() != 2 {
            return Err(ApiError::bad_request("Comparison hash list length must be exactly 2"));
        }
        let t = signal_type(&name)
            .ok_or_else(|| ApiError::bad_request(format!("No such SignalType '{name}'")))?;
        let side = |v: &Value| -> ApiResult<String> {
            let s = v
                .as_str()
                .ok_or_else(|| ApiError::bad_request(format!("Invalid {name} hash: not a string")))?;
            validate_signal(t, &name, s)
                .map_err(|e| ApiError::bad_request(format!("Invalid {name} hash: {e}")))
        };
        let (a, b) = (side(&hashes[0])?, side(&hashes[1])?);
        let result = match t {
            SignalType::Pdq => {
                let parse = |h: &str| {
                    marsad_hash::pdq::PdqHash::from_hex(h)
                        .map_err(|e| ApiError::bad_request(format!("Invalid {name} hash: {e}")))
                };
                let d = parse(&a)?.hamming(&parse(&b)?);
                json!([d <= marsad_match::MatchConfig::default().pdq_threshold, { "distance": d }])
            }
            SignalType::Md5 | SignalType::Sha256 => json!([a == b, {}]),
            _ => return Err(ApiError::bad_request(format!("{name} does not support hash comparison"))),
        };
        out.insert(name, result);
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /m/index/status`: per signal type, whether the index is loaded,
/// its size and the newest entry's time.
pub async fn index_status(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let names: Vec<&str> = match q.get("signal_type") {
        Some(n) => {
            if signal_type(n).is_none() {
                return Err(ApiError::bad_request(format!("No such signal type '{n}'")));
            }
            vec![n.as_str()]
        }
        None => super::SIGNAL_TYPES.iter().map(|(n, _)| *n).collect(),
    };
    let live = state.live();
    let mut out = serde_json::Map::new();
    for name in names {
        let t = signal_type(name).unwrap_or(SignalType::Pdq);
        let status = match live.as_ref() {
            Some(l) => json!({
                "built_to": l.newest(t).unwrap_or(-1),
                "present": true,
                "size": l.sizes().get(&t).copied().unwrap_or(0),
            }),
            None => json!({ "built_to": -1, "present": false, "size": 0 }),
        };
        out.insert(name.to_owned(), status);
    }
    Ok(Json(Value::Object(out)))
}

//! `/c`: curation of banks and their content (HMA's
//! `blueprints/curation.py`), over marsad's banks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use marsad_core::{SignalType, UtcTime};
use marsad_store::{
    BankContent, BankSettings, BankUpdate, ContentUpdate, NewContent, StoreError, is_hma_bank_name,
};
use serde_json::{Value, json};

use super::{SIGNAL_TYPES, api_name, signal_type, validate_signal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::upload;

/// A bank as HMA shows it (`pdq_threshold` only when the bank has its own).
pub fn bank_json(b: &BankSettings) -> Value {
    let mut v = json!({ "matching_enabled_ratio": b.enabled_ratio, "name": b.hma_name });
    if let Some(t) = b.pdq_threshold {
        v["pdq_threshold"] = json!(t);
    }
    v
}

/// A bank by its HMA name: its own name and settings. The live index
/// answers (it is current with this server's own writes, which refresh it
/// before they answer, and within `--refresh-ms` with everyone else's); a
/// bank it does not know is looked for in the store.
async fn find_bank(state: &Arc<AppState>, name: &str) -> ApiResult<Option<(String, BankSettings)>> {
    if let Some(b) = state.live().as_ref().and_then(|l| l.bank_by_hma_name(name)) {
        return Ok(Some((b.name.clone(), b.settings.clone())));
    }
    let name = name.to_owned();
    state
        .with_engine(move |e| {
            Ok(e.store()
                .bank_settings()?
                .into_iter()
                .find(|(_, _, settings)| settings.hma_name == name)
                .map(|(_, name, settings)| (name, settings)))
        })
        .await
}

/// Whether a bank of this HMA name exists, before writing to it: the live
/// index knows most banks without reading the store (whose list of banks
/// counts every bank's entries, a scan of millions of rows); a bank it does
/// not know yet (made by another process since its last refresh) is looked
/// for in the store. The write re-checks, answering 404 for a bank deleted
/// meanwhile, as it did before.
async fn bank_exists(state: &Arc<AppState>, name: &str) -> ApiResult<bool> {
    if state.live().as_ref().is_some_and(|l| l.bank_by_hma_name(name).is_some()) {
        return Ok(true);
    }
    Ok(find_bank(state, name).await?.is_some())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// A JSON object body as pydantic validates one for the model `class_name`:
/// 422 when it is missing or not an object.
fn validated_object(
    headers: &HeaderMap,
    body: &Bytes,
    class_name: &str,
) -> ApiResult<serde_json::Map<String, Value>> {
    let parsed: Option<Value> = if is_json(headers) { serde_json::from_slice(body).ok() } else { None };
    match parsed {
        Some(Value::Object(m)) => Ok(m),
        other => Err(ApiError::not_a_model(class_name, other.unwrap_or(Value::Null))),
    }
}

/// A JSON object body as Flask's `request.json` reads one (415 when it is
/// not JSON, 400 when it does not parse).
fn json_object(headers: &HeaderMap, body: &Bytes) -> ApiResult<serde_json::Map<String, Value>> {
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("this endpoint expects a json object payload")),
        Err(e) => Err(ApiError::bad_request(format!("Failed to decode JSON object: {e}"))),
    }
}

fn ratio_field(m: &serde_json::Map<String, Value>, name: &str) -> ApiResult<Option<f64>> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
            Some(r) if (0.0..=1.0).contains(&r) => Ok(Some(r)),
            Some(r) => Err(ApiError::bad_request(format!("{name} must be between 0 and 1, got {r}"))),
            // pydantic's words: a string it cannot parse, or another type
            None if v.is_string() => Err(ApiError::invalid_field(
                name,
                "float_parsing",
                "Input should be a valid number, unable to parse string as a number",
                v.clone(),
            )),
            None => {
                Err(ApiError::invalid_field(name, "float_type", "Input should be a valid number", v.clone()))
            }
        },
    }
}

fn bool_field(m: &serde_json::Map<String, Value>, name: &str) -> ApiResult<Option<bool>> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => {
            Err(ApiError::invalid_field(name, "bool_type", "Input should be a valid boolean", v.clone()))
        }
    }
}

fn threshold_field(m: &serde_json::Map<String, Value>) -> ApiResult<Option<Option<u32>>> {
    match m.get("pdq_threshold") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => match v.as_u64().filter(|t| *t <= 256) {
            Some(t) => Ok(Some(Some(t as u32))),
            None => Err(ApiError::bad_request("pdq_threshold must be an integer from 0 to 256")),
        },
    }
}

/// `GET /c/banks`.
pub async fn banks(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let live: Option<Vec<BankSettings>> =
        state.live().as_ref().map(|l| l.banks().map(|b| b.settings.clone()).collect());
    let mut banks = match live {
        Some(banks) => banks,
        None => {
            state.with_engine(|e| Ok(e.store().bank_settings()?)).await?.into_iter().map(|b| b.2).collect()
        }
    };
    banks.sort_by(|a, b| a.hma_name.cmp(&b.hma_name));
    Ok(Json(Value::Array(banks.iter().map(bank_json).collect())))
}

/// `POST /c/banks`: `{"name", "enabled_ratio"?, "enabled"?}` → 201.
pub async fn create_bank(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let m = validated_object(&headers, &body, "BankCreateRequest")?;
    let name = match m.get("name") {
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(ApiError::invalid_field(
                "name",
                "string_type",
                "Input should be a valid string",
                other.clone(),
            ));
        }
        None => return Err(ApiError::missing("name", Value::Object(m))),
    };
    // HMA: `enabled_ratio` defaults to 1.0, so `enabled` counts only when
    // `enabled_ratio` is given as null.
    let enabled = bool_field(&m, "enabled")?;
    let ratio = match (m.contains_key("enabled_ratio"), ratio_field(&m, "enabled_ratio")?, enabled) {
        (false, ..) => 1.0,
        (true, Some(r), _) => r,
        (true, None, Some(e)) => f64::from(u8::from(e)),
        (true, None, None) => 1.0,
    };
    let threshold = threshold_field(&m)?;
    if !is_hma_bank_name(&name) {
        return Err(ApiError::bad_request("Bank names must be UPPER_WITH_UNDERSCORE"));
    }
    if find_bank(&state, &name).await?.is_some() {
        return Err(ApiError::forbidden("Bank already exists"));
    }
    let bank = state
        .with_engine(move |e| {
            match e.store_mut().create_bank(&name) {
                Err(StoreError::Conflict(_)) => return Err(ApiError::forbidden("Bank already exists")),
                other => other?,
            };
            let update = BankUpdate { rename: None, enabled_ratio: Some(ratio), pdq_threshold: threshold };
            Ok(e.store_mut().update_bank(&name, &update)?)
        })
        .await?;
    state.banks_changed().await?;
    Ok((StatusCode::CREATED, Json(bank_json(&bank.settings))).into_response())
}

/// `GET /c/bank/<name>`.
pub async fn bank(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    match find_bank(&state, &name).await? {
        Some((_, settings)) => Ok(Json(bank_json(&settings))),
        None => Err(ApiError::not_found(format!("bank '{name}' not found"))),
    }
}

/// `PUT /c/bank/<name>`: `{"name"?, "enabled"?, "enabled_ratio"?}` (and
/// marsad's `pdq_threshold`).
pub async fn update_bank(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = validated_object(&headers, &body, "BankUpdateRequest")?;
    let mut update = BankUpdate { pdq_threshold: threshold_field(&m)?, ..BankUpdate::default() };
    if let Some(enabled) = bool_field(&m, "enabled")? {
        update.enabled_ratio = Some(if enabled { 1.0 } else { 0.0 });
    }
    if let Some(r) = ratio_field(&m, "enabled_ratio")? {
        update.enabled_ratio = Some(r);
    }
    if let Some(new) = m.get("name").filter(|v| !v.is_null()) {
        let new = new.as_str().ok_or_else(|| {
            ApiError::invalid_field("name", "string_type", "Input should be a valid string", new.clone())
        })?;
        if !is_hma_bank_name(new) {
            return Err(ApiError::bad_request("Bank names must be UPPER_WITH_UNDERSCORE"));
        }
        update.rename = Some(new.to_owned());
    }
    let bank = state
        .with_engine(move |e| match e.store_mut().update_bank(&name, &update) {
            Err(StoreError::NotFound(_)) => Err(ApiError::not_found("Bank not found")),
            Err(StoreError::Conflict(_)) => Err(ApiError::forbidden("Bank name already exists")),
            other => Ok(other?),
        })
        .await?;
    state.banks_changed().await?;
    Ok(Json(bank_json(&bank.settings)))
}

/// `DELETE /c/bank/<name>`: `{"message": "Done"}`, also when there was
/// no such bank.
pub async fn delete_bank(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    if let Some((own, _)) = find_bank(&state, &name).await? {
        state.with_engine(move |e| Ok(e.store_mut().delete_bank(&own)?)).await?;
        state.banks_changed().await?;
    }
    Ok(Json(json!({ "message": "Done" })))
}

/// HMA's metadata object: `content_id` and `content_uri` strings, `json`
/// an object; `collab` dropped; anything else refused.
fn check_metadata(raw: Option<Value>) -> ApiResult<Option<String>> {
    let Some(raw) = raw.filter(|v| !v.is_null()) else { return Ok(None) };
    let Value::Object(mut m) = raw else {
        return Err(ApiError::bad_request("metadata should be a json object"));
    };
    m.remove("collab");
    for (k, v) in &m {
        let ok = match k.as_str() {
            "content_id" | "content_uri" => v.is_string() || v.is_null(),
            "json" => v.is_object() || v.is_null(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Invalid metadata: 1 validation error for BankedContentMetadata\n{k}\n  Extra inputs are not permitted"
                )));
            }
        };
        if !ok {
            return Err(ApiError::bad_request(format!("Invalid metadata: {k} has the wrong type")));
        }
    }
    m.retain(|_, v| !v.is_null());
    Ok((!m.is_empty()).then(|| Value::Object(m).to_string()))
}

fn check_note(note: Option<&Value>) -> ApiResult<Option<String>> {
    match note {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > 255 => {
            Err(ApiError::bad_request("note must be at most 255 characters"))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Bool(false)) => Ok(None),
        Some(_) => Err(ApiError::bad_request("note should be a string")),
    }
}

/// Adds one content item of these signals (API names → values), as HMA's
/// `_bank_add_signals`: `{"id", "signals"}`.
async fn add_signals_item(
    state: &Arc<AppState>,
    bank: String,
    signals: Vec<(String, Value)>,
    metadata: Option<String>,
    note: Option<String>,
) -> ApiResult<Json<Value>> {
    if signals.is_empty() {
        return Err(ApiError::bad_request("No signals given"));
    }
    let mut checked: Vec<(SignalType, String)> = Vec::new();
    let mut shown = BTreeMap::new();
    for (name, value) in signals {
        let t =
            signal_type(&name).ok_or_else(|| ApiError::bad_request(format!("No such signal type {name}")))?;
        let text = value
            .as_str()
            .ok_or_else(|| ApiError::bad_request(format!("Invalid {name} signal: not a string")))?;
        let v = validate_signal(t, &name, text)
            .map_err(|e| ApiError::bad_request(format!("Invalid {name} signal: {e}")))?;
        if checked.iter().any(|(other, _)| *other == t) {
            return Err(ApiError::bad_request(format!(
                "Invalid {name} signal: the item has that signal already"
            )));
        }
        checked.push((t, v.clone()));
        shown.insert(name, v);
    }
    let content = NewContent { signals: checked, note, metadata, ..NewContent::default() };
    let id = state
        .with_engine(move |e| match e.store_mut().add_bank_content(&bank, &content) {
            Err(StoreError::NotFound(_)) => Err(ApiError::not_found(format!("bank '{bank}' not found"))),
            other => Ok(other?),
        })
        .await?;
    state.banks_changed().await?;
    Ok(Json(json!({ "id": id, "signals": shown })))
}

/// `POST /c/bank/<name>/content`: a file (multipart, field name = content
/// type, with `metadata` and `note` form fields), or `url` (not fetched by
/// this server).
pub async fn add_content(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    request: axum::extract::Request,
) -> ApiResult<Json<Value>> {
    if !bank_exists(&state, &name).await? {
        return Err(ApiError::not_found(format!("bank '{name}' not found")));
    }
    if let Some(url) = q.get("url").filter(|u| !u.is_empty()) {
        // With `url`, `metadata` and `note` come in a JSON body.
        let headers = request.headers().clone();
        let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .map_err(|_| ApiError::bad_request("the JSON body is over 1 MiB"))?;
        let m = if is_json(&headers) && !bytes.is_empty() {
            json_object(&headers, &bytes)?
        } else {
            Default::default()
        };
        let metadata = check_metadata(m.get("metadata").cloned())?;
        let note = check_note(m.get("note"))?;
        let hashes = super::hashing::hash_url_content(&state, url, &q).await?;
        let signals = hashes.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        return add_signals_item(&state, name, signals, metadata, note).await;
    }
    let body = <Multipart as axum::extract::FromRequest<()>>::from_request(request, &()).await;
    if body.is_err() {
        return Err(ApiError::bad_request("Neither `url` nor multipart file upload was received"));
    }
    let up = upload::read(body, state.cfg.max_upload, &state.cfg.scratch_dir()).await?;
    let metadata = match up.fields.get("metadata") {
        Some(text) => {
            let v: Value = serde_json::from_str(text)
                .map_err(|_| ApiError::bad_request("metadata form field must be valid JSON"))?;
            check_metadata(Some(v))?
        }
        None => None,
    };
    let note = check_note(up.fields.get("note").map(|n| Value::String(n.clone())).as_ref())?;
    let hashes = upload::hash(&state, &up, &up.field, q.get("types").map(String::as_str)).await?;
    let signals = hashes.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    add_signals_item(&state, name, signals, metadata, note).await
}

/// `POST /c/bank/<name>/signal`: `{"pdq": "…", "video_md5": "…", "note"?}`.
pub async fn add_signals(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    if !bank_exists(&state, &name).await? {
        return Err(ApiError::not_found(format!("bank '{name}' not found")));
    }
    let mut m = json_object(&headers, &body)?;
    let note = check_note(m.remove("note").as_ref())?;
    add_signals_item(&state, name, m.into_iter().collect(), None, note).await
}

fn bank_of_content(c: &BankContent) -> Value {
    json!({ "matching_enabled_ratio": c.bank_settings.enabled_ratio, "name": c.bank_settings.hma_name })
}

fn user_metadata(c: &BankContent) -> Option<Value> {
    c.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok())
}

fn content_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found("The requested URL was not found on the server."))
}

async fn one_content(state: &Arc<AppState>, bank: &str, id: i64) -> ApiResult<BankContent> {
    if !bank_exists(state, bank).await? {
        return Err(ApiError::not_found(format!("bank '{bank}' not found")));
    }
    let found = state.with_engine(move |e| Ok(e.store().bank_contents(&[id])?)).await?;
    found.into_iter().next().ok_or_else(|| ApiError::not_found(format!("content '{id}' not found")))
}

/// `GET /c/bank/<name>/content/<id>?include_signals&include_metadata`.
pub async fn content(
    State(state): State<Arc<AppState>>,
    Path((bank, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let id = content_id(&id)?;
    let c = one_content(&state, &bank, id).await?;
    let flag = |k: &str, default: &str| q.get(k).map_or(default, String::as_str).eq_ignore_ascii_case("true");
    let mut out = json!({
        "bank": bank_of_content(&c),
        "disable_until_ts": c.disable_until_ts,
        "id": c.id,
        "original_media_uri": c.original_media_uri,
    });
    if flag("include_signals", "false") {
        let signals: BTreeMap<&str, &str> =
            c.signals.iter().map(|(_, t, v)| (api_name(*t), v.as_str())).collect();
        out["signals"] = json!(signals);
    }
    if flag("include_metadata", "true")
        && let Some(Value::Object(meta)) = user_metadata(&c)
    {
        let get = |k: &str| meta.get(k).cloned().unwrap_or(Value::Null);
        out["metadata"] = json!({
            "collab": Value::Null,
            "content_id": get("content_id"),
            "content_uri": get("content_uri"),
            "json": get("json"),
        });
    }
    if let Some(note) = &c.note {
        out["note"] = json!(note);
    }
    Ok(Json(out))
}

/// Five years from now, HMA's bound on `disable_until_ts`.
fn five_years_from_now() -> i64 {
    UtcTime::now().unix_micros().div_euclid(1_000_000) + 365 * 5 * 86_400
}

/// `PUT /c/bank/<name>/content/<id>`: `{"disable_until_ts"?, "note"?}`.
pub async fn update_content(
    State(state): State<Arc<AppState>>,
    Path((bank, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = content_id(&id)?;
    one_content(&state, &bank, id).await?;
    let m = json_object(&headers, &body)?;
    let mut update = ContentUpdate::default();
    if let Some(v) = m.get("disable_until_ts") {
        let ts = match v {
            Value::Number(n) => {
                n.as_i64().ok_or_else(|| ApiError::bad_request(format!("Invalid int: '{n}'")))?
            }
            Value::String(s) => {
                s.trim().parse::<i64>().map_err(|_| ApiError::bad_request(format!("Invalid int: '{s}'")))?
            }
            other => return Err(ApiError::bad_request(format!("Invalid int: '{other}'"))),
        };
        if ts < 0 {
            return Err(ApiError::bad_request("disable_until_ts must be a non-negative integer"));
        }
        if ts > five_years_from_now() {
            return Err(ApiError::bad_request("disable_until_ts must be less than 5 years in the future"));
        }
        update.disable_until_ts = Some(ts);
    }
    if m.contains_key("note") {
        update.note = Some(check_note(m.get("note"))?);
    }
    let c = state
        .with_engine(move |e| {
            e.store_mut()
                .update_bank_content(id, &update)?
                .ok_or_else(|| ApiError::not_found(format!("content '{id}' not found")))
        })
        .await?;
    state.banks_changed().await?;
    Ok(Json(json!({
        "bank": bank_of_content(&c),
        "collab_metadata": {},
        "disable_until_ts": c.disable_until_ts,
        "id": c.id,
        "note": c.note,
        "original_media_uri": c.original_media_uri,
        "user_metadata": user_metadata(&c),
    })))
}

/// `DELETE /c/bank/<name>/content/<id>`: `{"deleted": 0|1}`.
pub async fn delete_content(
    State(state): State<Arc<AppState>>,
    Path((bank, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = content_id(&id)?;
    let deleted = state
        .with_engine(move |e| match e.store_mut().remove_bank_content(&bank, id) {
            Err(StoreError::NotFound(_)) => Err(ApiError::not_found(format!("bank '{bank}' not found"))),
            other => Ok(other?),
        })
        .await?;
    state.banks_changed().await?;
    Ok(Json(json!({ "deleted": deleted })))
}

/// `GET /c/signal_type`.
pub async fn signal_types(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let ratios = state.with_engine(|e| Ok(e.store().signal_type_ratios()?)).await?;
    Ok(Json(Value::Array(
        SIGNAL_TYPES
            .iter()
            .map(|(n, _)| json!({ "enabled_ratio": ratios.get(*n).copied().unwrap_or(1.0), "name": n }))
            .collect(),
    )))
}

/// `PUT /c/signal_type/<name>`: `{"enabled_ratio"}` → 204.
pub async fn set_signal_type(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if signal_type(&name).is_none() {
        return Err(ApiError::bad_request(format!("No such signal type '{name}'")));
    }
    let m = json_object(&headers, &body)?;
    // HMA's view: `require_json_param`, then `str_to_type(…, float)`, whose
    // 400s these are (not pydantic's 422: the route has no body model).
    let ratio = match m.get("enabled_ratio") {
        None | Some(Value::Null) => return Err(ApiError::bad_request("enabled_ratio is required")),
        Some(Value::String(s)) if s.trim().parse::<f64>().is_err() => {
            return Err(ApiError::bad_request(format!("Invalid float: '{s}'")));
        }
        Some(_) => ratio_field(&m, "enabled_ratio")?
            .ok_or_else(|| ApiError::bad_request("enabled_ratio is required"))?,
    };
    state.with_engine(move |e| Ok(e.store_mut().set_signal_type_ratio(&name, ratio)?)).await?;
    state.banks_changed().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /c/signal_type/index`: the store's and the index's sizes.
pub async fn signal_type_index(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let names: Vec<&str> = match q.get("signal_type") {
        Some(n) if signal_type(n).is_none() => {
            return Err(ApiError::bad_request(format!("No such signal type '{n}'")));
        }
        Some(n) => vec![n.as_str()],
        None => SIGNAL_TYPES.iter().map(|(n, _)| *n).collect(),
    };
    let banks = state.with_engine(|e| Ok(e.store().banks()?)).await?;
    let mut db: BTreeMap<SignalType, u64> = BTreeMap::new();
    for b in &banks {
        for (t, n) in &b.entries {
            *db.entry(*t).or_default() += n;
        }
    }
    let live = state.live();
    let mut out = serde_json::Map::new();
    for name in names {
        let t = signal_type(name).unwrap_or(SignalType::Pdq);
        let db_size = db.get(&t).copied().unwrap_or(0);
        let (index_size, built_to) = live
            .as_ref()
            .map_or((0, -1), |l| (l.sizes().get(&t).copied().unwrap_or(0) as u64, l.newest(t).unwrap_or(-1)));
        out.insert(
            name.to_owned(),
            json!({
                "db_size": db_size,
                "index_size": index_size,
                "index_out_of_date": db_size != index_size,
                "newest_db_item": built_to,
                "index_built_to": built_to,
            }),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /c/content_type`.
pub async fn content_types() -> Json<Value> {
    Json(Value::Array(
        super::CONTENT_TYPES.iter().map(|(n, ..)| json!({ "enabled": true, "name": n })).collect(),
    ))
}

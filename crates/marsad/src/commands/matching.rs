//! `marsad match` and `marsad matches`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use marsad_core::{MediaKind, SignalType};
use marsad_hash::digest::ExactDigests;
use marsad_hash::pdq::PdqHash;
use marsad_index::audio::AudioConfig;
use marsad_index::vpdq::VpdqConfig;
use marsad_match::{BankMatcher, Found, MatchConfig};
use marsad_media::{FingerprintConfig, Limits, MediaFingerprinter};
use marsad_store::prelude::*;
use marsad_store::{
    BankEntry, EntryFilter, EntryId, ItemRef, MatchableItem, MatchedItem, NewFingerprint, NewMatch,
};
use marsad_store_sqlite::SqliteStore;
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::cli::{MatchArgs, MatchesArgs};

/// Loads every bank, the PDQ index from its cache beside the store.
pub fn load_banks(db: &str, store: &dyn Store, cfg: MatchConfig) -> Result<BankMatcher> {
    let cache = crate::store::bank_index_path(db);
    BankMatcher::load(store, cfg, cache.as_deref()).context("loading the banks")
}

fn config(args: &MatchArgs) -> Result<MatchConfig> {
    if !(0.0..=1.0).contains(&args.text_threshold) {
        bail!("--text-threshold must be between 0 and 1");
    }
    if !(0.0..=0.5).contains(&args.audio_max_ber) {
        bail!("--audio-max-ber must be between 0 and 0.5");
    }
    Ok(MatchConfig {
        pdq_threshold: args.threshold,
        dihedral: args.dihedral,
        text_jaccard: args.text_threshold,
        vpdq: VpdqConfig {
            query_match_percent: args.vpdq_query_threshold,
            compared_match_percent: args.vpdq_compared_threshold,
            ..VpdqConfig::default()
        },
        audio: AudioConfig { max_bit_error_rate: args.audio_max_ber, ..AudioConfig::default() },
    })
}

/// Bank entries by id, fetched once each.
struct Entries<'a> {
    store: &'a dyn Store,
    known: HashMap<EntryId, BankEntry>,
}

impl Entries<'_> {
    fn fetch(&mut self, ids: impl IntoIterator<Item = EntryId>) -> Result<()> {
        let missing: Vec<EntryId> = ids
            .into_iter()
            .filter(|id| !self.known.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let filter = EntryFilter { ids: Some(missing), ..EntryFilter::default() };
        self.store.bank_entries(&filter, &mut |e| {
            self.known.insert(e.id, e);
            Ok(())
        })?;
        Ok(())
    }
}

/// The JSON of matches, restricted to `banks` (all when empty), sorted by
/// distance, then signal type, bank and value.
fn matches_json(found: &[Found], entries: &Entries<'_>, banks: &[String], with_labels: bool) -> Vec<Value> {
    let mut rows: Vec<(&Found, &BankEntry)> = found
        .iter()
        .filter_map(|f| entries.known.get(&f.entry_id).map(|e| (f, e)))
        .filter(|(_, e)| banks.is_empty() || banks.contains(&e.bank))
        .collect();
    rows.sort_by(|a, b| {
        a.0.distance
            .total_cmp(&b.0.distance)
            .then(a.0.signal_type.cmp(&b.0.signal_type))
            .then(a.1.value.cmp(&b.1.value))
            .then(a.1.bank.cmp(&b.1.bank))
    });
    rows.into_iter()
        .map(|(f, e)| {
            let distance =
                if f.signal_type == SignalType::Pdq { json!(f.distance as u32) } else { json!(f.distance) };
            let mut m = json!({ "bank": e.bank, "value": e.value, "distance": distance });
            if with_labels {
                m["signal_type"] = json!(f.signal_type.as_str());
                m["labels"] = json!(e.labels);
                m["entry_id"] = json!(e.id);
            }
            if let Some(d) = &f.detail {
                m["detail"] = d.clone();
            }
            m
        })
        .collect()
}

pub fn run(db: &str, args: MatchArgs) -> Result<ExitCode> {
    let store = crate::store::open(db)?;
    let known: HashSet<String> = store.banks()?.into_iter().map(|b| b.name).collect();
    for b in &args.banks {
        if !known.contains(b) {
            bail!("no bank named {b:?}");
        }
    }
    let cfg = config(&args)?;
    let matcher = load_banks(db, &store, cfg)?;
    let mut entries = Entries { store: &store, known: HashMap::new() };
    match &args.hashes {
        Some(file) => match_values(&matcher, &mut entries, &args, file),
        None => match_files(&matcher, &mut entries, &args),
    }
}

/// Longest query line read.
const MAX_QUERY_LINE: usize = 16 * 1024 * 1024;
/// Queries matched between two outputs.
const QUERY_CHUNK: usize = 65_536;

fn match_values(
    matcher: &BankMatcher,
    entries: &mut Entries<'_>,
    args: &MatchArgs,
    file: &Path,
) -> Result<ExitCode> {
    let t = args.query_type.map(|q| q.signal()).unwrap_or(SignalType::Pdq);
    if !matches!(t, SignalType::Pdq | SignalType::Md5 | SignalType::Sha256 | SignalType::Text) {
        bail!("--hashes reads one value per line: pdq, md5, sha256 or text (match {t} files directly)");
    }
    let mut reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let (mut bad, mut queries_total) = (0u64, 0u64);
    let mut chunk: Vec<(String, String)> = Vec::new();
    let mut done = false;
    while !done {
        chunk.clear();
        while chunk.len() < QUERY_CHUNK {
            let Some(read) = marsad_ingest::lines::read_line_bounded(&mut reader, &mut buf, MAX_QUERY_LINE)
                .with_context(|| format!("reading {}", file.display()))?
            else {
                done = true;
                break;
            };
            line_no += 1;
            if let marsad_ingest::lines::LineRead::TooLong { bytes } = read {
                bad += 1;
                eprintln!(
                    "error: {}: line {line_no}: a line of {bytes} bytes is longer than {MAX_QUERY_LINE}; skipped",
                    file.display()
                );
                continue;
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                bad += 1;
                eprintln!("error: {}: line {line_no}: not UTF-8", file.display());
                continue;
            };
            let text = text.trim_end_matches('\r');
            if text.trim().is_empty() {
                continue;
            }
            // A hash line may carry more after the hash, as `marsad hash
            // pdq` (`HASH,QUALITY,FILE`) and md5sum (`HASH  FILE`) print:
            // the first field is the query. A text is the whole line.
            let query = if t == SignalType::Text {
                text.trim()
            } else {
                text.trim().split(|c: char| c == ',' || c.is_whitespace()).next().unwrap_or("")
            };
            match marsad_match::values::canonical(t, query) {
                Ok(v) => chunk.push((query.to_owned(), v)),
                Err(e) => {
                    bad += 1;
                    eprintln!("error: {}: line {line_no}: {e}", file.display());
                }
            }
        }
        queries_total += chunk.len() as u64;
        let found: Vec<Vec<Found>> = match t {
            SignalType::Pdq => {
                let hashes: Vec<PdqHash> =
                    chunk.iter().filter_map(|(_, v)| PdqHash::from_hex(v).ok()).collect();
                // Chunks of a batch on every core; a batch is several times
                // faster per query than one query at a time.
                let parts: Vec<Vec<Vec<Found>>> =
                    hashes.par_chunks(8192).map(|part| matcher.match_pdq_batch(part)).collect();
                parts.into_iter().flatten().collect()
            }
            SignalType::Text => chunk.par_iter().map(|(_, v)| matcher.match_text(v)).collect(),
            _ => chunk
                .par_iter()
                .map(|(_, v)| {
                    matcher.match_fingerprints(
                        &[NewFingerprint { signal_type: t, value: v.clone(), quality: None }],
                        None,
                    )
                })
                .collect(),
        };
        entries.fetch(found.iter().flatten().map(|f| f.entry_id))?;
        for ((raw, _), f) in chunk.iter().zip(&found) {
            let line = json!({ "query": raw, "matches": matches_json(f, entries, &args.banks, false) });
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    if queries_total == 0 && bad == 0 {
        bail!("{} holds no query", file.display());
    }
    if bad > 0 {
        eprintln!(
            "{} of {} {} invalid",
            super::count(bad, "line"),
            file.display(),
            if bad == 1 { "was" } else { "were" }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a file is, from its content (and, for text, its name).
fn kind_of(path: &Path, head: &[u8]) -> Option<MediaKind> {
    match infer::get(head).map(|t| t.matcher_type()) {
        Some(infer::MatcherType::Image) => Some(MediaKind::Image),
        Some(infer::MatcherType::Video) => Some(MediaKind::Video),
        Some(infer::MatcherType::Audio) => Some(MediaKind::Audio),
        _ => {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            matches!(ext.as_str(), "txt" | "text").then_some(MediaKind::Document)
        }
    }
}

/// Fingerprints a file as ingestion would, plus its digests (and text, for
/// a `.txt` file).
fn signals_of(path: &Path, fp: &MediaFingerprinter) -> Result<(Vec<NewFingerprint>, Option<String>)> {
    let mut file = std::fs::File::open(path).context("cannot open")?;
    let len = file.metadata().context("cannot stat")?.len();
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        bail!("is a folder");
    }
    let mut head = vec![0u8; 8192];
    let n = file.read(&mut head).context("cannot read")?;
    head.truncate(n);
    let kind = kind_of(path, &head);
    // Digests in one streaming pass; images and texts are also kept whole.
    let keep = matches!(kind, Some(MediaKind::Image | MediaKind::Document)) && len <= 1 << 30;
    let mut digests = ExactDigests::new();
    digests.update(&head);
    let mut whole = if keep { head.clone() } else { Vec::new() };
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).context("cannot read")?;
        if n == 0 {
            break;
        }
        digests.update(&buf[..n]);
        if keep {
            whole.extend_from_slice(&buf[..n]);
        }
    }
    let d = digests.finish();
    let mut signals = vec![
        NewFingerprint { signal_type: SignalType::Md5, value: d.md5_hex(), quality: None },
        NewFingerprint { signal_type: SignalType::Sha256, value: d.sha256_hex(), quality: None },
    ];
    let mut text = None;
    use marsad_ingest::Fingerprinter as _;
    match kind {
        Some(MediaKind::Image) => signals.extend(fp.image(path, &whole)?),
        Some(k @ MediaKind::Video) => {
            signals.extend(fp.media(k, path, None).map_err(anyhow::Error::msg)?);
            // The soundtrack too, when there is one.
            if let Ok(audio) = fp.media(MediaKind::Audio, path, None) {
                signals.extend(audio);
            }
        }
        Some(k @ MediaKind::Audio) => signals.extend(fp.media(k, path, None).map_err(anyhow::Error::msg)?),
        Some(MediaKind::Document) => {
            let t = String::from_utf8(whole).map_err(|_| anyhow::anyhow!("a .txt file that is not UTF-8"))?;
            signals.extend(fp.text(&t));
            text = Some(t);
        }
        None => {}
    }
    Ok((signals, text))
}

fn match_files(matcher: &BankMatcher, entries: &mut Entries<'_>, args: &MatchArgs) -> Result<ExitCode> {
    let fp = MediaFingerprinter::new(FingerprintConfig {
        seconds_per_hash: args.seconds_per_hash,
        limits: Limits::default(),
        ..FingerprintConfig::default()
    });
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(args.jobs.unwrap_or(0)).build().context("threads")?;
    let stdout = std::io::stdout();
    let mut failed = 0;
    for chunk in args.files.chunks(64) {
        let results: Vec<Result<(Vec<NewFingerprint>, Vec<Found>)>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|path| {
                    let (signals, text) = signals_of(path, &fp)?;
                    let mut found = matcher.match_fingerprints(&signals, text.as_deref());
                    if matcher.config().dihedral
                        && let Some(p) = signals.iter().find(|s| s.signal_type == SignalType::Pdq)
                    {
                        // The rotations and mirror images of the image.
                        let bytes = std::fs::read(path)?;
                        let all =
                            marsad_hash::pdq::hash_image_bytes_dihedral(&bytes, &Limits::default().image)?;
                        found.retain(|f| f.signal_type != SignalType::Pdq);
                        let h = PdqHash::from_hex(&p.value)?;
                        found.extend(matcher.match_pdq(&h, Some(&all.hashes)));
                    }
                    Ok((signals, found))
                })
                .collect()
        });
        entries.fetch(results.iter().flatten().flat_map(|(_, f)| f.iter().map(|f| f.entry_id)))?;
        let mut out = stdout.lock();
        for (path, result) in chunk.iter().zip(results) {
            match result {
                Ok((signals, found)) => {
                    let mut map = BTreeMap::new();
                    for s in &signals {
                        map.insert(s.signal_type.as_str(), json!(s.value));
                        if let (SignalType::Pdq, Some(q)) = (s.signal_type, s.quality) {
                            map.insert("pdq_quality", json!(q));
                        }
                    }
                    let line = json!({
                        "file": path.display().to_string(),
                        "signals": map,
                        "matches": matches_json(&found, entries, &args.banks, true),
                    });
                    writeln!(out, "{line}")?;
                }
                Err(e) => {
                    failed += 1;
                    writeln!(
                        out,
                        "{}",
                        json!({ "file": path.display().to_string(), "error": format!("{e:#}") })
                    )?;
                    eprintln!("error: {}: {e:#}", path.display());
                }
            }
        }
        out.flush()?;
    }
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `marsad matches`: the matches found at ingest.
/// Matches every stored item against the banks as they are now and stores
/// what is new; then, when anything was, describes the releases again (a
/// bank label can attribute a release). Returns (items, new matches).
fn rescan(db: &str, store: &mut SqliteStore) -> Result<(u64, u64)> {
    let matcher = load_banks(db, &*store, MatchConfig::default())?;
    let mut items = 0u64;
    let mut found: Vec<(ItemRef, NewMatch)> = Vec::new();
    let mut chunk: Vec<MatchableItem> = Vec::with_capacity(RESCAN_CHUNK);
    let run_chunk = |chunk: &mut Vec<MatchableItem>, found: &mut Vec<(ItemRef, NewMatch)>| {
        let parts: Vec<Vec<(ItemRef, NewMatch)>> = chunk
            .par_iter()
            .map(|it| {
                let m = marsad_ingest::Matcher::matches(&matcher, &it.fingerprints, it.text.as_deref());
                m.into_iter().map(|m| (it.item, m)).collect()
            })
            .collect();
        found.extend(parts.into_iter().flatten());
        chunk.clear();
    };
    if !matcher.is_empty() {
        store
            .matchable_items(&mut |it| {
                items += 1;
                chunk.push(it);
                if chunk.len() == RESCAN_CHUNK {
                    run_chunk(&mut chunk, &mut found);
                }
                Ok(())
            })
            .context("reading the stored items")?;
        run_chunk(&mut chunk, &mut found);
    }
    let added = store.add_matches(&found).context("storing the matches")?;
    if added > 0 {
        marsad_observe::update::update(store, &marsad_observe::group::GroupConfig::default(), true)
            .context("describing the releases again")?;
    }
    Ok((items, added))
}

/// Items matched between two stops to collect what they matched.
const RESCAN_CHUNK: usize = 4096;

pub fn list(db: &str, json_out: bool, args: &MatchesArgs) -> Result<ExitCode> {
    let mut store = crate::store::open(db)?;
    if args.rescan {
        let (items, added) = rescan(db, &mut store)?;
        let new = if added == 1 { "1 new match".to_owned() } else { format!("{added} new matches") };
        eprintln!("matched {} in the store against the banks: {new}", super::count(items, "item"));
    }
    let matches = store.matches()?;
    if json_out {
        let rows: Vec<Value> = matches
            .iter()
            .map(|m| {
                let item = match &m.item {
                    MatchedItem::Media { sha256, posts } => json!({
                        "media": sha256.to_hex(),
                        "posts": posts.iter().map(|(s, id, at)| json!({
                            "source": s.to_string(), "post_id": id, "posted_at": at.to_rfc3339(),
                        })).collect::<Vec<_>>(),
                    }),
                    MatchedItem::Post { source, post_id, posted_at } => json!({
                        "post": { "source": source.to_string(), "post_id": post_id, "posted_at": posted_at.to_rfc3339() },
                    }),
                };
                let detail = m.detail.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok());
                json!({
                    "item": item,
                    "bank": m.entry.bank,
                    "signal_type": m.signal_type.as_str(),
                    "value": m.entry.value,
                    // Whole bits for PDQ, as `marsad match` prints them.
                    "distance": if m.signal_type == SignalType::Pdq { json!(m.distance as u32) } else { json!(m.distance) },
                    "labels": m.entry.labels,
                    "detail": detail,
                    "matched_at": m.matched_at.to_rfc3339(),
                })
            })
            .collect();
        println!("{}", Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    if matches.is_empty() {
        println!(
            "no matches (items are matched against the banks when they are ingested; \
             `marsad matches --rescan` matches what the store holds against the banks as they are now)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<20} {:<7} {:>8}  {:<56} labels", "bank", "signal", "distance", "item");
    for m in &matches {
        let where_ = match &m.item {
            MatchedItem::Media { sha256, posts } => {
                let first = posts.first().map(|(s, id, _)| format!("{s}/{id}")).unwrap_or_default();
                let more = if posts.len() > 1 {
                    format!(" (+{})", super::count(posts.len() as u64 - 1, "post"))
                } else {
                    String::new()
                };
                format!("media {}… in {first}{more}", &sha256.to_hex()[..12])
            }
            MatchedItem::Post { source, post_id, .. } => format!("post {source}/{post_id}"),
        };
        let labels: Vec<String> = m.entry.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:<20} {:<7} {:>8.3}  {where_:<56} {}",
            m.entry.bank,
            m.signal_type.as_str(),
            m.distance,
            labels.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

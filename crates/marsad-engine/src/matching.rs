//! Matching files and hashes against the banks, the stored matches, and the
//! rescan of what the store holds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use marsad_core::SignalType;
use marsad_hash::pdq::PdqHash;
use marsad_index::audio::AudioConfig;
use marsad_index::vpdq::VpdqConfig;
use marsad_match::{BankMatcher, Found, MatchConfig};
use marsad_media::{FingerprintConfig, MediaFingerprinter};
use marsad_store::{
    BankEntry, EntryFilter, EntryId, ItemRef, MatchableItem, MatchedItem, NewFingerprint, NewMatch,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, StepContext, invalid};
use crate::fingerprint::{FileSignals, fingerprint_file};

/// What `marsad match` is asked to do.
#[derive(Clone, Debug)]
pub struct MatchOptions {
    /// Only matches in these banks (all when empty).
    pub banks: Vec<String>,
    /// The thresholds.
    pub config: MatchConfig,
    /// vPDQ: seconds between hashed frames of a queried video.
    pub seconds_per_hash: f64,
}

/// The thresholds of a match request as a front end gives them (flags,
/// query parameters); [`MatchRequest::options`] checks them.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchRequest {
    /// Only matches in these banks (all when empty).
    pub banks: Vec<String>,
    /// PDQ: largest Hamming distance (inclusive).
    pub pdq_threshold: u32,
    /// PDQ: also the rotations and mirror images.
    pub dihedral: bool,
    /// Text: least Jaccard similarity, 0–1.
    pub text_threshold: f64,
    /// vPDQ: least % of the query's frames matched.
    pub vpdq_query_threshold: f64,
    /// vPDQ: least % of the entry's frames matched.
    pub vpdq_compared_threshold: f64,
    /// Audio: largest bit error rate, 0–0.5.
    pub audio_max_ber: f64,
    /// vPDQ: seconds between hashed frames of a queried video.
    pub seconds_per_hash: f64,
}

impl MatchRequest {
    /// The options, or what is wrong with the request.
    pub fn options(&self) -> Result<MatchOptions> {
        if !(0.0..=1.0).contains(&self.text_threshold) {
            return Err(invalid!("--text-threshold must be between 0 and 1"));
        }
        if !(0.0..=0.5).contains(&self.audio_max_ber) {
            return Err(invalid!("--audio-max-ber must be between 0 and 0.5"));
        }
        for (name, v) in [
            ("--vpdq-query-threshold", self.vpdq_query_threshold),
            ("--vpdq-compared-threshold", self.vpdq_compared_threshold),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(invalid!("{name} must be a percentage between 0 and 100"));
            }
        }
        if !(self.seconds_per_hash.is_finite() && self.seconds_per_hash >= 0.0) {
            return Err(invalid!("--seconds-per-hash must be a number of at least 0"));
        }
        let config = MatchConfig {
            pdq_threshold: self.pdq_threshold,
            dihedral: self.dihedral,
            text_jaccard: self.text_threshold,
            vpdq: VpdqConfig {
                query_match_percent: self.vpdq_query_threshold,
                compared_match_percent: self.vpdq_compared_threshold,
                ..VpdqConfig::default()
            },
            audio: AudioConfig { max_bit_error_rate: self.audio_max_ber, ..AudioConfig::default() },
        };
        Ok(MatchOptions { banks: self.banks.clone(), config, seconds_per_hash: self.seconds_per_hash })
    }
}

/// A distance as printed: whole bits for PDQ, a fraction otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Distance {
    /// Hamming distance of PDQ hashes.
    Bits(u32),
    /// Any other signal's distance (see [`marsad_store::NewMatch::distance`]).
    Fraction(f64),
}

impl Distance {
    fn of(t: SignalType, d: f64) -> Self {
        if t == SignalType::Pdq { Distance::Bits(d as u32) } else { Distance::Fraction(d) }
    }
}

/// One match of a query against a bank entry. The fields are in the order
/// the JSON has always printed them (alphabetical).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatchRow {
    /// The entry's bank.
    pub bank: String,
    /// Details (percentages, offsets, similarity), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// How far apart.
    pub distance: Distance,
    /// The entry's id (with file queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<EntryId>,
    /// The entry's labels (with file queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// The signal that matched (with file queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_type: Option<&'static str>,
    /// The entry's value.
    pub value: String,
    /// `"pytx"` when python-threatexchange's PDQ of the image matched (a
    /// palette or CMYK image, whose true-colour hash did not match this
    /// entry); absent for marsad's own hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'static str>,
}

/// A value in a file's `signals`: a fingerprint, or the PDQ quality.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SignalValue {
    /// A fingerprint in its text form.
    Value(String),
    /// `pdq_quality`.
    Quality(u8),
}

/// `marsad match FILE`: one per file.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FileMatch {
    /// The file was fingerprinted and matched.
    Matched {
        /// The file as given.
        file: String,
        /// The matches.
        matches: Vec<MatchRow>,
        /// Its signals by type name (and `pdq_quality`).
        signals: BTreeMap<String, SignalValue>,
    },
    /// The file could not be fingerprinted.
    Failed {
        /// Why.
        error: String,
        /// The file as given.
        file: String,
    },
}

/// `marsad match --hashes FILE`: one per query line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValueMatch {
    /// The matches.
    pub matches: Vec<MatchRow>,
    /// The query as it was read.
    pub query: String,
}

/// A line of a query file that was not a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryLineError {
    /// Its line number, from 1.
    pub line: u64,
    /// Why.
    pub error: String,
}

/// What reading a query file came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryFileSummary {
    /// Queries matched.
    pub queries: u64,
    /// Lines refused.
    pub invalid: u64,
}

/// A post a stored match is about, as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PostRef {
    /// Its id.
    pub post_id: String,
    /// When it was posted (RFC 3339).
    pub posted_at: String,
    /// Its source (`platform:id`).
    pub source: String,
}

/// What a stored match is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MatchedThing {
    /// A media item and the posts carrying it.
    Media {
        /// Its SHA-256.
        media: String,
        /// The posts carrying it.
        posts: Vec<PostRef>,
    },
    /// A post whose text matched.
    Post {
        /// The post.
        post: PostRef,
    },
}

/// `marsad matches --json`: one stored match.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredMatchRow {
    /// The entry's bank.
    pub bank: String,
    /// Details, if any (`null` when none).
    pub detail: Option<serde_json::Value>,
    /// How far apart (whole bits for PDQ).
    #[schema(value_type = f64)]
    pub distance: Distance,
    /// Its id in the store (the review queue's `match` items).
    pub id: i64,
    /// What matched: `{"media", "posts"}` or `{"post"}`.
    #[schema(value_type = Object)]
    pub item: MatchedThing,
    /// The entry's labels.
    pub labels: BTreeMap<String, String>,
    /// When the match was found.
    pub matched_at: String,
    /// The signal.
    #[schema(value_type = String)]
    pub signal_type: &'static str,
    /// The entry's value.
    pub value: String,
    /// `"pytx"` when python-threatexchange's PDQ of the image found the
    /// match (a palette or CMYK image, whose true-colour hash did not match
    /// this entry); absent for marsad's own hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub variant: Option<&'static str>,
}

/// What `marsad matches --rescan` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RescanSummary {
    /// Stored items matched.
    pub items: u64,
    /// New matches stored.
    pub added: u64,
}

/// Items matched between two stops to collect what they matched.
const RESCAN_CHUNK: usize = 4096;
/// Longest query line read.
pub const MAX_QUERY_LINE: usize = 16 * 1024 * 1024;
/// Queries matched between two outputs.
const QUERY_CHUNK: usize = 65_536;
/// Files matched between two outputs (in input order).
const FILE_CHUNK: usize = 64;

/// Bank entries by id, fetched once each.
struct Entries {
    known: HashMap<EntryId, BankEntry>,
}

impl Entries {
    fn fetch(&mut self, engine: &Engine, ids: impl IntoIterator<Item = EntryId>) -> Result<()> {
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
        engine.store().bank_entries(&filter, &mut |e| {
            self.known.insert(e.id, e);
            Ok(())
        })?;
        Ok(())
    }

    /// The rows of `found`, restricted to `banks` (all when empty), sorted
    /// by distance, then signal type, value and bank.
    fn rows(&self, found: &[Found], banks: &[String], with_entry: bool) -> Vec<MatchRow> {
        let mut rows: Vec<(&Found, &BankEntry)> = found
            .iter()
            .filter_map(|f| self.known.get(&f.entry_id).map(|e| (f, e)))
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
            .map(|(f, e)| MatchRow {
                bank: e.bank.clone(),
                detail: f.detail.clone(),
                distance: Distance::of(f.signal_type, f.distance),
                entry_id: with_entry.then_some(e.id),
                labels: with_entry.then(|| e.labels.clone()),
                signal_type: with_entry.then_some(f.signal_type.as_str()),
                value: e.value.clone(),
                variant: f.variant.map(|v| v.as_str()),
            })
            .collect()
    }
}

/// The banks loaded for matching, with the entries already looked up.
pub struct Matching<'e> {
    engine: &'e Engine,
    matcher: BankMatcher,
    opts: MatchOptions,
    entries: Entries,
    fingerprinter: MediaFingerprinter,
}

impl std::fmt::Debug for Matching<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matching").field("opts", &self.opts).finish_non_exhaustive()
    }
}

impl Engine {
    /// Every bank loaded into the matchers, the PDQ index from its cache
    /// beside the store when current.
    pub fn bank_matcher(&self, cfg: MatchConfig) -> Result<BankMatcher> {
        let cache = self.bank_index_cache();
        let banks = BankMatcher::load(self.store(), cfg, cache.as_deref()).step("loading the banks")?;
        if banks.skipped() > 0 {
            // Each entry was named in a warning as it was read.
            tracing::warn!(skipped = banks.skipped(), "bank entries have unreadable values and cannot match");
        }
        Ok(banks)
    }

    /// Loads the banks for `opts`; every bank `opts` names must exist.
    pub fn matching(&self, opts: MatchOptions) -> Result<Matching<'_>> {
        let known: HashSet<String> = self.store().bank_settings()?.into_iter().map(|b| b.1).collect();
        for b in &opts.banks {
            if !known.contains(b) {
                return Err(EngineError::NotFound(format!("no bank named {b:?}")));
            }
        }
        let matcher = self.bank_matcher(opts.config)?;
        let fingerprinter = MediaFingerprinter::new(FingerprintConfig {
            seconds_per_hash: opts.seconds_per_hash,
            limits: self.limits(),
            ..FingerprintConfig::default()
        });
        Ok(Matching {
            engine: self,
            matcher,
            opts,
            entries: Entries { known: HashMap::new() },
            fingerprinter,
        })
    }

    /// Matches every stored item against the banks as they are now and
    /// stores what is new; then, when anything was, describes the releases
    /// again (a bank label can attribute a release).
    pub fn rescan(&mut self) -> Result<RescanSummary> {
        let matcher = self.bank_matcher(MatchConfig::default())?;
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
            self.store()
                .matchable_items(&mut |it| {
                    items += 1;
                    chunk.push(it);
                    if chunk.len() == RESCAN_CHUNK {
                        run_chunk(&mut chunk, &mut found);
                    }
                    Ok(())
                })
                .step("reading the stored items")?;
            run_chunk(&mut chunk, &mut found);
        }
        let added = self.store_mut().add_matches(&found).step("storing the matches")?;
        if added > 0 {
            self.describe_all().step("describing the releases again")?;
        }
        Ok(RescanSummary { items, added })
    }

    /// The stored matches of bank `bank` and of posts of `source` (each
    /// when given), oldest first: a media item's match is of a source when
    /// one of the posts carrying it is.
    pub fn stored_matches_of(
        &self,
        bank: Option<&str>,
        source: Option<&marsad_core::SourceKey>,
    ) -> Result<Vec<StoredMatchRow>> {
        let source = source.map(ToString::to_string);
        let mut rows = self.stored_matches()?;
        rows.retain(|m| {
            bank.is_none_or(|b| m.bank == b)
                && source.as_deref().is_none_or(|s| match &m.item {
                    MatchedThing::Media { posts, .. } => posts.iter().any(|p| p.source == s),
                    MatchedThing::Post { post } => post.source == s,
                })
        });
        Ok(rows)
    }

    /// Every stored match, oldest first, as printed.
    pub fn stored_matches(&self) -> Result<Vec<StoredMatchRow>> {
        self.store().matches()?.into_iter().map(match_row).collect()
    }
}

/// A stored match as printed.
pub(crate) fn match_row(m: marsad_store::StoredMatch) -> Result<StoredMatchRow> {
    let post = |s: &marsad_core::SourceKey, id: &str, at: &marsad_core::UtcTime| PostRef {
        post_id: id.to_owned(),
        posted_at: at.to_rfc3339(),
        source: s.to_string(),
    };
    let item = match &m.item {
        MatchedItem::Media { sha256, posts } => MatchedThing::Media {
            media: sha256.to_hex(),
            posts: posts.iter().map(|(s, id, at)| post(s, id, at)).collect(),
        },
        MatchedItem::Post { source, post_id, posted_at } => {
            MatchedThing::Post { post: post(source, post_id, posted_at) }
        }
    };
    let detail = match m.detail.as_deref() {
        None => None,
        Some(d) => Some(serde_json::from_str(d).map_err(|e| {
            EngineError::step(
                format!("reading the match of bank entry {} (its detail is not JSON)", m.entry.id),
                e,
            )
        })?),
    };
    Ok(StoredMatchRow {
        bank: m.entry.bank,
        detail,
        distance: Distance::of(m.signal_type, m.distance),
        id: m.id,
        item,
        labels: m.entry.labels,
        matched_at: m.matched_at.to_rfc3339(),
        signal_type: m.signal_type.as_str(),
        value: m.entry.value,
        variant: m.variant.map(|v| v.as_str()),
    })
}

impl Matching<'_> {
    /// The thresholds in force.
    pub fn config(&self) -> &MatchConfig {
        self.matcher.config()
    }

    /// Fingerprints and matches `files`, in parallel chunks on `jobs`
    /// threads (0: every core), and hands each result to `emit` in input
    /// order. A file that fails is handed over as [`FileMatch::Failed`].
    pub fn match_files(
        &mut self,
        files: &[std::path::PathBuf],
        jobs: usize,
        emit: &mut dyn FnMut(&Path, &FileMatch) -> std::io::Result<()>,
    ) -> Result<()> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().step("starting threads")?;
        for chunk in files.chunks(FILE_CHUNK) {
            let (matcher, fp) = (&self.matcher, &self.fingerprinter);
            let results: Vec<Result<(FileSignals, Vec<Found>)>> =
                pool.install(|| chunk.par_iter().map(|path| match_file(matcher, fp, path)).collect());
            let ids = results.iter().flatten().flat_map(|(_, f)| f.iter().map(|f| f.entry_id));
            let ids: Vec<EntryId> = ids.collect();
            self.entries.fetch(self.engine, ids)?;
            for (path, result) in chunk.iter().zip(results) {
                let line = match result {
                    Ok((signals, found)) => {
                        let mut map = BTreeMap::new();
                        // marsad's own values: a variant is matched, not printed
                        // (`marsad hash pdq --compat pytx` prints it).
                        for s in signals.fingerprints.iter().filter(|s| s.variant.is_none()) {
                            map.insert(
                                s.signal_type.as_str().to_owned(),
                                SignalValue::Value(s.value.clone()),
                            );
                            if let (SignalType::Pdq, Some(q)) = (s.signal_type, s.quality) {
                                map.insert("pdq_quality".to_owned(), SignalValue::Quality(q));
                            }
                        }
                        FileMatch::Matched {
                            file: path.display().to_string(),
                            matches: self.entries.rows(&found, &self.opts.banks, true),
                            signals: map,
                        }
                    }
                    Err(e) => FileMatch::Failed { error: e.to_string(), file: path.display().to_string() },
                };
                emit(path, &line).map_err(|e| EngineError::io("standard output", e))?;
            }
        }
        Ok(())
    }

    /// Matches one query per line of `reader` (values of signal type `t`:
    /// pdq, md5, sha256 or text), in chunks, handing each result to `emit`
    /// in order and each refused line to `refused`.
    pub fn match_values(
        &mut self,
        t: SignalType,
        reader: &mut dyn BufRead,
        emit: &mut dyn FnMut(&ValueMatch) -> std::io::Result<()>,
        refused: &mut dyn FnMut(&QueryLineError),
    ) -> Result<QueryFileSummary> {
        if !matches!(t, SignalType::Pdq | SignalType::Md5 | SignalType::Sha256 | SignalType::Text) {
            return Err(invalid!(
                "--hashes reads one value per line: pdq, md5, sha256 or text (match {t} files directly)"
            ));
        }
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        let mut summary = QueryFileSummary::default();
        let mut chunk: Vec<(String, String)> = Vec::new();
        let mut done = false;
        let mut refuse = |summary: &mut QueryFileSummary, line: u64, error: String| {
            summary.invalid += 1;
            refused(&QueryLineError { line, error });
        };
        while !done {
            chunk.clear();
            while chunk.len() < QUERY_CHUNK {
                let Some(read) =
                    marsad_ingest::lines::read_line_bounded(&mut &mut *reader, &mut buf, MAX_QUERY_LINE)
                        .map_err(|e| EngineError::io("the query file", e))?
                else {
                    done = true;
                    break;
                };
                line_no += 1;
                if let marsad_ingest::lines::LineRead::TooLong { bytes } = read {
                    refuse(
                        &mut summary,
                        line_no,
                        format!("a line of {bytes} bytes is longer than {MAX_QUERY_LINE}; skipped"),
                    );
                    continue;
                }
                let Ok(text) = std::str::from_utf8(&buf) else {
                    refuse(&mut summary, line_no, "not UTF-8".to_owned());
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
                    Err(e) => refuse(&mut summary, line_no, e.to_string()),
                }
            }
            summary.queries += chunk.len() as u64;
            let matcher = &self.matcher;
            let found: Vec<Vec<Found>> = match t {
                SignalType::Pdq => {
                    let hashes: Vec<PdqHash> =
                        chunk.iter().filter_map(|(_, v)| PdqHash::from_hex(v).ok()).collect();
                    // Chunks of a batch on every core; a batch is several
                    // times faster per query than one query at a time.
                    let parts: Vec<Vec<Vec<Found>>> =
                        hashes.par_chunks(8192).map(|part| matcher.match_pdq_batch(part)).collect();
                    parts.into_iter().flatten().collect()
                }
                SignalType::Text => chunk.par_iter().map(|(_, v)| matcher.match_text(v)).collect(),
                _ => chunk
                    .par_iter()
                    .map(|(_, v)| {
                        matcher.match_fingerprints(
                            &[NewFingerprint {
                                signal_type: t,
                                value: v.clone(),
                                quality: None,
                                variant: None,
                            }],
                            None,
                        )
                    })
                    .collect(),
            };
            self.entries.fetch(self.engine, found.iter().flatten().map(|f| f.entry_id))?;
            for ((raw, _), f) in chunk.iter().zip(&found) {
                let line =
                    ValueMatch { matches: self.entries.rows(f, &self.opts.banks, false), query: raw.clone() };
                emit(&line).map_err(|e| EngineError::io("standard output", e))?;
            }
        }
        Ok(summary)
    }
}

/// Fingerprints one file as ingestion does and matches it.
fn match_file(
    matcher: &BankMatcher,
    fp: &MediaFingerprinter,
    path: &Path,
) -> Result<(FileSignals, Vec<Found>)> {
    // Banks built by python-threatexchange or HMA hold its variant of
    // palette and CMYK images: fingerprinting gave it, and it is matched
    // with the rest, marked, for the entries marsad's own hash misses.
    let signals = fingerprint_file(fp, path)?;
    let mut found = matcher.match_fingerprints(&signals.fingerprints, signals.text.as_deref());
    if matcher.config().dihedral
        && let Some(p) = signals.get(SignalType::Pdq)
    {
        // The rotations and mirror images of the image.
        let bytes = std::fs::read(path).map_err(|e| EngineError::io(path.display(), e))?;
        let held = fp.reserve_image_decode(&bytes).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let all = marsad_hash::pdq::hash_image_bytes_dihedral(&bytes, &fp.limits().image)
            .map_err(|e| EngineError::step(format!("hashing {}", path.display()), e))?;
        drop(held);
        let h = PdqHash::from_hex(&p.value).map_err(|e| EngineError::step("reading a PDQ hash", e))?;
        let own = matcher.match_pdq(&h, Some(&all.hashes));
        // The own hash's matches are those of its eight transforms; an entry
        // one of them finds is theirs, not the variant's.
        found.retain(|f| {
            f.signal_type != SignalType::Pdq
                || (f.variant.is_some() && !own.iter().any(|o| o.entry_id == f.entry_id))
        });
        found.extend(own);
    }
    Ok((signals, found))
}

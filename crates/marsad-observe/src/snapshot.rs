//! The [`Observatory`] of a store: its releases and sightings in columns,
//! read from the store once and cached in a file beside it
//! (`marsad.db.observatory`), so that analytics over ten million sightings
//! start from a file read rather than a query. The file is a
//! [`marsad_store::cachefile`]: it records the store's identity and
//! releases generation, the body's length and checksum, and is rebuilt when
//! any of them differs from the store's (or the file from its header).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use marsad_core::{ReleaseId, SourceId};
use marsad_store::cachefile::{self, CacheFileError, CacheFormat, Provenance};
use marsad_store::{MetaStore, ObservatoryStore, RegistryStore, Result, StoreIdentity, sighting};

use crate::analytics::{Observatory, Release, Sighting};
use crate::describe::Format;

/// Version 2: the header of [`cachefile`] (version 1, `MRSDOBS1`, had
/// neither identity nor checksum).
const FORMAT: CacheFormat = CacheFormat { magic: *b"MRSDOBSV", version: 2 };

/// Bytes of one release and one sighting in the body.
const RELEASE_BYTES: u64 = 37;
const SIGHTING_BYTES: u64 = 16;

/// Why a cache file was not used.
#[derive(Debug)]
enum Rebuild {
    /// Not a readable observatory of this format (or its checksum or
    /// length is wrong).
    File(CacheFileError),
    /// Built from another store (one made again at the same path, or a
    /// store file copied over this one).
    OtherStore { cache: StoreIdentity, store: StoreIdentity },
    /// Built at another releases generation.
    Generation { cache: Vec<i64>, store: i64 },
    /// The checksum matched but the body is not a valid observatory.
    Body(std::io::Error),
}

impl std::fmt::Display for Rebuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rebuild::File(e) => write!(f, "{e}"),
            Rebuild::OtherStore { cache, store } => {
                write!(f, "built from store {cache}, this is store {store}")
            }
            Rebuild::Generation { cache, store } => {
                write!(f, "built at releases generation {cache:?}, the store is at {store}")
            }
            Rebuild::Body(e) => write!(f, "malformed body: {e}"),
        }
    }
}

fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// The body being read, with the bytes left in it: every count and length
/// read from the body is checked against what is left before anything is
/// allocated for it.
struct Body<R> {
    r: R,
    left: u64,
}

impl<R: Read> Body<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        self.left = self.left.saturating_sub(N as u64);
        Ok(b)
    }

    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn i64(&mut self) -> std::io::Result<i64> {
        Ok(i64::from_le_bytes(self.bytes()?))
    }

    /// A count of items of at least `bytes` bytes each.
    fn count(&mut self, n: u64, bytes: u64) -> std::io::Result<usize> {
        if n > self.left / bytes {
            return Err(std::io::Error::other("count larger than the body"));
        }
        Ok(n as usize)
    }

    fn str(&mut self) -> std::io::Result<String> {
        let n = self.u32()?;
        let n = self.count(u64::from(n), 1)?;
        if n > 1 << 20 {
            return Err(std::io::Error::other("string too long"));
        }
        let mut b = vec![0u8; n];
        self.r.read_exact(&mut b)?;
        self.left -= n as u64;
        String::from_utf8(b).map_err(std::io::Error::other)
    }
}

/// Whether `micros` is a time marsad can store (years 1 to 9999): a time
/// outside would make analytics span millennia of buckets.
fn valid_time(micros: i64) -> bool {
    marsad_core::UtcTime::from_unix_micros(micros).is_some()
}

fn write(path: &Path, identity: StoreIdentity, generation: i64, obs: &Observatory) -> std::io::Result<()> {
    let provenance = Provenance { identity, state: vec![generation] };
    cachefile::write_atomic(path, &FORMAT, &provenance, |w| {
        for list in [&obs.sources, &obs.outlets, &obs.languages] {
            w.write_all(&(list.len() as u32).to_le_bytes())?;
            for s in list {
                put_str(w, s)?;
            }
        }
        w.write_all(&(obs.releases.len() as u64).to_le_bytes())?;
        for r in &obs.releases {
            w.write_all(&r.id.to_le_bytes())?;
            w.write_all(&r.first_seen.to_le_bytes())?;
            w.write_all(&r.last_seen.to_le_bytes())?;
            w.write_all(&r.outlet.map_or(u32::MAX, |o| o).to_le_bytes())?;
            w.write_all(&r.language.map_or(u32::MAX, |o| o).to_le_bytes())?;
            w.write_all(&r.source.to_le_bytes())?;
            w.write_all(&[Format::ALL.iter().position(|f| *f == r.format).unwrap_or(0) as u8])?;
        }
        w.write_all(&(obs.sightings.len() as u64).to_le_bytes())?;
        for s in &obs.sightings {
            w.write_all(&s.release.to_le_bytes())?;
            w.write_all(&s.source.to_le_bytes())?;
            w.write_all(&s.time.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Reads the cache at `path` if it was built from this store at this
/// releases generation.
fn read(path: &Path, identity: StoreIdentity, generation: i64) -> Result<Observatory, Rebuild> {
    let mut r = cachefile::open(path, &FORMAT).map_err(Rebuild::File)?;
    let p = r.provenance();
    if p.identity != identity {
        return Err(Rebuild::OtherStore { cache: p.identity, store: identity });
    }
    if p.state != [generation] {
        return Err(Rebuild::Generation { cache: p.state.clone(), store: generation });
    }
    let body_len = r.body_len();
    let body = read_body(&mut r, body_len);
    // The checksum first: a corrupt body is reported as such even when the
    // corruption made it unparsable (a body refused part way is also left
    // unread, which is not the problem to report).
    match (body, r.finish()) {
        (_, Err(e @ CacheFileError::Checksum { .. })) => Err(Rebuild::File(e)),
        (Err(e), _) => Err(Rebuild::Body(e)),
        (Ok(_), Err(e)) => Err(Rebuild::File(e)),
        (Ok(obs), Ok(())) => Ok(obs),
    }
}

fn read_body(r: &mut impl Read, body_len: u64) -> std::io::Result<Observatory> {
    let bad = |what: &str| std::io::Error::other(what.to_owned());
    let mut r = Body { r, left: body_len };
    let mut lists: [Vec<String>; 3] = Default::default();
    for list in &mut lists {
        // Each string takes at least its 4-byte length.
        let n = r.u32()?;
        let n = r.count(u64::from(n), 4)?;
        list.reserve(n);
        for _ in 0..n {
            list.push(r.str()?);
        }
    }
    let [sources, outlets, languages] = lists;
    let opt = |v: u32| (v != u32::MAX).then_some(v);
    let n = r.i64()?;
    let n = r.count(u64::try_from(n).map_err(|_| bad("negative count"))?, RELEASE_BYTES)?;
    let mut releases = Vec::with_capacity(n);
    for _ in 0..n {
        let buf: [u8; RELEASE_BYTES as usize] = r.bytes()?;
        let i64_at = |o: usize| i64::from_le_bytes(buf[o..o + 8].try_into().unwrap_or_default());
        let u32_at = |o: usize| u32::from_le_bytes(buf[o..o + 4].try_into().unwrap_or_default());
        let (outlet, language, source) = (opt(u32_at(24)), opt(u32_at(28)), u32_at(32));
        if outlet.is_some_and(|o| o as usize >= outlets.len())
            || language.is_some_and(|l| l as usize >= languages.len())
            || source as usize >= sources.len().max(1)
        {
            return Err(bad("index out of range"));
        }
        let (first_seen, last_seen) = (i64_at(8), i64_at(16));
        if !valid_time(first_seen) || !valid_time(last_seen) || first_seen > last_seen {
            return Err(bad("release times out of range"));
        }
        let format =
            Format::ALL.get(buf[36] as usize).copied().ok_or_else(|| bad("unknown release format"))?;
        releases.push(Release { id: i64_at(0), first_seen, last_seen, outlet, language, source, format });
    }
    let n = r.i64()?;
    let n = r.count(u64::try_from(n).map_err(|_| bad("negative count"))?, SIGHTING_BYTES)?;
    let mut sightings: Vec<Sighting> = Vec::with_capacity(n);
    for _ in 0..n {
        let buf: [u8; SIGHTING_BYTES as usize] = r.bytes()?;
        let release = u32::from_le_bytes(buf[0..4].try_into().unwrap_or_default());
        let source = u32::from_le_bytes(buf[4..8].try_into().unwrap_or_default());
        let time = i64::from_le_bytes(buf[8..16].try_into().unwrap_or_default());
        if release as usize >= releases.len() || source as usize >= sources.len() {
            return Err(bad("index out of range"));
        }
        if !valid_time(time) {
            return Err(bad("sighting time out of range"));
        }
        let s = Sighting { release, source, time };
        // In the order `build` writes them.
        if sightings.last().is_some_and(|l| (l.release, l.time, l.source) > (s.release, s.time, s.source)) {
            return Err(bad("sightings out of order"));
        }
        sightings.push(s);
    }
    Ok(Observatory { releases, sightings, sources, outlets, languages })
}

/// Builds the observatory from the store's releases and sightings.
pub fn build<S: ObservatoryStore + RegistryStore + ?Sized>(store: &S) -> Result<Observatory> {
    let outlets: Vec<String> = store.outlets()?.into_iter().map(|o| o.name).collect();
    let outlet_index: HashMap<String, u32> =
        outlets.iter().enumerate().map(|(i, o)| (o.clone(), i as u32)).collect();
    let mut sources: Vec<String> = Vec::new();
    let mut source_index: HashMap<String, u32> = HashMap::new();
    let mut intern = |s: String, sources: &mut Vec<String>| -> u32 {
        *source_index.entry(s.clone()).or_insert_with(|| {
            sources.push(s);
            (sources.len() - 1) as u32
        })
    };
    let mut languages: Vec<String> = Vec::new();
    let mut releases = Vec::new();
    let mut release_index: HashMap<ReleaseId, u32> = HashMap::new();
    store.releases(None, &mut |r| {
        let language = r.language.map(|l| match languages.iter().position(|x| *x == l) {
            Some(i) => i as u32,
            None => {
                languages.push(l);
                (languages.len() - 1) as u32
            }
        });
        let source = intern(r.first_source.map(|s| s.to_string()).unwrap_or_default(), &mut sources);
        release_index.insert(r.id, releases.len() as u32);
        releases.push(Release {
            id: r.id.0,
            first_seen: r.first_seen.unix_micros(),
            last_seen: r.last_seen.unix_micros(),
            outlet: r.outlet.as_ref().and_then(|o| outlet_index.get(o).copied()),
            format: r.format,
            language,
            source,
        });
        Ok(())
    })?;
    // Sightings: the posts of one release in one source in one second, at
    // the earliest of them. Read as bare integers in storage order and
    // grouped here (a sort), which is several times faster than asking
    // SQLite to group and order ten million posts.
    let mut source_of_id: HashMap<SourceId, u32> = HashMap::new();
    for (id, key) in store.source_ids()? {
        source_of_id.insert(id, intern(key.to_string(), &mut sources));
    }
    let mut points: Vec<(u32, u32, i64)> = Vec::new();
    store.release_points(&mut |release_id, source_id, time| {
        if let (Some(&release), Some(&source)) =
            (release_index.get(&release_id), source_of_id.get(&source_id))
        {
            points.push((release, source, time));
        }
        Ok(())
    })?;
    // The sighting's time is its first post's, the earliest (the rule in
    // `marsad_store::sighting` orders by time first).
    let second = sighting::second_of_micros;
    points.sort_unstable_by_key(|&(release, source, time)| (release, source, second(time), time));
    points.dedup_by_key(|&mut (release, source, time)| (release, source, second(time)));
    let mut sightings: Vec<Sighting> =
        points.into_iter().map(|(release, source, time)| Sighting { release, source, time }).collect();
    sightings.sort_by_key(|s| (s.release, s.time, s.source));
    Ok(Observatory { releases, sightings, sources, outlets, languages })
}

/// The observatory of a store, from `cache` when it was built from this
/// store at its current releases generation and is intact (else built and
/// written there).
pub fn load<S: ObservatoryStore + RegistryStore + MetaStore + ?Sized>(
    store: &S,
    cache: Option<&Path>,
) -> Result<Observatory> {
    // One snapshot for every read: releases, sightings, sources and the
    // registry describe the same moment whatever other processes write.
    let mut loaded = None;
    store.read_snapshot(&mut || {
        loaded = Some(load_in_snapshot(store, cache)?);
        Ok(())
    })?;
    loaded.ok_or_else(|| marsad_store::StoreError::Backend("the snapshot read nothing".to_owned()))
}

fn load_in_snapshot<S: ObservatoryStore + RegistryStore + MetaStore + ?Sized>(
    store: &S,
    cache: Option<&Path>,
) -> Result<Observatory> {
    let Some(path) = cache else {
        return build(store);
    };
    let generation = store.releases_generation()?;
    let identity = store.identity()?;
    match read(path, identity, generation) {
        Ok(obs) => {
            tracing::debug!(cache = %path.display(), releases = obs.releases.len(), "observatory loaded from cache");
            return Ok(obs);
        }
        Err(Rebuild::File(e)) if e.is_not_found() => {}
        // Damage or tampering is worth a warning; a cache out of date or
        // of another store or version is the normal life of a cache.
        Err(reason @ (Rebuild::Body(_) | Rebuild::File(_)))
            if !matches!(&reason, Rebuild::File(CacheFileError::Version { .. })) =>
        {
            tracing::warn!(cache = %path.display(), %reason, "observatory cache damaged or altered: rebuilt from the store")
        }
        Err(reason) => tracing::info!(cache = %path.display(), %reason, "observatory rebuilt from the store"),
    }
    let obs = build(store)?;
    // Releases changed while they were read: right for this process, but
    // not to be recorded as this generation's.
    if store.releases_generation()? != generation {
        tracing::debug!(cache = %path.display(), "releases changed while reading: observatory not saved");
    } else if let Err(e) = write(path, identity, generation, &obs) {
        tracing::warn!(cache = %path.display(), error = %e, "could not save the observatory cache");
    }
    Ok(obs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use marsad_store_sqlite::SqliteStore;

    use super::*;

    fn sample() -> Observatory {
        Observatory {
            releases: vec![Release {
                id: 7,
                first_seen: 1_700_000_000_000_000,
                last_seen: 1_700_000_060_000_000,
                outlet: Some(0),
                format: Format::ALL[1],
                language: None,
                source: 1,
            }],
            sightings: vec![
                Sighting { release: 0, source: 1, time: 1_700_000_000_000_000 },
                Sighting { release: 0, source: 0, time: 1_700_000_060_000_000 },
            ],
            sources: vec!["telegram:1".to_owned(), "telegram:2".to_owned()],
            outlets: vec!["Example Media Office".to_owned()],
            languages: vec![],
        }
    }

    const ID: StoreIdentity = StoreIdentity::from_bytes([3; 16]);

    #[test]
    fn the_cache_is_used_only_for_its_store_and_generation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db.observatory");
        write(&path, ID, 5, &sample()).unwrap();
        assert_eq!(read(&path, ID, 5).unwrap(), sample());
        let other = StoreIdentity::from_bytes([4; 16]);
        assert!(matches!(read(&path, other, 5), Err(Rebuild::OtherStore { .. })));
        assert!(matches!(read(&path, ID, 6), Err(Rebuild::Generation { .. })));
        assert!(matches!(read(&path, ID, 4), Err(Rebuild::Generation { .. })));
        // Every byte of the body is covered by the checksum.
        let good = std::fs::read(&path).unwrap();
        // Magic, version, identity, one counter, length, checksum.
        let body_at = 8 + 4 + 16 + 4 + 8 + 8 + 16;
        assert!(good.len() > body_at + 100);
        for at in body_at..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let err = read(&path, ID, 5).unwrap_err();
            assert!(matches!(err, Rebuild::File(CacheFileError::Checksum { .. })), "byte {at}: {err}");
        }
        // The first format (no identity, no checksum) is not read.
        std::fs::write(&path, b"MRSDOBS1\x05\0\0\0\0\0\0\0").unwrap();
        assert!(matches!(read(&path, ID, 5), Err(Rebuild::File(CacheFileError::Magic { .. }))));
    }

    #[test]
    fn a_cache_of_another_store_is_replaced_by_the_stores_releases() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("m.db")).unwrap();
        let path = dir.path().join("m.db.observatory");
        let generation = store.releases_generation().unwrap();
        // Same generation, another store's identity and releases.
        write(&path, ID, generation, &sample()).unwrap();
        let obs = load(&store, Some(&path)).unwrap();
        assert_eq!(obs, build(&store).unwrap());
        assert!(obs.releases.is_empty());
        // Rewritten for this store.
        assert_eq!(read(&path, store.identity().unwrap(), generation).unwrap(), obs);
    }

    #[test]
    fn a_cache_with_times_out_of_range_or_lengths_past_its_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db.observatory");
        let refused = |obs: &Observatory| {
            // Written with a valid checksum: only the reader's checks stand.
            write(&path, ID, 5, obs).unwrap();
            matches!(read(&path, ID, 5), Err(Rebuild::Body(_)))
        };
        let extreme = [i64::MIN, i64::MAX, -62_135_596_800_000_001, 253_402_300_800_000_000];
        for t in extreme {
            let mut obs = sample();
            obs.releases[0].first_seen = t;
            assert!(refused(&obs), "first seen {t}");
            let mut obs = sample();
            obs.releases[0].last_seen = t;
            assert!(refused(&obs), "last seen {t}");
            let mut obs = sample();
            obs.sightings[1].time = t;
            assert!(refused(&obs), "sighting {t}");
        }
        let mut obs = sample();
        obs.releases[0].last_seen = obs.releases[0].first_seen - 1;
        assert!(refused(&obs), "last before first");
        let mut obs = sample();
        obs.sightings.swap(0, 1);
        assert!(refused(&obs), "sightings out of order");
        // Counts and lengths past the end of the body, checksum recomputed.
        write(&path, ID, 5, &sample()).unwrap();
        let file = std::fs::read(&path).unwrap();
        let body_at = 8 + 4 + 16 + 4 + 8 + 8 + 16;
        let body = file[body_at..].to_vec();
        for (at, value) in [(0usize, u32::MAX), (4, 0x7fff_ffff), (8, u32::MAX - 1)] {
            let mut b = body.clone();
            b[at..at + 4].copy_from_slice(&value.to_le_bytes());
            let p = Provenance { identity: ID, state: vec![5] };
            cachefile::write_atomic(&path, &FORMAT, &p, |w| w.write_all(&b)).unwrap();
            assert!(matches!(read(&path, ID, 5), Err(Rebuild::Body(_))), "byte {at}");
        }
        // A format byte no build writes.
        let mut b = body.clone();
        let release_count_at = body.len() - 8 - 2 * SIGHTING_BYTES as usize - RELEASE_BYTES as usize - 8;
        let format_at = release_count_at + 8 + 36;
        b[format_at] = 200;
        let p = Provenance { identity: ID, state: vec![5] };
        cachefile::write_atomic(&path, &FORMAT, &p, |w| w.write_all(&b)).unwrap();
        assert!(matches!(read(&path, ID, 5), Err(Rebuild::Body(_))), "format");
        // Every byte of the body set to 0xff in turn (checksum recomputed):
        // refused or read, never a panic.
        for at in 0..body.len() {
            let mut b = body.clone();
            b[at] = 0xff;
            cachefile::write_atomic(&path, &FORMAT, &p, |w| w.write_all(&b)).unwrap();
            let _ = read(&path, ID, 5);
        }
    }
}

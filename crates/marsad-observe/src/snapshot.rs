//! The [`Observatory`] of a store: its releases and sightings in columns,
//! read from the store once and cached in a file beside it
//! (`marsad.db.observatory`), so that analytics over ten million sightings
//! start from a file read rather than a query. The file records the
//! store's releases generation and is rebuilt when releases change.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use marsad_core::{ReleaseId, SourceId};
use marsad_store::{ObservatoryStore, RegistryStore, Result};

use crate::analytics::{Observatory, Release, Sighting};
use crate::describe::Format;

const MAGIC: &[u8; 8] = b"MRSDOBS1";

fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn get_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn get_i64(r: &mut impl Read) -> std::io::Result<i64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(i64::from_le_bytes(b))
}

fn get_str(r: &mut impl Read) -> std::io::Result<String> {
    let n = get_u32(r)? as usize;
    if n > 1 << 20 {
        return Err(std::io::Error::other("string too long"));
    }
    let mut b = vec![0u8; n];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map_err(std::io::Error::other)
}

fn write(path: &Path, generation: i64, obs: &Observatory) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        w.write_all(MAGIC)?;
        w.write_all(&generation.to_le_bytes())?;
        for list in [&obs.sources, &obs.outlets, &obs.languages] {
            w.write_all(&(list.len() as u32).to_le_bytes())?;
            for s in list {
                put_str(&mut w, s)?;
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
        w.flush()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn read(path: &Path, generation: i64) -> std::io::Result<Option<Observatory>> {
    let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC || get_i64(&mut r)? != generation {
        return Ok(None);
    }
    let mut lists: [Vec<String>; 3] = Default::default();
    for list in &mut lists {
        let n = get_u32(&mut r)? as usize;
        for _ in 0..n {
            list.push(get_str(&mut r)?);
        }
    }
    let [sources, outlets, languages] = lists;
    let opt = |v: u32| (v != u32::MAX).then_some(v);
    let n = get_i64(&mut r)? as usize;
    let mut releases = Vec::with_capacity(n.min(1 << 26));
    let mut buf = [0u8; 37];
    for _ in 0..n {
        r.read_exact(&mut buf)?;
        let i64_at = |o: usize| i64::from_le_bytes(buf[o..o + 8].try_into().unwrap_or_default());
        let u32_at = |o: usize| u32::from_le_bytes(buf[o..o + 4].try_into().unwrap_or_default());
        let (outlet, language, source) = (opt(u32_at(24)), opt(u32_at(28)), u32_at(32));
        if outlet.is_some_and(|o| o as usize >= outlets.len())
            || language.is_some_and(|l| l as usize >= languages.len())
            || source as usize >= sources.len().max(1)
        {
            return Err(std::io::Error::other("index out of range"));
        }
        releases.push(Release {
            id: i64_at(0),
            first_seen: i64_at(8),
            last_seen: i64_at(16),
            outlet,
            language,
            source,
            format: Format::ALL.get(buf[36] as usize).copied().unwrap_or(Format::Text),
        });
    }
    let n = get_i64(&mut r)? as usize;
    let mut sightings = Vec::with_capacity(n.min(1 << 28));
    let mut buf = [0u8; 16];
    for _ in 0..n {
        r.read_exact(&mut buf)?;
        let release = u32::from_le_bytes(buf[0..4].try_into().unwrap_or_default());
        let source = u32::from_le_bytes(buf[4..8].try_into().unwrap_or_default());
        if release as usize >= releases.len() || source as usize >= sources.len() {
            return Err(std::io::Error::other("index out of range"));
        }
        sightings.push(Sighting {
            release,
            source,
            time: i64::from_le_bytes(buf[8..16].try_into().unwrap_or_default()),
        });
    }
    Ok(Some(Observatory { releases, sightings, sources, outlets, languages }))
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
    store.releases(&mut |r| {
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
    points
        .sort_unstable_by_key(|&(release, source, time)| (release, source, time.div_euclid(1_000_000), time));
    points.dedup_by_key(|&mut (release, source, time)| (release, source, time.div_euclid(1_000_000)));
    let mut sightings: Vec<Sighting> =
        points.into_iter().map(|(release, source, time)| Sighting { release, source, time }).collect();
    sightings.sort_by_key(|s| (s.release, s.time, s.source));
    Ok(Observatory { releases, sightings, sources, outlets, languages })
}

/// The observatory of a store, from `cache` when it is current (else built
/// and written there).
pub fn load<S: ObservatoryStore + RegistryStore + ?Sized>(
    store: &S,
    cache: Option<&Path>,
) -> Result<Observatory> {
    let generation = store.releases_generation()?;
    if let Some(path) = cache {
        match read(path, generation) {
            Ok(Some(obs)) => return Ok(obs),
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(cache = %path.display(), error = %e, "observatory cache unreadable: rebuilding")
            }
        }
    }
    let obs = build(store)?;
    if let Some(path) = cache
        && let Err(e) = write(path, generation, &obs)
    {
        tracing::warn!(cache = %path.display(), error = %e, "could not save the observatory cache");
    }
    Ok(obs)
}

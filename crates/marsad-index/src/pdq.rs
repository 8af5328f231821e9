//! Exact range search over PDQ hashes: every indexed hash within Hamming
//! distance `T` of a query, never an approximation.
//!
//! # How
//!
//! Multi-index hashing with a pair filter. The 256 bits are cut into 16
//! blocks of 16 bits, taken as 8 pairs. If `d(x, q) ≤ T`, the pigeonhole
//! principle gives a pair whose distance is at most `P = ⌊T / 8⌋`, and
//! within that pair a block whose distance is at most `H = ⌊P / 2⌋` (for
//! `T = 31`: `P = 3`, `H = 1`). So for each block `b` the index keeps a
//! table of every hash bucketed by its 16-bit value in `b`; a query probes,
//! in each table, the buckets within `H` bits of its own block (17 buckets
//! for `T = 31`) and keeps an entry only if the top bits of the *partner*
//! block (the other half of the pair) are within `P − r` bits of the
//! query's, `r` being the probe's radius. A hash is reported from the first
//! table in which it qualifies, so no result is reported twice and no set
//! is needed to deduplicate.
//!
//! # Layout
//!
//! Hashes live in segments of at most 2²² hashes. In a segment the hashes
//! are stored sorted by block 0, so table 0 is the hash array itself (its
//! buckets are contiguous runs verified in order). Tables 1–15 are one
//! `u32` per hash: 22 bits of position and the partner block's top 10 bits,
//! grouped by bucket behind a 65 537-entry directory. Per hash that is 32
//! bytes of hash, 4 of id and 60 of tables (plus 3.8 of directories in a
//! full segment): 64 bytes of index beside the 32 bytes of raw hash.
//! New hashes go to a small tail scanned linearly; when it fills it becomes
//! a segment, and the newest segments are merged while their sizes are
//! within a factor of two (up to [`LIVE_MERGE_MAX`] hashes), so that
//! additions cost a logarithmic number of rebuilds per hash and never one
//! long pause; a bulk load is built at once into full segments. Removal
//! marks an id.
//!
//! The partner filter and the verification run with AVX-512 (VPOPCNTDQ),
//! AVX2 or a portable path, chosen at run time; all give the same results.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::OnceLock;

use marsad_hash::pdq::PdqHash;

/// A hash as four 64-bit limbs, most significant first.
pub type Code = [u64; 4];

const BLOCKS: usize = 16;
const DIR_LEN: usize = 65_537;
const POS_BITS: u32 = 22;
const POS_MASK: u32 = (1 << POS_BITS) - 1;
/// Top bits of the partner block kept beside each position.
const PARTNER_SHIFT: u32 = 16 - (32 - POS_BITS);
/// Most hashes in one segment.
pub const SEGMENT_CAPACITY: usize = 1 << POS_BITS;
/// Hashes kept unindexed before they are built into a segment.
const TAIL_MAX: usize = 4096;
/// Most hashes rebuilt at once as hashes are added (see
/// [`PdqIndex::insert`]); larger segments come from bulk loads.
pub const LIVE_MERGE_MAX: usize = 1 << 17;
/// From this threshold on a linear scan is cheaper than probing.
const SCAN_FROM_THRESHOLD: u32 = 48;

/// The default threshold: ThreatExchange's and HMA's.
pub const DEFAULT_THRESHOLD: u32 = 31;

/// One result of a range search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hit {
    /// The id given when the hash was added.
    pub id: u32,
    /// Hamming distance to the query.
    pub distance: u32,
}

#[inline(always)]
fn block(c: &Code, b: usize) -> u32 {
    ((c[b >> 2] >> (48 - 16 * (b & 3))) & 0xffff) as u32
}

#[inline(always)]
fn partner_bits(c: &Code, b: usize) -> u32 {
    block(c, b ^ 1) >> PARTNER_SHIFT
}

#[inline(always)]
fn hamming(a: &Code, b: &Code) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// The limbs of a hash.
pub fn code(h: &PdqHash) -> Code {
    h.limbs()
}

/// XOR masks of 16 bits with exactly `r` bits set, for `r` in 0..=2.
fn masks(r: u32) -> &'static [u16] {
    static MASKS: OnceLock<[Vec<u16>; 3]> = OnceLock::new();
    let all = MASKS.get_or_init(|| {
        let mut m: [Vec<u16>; 3] = Default::default();
        for v in 0..=u16::MAX {
            let ones = v.count_ones();
            if ones <= 2 {
                m[ones as usize].push(v);
            }
        }
        m
    });
    &all[r as usize]
}

/// A query prepared for searching: its blocks, partner bits and bounds.
struct Query {
    code: Code,
    threshold: u32,
    /// `⌊T / 8⌋`: bound on the best pair's distance.
    pair: u32,
    /// `⌊P / 2⌋`: probe radius per block.
    radius: u32,
    blocks: [u32; BLOCKS],
    partners: [u32; BLOCKS],
}

impl Query {
    fn new(code: Code, threshold: u32) -> Self {
        let pair = threshold / 8;
        let mut blocks = [0; BLOCKS];
        let mut partners = [0; BLOCKS];
        for b in 0..BLOCKS {
            blocks[b] = block(&code, b);
            partners[b] = partner_bits(&code, b);
        }
        Query { code, threshold, pair, radius: pair / 2, blocks, partners }
    }

    /// Whether hash `x` qualifies in table `b` (is found by its probe).
    #[inline(always)]
    fn qualifies(&self, x: &Code, b: usize) -> bool {
        let d = (block(x, b) ^ self.blocks[b]).count_ones();
        d <= self.radius && (b == 0 || (partner_bits(x, b) ^ self.partners[b]).count_ones() <= self.pair - d)
    }

    /// The first table in which `x` qualifies.
    #[inline(always)]
    fn first_table(&self, x: &Code) -> usize {
        (0..BLOCKS).find(|&b| self.qualifies(x, b)).unwrap_or(BLOCKS)
    }
}

/// A zeroed vector of `n` values whose memory the kernel is asked to back
/// with huge pages (on Linux; elsewhere a plain vector). The tables are read
/// at random, and with 4 KiB pages nearly every read would also miss the
/// TLB; with 2 MiB pages far fewer do.
fn big_vec<T: Copy + Default>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    {
        let bytes = n * std::mem::size_of::<T>();
        if bytes >= 4 << 20 {
            let start = v.as_mut_ptr() as usize;
            let aligned = (start + 4095) & !4095;
            let len = (start + bytes).saturating_sub(aligned) & !4095;
            if len > 0 {
                // SAFETY: advice on a range inside this vector's own
                // allocation (page-aligned, not yet touched); madvise
                // changes no contents and its failure is harmless.
                unsafe {
                    libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
                }
            }
        }
    }
    v.resize(n, T::default());
    v
}

/// An immutable group of at most [`SEGMENT_CAPACITY`] hashes with its tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Segment {
    /// Hashes sorted by block 0.
    codes: Vec<Code>,
    /// Id of each hash.
    ids: Vec<u32>,
    /// 16 directories of [`DIR_LEN`] offsets: table 0 into `codes`, tables
    /// 1–15 into their part of `entries`.
    dirs: Vec<u32>,
    /// Tables 1–15, `codes.len()` entries each: position | partner bits.
    entries: Vec<u32>,
}

impl Segment {
    fn build(mut items: Vec<(Code, u32)>) -> Self {
        let n = items.len();
        assert!(n <= SEGMENT_CAPACITY, "segment of {n} hashes over capacity");
        let mut dirs: Vec<u32> = big_vec(BLOCKS * DIR_LEN);
        // Table 0: the hashes themselves, sorted by block 0 (stable).
        items.sort_by_key(|(c, _)| block(c, 0));
        let mut codes: Vec<Code> = big_vec(n);
        let mut ids: Vec<u32> = Vec::with_capacity(n);
        for (slot, (c, id)) in codes.iter_mut().zip(items) {
            *slot = c;
            ids.push(id);
        }
        let mut counts = vec![0u32; DIR_LEN];
        for c in &codes {
            counts[block(c, 0) as usize + 1] += 1;
        }
        for k in 1..DIR_LEN {
            counts[k] += counts[k - 1];
        }
        dirs[..DIR_LEN].copy_from_slice(&counts);
        let mut entries: Vec<u32> = big_vec((BLOCKS - 1) * n);
        for b in 1..BLOCKS {
            let dir = &mut dirs[b * DIR_LEN..(b + 1) * DIR_LEN];
            dir.fill(0);
            for c in &codes {
                dir[block(c, b) as usize + 1] += 1;
            }
            for k in 1..DIR_LEN {
                dir[k] += dir[k - 1];
            }
            let table = &mut entries[(b - 1) * n..b * n];
            let mut next: Vec<u32> = dir[..DIR_LEN - 1].to_vec();
            for (pos, c) in codes.iter().enumerate() {
                let slot = &mut next[block(c, b) as usize];
                table[*slot as usize] = pos as u32 | (partner_bits(c, b) << POS_BITS);
                *slot += 1;
            }
        }
        Segment { codes, ids, dirs, entries }
    }

    fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the segment is exactly what [`Segment::build`] makes of its
    /// hashes and ids: directories that count each block's buckets, hashes
    /// sorted by block 0, and in every other table each position once, in
    /// its hash's bucket, with its hash's partner bits, in increasing order
    /// within the bucket. A segment read from a file is checked so, so that
    /// a damaged or altered file can neither index out of bounds nor hide
    /// a hash from the queries that should find it.
    fn check(&self) -> Result<(), &'static str> {
        let n = self.len();
        if self.ids.len() != n
            || self.dirs.len() != BLOCKS * DIR_LEN
            || self.entries.len() != (BLOCKS - 1) * n
        {
            return Err("table sizes");
        }
        for b in 0..BLOCKS {
            let d = &self.dirs[b * DIR_LEN..(b + 1) * DIR_LEN];
            if d[0] != 0 || d[DIR_LEN - 1] as usize != n || d.windows(2).any(|w| w[0] > w[1]) {
                return Err("directory");
            }
        }
        // Table 0 is the hashes themselves, sorted by block 0.
        let d0 = &self.dirs[..DIR_LEN];
        for key in 0..DIR_LEN - 1 {
            let (from, to) = (d0[key] as usize, d0[key + 1] as usize);
            if self.codes[from..to].iter().any(|c| block(c, 0) != key as u32) {
                return Err("hash order");
            }
        }
        for b in 1..BLOCKS {
            let d = &self.dirs[b * DIR_LEN..(b + 1) * DIR_LEN];
            let table = &self.entries[(b - 1) * n..b * n];
            for key in 0..DIR_LEN - 1 {
                let mut last: Option<u32> = None;
                for &e in &table[d[key] as usize..d[key + 1] as usize] {
                    let pos = e & POS_MASK;
                    let Some(c) = self.codes.get(pos as usize) else { return Err("position") };
                    if last.is_some_and(|l| l >= pos)
                        || block(c, b) != key as u32
                        || e >> POS_BITS != partner_bits(c, b)
                    {
                        return Err("table entry");
                    }
                    last = Some(pos);
                }
            }
        }
        Ok(())
    }

    fn items(&self) -> impl Iterator<Item = (Code, u32)> + '_ {
        self.codes.iter().copied().zip(self.ids.iter().copied())
    }

    fn dir(&self, b: usize, key: u32) -> (usize, usize) {
        let d = &self.dirs[b * DIR_LEN..];
        (d[key as usize] as usize, d[key as usize + 1] as usize)
    }

    /// Searches in three passes so that memory latency overlaps: the
    /// directory entries of every probe first, then each probed run of a
    /// table (prefetching runs ahead), then the verification of every
    /// candidate against its full hash (prefetching candidates ahead).
    #[inline(always)]
    fn search<K: Kernel>(
        &self,
        k: K,
        q: &Query,
        removed: &HashSet<u32>,
        s: &mut Scratch,
        out: &mut Vec<Hit>,
    ) {
        let n = self.len();
        if n == 0 {
            return;
        }
        s.runs.clear();
        for b in 0..BLOCKS {
            for r in 0..=q.radius {
                for &mask in masks(r) {
                    let key = q.blocks[b] ^ u32::from(mask);
                    let (from, to) = self.dir(b, key);
                    if from < to {
                        s.runs.push(Run { table: b as u32, radius: r, from: from as u32, to: to as u32 });
                    }
                }
            }
        }
        s.candidates.clear();
        for i in 0..s.runs.len() {
            if let Some(ahead) = s.runs.get(i + RUNS_AHEAD) {
                if ahead.table == 0 {
                    prefetch(&self.codes[ahead.from as usize]);
                } else {
                    prefetch(&self.entries[(ahead.table as usize - 1) * n + ahead.from as usize]);
                }
            }
            let run = s.runs[i];
            let tag = run.table << TABLE_SHIFT;
            if run.table == 0 {
                for pos in run.from as usize..run.to as usize {
                    let x = &self.codes[pos];
                    let d = hamming(x, &q.code);
                    if d <= q.threshold && q.first_table(x) == 0 {
                        push(self.ids[pos], d, removed, out);
                    }
                }
                continue;
            }
            let table = &self.entries[(run.table as usize - 1) * n..run.table as usize * n];
            s.filtered.clear();
            k.filter(
                &table[run.from as usize..run.to as usize],
                q.partners[run.table as usize],
                q.pair - run.radius,
                &mut s.filtered,
            );
            s.candidates.extend(s.filtered.iter().map(|&pos| pos | tag));
        }
        for i in 0..s.candidates.len() {
            if let Some(&ahead) = s.candidates.get(i + CANDIDATES_AHEAD) {
                prefetch(&self.codes[(ahead & POS_MASK) as usize]);
            }
            let c = s.candidates[i];
            let pos = (c & POS_MASK) as usize;
            let x = &self.codes[pos];
            let d = hamming(x, &q.code);
            if d <= q.threshold && q.first_table(x) == (c >> TABLE_SHIFT) as usize {
                push(self.ids[pos], d, removed, out);
            }
        }
    }
}

impl Segment {
    /// Searches for many queries at once. Each table's probes are sorted by
    /// bucket, so the table is read in address order however the queries
    /// fall; the candidates are then grouped by position, so the hashes are
    /// read in address order too. Memory traffic becomes sequential instead
    /// of one cache miss per run and per candidate.
    #[inline(always)]
    fn search_batch<K: Kernel>(
        &self,
        k: K,
        qs: &[Query],
        removed: &HashSet<u32>,
        s: &mut BatchScratch,
        out: &mut [Vec<Hit>],
    ) {
        let n = self.len();
        if n == 0 || qs.is_empty() {
            return;
        }
        s.candidates.clear();
        for b in 0..BLOCKS {
            // A probe carries what filtering needs, so the filter never
            // touches the query: bucket (16 bits) | partner bits (10) |
            // partner bound (4) | query (28).
            s.probes.clear();
            for (qi, q) in qs.iter().enumerate() {
                for r in 0..=q.radius {
                    let low = (u64::from(q.partners[b]) << 32) | (u64::from(q.pair - r) << 28) | qi as u64;
                    for &mask in masks(r) {
                        let key = u64::from(q.blocks[b] ^ u32::from(mask));
                        s.probes.push((key << 48) | low);
                    }
                }
            }
            counting_sort(&mut s.probes, &mut s.tmp, &mut s.counts, |p| (p >> 48) as usize, 1 << 16);
            let tag = (b as u64) << 32;
            for &p in &s.probes {
                let key = (p >> 48) as u32;
                let (partner, max, qi) =
                    (((p >> 32) & 0xffff) as u32, ((p >> 28) & 0xf) as u32, (p & 0x0fff_ffff) as usize);
                let (from, to) = self.dir(b, key);
                if from == to {
                    continue;
                }
                let low = tag | qi as u64;
                if b == 0 {
                    let q = &qs[qi];
                    // Table 0 is the hash array itself, read here in
                    // address order as the probes are sorted by bucket.
                    for pos in from..to {
                        let x = &self.codes[pos];
                        let d = hamming(x, &q.code);
                        if d <= q.threshold && q.first_table(x) == 0 {
                            push(self.ids[pos], d, removed, &mut out[qi]);
                        }
                    }
                    continue;
                }
                let table = &self.entries[(b - 1) * n..b * n];
                s.filtered.clear();
                k.filter(&table[from..to], partner, max, &mut s.filtered);
                s.candidates.extend(s.filtered.iter().map(|&pos| (u64::from(pos) << 36) | low));
            }
        }
        // Group by position in buckets of 8192 hashes (256 KiB, which stay
        // in cache while their candidates are verified); few buckets keep
        // the scatter itself cache-friendly.
        counting_sort(
            &mut s.candidates,
            &mut s.tmp,
            &mut s.counts,
            |c| (c >> 49) as usize,
            1 << (POS_BITS - 13),
        );
        // The queries' hashes alone, compact enough to stay in cache.
        s.codes.clear();
        s.codes.extend(qs.iter().map(|q| q.code));
        let threshold = qs[0].threshold;
        // After the sort, `counts[k]` is where bucket k ends. Each bucket's
        // hashes are first streamed into cache in address order, then its
        // candidates verified in any order.
        let mut bucket_start = 0usize;
        let mut next_bucket = 0usize;
        for i in 0..s.candidates.len() {
            if i == bucket_start {
                while next_bucket < s.counts.len() && s.counts[next_bucket] as usize <= i {
                    next_bucket += 1;
                }
                bucket_start = s.counts.get(next_bucket).map_or(usize::MAX, |&e| e as usize);
                let first = next_bucket << 13;
                let last = ((next_bucket + 1) << 13).min(n);
                for line in (first..last).step_by(2) {
                    prefetch(&self.codes[line]);
                }
            }
            let c = s.candidates[i];
            let pos = (c >> 36) as usize;
            let qi = (c & 0xffff_ffff) as usize;
            let x = &self.codes[pos];
            let d = hamming(x, &s.codes[qi]);
            if d <= threshold && qs[qi].first_table(x) == ((c >> 32) & 0xf) as usize {
                push(self.ids[pos], d, removed, &mut out[qi]);
            }
        }
    }
}

/// Stable counting sort of `items` by `key(item) < buckets`.
#[inline(always)]
fn counting_sort(
    items: &mut Vec<u64>,
    tmp: &mut Vec<u64>,
    counts: &mut Vec<u32>,
    key: impl Fn(u64) -> usize,
    buckets: usize,
) {
    counts.clear();
    counts.resize(buckets + 1, 0);
    for &it in items.iter() {
        counts[key(it) + 1] += 1;
    }
    for k in 1..=buckets {
        counts[k] += counts[k - 1];
    }
    tmp.clear();
    tmp.resize(items.len(), 0);
    for &it in items.iter() {
        let slot = &mut counts[key(it)];
        tmp[*slot as usize] = it;
        *slot += 1;
    }
    std::mem::swap(items, tmp);
}

/// Buffers of a batch search.
#[derive(Debug, Default)]
struct BatchScratch {
    codes: Vec<Code>,
    probes: Vec<u64>,
    candidates: Vec<u64>,
    filtered: Vec<u32>,
    tmp: Vec<u64>,
    counts: Vec<u32>,
}

/// Queries searched together in a batch (bounds the candidate buffers).
const BATCH: usize = 8192;
/// Below this many queries a batch is searched one query at a time.
const BATCH_MIN: usize = 32;

/// Probed runs fetched ahead of the one filtered.
const RUNS_AHEAD: usize = 8;
/// Candidates fetched ahead of the one verified.
const CANDIDATES_AHEAD: usize = 16;
/// Candidates carry their table above the position bits.
const TABLE_SHIFT: u32 = 27;

/// A probed bucket of one table.
#[derive(Clone, Copy, Debug)]
struct Run {
    table: u32,
    radius: u32,
    from: u32,
    to: u32,
}

/// Buffers reused across the segments of one query.
#[derive(Debug, Default)]
struct Scratch {
    runs: Vec<Run>,
    filtered: Vec<u32>,
    candidates: Vec<u32>,
}

/// [`prefetch`] for the other matchers of this crate.
#[inline(always)]
pub(crate) fn prefetch_ref<T>(p: &T) {
    prefetch(p)
}

/// Asks the CPU to start loading `p`'s cache line (a hint: no effect on
/// results, never a fault).
#[inline(always)]
fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching reads nothing architecturally and cannot fault;
    // the pointer comes from a reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((p as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[inline(always)]
fn push(id: u32, distance: u32, removed: &HashSet<u32>, out: &mut Vec<Hit>) {
    if removed.is_empty() || !removed.contains(&id) {
        out.push(Hit { id, distance });
    }
}

/// The partner filter: positions of the entries whose partner bits are
/// within `max` bits of `partner`. The kernel is a value, so that a SIMD
/// kernel can be a proof that its CPU feature is present (see [`x86`]).
trait Kernel: Copy {
    fn filter(self, entries: &[u32], partner: u32, max: u32, out: &mut Vec<u32>);
}

/// The filter in plain Rust (any CPU).
#[derive(Clone, Copy, Debug)]
struct Portable;

impl Kernel for Portable {
    #[inline(always)]
    fn filter(self, entries: &[u32], partner: u32, max: u32, out: &mut Vec<u32>) {
        for &e in entries {
            if ((e >> POS_BITS) ^ partner).count_ones() <= max {
                out.push(e & POS_MASK);
            }
        }
    }
}

/// The x86-64 kernels and the searches compiled for them.
///
/// Each feature set has a token type ([`x86::Avx2`], [`x86::Avx512`]) whose
/// only field is private to this module and whose only constructor detects
/// the feature at run time, so holding a token proves the CPU has it. The
/// `#[target_feature]` functions are called only from safe functions that
/// take the token: code that has not detected the feature cannot name a
/// token, so it cannot reach an AVX instruction on a CPU without it.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{BatchScratch, Hit, Kernel, POS_BITS, POS_MASK, PdqIndex, Portable, Query, Scratch};

    /// Proof that the running CPU has AVX2 and POPCNT.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct Avx2(());

    impl Avx2 {
        /// `Some` when the running CPU has AVX2 and POPCNT.
        pub(super) fn detect() -> Option<Self> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("popcnt")).then_some(Avx2(()))
        }
    }

    /// Proof that the running CPU has AVX-512F, AVX-512 VPOPCNTDQ, AVX2 and
    /// POPCNT.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct Avx512(());

    impl Avx512 {
        /// `Some` when the running CPU has all four features.
        pub(super) fn detect() -> Option<Self> {
            let has = is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vpopcntdq")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("popcnt");
            has.then_some(Avx512(()))
        }

        /// The AVX2 proof this one implies: [`Avx512::detect`] checked AVX2
        /// and POPCNT too.
        pub(super) fn avx2(self) -> Avx2 {
            Avx2(())
        }
    }

    impl Kernel for Avx2 {
        #[inline(always)]
        fn filter(self, entries: &[u32], partner: u32, max: u32, out: &mut Vec<u32>) {
            // SAFETY: `self` exists only if `Avx2::detect` found AVX2 and
            // POPCNT on this CPU, the features `filter_avx2` is compiled for.
            unsafe { filter_avx2(entries, partner, max, out) }
        }
    }

    impl Kernel for Avx512 {
        #[inline(always)]
        fn filter(self, entries: &[u32], partner: u32, max: u32, out: &mut Vec<u32>) {
            // SAFETY: `self` exists only if `Avx512::detect` found the four
            // features `filter_avx512` is compiled for on this CPU.
            unsafe { filter_avx512(entries, partner, max, out) }
        }
    }

    /// [`PdqIndex::range`]'s search with the AVX2 filter.
    pub(super) fn search_avx2(
        k: Avx2,
        index: &PdqIndex,
        q: &Query,
        scratch: &mut Scratch,
        out: &mut Vec<Hit>,
    ) {
        // SAFETY: `k` proves the CPU has AVX2 and POPCNT.
        unsafe { search_avx2_unchecked(k, index, q, scratch, out) }
    }

    /// [`PdqIndex::range`]'s search with the AVX-512 filter.
    pub(super) fn search_avx512(
        k: Avx512,
        index: &PdqIndex,
        q: &Query,
        scratch: &mut Scratch,
        out: &mut Vec<Hit>,
    ) {
        // SAFETY: `k` proves the CPU has AVX-512F, VPOPCNTDQ, AVX2 and POPCNT.
        unsafe { search_avx512_unchecked(k, index, q, scratch, out) }
    }

    /// [`PdqIndex::range_batch`]'s search with the AVX2 filter.
    pub(super) fn batch_avx2(
        k: Avx2,
        index: &PdqIndex,
        qs: &[Query],
        scratch: &mut BatchScratch,
        out: &mut [Vec<Hit>],
    ) {
        // SAFETY: `k` proves the CPU has AVX2 and POPCNT.
        unsafe { batch_avx2_unchecked(k, index, qs, scratch, out) }
    }

    /// [`PdqIndex::range_batch`]'s search with the AVX-512 filter.
    pub(super) fn batch_avx512(
        k: Avx512,
        index: &PdqIndex,
        qs: &[Query],
        scratch: &mut BatchScratch,
        out: &mut [Vec<Hit>],
    ) {
        // SAFETY: `k` proves the CPU has AVX-512F, VPOPCNTDQ, AVX2 and POPCNT.
        unsafe { batch_avx512_unchecked(k, index, qs, scratch, out) }
    }

    // The whole search is compiled for the feature (not only the filter),
    // so the filter is inlined into its loops and the popcounts of the
    // verification use the POPCNT instruction.

    #[target_feature(enable = "avx2,popcnt")]
    fn search_avx2_unchecked(
        k: Avx2,
        index: &PdqIndex,
        q: &Query,
        scratch: &mut Scratch,
        out: &mut Vec<Hit>,
    ) {
        index.search_with(k, q, scratch, out)
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
    fn search_avx512_unchecked(
        k: Avx512,
        index: &PdqIndex,
        q: &Query,
        scratch: &mut Scratch,
        out: &mut Vec<Hit>,
    ) {
        index.search_with(k, q, scratch, out)
    }

    #[target_feature(enable = "avx2,popcnt")]
    fn batch_avx2_unchecked(
        k: Avx2,
        index: &PdqIndex,
        qs: &[Query],
        scratch: &mut BatchScratch,
        out: &mut [Vec<Hit>],
    ) {
        index.batch_with(k, qs, scratch, out)
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
    fn batch_avx512_unchecked(
        k: Avx512,
        index: &PdqIndex,
        qs: &[Query],
        scratch: &mut BatchScratch,
        out: &mut [Vec<Hit>],
    ) {
        index.batch_with(k, qs, scratch, out)
    }

    #[target_feature(enable = "avx2,popcnt")]
    #[inline]
    fn filter_avx2(entries: &[u32], partner: u32, max: u32, out: &mut Vec<u32>) {
        let chunks = entries.chunks_exact(8);
        let rest = chunks.remainder();
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let ones = _mm256_set1_epi8(1);
        let qp = _mm256_set1_epi32(partner as i32);
        let limit = _mm256_set1_epi32(max as i32);
        for chunk in chunks {
            // SAFETY: an unaligned load of the chunk's 8 u32 (32 bytes).
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            let x = _mm256_xor_si256(_mm256_srli_epi32(v, POS_BITS as i32), qp);
            // Bytes' popcounts from a nibble table; the partner bits fit in
            // the two low bytes, summed by maddubs (the high 16 bits of
            // each lane stay 0).
            let lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
            let hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
            let bytes = _mm256_add_epi8(lo, hi);
            let counts = _mm256_madd_epi16(_mm256_maddubs_epi16(bytes, ones), _mm256_set1_epi16(1));
            let over = _mm256_cmpgt_epi32(counts, limit);
            let mut keep = !(_mm256_movemask_ps(_mm256_castsi256_ps(over)) as u32) & 0xff;
            while keep != 0 {
                let i = keep.trailing_zeros() as usize;
                out.push(chunk[i] & POS_MASK);
                keep &= keep - 1;
            }
        }
        Portable.filter(rest, partner, max, out);
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
    #[inline]
    fn filter_avx512(entries: &[u32], partner: u32, max: u32, out: &mut Vec<u32>) {
        let chunks = entries.chunks_exact(16);
        let rest = chunks.remainder();
        let qp = _mm512_set1_epi32(partner as i32);
        let limit = _mm512_set1_epi32(max as i32);
        let pos_mask = _mm512_set1_epi32(POS_MASK as i32);
        for chunk in chunks {
            // SAFETY: an unaligned load of the chunk's 16 u32 (64 bytes).
            let v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
            let x = _mm512_xor_si512(_mm512_srli_epi32::<POS_BITS>(v), qp);
            let keep = _mm512_cmple_epu32_mask(_mm512_popcnt_epi32(x), limit);
            if keep != 0 {
                // Compress in a register, then store all 16 lanes: the
                // compressing store to memory is microcoded (slow) on some
                // CPUs (AMD Zen 4).
                let packed = _mm512_maskz_compress_epi32(keep, _mm512_and_si512(v, pos_mask));
                out.reserve(16);
                let len = out.len();
                // SAFETY: `reserve(16)` just made room for 16 more u32
                // after `len`, so the unaligned 64-byte store stays inside
                // the allocation; the first `count_ones(keep)` lanes are the
                // kept positions (all initialised u32), and the length grows
                // by exactly that many (at most 16).
                unsafe {
                    _mm512_storeu_si512(out.as_mut_ptr().add(len).cast(), packed);
                    out.set_len(len + keep.count_ones() as usize);
                }
            }
        }
        Portable.filter(rest, partner, max, out);
    }
}

/// Which search code runs on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// No SIMD (any CPU).
    Portable,
    /// AVX2 and POPCNT.
    Avx2,
    /// AVX-512F with VPOPCNTDQ.
    Avx512,
}

impl Simd {
    /// The best this CPU supports.
    pub fn detect() -> Simd {
        Level::detect().simd()
    }
}

/// The kernel an index searches with, holding the proof of its CPU
/// feature: [`Simd`] says which, this carries the right to run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2),
    #[cfg(target_arch = "x86_64")]
    Avx512(x86::Avx512),
}

impl Level {
    /// The best kernel this CPU supports.
    fn detect() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(k) = x86::Avx512::detect() {
                return Level::Avx512(k);
            }
            if let Some(k) = x86::Avx2::detect() {
                return Level::Avx2(k);
            }
        }
        Level::Portable
    }

    /// The best kernel this CPU supports at or below `simd`.
    fn at_most(simd: Simd) -> Level {
        match (simd, Level::detect()) {
            #[cfg(target_arch = "x86_64")]
            (Simd::Avx512, best) => best,
            #[cfg(target_arch = "x86_64")]
            (Simd::Avx2, Level::Avx512(k)) => Level::Avx2(k.avx2()),
            #[cfg(target_arch = "x86_64")]
            (Simd::Avx2, best) => best,
            _ => Level::Portable,
        }
    }

    fn simd(self) -> Simd {
        match self {
            Level::Portable => Simd::Portable,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2(_) => Simd::Avx2,
            #[cfg(target_arch = "x86_64")]
            Level::Avx512(_) => Simd::Avx512,
        }
    }
}
/// An exact PDQ range index. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdqIndex {
    segments: Vec<Segment>,
    tail: Vec<(Code, u32)>,
    removed: HashSet<u32>,
    level: Level,
}

impl Default for PdqIndex {
    fn default() -> Self {
        PdqIndex::new()
    }
}

impl PdqIndex {
    /// An empty index using the best SIMD of this CPU.
    pub fn new() -> Self {
        PdqIndex { segments: Vec::new(), tail: Vec::new(), removed: HashSet::new(), level: Level::detect() }
    }

    /// Builds an index over `(hash, id)` pairs at once (faster than adding
    /// them one by one).
    pub fn build(items: impl IntoIterator<Item = (PdqHash, u32)>) -> Self {
        let mut index = PdqIndex::new();
        let items: Vec<(Code, u32)> = items.into_iter().map(|(h, id)| (code(&h), id)).collect();
        index.extend_codes(items);
        index
    }

    /// Forces a SIMD level (for tests and benchmarks); a level the CPU
    /// lacks falls back to the best it has.
    pub fn with_simd(mut self, simd: Simd) -> Self {
        self.level = Level::at_most(simd);
        self
    }

    /// The SIMD level in use.
    pub fn simd(&self) -> Simd {
        self.level.simd()
    }

    /// Number of hashes added (removed ones included).
    pub fn len(&self) -> usize {
        self.segments.iter().map(Segment::len).sum::<usize>() + self.tail.len()
    }

    /// Every indexed hash (as [`code`] gives it) with its id, removed ones
    /// included, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = (Code, u32)> + '_ {
        self.segments.iter().flat_map(Segment::items).chain(self.tail.iter().copied())
    }

    /// Number of ids removed.
    pub fn removed(&self) -> usize {
        self.removed.len()
    }

    /// Whether no hash is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a hash with its id. Ids need not be unique (a hash may be
    /// added under several ids and an id under several hashes).
    pub fn insert(&mut self, hash: &PdqHash, id: u32) {
        self.tail.push((code(hash), id));
        if self.tail.len() >= TAIL_MAX {
            self.merge_tail();
        }
    }

    /// Adds a hash to be indexed by the next [`PdqIndex::compact`], for a
    /// bulk load: the hashes of a whole load are then built into as few
    /// segments as can be, once (inserting them one by one would merge
    /// them step by step). Until then they are scanned linearly.
    pub fn insert_unindexed(&mut self, hash: &PdqHash, id: u32) {
        self.tail.push((code(hash), id));
    }

    /// Adds many hashes at once.
    pub fn extend(&mut self, items: impl IntoIterator<Item = (PdqHash, u32)>) {
        let items: Vec<(Code, u32)> = items.into_iter().map(|(h, id)| (code(&h), id)).collect();
        self.extend_codes(items);
    }

    fn extend_codes(&mut self, items: Vec<(Code, u32)>) {
        self.tail.extend(items);
        if self.tail.len() >= TAIL_MAX {
            self.merge_tail();
        }
    }

    /// Number of segments (the tail aside).
    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// Builds the tail into segments (full ones first when it is large),
    /// then merges the newest segments while the older of the last two is
    /// at most twice the newer one's size and together they stay within
    /// [`LIVE_MERGE_MAX`]: hashes added one by one are merged geometrically
    /// (each hash rebuilt a logarithmic number of times, not once per
    /// tail), and no addition rebuilds more than [`LIVE_MERGE_MAX`] hashes,
    /// so that an index answering queries stays answering while it grows.
    fn merge_tail(&mut self) {
        let mut pending = std::mem::take(&mut self.tail);
        while !pending.is_empty() {
            let rest = if pending.len() > SEGMENT_CAPACITY {
                pending.split_off(SEGMENT_CAPACITY)
            } else {
                Vec::new()
            };
            self.segments.push(Segment::build(pending));
            pending = rest;
        }
        while let [.., older, newer] = self.segments.as_slice() {
            let (a, b) = (older.len(), newer.len());
            if a > 2 * b || a + b > LIVE_MERGE_MAX {
                break;
            }
            let newer = self.segments.pop().unwrap_or_default();
            let older = self.segments.pop().unwrap_or_default();
            let mut items: Vec<(Code, u32)> = Vec::with_capacity(a + b);
            items.extend(older.items());
            drop(older);
            items.extend(newer.items());
            drop(newer);
            self.segments.push(Segment::build(items));
        }
    }

    /// Moves every unindexed hash into the tables (normally done when the
    /// tail fills; call it after a bulk load so that no hash is scanned
    /// linearly).
    pub fn compact(&mut self) {
        if !self.tail.is_empty() {
            self.merge_tail();
        }
    }

    /// Removes every hash added under `id` (from future results).
    pub fn remove(&mut self, id: u32) {
        self.removed.insert(id);
    }

    /// Every indexed hash within `threshold` bits of `query` (inclusive),
    /// in no particular order, appended to `out`.
    pub fn range(&self, query: &PdqHash, threshold: u32, out: &mut Vec<Hit>) {
        let q = Query::new(code(query), threshold.min(256));
        if threshold >= SCAN_FROM_THRESHOLD {
            self.scan(&q, out);
        } else {
            let mut scratch = Scratch::default();
            match self.level {
                #[cfg(target_arch = "x86_64")]
                Level::Avx512(k) => x86::search_avx512(k, self, &q, &mut scratch, out),
                #[cfg(target_arch = "x86_64")]
                Level::Avx2(k) => x86::search_avx2(k, self, &q, &mut scratch, out),
                Level::Portable => self.search_with(Portable, &q, &mut scratch, out),
            }
        }
        for (c, id) in &self.tail {
            let d = hamming(c, &q.code);
            if d <= q.threshold {
                push(*id, d, &self.removed, out);
            }
        }
    }

    /// [`PdqIndex::range`] for many queries: `out[i]` receives the hits of
    /// `queries[i]`. Large batches are searched together, reading the
    /// tables and hashes in address order, several times faster per query
    /// than one at a time.
    pub fn range_batch(&self, queries: &[PdqHash], threshold: u32) -> Vec<Vec<Hit>> {
        let mut out: Vec<Vec<Hit>> = vec![Vec::new(); queries.len()];
        if threshold >= SCAN_FROM_THRESHOLD || queries.len() < BATCH_MIN {
            for (q, o) in queries.iter().zip(out.iter_mut()) {
                self.range(q, threshold, o);
            }
            return out;
        }
        let mut scratch = BatchScratch::default();
        for (chunk, outs) in queries.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            let qs: Vec<Query> = chunk.iter().map(|h| Query::new(code(h), threshold)).collect();
            match self.level {
                #[cfg(target_arch = "x86_64")]
                Level::Avx512(k) => x86::batch_avx512(k, self, &qs, &mut scratch, outs),
                #[cfg(target_arch = "x86_64")]
                Level::Avx2(k) => x86::batch_avx2(k, self, &qs, &mut scratch, outs),
                Level::Portable => self.batch_with(Portable, &qs, &mut scratch, outs),
            }
            for (q, o) in qs.iter().zip(outs.iter_mut()) {
                for (c, id) in &self.tail {
                    let d = hamming(c, &q.code);
                    if d <= q.threshold {
                        push(*id, d, &self.removed, o);
                    }
                }
            }
        }
        out
    }

    #[inline(always)]
    fn batch_with<K: Kernel>(&self, k: K, qs: &[Query], scratch: &mut BatchScratch, out: &mut [Vec<Hit>]) {
        for s in &self.segments {
            s.search_batch(k, qs, &self.removed, scratch, out);
        }
    }

    /// Every indexed hash within `threshold` bits of any of `queries` (for
    /// example a hash's eight dihedral variants), each id once with its
    /// smallest distance.
    pub fn range_any(&self, queries: &[PdqHash], threshold: u32, out: &mut Vec<Hit>) {
        let start = out.len();
        for q in queries {
            self.range(q, threshold, out);
        }
        let mut found = out.split_off(start);
        found.sort_unstable_by_key(|h| (h.id, h.distance));
        found.dedup_by_key(|h| h.id);
        out.extend(found);
    }

    #[inline(always)]
    fn search_with<K: Kernel>(&self, k: K, q: &Query, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        for s in &self.segments {
            s.search(k, q, &self.removed, scratch, out);
        }
    }

    fn scan(&self, q: &Query, out: &mut Vec<Hit>) {
        for s in &self.segments {
            for (pos, c) in s.codes.iter().enumerate() {
                let d = hamming(c, &q.code);
                if d <= q.threshold {
                    push(s.ids[pos], d, &self.removed, out);
                }
            }
        }
    }

    /// Every indexed hash within `threshold` bits, by comparing with all of
    /// them: the definition the index is tested against.
    pub fn brute_force(&self, query: &PdqHash, threshold: u32, out: &mut Vec<Hit>) {
        let q = Query::new(code(query), threshold.min(256));
        self.scan(&q, out);
        for (c, id) in &self.tail {
            let d = hamming(c, &q.code);
            if d <= q.threshold {
                push(*id, d, &self.removed, out);
            }
        }
    }

    /// Bytes of memory the index holds: hashes, ids, tables, directories.
    pub fn memory_bytes(&self) -> usize {
        let segments: usize = self
            .segments
            .iter()
            .map(|s| {
                s.codes.capacity() * 32
                    + s.ids.capacity() * 4
                    + s.dirs.capacity() * 4
                    + s.entries.capacity() * 4
            })
            .sum();
        segments + self.tail.capacity() * 36 + self.removed.capacity() * 8
    }

    /// Bytes of the raw hashes alone (32 per hash).
    pub fn raw_bytes(&self) -> usize {
        (self.segments.iter().map(Segment::len).sum::<usize>() + self.tail.len()) * 32
    }
}

// The I/O variant keeps its error in the message, so it is not also a
// `source` (error chains would print it twice): `From` by hand.
impl From<std::io::Error> for IndexFileError {
    fn from(e: std::io::Error) -> Self {
        IndexFileError::Io(e)
    }
}

/// Why an index file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexFileError {
    /// Reading or writing failed.
    #[error("index file: {0}")]
    Io(std::io::Error),
    /// The file is not a marsad PDQ index of this version.
    #[error("not a marsad PDQ index file (version {0})")]
    Format(String),
}

const MAGIC: &[u8; 8] = b"MRSDPDQ1";

fn write_u32s(w: &mut impl Write, values: &[u32]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    for chunk in values.chunks(16 * 1024) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

fn read_u32s(r: &mut impl Read, n: usize) -> std::io::Result<Vec<u32>> {
    // `n` comes from the file: a corrupt count must end in a short read,
    // not in an allocation of gigabytes, so the vector grows as data comes.
    let mut out = Vec::with_capacity(n.min(1 << 16));
    let mut buf = vec![0u8; 64 * 1024];
    while out.len() < n {
        let take = ((n - out.len()) * 4).min(buf.len());
        r.read_exact(&mut buf[..take])?;
        out.extend(buf[..take].chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])));
    }
    Ok(out)
}

impl PdqIndex {
    /// Writes the index (segments, tail, removals) in marsad's binary
    /// format, so a later process loads it instead of rebuilding it.
    pub fn write_to(&self, w: &mut impl Write) -> Result<(), IndexFileError> {
        w.write_all(MAGIC)?;
        let header = [self.segments.len() as u32, self.tail.len() as u32, self.removed.len() as u32];
        write_u32s(w, &header)?;
        for s in &self.segments {
            write_u32s(w, &[s.len() as u32])?;
            let limbs: Vec<u32> =
                s.codes.iter().flat_map(|c| c.iter().flat_map(|l| [(*l >> 32) as u32, *l as u32])).collect();
            write_u32s(w, &limbs)?;
            write_u32s(w, &s.ids)?;
            write_u32s(w, &s.dirs)?;
            write_u32s(w, &s.entries)?;
        }
        let tail: Vec<u32> = self
            .tail
            .iter()
            .flat_map(|(c, id)| c.iter().flat_map(|l| [(*l >> 32) as u32, *l as u32]).chain([*id]))
            .collect();
        write_u32s(w, &tail)?;
        let mut removed: Vec<u32> = self.removed.iter().copied().collect();
        removed.sort_unstable();
        write_u32s(w, &removed)?;
        Ok(())
    }

    /// Reads an index written by [`PdqIndex::write_to`], checking its
    /// structure.
    pub fn read_from(r: &mut impl Read) -> Result<Self, IndexFileError> {
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(IndexFileError::Format(String::from_utf8_lossy(&magic).into_owned()));
        }
        let header = read_u32s(r, 3)?;
        let bad = |what: &str| IndexFileError::Format(format!("1, corrupt: {what}"));
        let mut segments = Vec::with_capacity((header[0] as usize).min(1 << 10));
        for _ in 0..header[0] {
            let n = read_u32s(r, 1)?[0] as usize;
            if n > SEGMENT_CAPACITY {
                return Err(bad("segment size"));
            }
            let limbs = read_u32s(r, n * 8)?;
            let codes = limbs
                .chunks_exact(8)
                .map(|l| {
                    [
                        (u64::from(l[0]) << 32) | u64::from(l[1]),
                        (u64::from(l[2]) << 32) | u64::from(l[3]),
                        (u64::from(l[4]) << 32) | u64::from(l[5]),
                        (u64::from(l[6]) << 32) | u64::from(l[7]),
                    ]
                })
                .collect();
            let ids = read_u32s(r, n)?;
            let dirs = read_u32s(r, BLOCKS * DIR_LEN)?;
            let entries = read_u32s(r, (BLOCKS - 1) * n)?;
            let seg = Segment { codes, ids, dirs, entries };
            seg.check().map_err(bad)?;
            segments.push(seg);
        }
        let tail = read_u32s(r, header[1] as usize * 9)?
            .chunks_exact(9)
            .map(|l| {
                (
                    [
                        (u64::from(l[0]) << 32) | u64::from(l[1]),
                        (u64::from(l[2]) << 32) | u64::from(l[3]),
                        (u64::from(l[4]) << 32) | u64::from(l[5]),
                        (u64::from(l[6]) << 32) | u64::from(l[7]),
                    ],
                    l[8],
                )
            })
            .collect();
        let removed = read_u32s(r, header[2] as usize)?.into_iter().collect();
        Ok(PdqIndex { segments, tail, removed, level: Level::detect() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_hash_once() {
        let c: Code =
            [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0x1111_2222_3333_4444, 0xaaaa_bbbb_cccc_dddd];
        let blocks: Vec<u32> = (0..BLOCKS).map(|b| block(&c, b)).collect();
        assert_eq!(
            blocks,
            [
                0x0123, 0x4567, 0x89ab, 0xcdef, 0xfedc, 0xba98, 0x7654, 0x3210, 0x1111, 0x2222, 0x3333,
                0x4444, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd
            ]
        );
        assert_eq!(partner_bits(&c, 0), 0x4567 >> 6);
        assert_eq!(partner_bits(&c, 1), 0x0123 >> 6);
    }

    /// A file whose tables were altered (so that a query would miss a hash
    /// it should find, or read out of bounds) is refused, whatever else it
    /// keeps intact.
    #[test]
    fn a_file_with_altered_tables_is_refused() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let codes: Vec<(Code, u32)> = (0..40).map(|i| ([next(), next(), next(), next()], i)).collect();
        let mut index = PdqIndex::new();
        index.extend_codes(codes);
        index.compact();
        let mut good = Vec::new();
        index.write_to(&mut good).unwrap();
        assert_eq!(PdqIndex::read_from(&mut &good[..]).unwrap().items().count(), 40);
        let n = 40;
        let codes_at = 8 + 12 + 4;
        let dirs_at = codes_at + 32 * n + 4 * n;
        let entries_at = dirs_at + 4 * BLOCKS * DIR_LEN;
        let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
        // One table entry's partner bits, then its position.
        let mut b = good.clone();
        b[entries_at + 3] ^= 0x40;
        cases.push(("partner bits", b));
        let mut b = good.clone();
        let e = u32_at(&good, entries_at);
        b[entries_at..entries_at + 4]
            .copy_from_slice(&((e & !POS_MASK) | (((e & POS_MASK) + 1) % n as u32)).to_le_bytes());
        cases.push(("position", b));
        // Two entries of a table swapped (each in the other's bucket).
        let mut b = good.clone();
        let (e0, e1) = (u32_at(&good, entries_at + 4 * 5), u32_at(&good, entries_at + 4 * 20));
        b[entries_at + 20..entries_at + 24].copy_from_slice(&e1.to_le_bytes());
        b[entries_at + 80..entries_at + 84].copy_from_slice(&e0.to_le_bytes());
        cases.push(("swapped", b));
        // A hash altered: no longer in its buckets.
        let mut b = good.clone();
        b[codes_at + 32 * 7 + 9] ^= 0x04;
        cases.push(("hash", b));
        // A directory boundary moved by one.
        let mut b = good.clone();
        let key = (0..DIR_LEN - 1)
            .find(|&k| {
                u32_at(&good, dirs_at + 4 * (DIR_LEN + k + 1)) > u32_at(&good, dirs_at + 4 * (DIR_LEN + k))
            })
            .unwrap();
        let at = dirs_at + 4 * (DIR_LEN + key + 1);
        b[at..at + 4].copy_from_slice(&(u32_at(&good, at) - 1).to_le_bytes());
        cases.push(("directory", b));
        for (what, b) in cases {
            assert!(PdqIndex::read_from(&mut &b[..]).is_err(), "{what}: accepted");
        }
    }

    #[test]
    fn filters_agree() {
        let entries: Vec<u32> = (0..1000u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        // Lengths around the vector widths, so the remainders run too.
        for len in [0, 7, 8, 15, 16, 17, 1000] {
            let entries = &entries[..len];
            for partner in [0, 1, 0x3ff, 0x155] {
                for max in 0..=4 {
                    let mut want = Vec::new();
                    for &e in entries {
                        if ((e >> POS_BITS) ^ partner).count_ones() <= max {
                            want.push(e & POS_MASK);
                        }
                    }
                    let mut a = Vec::new();
                    Portable.filter(entries, partner, max, &mut a);
                    assert_eq!(a, want, "portable len {len} partner {partner} max {max}");
                    #[cfg(target_arch = "x86_64")]
                    {
                        if let Some(k) = x86::Avx2::detect() {
                            let mut b = Vec::new();
                            k.filter(entries, partner, max, &mut b);
                            assert_eq!(b, want, "avx2 len {len} partner {partner} max {max}");
                        }
                        if let Some(k) = x86::Avx512::detect() {
                            let mut c = Vec::new();
                            k.filter(entries, partner, max, &mut c);
                            assert_eq!(c, want, "avx512 len {len} partner {partner} max {max}");
                            let mut d = Vec::new();
                            k.avx2().filter(entries, partner, max, &mut d);
                            assert_eq!(d, want, "avx2 from avx512 len {len} partner {partner} max {max}");
                        }
                    }
                }
            }
        }
    }

    /// A small bank and queries near some of its hashes.
    fn bank_and_queries() -> (PdqIndex, Vec<Query>) {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            // splitmix64: enough randomness for a bank, no dependency.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let codes: Vec<Code> = (0..5000).map(|_| [next(), next(), next(), next()]).collect();
        let queries = codes
            .iter()
            .step_by(50)
            .enumerate()
            .map(|(i, c)| {
                // Flip up to 31 bits spread over the limbs.
                let mut q = *c;
                for bit in 0..(i % 32) {
                    q[bit % 4] ^= 1 << ((bit * 7) % 64);
                }
                Query::new(q, DEFAULT_THRESHOLD)
            })
            .collect();
        let mut index = PdqIndex::default();
        index.extend_codes(codes.into_iter().zip(0..).collect());
        index.compact();
        (index, queries)
    }

    fn sorted(mut v: Vec<Hit>) -> Vec<Hit> {
        v.sort_unstable();
        v
    }

    #[test]
    fn searches_through_tokens_agree_with_portable() {
        let (index, queries) = bank_and_queries();
        let mut want: Vec<Vec<Hit>> = vec![Vec::new(); queries.len()];
        index.batch_with(Portable, &queries, &mut BatchScratch::default(), &mut want);
        let want: Vec<Vec<Hit>> = want.into_iter().map(sorted).collect();
        assert!(want.iter().all(|h| !h.is_empty()), "every query has its planted hash");
        let single = |f: &dyn Fn(&Query, &mut Vec<Hit>)| -> Vec<Vec<Hit>> {
            queries
                .iter()
                .map(|q| {
                    let mut out = Vec::new();
                    f(q, &mut out);
                    sorted(out)
                })
                .collect()
        };
        assert_eq!(single(&|q, out| index.search_with(Portable, q, &mut Scratch::default(), out)), want);
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(k) = x86::Avx2::detect() {
                let got = single(&|q, out| x86::search_avx2(k, &index, q, &mut Scratch::default(), out));
                assert_eq!(got, want, "avx2 single");
                let mut got = vec![Vec::new(); queries.len()];
                x86::batch_avx2(k, &index, &queries, &mut BatchScratch::default(), &mut got);
                assert_eq!(got.into_iter().map(sorted).collect::<Vec<_>>(), want, "avx2 batch");
            }
            if let Some(k) = x86::Avx512::detect() {
                let got = single(&|q, out| x86::search_avx512(k, &index, q, &mut Scratch::default(), out));
                assert_eq!(got, want, "avx512 single");
                let mut got = vec![Vec::new(); queries.len()];
                x86::batch_avx512(k, &index, &queries, &mut BatchScratch::default(), &mut got);
                assert_eq!(got.into_iter().map(sorted).collect::<Vec<_>>(), want, "avx512 batch");
            }
        }
    }

    #[test]
    fn forced_levels_hold_the_tokens_the_cpu_has() {
        let best = Simd::detect();
        for (asked, expected) in [
            (Simd::Portable, Simd::Portable),
            (Simd::Avx2, if best == Simd::Portable { Simd::Portable } else { Simd::Avx2 }),
            (Simd::Avx512, best),
        ] {
            let level = Level::at_most(asked);
            assert_eq!(level.simd(), expected, "asked for {asked:?} on a CPU with {best:?}");
            assert_eq!(PdqIndex::new().with_simd(asked).simd(), expected);
        }
    }
}

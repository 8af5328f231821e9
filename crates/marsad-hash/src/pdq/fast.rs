//! The streaming downsampler: the same float operations as the reference's
//! two full-image row/column box-filter passes and decimation, reordered
//! only where the order cannot change a result bit.
//!
//! Each output of a box filter is a running sum advanced by one add and one
//! subtract per sample, divided by the window's count. Running sums of
//! different rows (or columns) are independent, so they may advance in any
//! interleaving, and IEEE arithmetic gives the same bits per operation
//! whatever vector width computes it. What this module changes, and only
//! that:
//! - Rows are streamed in groups of [`LANES`]: luma is made for a group, the
//!   group is filtered along its rows, kept in a small ring of rows (just
//!   enough for the column window), filtered down the columns, and filtered
//!   along the rows again; no full-image float buffer is ever written.
//! - Row passes run on a transposed group (`tile[column][row]`), so one
//!   vector instruction advances the running sums of `LANES` rows; column
//!   passes run on row-major data, one vector advancing `LANES` columns.
//!   8×8 transposes move data between the two layouts.
//! - The second row pass divides only at the 64 columns that decimation
//!   keeps, and the second column pass runs only on those 64 columns and
//!   divides only at the 64 rows kept: the running sums still visit every
//!   sample, so the kept values are exactly the reference's.
//! - Where the reference's column pass has no sample to add (the last rows)
//!   or to subtract (the first rows), this one adds `-0.0` or subtracts
//!   `+0.0` so every row runs the same loop: `s + (-0.0)` and `s - (+0.0)`
//!   are `s` bit for bit, signed zeros included.

use super::reference::{decimation_points, window_size};

/// Rows advanced together in the row passes: two 8-float vectors, so that
/// two independent add chains hide each other's latency.
pub(crate) const LANES: usize = 16;

/// `LANES` floats, one per row of a group.
pub(crate) type Lanes = [f32; LANES];

/// Eight floats: one vector, one row or column of an 8×8 block.
pub(crate) type V8 = [f32; 8];

/// An 8×8 block of floats.
pub(crate) type Block = [V8; 8];

/// Writes the transposed `block` into lanes `8 * half ..` of `tile[c0 .. c0 + 8]`.
#[inline(always)]
fn put_block(tile: &mut [Lanes], c0: usize, half: usize, block: &Block) {
    for (t, v) in tile[c0..c0 + 8].iter_mut().zip(block) {
        t[8 * half..8 * half + 8].copy_from_slice(v);
    }
}

/// Reads lanes `8 * half ..` of `tile[c0 .. c0 + 8]` as a block.
#[inline(always)]
fn get_block(tile: &[Lanes], c0: usize, half: usize) -> Block {
    let mut b = [[0f32; 8]; 8];
    for (v, t) in b.iter_mut().zip(&tile[c0..c0 + 8]) {
        v.copy_from_slice(&t[8 * half..8 * half + 8]);
    }
    b
}

/// A source of luma rows.
pub(crate) trait LumaRows {
    /// Pixels per row.
    fn width(&self) -> usize;
    /// Number of rows.
    fn height(&self) -> usize;
    /// Writes the luma of row `r` into `out` (`out.len() == width`).
    fn fill_row(&self, r: usize, out: &mut [f32]);
    /// Writes the luma of rows `r0 .. r0 + LANES` transposed into `tile`
    /// (`tile[c][l]` is column `c` of row `r0 + l`, `tile.len() >= width`);
    /// rows past the last repeat the last row.
    fn fill_tile<K: Kernels>(&self, r0: usize, tile: &mut [Lanes], k: K);
}

/// The rows of a group, clamped to the image.
#[inline(always)]
fn group_rows<T>(data: &[T], r0: usize, height: usize, stride: usize) -> [&[T]; LANES] {
    std::array::from_fn(|l| {
        let r = (r0 + l).min(height - 1);
        &data[r * stride..(r + 1) * stride]
    })
}

/// Interleaved 8-bit RGB or RGBA (alpha ignored). Luma as the `pdqhash`
/// Python bindings make it: `R * 0.299 + G * 0.587 + B * 0.114` in f64,
/// summed left to right, then rounded to f32.
pub(crate) struct RgbRows<'a> {
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// Bytes per pixel: 3, or 4 with the alpha byte last.
    pub(crate) channels: usize,
    pub(crate) data: &'a [u8],
}

/// Luma of 8-bit RGB as the Python bindings compute it.
#[inline(always)]
fn luma(r: u8, g: u8, b: u8) -> f32 {
    (f64::from(r) * 0.299 + f64::from(g) * 0.587 + f64::from(b) * 0.114) as f32
}

/// Luma of grey `v` expanded to `(v, v, v)`: not always exactly `v`.
static GREY_LUMA: [f32; 256] = {
    let mut t = [0f32; 256];
    let mut v = 0;
    while v < 256 {
        let x = v as f64;
        t[v] = (x * 0.299 + x * 0.587 + x * 0.114) as f32;
        v += 1;
    }
    t
};

impl LumaRows for RgbRows<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    #[inline(always)]
    fn fill_row(&self, r: usize, out: &mut [f32]) {
        let stride = self.width * self.channels;
        let row = &self.data[r * stride..(r + 1) * stride];
        for (o, p) in out.iter_mut().zip(row.chunks_exact(self.channels)) {
            *o = luma(p[0], p[1], p[2]);
        }
    }
    #[inline(always)]
    fn fill_tile<K: Kernels>(&self, r0: usize, tile: &mut [Lanes], k: K) {
        let ch = self.channels;
        let rows = group_rows(self.data, r0, self.height, self.width * ch);
        // Blocks of 8 columns: luma of 8 pixels of each row as one vector,
        // then 8×8 transposes into the tile.
        let blocks = self.width / 8;
        for b in 0..blocks {
            let (c0, at) = (b * 8, b * 8 * ch);
            for half in 0..2 {
                let block: Block = std::array::from_fn(|l| {
                    let px = &rows[8 * half + l][at..at + 8 * ch];
                    if ch == 3 {
                        k.luma_rgb(px.try_into().unwrap_or(&[0; 24]))
                    } else {
                        k.luma_rgba(px.try_into().unwrap_or(&[0; 32]))
                    }
                });
                put_block(tile, c0, half, &k.t8(&block));
            }
        }
        for (c, lanes) in tile.iter_mut().enumerate().take(self.width).skip(blocks * 8) {
            let i = c * ch;
            for (t, row) in lanes.iter_mut().zip(&rows) {
                *t = luma(row[i], row[i + 1], row[i + 2]);
            }
        }
    }
}

/// 8-bit greyscale, or grey + alpha (alpha ignored), expanded to RGB with
/// R = G = B as Pillow's `convert("RGB")` does.
pub(crate) struct GreyRows<'a> {
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// Bytes per pixel: 1, or 2 with the alpha byte last.
    pub(crate) channels: usize,
    pub(crate) data: &'a [u8],
}

impl LumaRows for GreyRows<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    #[inline(always)]
    fn fill_row(&self, r: usize, out: &mut [f32]) {
        let stride = self.width * self.channels;
        let row = &self.data[r * stride..(r + 1) * stride];
        for (o, p) in out.iter_mut().zip(row.chunks_exact(self.channels)) {
            *o = GREY_LUMA[usize::from(p[0])];
        }
    }
    #[inline(always)]
    fn fill_tile<K: Kernels>(&self, r0: usize, tile: &mut [Lanes], _k: K) {
        let ch = self.channels;
        let rows = group_rows(self.data, r0, self.height, self.width * ch);
        for (c, t) in tile[..self.width].iter_mut().enumerate() {
            for (t, row) in t.iter_mut().zip(&rows) {
                *t = GREY_LUMA[usize::from(row[c * ch])];
            }
        }
    }
}

/// A luma plane that is already float.
pub(crate) struct FloatRows<'a> {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) data: &'a [f32],
}

impl LumaRows for FloatRows<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    #[inline(always)]
    fn fill_row(&self, r: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.data[r * self.width..(r + 1) * self.width]);
    }
    #[inline(always)]
    fn fill_tile<K: Kernels>(&self, r0: usize, tile: &mut [Lanes], _k: K) {
        let rows = group_rows(self.data, r0, self.height, self.width);
        for (c, t) in tile[..self.width].iter_mut().enumerate() {
            for (t, row) in t.iter_mut().zip(&rows) {
                *t = row[c];
            }
        }
    }
}

/// The operations whose best code is not what the compiler finds by
/// itself: 8×8 transposes and the RGB → luma conversion of 8 pixels.
pub(crate) trait Kernels: Copy {
    /// `out[j][i] = a[i][j]`.
    fn t8(self, a: &Block) -> Block;
    /// Luma of 8 interleaved RGB pixels.
    fn luma_rgb(self, px: &[u8; 24]) -> V8;
    /// Luma of 8 interleaved RGBA pixels (alpha ignored).
    fn luma_rgba(self, px: &[u8; 32]) -> V8;
}

/// Kernels in plain Rust.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Kernels for Portable {
    #[inline(always)]
    fn t8(self, a: &Block) -> Block {
        let mut t = [[0f32; 8]; 8];
        for (i, row) in a.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                t[j][i] = v;
            }
        }
        t
    }
    #[inline(always)]
    fn luma_rgb(self, px: &[u8; 24]) -> V8 {
        std::array::from_fn(|i| luma(px[3 * i], px[3 * i + 1], px[3 * i + 2]))
    }
    #[inline(always)]
    fn luma_rgba(self, px: &[u8; 32]) -> V8 {
        std::array::from_fn(|i| luma(px[4 * i], px[4 * i + 1], px[4 * i + 2]))
    }
}

/// Kernels with AVX2 intrinsics. A value of this type exists only where the
/// CPU has AVX2 ([`Avx2::detect`]).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// `Some` when the running CPU supports AVX2.
    pub(crate) fn detect() -> Option<Self> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2 {
    #[inline(always)]
    fn t8(self, a: &Block) -> Block {
        // SAFETY: an `Avx2` value is only made by `detect`, after checking
        // that the CPU supports AVX2 (and so AVX).
        unsafe { t8_avx(a) }
    }
    #[inline(always)]
    fn luma_rgb(self, px: &[u8; 24]) -> V8 {
        // SAFETY: `self` exists only if `detect` found AVX2 on this CPU.
        unsafe { luma_rgb_avx2(px) }
    }
    #[inline(always)]
    fn luma_rgba(self, px: &[u8; 32]) -> V8 {
        // SAFETY: `self` exists only if `detect` found AVX2 on this CPU.
        unsafe { luma_rgba_avx2(px) }
    }
}

/// `pshufb` mask taking bytes `i0..i3` into the low byte of four i32 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn spread(i: [i8; 4]) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::_mm_setr_epi8;
    _mm_setr_epi8(i[0], -1, -1, -1, i[1], -1, -1, -1, i[2], -1, -1, -1, i[3], -1, -1, -1)
}

/// Luma of four pixels whose channel bytes sit at `r`, `g`, `b` in `v`:
/// the same f64 products, sum and rounding as [`luma`], four lanes at once.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn luma4_avx2(
    v: std::arch::x86_64::__m128i,
    r: [i8; 4],
    g: [i8; 4],
    b: [i8; 4],
) -> std::arch::x86_64::__m128 {
    use std::arch::x86_64::*;
    let rf = _mm256_cvtepi32_pd(_mm_shuffle_epi8(v, spread(r)));
    let gf = _mm256_cvtepi32_pd(_mm_shuffle_epi8(v, spread(g)));
    let bf = _mm256_cvtepi32_pd(_mm_shuffle_epi8(v, spread(b)));
    let sum = _mm256_add_pd(
        _mm256_add_pd(_mm256_mul_pd(rf, _mm256_set1_pd(0.299)), _mm256_mul_pd(gf, _mm256_set1_pd(0.587))),
        _mm256_mul_pd(bf, _mm256_set1_pd(0.114)),
    );
    _mm256_cvtpd_ps(sum)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn luma_rgb_avx2(px: &[u8; 24]) -> V8 {
    use std::arch::x86_64::*;
    // SAFETY: both 16-byte loads lie inside the 24 bytes (offsets 0 and 8).
    let (lo, hi) =
        unsafe { (_mm_loadu_si128(px.as_ptr().cast()), _mm_loadu_si128(px.as_ptr().add(8).cast())) };
    // Pixels 0..4 are bytes 0..12 of `lo`; pixels 4..8 bytes 4..16 of `hi`.
    let a = luma4_avx2(lo, [0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]);
    let b = luma4_avx2(hi, [4, 7, 10, 13], [5, 8, 11, 14], [6, 9, 12, 15]);
    let mut out = [0f32; 8];
    // SAFETY: `out` is 8 contiguous f32.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_set_m128(b, a)) };
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn luma_rgba_avx2(px: &[u8; 32]) -> V8 {
    use std::arch::x86_64::*;
    // SAFETY: both 16-byte loads lie inside the 32 bytes.
    let (lo, hi) =
        unsafe { (_mm_loadu_si128(px.as_ptr().cast()), _mm_loadu_si128(px.as_ptr().add(16).cast())) };
    let (r, g, b) = ([0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14]);
    let a = luma4_avx2(lo, r, g, b);
    let b2 = luma4_avx2(hi, r, g, b);
    let mut out = [0f32; 8];
    // SAFETY: `out` is 8 contiguous f32.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_set_m128(b2, a)) };
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
fn t8_avx(a: &Block) -> Block {
    use std::arch::x86_64::*;
    let r: [__m256; 8] = std::array::from_fn(|i| {
        _mm256_setr_ps(a[i][0], a[i][1], a[i][2], a[i][3], a[i][4], a[i][5], a[i][6], a[i][7])
    });
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    let o = [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ];
    let mut out = [[0f32; 8]; 8];
    for (dst, v) in out.iter_mut().zip(o) {
        // SAFETY: `dst` is 8 contiguous f32; the store is unaligned.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
    }
    out
}

/// Number of samples in the window whose entering sample is `j`.
#[inline(always)]
fn count_at(j: usize, len: usize, window: usize) -> f32 {
    let hi = j.min(len - 1) + 1;
    let lo = (j + 1).saturating_sub(window);
    (hi - lo) as f32
}

#[inline(always)]
fn add(s: &mut Lanes, x: &Lanes) {
    for (s, x) in s.iter_mut().zip(x) {
        *s += x;
    }
}

#[inline(always)]
fn add_sub(s: &mut Lanes, x: &Lanes, y: &Lanes) {
    for ((s, x), y) in s.iter_mut().zip(x).zip(y) {
        *s += x;
        *s -= y;
    }
}

#[inline(always)]
fn sub(s: &mut Lanes, y: &Lanes) {
    for (s, y) in s.iter_mut().zip(y) {
        *s -= y;
    }
}

#[inline(always)]
fn div(s: &Lanes, n: f32) -> Lanes {
    let mut out = [0f32; LANES];
    for (o, s) in out.iter_mut().zip(s) {
        *o = s / n;
    }
    out
}

/// Row box filter on a transposed group (`x[j][l]` is sample `j` of row
/// `l`), all outputs into `y` (same layout, `y.len() >= x.len()`).
///
/// The reference's four phases, written with `j` as the index of the sample
/// entering the window: for `j` in `0 .. len + half - 1`, add `x[j]` when
/// `j < len`, then subtract `x[j - window]` when `j >= window`, then output
/// `j - half + 1` (once `j >= half - 1`) is the sum divided by the number of
/// samples in the window. Each lane sees exactly the reference's sequence of
/// float operations for its row.
#[inline(always)]
fn box_lanes(x: &[Lanes], window: usize, y: &mut [Lanes]) {
    let len = x.len();
    let half = (window + 2) / 2;
    let mut s = [0f32; LANES];
    for xj in &x[..half - 1] {
        add(&mut s, xj);
    }
    for j in half - 1..window {
        add(&mut s, &x[j]);
        y[j + 1 - half] = div(&s, (j + 1) as f32);
    }
    let n = window as f32;
    let y_full = &mut y[window + 1 - half..len + 1 - half];
    for ((yo, xa), xs) in y_full.iter_mut().zip(&x[window..]).zip(x) {
        add_sub(&mut s, xa, xs);
        *yo = div(&s, n);
    }
    for j in len..len + half - 1 {
        sub(&mut s, &x[j - window]);
        y[j + 1 - half] = div(&s, count_at(j, len, window));
    }
}

/// Like [`box_lanes`] but divides only for the outputs at `keep` (one
/// `Lanes` per kept output). The running sums still advance through every
/// sample, so the kept outputs are exactly those of [`box_lanes`].
#[inline(always)]
fn box_lanes_sampled(x: &[Lanes], window: usize, keep: &[usize; 64], out: &mut [Lanes; 64]) {
    let len = x.len();
    let half = (window + 2) / 2;
    let mut s = [0f32; LANES];
    let mut j = 0usize; // next sample to enter
    for (o, &k) in out.iter_mut().zip(keep) {
        let target = k + half - 1; // last sample entering for output k
        let stop = target + 1;
        let end = stop.min(window);
        while j < end {
            add(&mut s, &x[j]);
            j += 1;
        }
        let end = stop.min(len);
        if j < end {
            for (xa, xs) in x[j..end].iter().zip(&x[j - window..end - window]) {
                add_sub(&mut s, xa, xs);
            }
            j = end;
        }
        while j < stop {
            sub(&mut s, &x[j - window]);
            j += 1;
        }
        *o = div(&s, count_at(target, len, window));
    }
}

/// The first row pass, feeding the ring of rows.
struct FirstPass<'s, S, T> {
    src: &'s S,
    tr: T,
    wr: usize,
    wp: usize,
    ring_rows: usize,
}

impl<S: LumaRows, T: Kernels> FirstPass<'_, S, T> {
    /// Makes groups of first-pass rows from `*next` on until row `upto` is
    /// in the ring.
    #[inline(always)]
    fn produce(
        &mut self,
        next: &mut usize,
        upto: usize,
        ring: &mut [f32],
        tile: &mut [Lanes],
        ytile: &mut [Lanes],
    ) {
        let (w, h, wp) = (self.src.width(), self.src.height(), self.wp);
        while *next <= upto && *next < h {
            self.src.fill_tile(*next, tile, self.tr);
            box_lanes(&tile[..w], self.wr, ytile);
            let slot = *next % self.ring_rows;
            let group = &mut ring[slot * wp..(slot + LANES) * wp];
            for c0 in (0..wp).step_by(8) {
                for half in 0..2 {
                    let t = self.tr.t8(&get_block(ytile, c0, half));
                    for (l, row) in t.iter().enumerate() {
                        let at = (8 * half + l) * wp + c0;
                        group[at..at + 8].copy_from_slice(row);
                    }
                }
            }
            *next += LANES;
        }
    }
}

/// Blur-and-decimate to 64×64, bit-identical to the reference (see the
/// module doc). Requires `width, height >= 1`.
pub(crate) fn downsample<S: LumaRows>(src: &S) -> Box<[[f32; 64]; 64]> {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = Avx2::detect() {
        // SAFETY: `avx2` proves the CPU supports AVX2.
        return unsafe { downsample_avx2(src, avx2) };
    }
    downsample_with(src, Portable)
}

/// [`downsample_with`] compiled for AVX2: wider vectors for the same
/// per-lane operations (no FMA is enabled, and Rust never fuses a multiply
/// and an add by itself, so every result is identical).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn downsample_avx2<S: LumaRows>(src: &S, avx2: Avx2) -> Box<[[f32; 64]; 64]> {
    downsample_with(src, avx2)
}

/// The downsampler, generic over how 8×8 blocks are transposed.
#[inline(always)]
pub(crate) fn downsample_with<S: LumaRows, T: Kernels>(src: &S, tr: T) -> Box<[[f32; 64]; 64]> {
    let (w, h) = (src.width(), src.height());
    let mut out = Box::new([[0f32; 64]; 64]);
    if w == 64 && h == 64 {
        // The reference skips filtering for input that is already 64×64.
        for (r, row) in out.iter_mut().enumerate() {
            src.fill_row(r, row);
        }
        return out;
    }
    let wr = window_size(w, 64); // along rows
    let wc = window_size(h, 64); // along columns
    let half_c = (wc + 2) / 2;
    let keep_c = decimation_points(w);
    let keep_r = decimation_points(h);

    // Row-major buffers are padded to whole 8-column blocks; the padding
    // columns hold finite junk that no kept value depends on.
    let wp = w.div_ceil(16) * 16;

    // Ring of first-pass rows, row-major. A group of LANES rows lands in
    // consecutive slots; the ring holds every row from the oldest one a
    // column window still subtracts to the newest group.
    // (Never more rows than the image has, for short wide images.)
    let ring_rows = ((wc + 2 * LANES).div_ceil(LANES) * LANES).min(h.div_ceil(LANES) * LANES);
    let mut ring = vec![0f32; ring_rows * wp];
    let neg_zero = vec![-0.0f32; wp];
    let pos_zero = vec![0.0f32; wp];
    let mut tile = vec![[0f32; LANES]; wp];
    let mut ytile = vec![[0f32; LANES]; wp];
    let mut sums = vec![0f32; wp];
    // Second row pass at the kept columns: one row of 64 per image row.
    let mut c64 = vec![[0f32; 64]; h];
    let mut kept = [[0f32; LANES]; 64];

    let mut next_a = 0usize; // first row of the next group to make
    let row_at = |j: usize| -> std::ops::Range<usize> {
        let slot = j % ring_rows;
        slot * wp..(slot + 1) * wp
    };

    // Column pass, first phase: rows entering before the first output.
    let mut first = FirstPass { src, tr, wr, wp, ring_rows };
    first.produce(&mut next_a, half_c.saturating_sub(2), &mut ring, &mut tile, &mut ytile);
    for j in 0..half_c - 1 {
        let r = row_at(j);
        for (s, a) in sums.iter_mut().zip(&ring[r]) {
            *s += a;
        }
    }
    // Then groups of LANES output rows: column pass into a transposed
    // block, second row pass on the block's kept columns.
    for o0 in (0..h).step_by(LANES) {
        let last_j = (o0 + LANES - 1 + half_c - 1).min(h + half_c - 2);
        first.produce(&mut next_a, last_j.min(h - 1), &mut ring, &mut tile, &mut ytile);
        let mut adds: [&[f32]; LANES] = [&neg_zero; LANES];
        let mut subs: [&[f32]; LANES] = [&pos_zero; LANES];
        let mut counts = [1f32; LANES];
        // Lanes past the last row (in the last group) keep the identity
        // updates; their outputs are dropped.
        for l in 0..LANES.min(h - o0) {
            let j = o0 + l + half_c - 1;
            if j < h {
                adds[l] = &ring[row_at(j)];
            }
            if j >= wc && j - wc < h {
                subs[l] = &ring[row_at(j - wc)];
            }
            counts[l] = count_at(j, h, wc);
        }
        // Two 8-column blocks at a time (two independent add chains), all
        // rows of the group in order for each column.
        for c0 in (0..wp).step_by(16) {
            let mut s0: V8 = [0f32; 8];
            let mut s1: V8 = [0f32; 8];
            s0.copy_from_slice(&sums[c0..c0 + 8]);
            s1.copy_from_slice(&sums[c0 + 8..c0 + 16]);
            let mut out0 = [[0f32; 8]; LANES];
            let mut out1 = [[0f32; 8]; LANES];
            for l in 0..LANES {
                let a = &adds[l][c0..c0 + 16];
                let d = &subs[l][c0..c0 + 16];
                for i in 0..8 {
                    s0[i] += a[i];
                    s0[i] -= d[i];
                    s1[i] += a[8 + i];
                    s1[i] -= d[8 + i];
                }
                for i in 0..8 {
                    out0[l][i] = s0[i] / counts[l];
                    out1[l][i] = s1[i] / counts[l];
                }
            }
            sums[c0..c0 + 8].copy_from_slice(&s0);
            sums[c0 + 8..c0 + 16].copy_from_slice(&s1);
            for half in 0..2 {
                let rows = |o: &[V8; LANES]| -> Block { std::array::from_fn(|i| o[8 * half + i]) };
                put_block(&mut tile, c0, half, &tr.t8(&rows(&out0)));
                put_block(&mut tile, c0 + 8, half, &tr.t8(&rows(&out1)));
            }
        }
        box_lanes_sampled(&tile[..w], wr, &keep_c, &mut kept);
        let n = LANES.min(h - o0);
        for (l, row) in c64[o0..o0 + n].iter_mut().enumerate() {
            for (c, k) in row.iter_mut().zip(&kept) {
                *c = k[l];
            }
        }
    }

    // Second column pass on the 64 kept columns, kept rows only.
    let mut s = [0f32; 64];
    let mut j = 0usize;
    for (orow, &o) in out.iter_mut().zip(&keep_r) {
        let target = o + half_c - 1;
        while j <= target {
            if j < h {
                for (s, a) in s.iter_mut().zip(&c64[j]) {
                    *s += a;
                }
            }
            if j >= wc {
                for (s, b) in s.iter_mut().zip(&c64[j - wc]) {
                    *s -= b;
                }
            }
            j += 1;
        }
        let n = count_at(target, h, wc);
        for (o, s) in orow.iter_mut().zip(&s) {
            *o = s / n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency needed for this).
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn reference_64(rgb: &[u8], w: usize, h: usize) -> Box<[[f32; 64]; 64]> {
        let luma = crate::pdq::reference::luma_from_rgb(rgb);
        crate::pdq::reference::downsample(&luma, h, w)
    }

    fn same(a: &[[f32; 64]; 64], b: &[[f32; 64]; 64]) -> bool {
        a.iter().flatten().zip(b.iter().flatten()).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn portable_and_simd_paths_match_the_transcription() {
        // Sizes around the block and group widths and the window edges.
        for (i, &(w, h)) in [
            (1, 1),
            (5, 5),
            (7, 33),
            (64, 64),
            (63, 65),
            (65, 63),
            (16, 17),
            (129, 200),
            (300, 31),
            (257, 129),
        ]
        .iter()
        .enumerate()
        {
            for ch in [3usize, 4] {
                let data = noise(w * h * ch, i as u64 * 10 + ch as u64);
                let src = RgbRows { width: w, height: h, channels: ch, data: &data };
                let rgb: Vec<u8> = data.chunks_exact(ch).flat_map(|p| [p[0], p[1], p[2]]).collect();
                let want = reference_64(&rgb, w, h);
                assert!(same(&downsample_with(&src, Portable), &want), "portable {w}x{h}x{ch}");
                #[cfg(target_arch = "x86_64")]
                if let Some(k) = Avx2::detect() {
                    // SAFETY: `k` proves AVX2 support.
                    let got = unsafe { downsample_avx2(&src, k) };
                    assert!(same(&got, &want), "avx2 {w}x{h}x{ch}");
                }
            }
            let grey = noise(w * h, i as u64);
            let src = GreyRows { width: w, height: h, channels: 1, data: &grey };
            let rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
            assert!(same(&downsample(&src), &reference_64(&rgb, w, h)), "grey {w}x{h}");
        }
    }

    #[test]
    fn luma_kernels_agree_on_every_colour() {
        // All 2^24 colours, eight pixels per call, against the scalar formula.
        let mut px = [0u8; 24];
        let mut want = [0f32; 8];
        for rg in 0..1u32 << 16 {
            let (r, g) = ((rg >> 8) as u8, rg as u8);
            for b0 in (0..256).step_by(8) {
                for i in 0..8 {
                    let b = (b0 + i) as u8;
                    px[3 * i..3 * i + 3].copy_from_slice(&[r, g, b]);
                    want[i] = luma(r, g, b);
                }
                assert_eq!(Portable.luma_rgb(&px), want);
                #[cfg(target_arch = "x86_64")]
                if let Some(k) = Avx2::detect() {
                    let got = k.luma_rgb(&px);
                    assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
                    let mut rgba = [0u8; 32];
                    for i in 0..8 {
                        rgba[4 * i..4 * i + 3].copy_from_slice(&px[3 * i..3 * i + 3]);
                        rgba[4 * i + 3] = 0xA5;
                    }
                    assert_eq!(k.luma_rgba(&rgba), want);
                }
            }
        }
    }

    #[test]
    fn transposes_agree() {
        let a: Block = std::array::from_fn(|i| std::array::from_fn(|j| (i * 8 + j) as f32));
        let t = Portable.t8(&a);
        assert_eq!(t[3][5], a[5][3]);
        #[cfg(target_arch = "x86_64")]
        if let Some(k) = Avx2::detect() {
            assert_eq!(k.t8(&a), t);
        }
    }
}

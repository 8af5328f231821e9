//! Chromaprint audio fingerprints, the default algorithm of chromaprint 1.x
//! and `fpcalc` (TEST2), written from the published description of the
//! algorithm (facts of the reference; no code of it).
//!
//! Input is mono 16-bit audio at 11 025 Hz (callers decode and resample;
//! `fpcalc` lets libswresample do it, and so does marsad). Then:
//! 1. frames of 4096 samples every 1365 (overlap 2731), a trailing partial
//!    frame dropped; each sample scaled by 1/32767 and a symmetric Hamming
//!    window;
//! 2. the power spectrum (`re² + im²` of the unnormalised real DFT);
//! 3. chroma: the power of bins 10..1308 (≈ 27–3518 Hz) summed per note,
//!    note `⌊12 · frac(log2(f / 27.5))⌋`;
//! 4. a 5-tap filter over time per note (0.25, 0.75, 1, 0.75, 0.25), then
//!    Euclidean normalisation (a vector with norm under 0.01 becomes zero);
//! 5. the rows form an image (time × 12 notes); 16 Haar-like filters over
//!    its integral image compare rectangle sums as `ln((1 + a) / (1 + b))`;
//!    each result is quantised by three thresholds into 0–3, Gray coded, and
//!    the 16 two-bit codes packed into one 32-bit item (classifier 0 in the
//!    top bits), one item per image row once 16 rows are known.
//!
//! ```
//! use marsad_hash::audio::{Chromaprint, SILENCE_ITEM, SAMPLE_RATE};
//! let mut fp = Chromaprint::new();
//! fp.feed(&vec![0i16; SAMPLE_RATE as usize * 10]);
//! let items = fp.finish();
//! assert!(!items.is_empty() && items.iter().all(|&i| i == SILENCE_ITEM));
//! ```

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// The sample rate the algorithm works at.
pub const SAMPLE_RATE: u32 = 11_025;
/// Samples per frame.
pub const FRAME_SIZE: usize = 4096;
/// Samples between the starts of two frames (`4096 / 3`).
pub const HOP: usize = FRAME_SIZE / 3;
/// Seconds of audio per fingerprint item.
pub const ITEM_SECONDS: f64 = HOP as f64 / SAMPLE_RATE as f64;
/// The item of digital silence (every filter gives 0).
pub const SILENCE_ITEM: u32 = 627_964_279;

const MIN_FREQ: f64 = 28.0;
const MAX_FREQ: f64 = 3520.0;
const NOTE_BASE_HZ: f64 = 27.5;
const FILTER_COEFFICIENTS: [f64; 5] = [0.25, 0.75, 1.0, 0.75, 0.25];
const NORM_THRESHOLD: f64 = 0.01;

/// A classifier: a filter over the image and the thresholds that quantise
/// its result.
struct Classifier {
    kind: u8,
    /// First note (column).
    y: usize,
    /// Notes covered.
    height: usize,
    /// Rows (time) covered.
    width: usize,
    thresholds: [f64; 3],
}

const fn c(kind: u8, y: usize, height: usize, width: usize, thresholds: [f64; 3]) -> Classifier {
    Classifier { kind, y, height, width, thresholds }
}

/// The sixteen classifiers of the default algorithm, in packing order.
const CLASSIFIERS: [Classifier; 16] = [
    c(0, 4, 3, 15, [1.98215, 2.35817, 2.63523]),
    c(4, 4, 6, 15, [-1.03809, -0.651211, -0.282167]),
    c(1, 0, 4, 16, [-0.298702, 0.119262, 0.558497]),
    c(3, 8, 2, 12, [-0.105439, 0.0153946, 0.135898]),
    c(3, 4, 4, 8, [-0.142891, 0.0258736, 0.200632]),
    c(4, 0, 3, 5, [-0.826319, -0.590612, -0.368214]),
    c(1, 2, 2, 9, [-0.557409, -0.233035, 0.0534525]),
    c(2, 7, 3, 4, [-0.0646826, 0.00620476, 0.0784847]),
    c(2, 6, 2, 16, [-0.192387, -0.029699, 0.215855]),
    c(2, 1, 3, 2, [-0.0397818, -0.00568076, 0.0292026]),
    c(5, 10, 1, 15, [-0.53823, -0.369934, -0.190235]),
    c(3, 6, 2, 10, [-0.124877, 0.0296483, 0.139239]),
    c(2, 1, 1, 14, [-0.101475, 0.0225617, 0.231971]),
    c(3, 5, 6, 4, [-0.0799915, -0.00729616, 0.063262]),
    c(1, 9, 2, 12, [-0.272556, 0.019424, 0.302559]),
    c(3, 4, 2, 14, [-0.164292, -0.0321188, 0.0846339]),
];

/// Rows a classifier may span (the widest filter).
const MAX_WIDTH: usize = 16;

/// Computes a Chromaprint fingerprint from mono 11 025 Hz samples fed in
/// any number of pieces.
pub struct Chromaprint {
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    /// Note of each spectrum bin in `first_bin..last_bin`.
    notes: Vec<u8>,
    first_bin: usize,
    /// Samples not yet consumed by a frame (fewer than a frame, plus what
    /// was fed since).
    pending: Vec<i16>,
    frame_in: Vec<f64>,
    frame_out: Vec<realfft::num_complex::Complex<f64>>,
    scratch: Vec<realfft::num_complex::Complex<f64>>,
    /// The last five chroma vectors, oldest first.
    chroma_ring: Vec<[f64; 12]>,
    /// The integral image, one row per normalised chroma row plus a zero
    /// row first: `integral[r][c]` is the sum over rows `< r`, notes `< c`.
    integral: Vec<[f64; 13]>,
    items: Vec<u32>,
}

impl std::fmt::Debug for Chromaprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromaprint").field("items", &self.items.len()).finish_non_exhaustive()
    }
}

impl Default for Chromaprint {
    fn default() -> Self {
        Self::new()
    }
}

impl Chromaprint {
    /// A fingerprinter with nothing fed yet.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(FRAME_SIZE);
        let n = FRAME_SIZE as f64;
        let window = (0..FRAME_SIZE)
            .map(|i| {
                let hamming = 0.54 - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1.0)).cos();
                hamming / f64::from(i16::MAX)
            })
            .collect();
        let rate = f64::from(SAMPLE_RATE);
        let first_bin = ((n * MIN_FREQ / rate).round() as usize).max(1);
        let last_bin = ((n * MAX_FREQ / rate).round() as usize).min(FRAME_SIZE / 2);
        let notes = (first_bin..last_bin)
            .map(|i| {
                let freq = i as f64 * rate / n;
                let octave = (freq / NOTE_BASE_HZ).ln() / 2f64.ln();
                let note = 12.0 * (octave - octave.floor());
                (note as u8).min(11)
            })
            .collect();
        let frame_in = fft.make_input_vec();
        let frame_out = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        Chromaprint {
            fft,
            window,
            notes,
            first_bin,
            pending: Vec::with_capacity(2 * FRAME_SIZE),
            frame_in,
            frame_out,
            scratch,
            chroma_ring: Vec::with_capacity(FILTER_COEFFICIENTS.len()),
            integral: vec![[0.0; 13]],
            items: Vec::new(),
        }
    }

    /// Feeds the next samples.
    pub fn feed(&mut self, samples: &[i16]) {
        self.pending.extend_from_slice(samples);
        let mut start = 0;
        while self.pending.len() - start >= FRAME_SIZE {
            for ((x, &s), &w) in self.frame_in.iter_mut().zip(&self.pending[start..]).zip(&self.window) {
                *x = f64::from(s) * w;
            }
            self.process_frame();
            start += HOP;
        }
        self.pending.drain(..start);
    }

    /// The items so far (one per 1365 samples, after the first 28 666).
    pub fn items(&self) -> &[u32] {
        &self.items
    }

    /// Ends the input (a trailing partial frame is dropped, as the
    /// reference drops it) and returns the fingerprint.
    pub fn finish(self) -> Vec<u32> {
        self.items
    }

    fn process_frame(&mut self) {
        // The FFT only fails on wrongly sized buffers, which `new` sized.
        if self.fft.process_with_scratch(&mut self.frame_in, &mut self.frame_out, &mut self.scratch).is_err()
        {
            return;
        }
        let mut chroma = [0f64; 12];
        for (k, &note) in self.notes.iter().enumerate() {
            let x = self.frame_out[self.first_bin + k];
            chroma[usize::from(note)] += x.re * x.re + x.im * x.im;
        }
        if self.chroma_ring.len() == FILTER_COEFFICIENTS.len() {
            self.chroma_ring.remove(0);
        }
        self.chroma_ring.push(chroma);
        if self.chroma_ring.len() < FILTER_COEFFICIENTS.len() {
            return;
        }
        let mut row = [0f64; 12];
        for (b, out) in row.iter_mut().enumerate() {
            let mut sum = 0.0;
            for (coef, v) in FILTER_COEFFICIENTS.iter().zip(&self.chroma_ring) {
                sum += v[b] * coef;
            }
            *out = sum;
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < NORM_THRESHOLD {
            row = [0.0; 12];
        } else {
            row.iter_mut().for_each(|v| *v /= norm);
        }
        self.push_row(&row);
    }

    fn push_row(&mut self, row: &[f64; 12]) {
        let prev = self.integral[self.integral.len() - 1];
        let mut next = [0f64; 13];
        let mut prefix = 0.0;
        for c in 0..12 {
            prefix += row[c];
            next[c + 1] = prefix + prev[c + 1];
        }
        self.integral.push(next);
        let rows = self.integral.len() - 1;
        if rows >= MAX_WIDTH {
            let x = rows - MAX_WIDTH;
            let item =
                CLASSIFIERS.iter().fold(0u32, |bits, cl| (bits << 2) | gray(quantize(cl, self.apply(cl, x))));
            self.items.push(item);
        }
    }

    /// Sum over rows `r1..r2` and notes `c1..c2` (half-open).
    #[inline]
    fn area(&self, r1: usize, c1: usize, r2: usize, c2: usize) -> f64 {
        let i = &self.integral;
        i[r2][c2] - i[r1][c2] - i[r2][c1] + i[r1][c1]
    }

    fn apply(&self, cl: &Classifier, x: usize) -> f64 {
        let (y, h, w) = (cl.y, cl.height, cl.width);
        let (a, b) = match cl.kind {
            0 => (self.area(x, y, x + w, y + h), 0.0),
            1 => {
                let h2 = h / 2;
                (self.area(x, y + h2, x + w, y + h), self.area(x, y, x + w, y + h2))
            }
            2 => {
                let w2 = w / 2;
                (self.area(x + w2, y, x + w, y + h), self.area(x, y, x + w2, y + h))
            }
            3 => {
                let (w2, h2) = (w / 2, h / 2);
                (
                    self.area(x, y + h2, x + w2, y + h) + self.area(x + w2, y, x + w, y + h2),
                    self.area(x, y, x + w2, y + h2) + self.area(x + w2, y + h2, x + w, y + h),
                )
            }
            4 => {
                let h3 = h / 3;
                (
                    self.area(x, y + h3, x + w, y + 2 * h3),
                    self.area(x, y, x + w, y + h3) + self.area(x, y + 2 * h3, x + w, y + h),
                )
            }
            _ => {
                let w3 = w / 3;
                (
                    self.area(x + w3, y, x + 2 * w3, y + h),
                    self.area(x, y, x + w3, y + h) + self.area(x + 2 * w3, y, x + w, y + h),
                )
            }
        };
        ((1.0 + a) / (1.0 + b)).ln()
    }
}

fn quantize(cl: &Classifier, v: f64) -> u32 {
    let [t0, t1, t2] = cl.thresholds;
    if v < t1 {
        if v < t0 { 0 } else { 1 }
    } else if v < t2 {
        2
    } else {
        3
    }
}

fn gray(q: u32) -> u32 {
    [0, 1, 3, 2][q as usize & 3]
}

/// Fingerprint of a whole mono 11 025 Hz signal.
pub fn fingerprint(samples: &[i16]) -> Vec<u32> {
    let mut fp = Chromaprint::new();
    fp.feed(samples);
    fp.finish()
}

/// The number of items a signal of `samples` mono samples gives.
pub fn item_count(samples: usize) -> usize {
    if samples < FRAME_SIZE {
        return 0;
    }
    let frames = (samples - FRAME_SIZE) / HOP + 1;
    frames.saturating_sub(FILTER_COEFFICIENTS.len() - 1 + MAX_WIDTH - 1)
}

/// Why a text is not Chromaprint items in the form `fpcalc -raw` prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawTextError {
    /// Nothing (or only `FINGERPRINT=`) was given.
    #[error("empty audio fingerprint")]
    Empty,
    /// One comma-separated item is not a 32-bit integer.
    #[error("item {position} is not a 32-bit integer: {item:?}")]
    Item {
        /// Its position, from 1.
        position: usize,
        /// The item as written.
        item: String,
    },
}

/// Parses Chromaprint items as `fpcalc -raw` prints them: decimals joined
/// by commas, unsigned or (as `fpcalc -raw -signed` prints them) signed,
/// with an optional `FINGERPRINT=` prefix and spaces around items. The one
/// parser of this text form: banks, stored fingerprints and `fpcalc`
/// output all go through it.
///
/// ```
/// use marsad_hash::audio::{parse_raw_text, to_raw_text};
/// let items = parse_raw_text("FINGERPRINT=1,-1, 3").unwrap();
/// assert_eq!(items, [1, u32::MAX, 3]);
/// assert_eq!(to_raw_text(&items), "1,4294967295,3");
/// ```
pub fn parse_raw_text(text: &str) -> Result<Vec<u32>, RawTextError> {
    let text = text.trim();
    let text = text.strip_prefix("FINGERPRINT=").unwrap_or(text);
    if text.trim().is_empty() {
        return Err(RawTextError::Empty);
    }
    text.split(',')
        .enumerate()
        .map(|(i, item)| {
            let item = item.trim();
            // `-signed` prints the same 32 bits as two's complement.
            item.parse::<u32>()
                .or_else(|_| item.parse::<i32>().map(|v| v as u32))
                .map_err(|_| RawTextError::Item { position: i + 1, item: item.to_owned() })
        })
        .collect()
}

/// The items as `fpcalc -raw` prints them (the canonical form banks and
/// the store keep): unsigned decimals joined by commas, no prefix.
pub fn to_raw_text(items: &[u32]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(items.len() * 11);
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(s, "{v}");
    }
    s
}

/// How two fingerprints compare at their best alignment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioMatch {
    /// Items of `b` are shifted by this many items against `a` (`a[i]`
    /// pairs with `b[i - offset]`).
    pub offset: i64,
    /// Items compared (the overlap).
    pub overlap: usize,
    /// Fraction of differing bits over the overlap (0 identical, about 0.5
    /// unrelated).
    pub bit_error_rate: f64,
}

impl AudioMatch {
    /// `1 − 2 · bit error rate`, clamped at 0: 1 for identical audio, about
    /// 0 for unrelated audio (AcoustID's scoring, without its overlap weight).
    pub fn similarity(&self) -> f64 {
        (1.0 - 2.0 * self.bit_error_rate).max(0.0)
    }
}

/// Finds the alignment of `b` against `a` within ±`max_offset` items with
/// the lowest bit error rate over an overlap of at least `min_overlap`
/// items (or the shorter length, if smaller). `None` when either is empty.
pub fn best_alignment(a: &[u32], b: &[u32], max_offset: usize, min_overlap: usize) -> Option<AudioMatch> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let min_overlap = min_overlap.min(a.len()).min(b.len()).max(1);
    let mut best: Option<AudioMatch> = None;
    let max = max_offset as i64;
    for offset in -max..=max {
        // a[i] pairs with b[i - offset].
        let i0 = offset.max(0) as usize;
        let j0 = (-offset).max(0) as usize;
        if i0 >= a.len() || j0 >= b.len() {
            continue;
        }
        let overlap = (a.len() - i0).min(b.len() - j0);
        if overlap < min_overlap {
            continue;
        }
        let errors: u64 = a[i0..i0 + overlap]
            .iter()
            .zip(&b[j0..j0 + overlap])
            .map(|(x, y)| u64::from((x ^ y).count_ones()))
            .sum();
        let ber = errors as f64 / (32.0 * overlap as f64);
        if best.is_none_or(|m| ber < m.bit_error_rate) {
            best = Some(AudioMatch { offset, overlap, bit_error_rate: ber });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_parses_as_fpcalc_prints_it() {
        let check = |input: &str, expected: Result<Vec<u32>, RawTextError>| {
            assert_eq!(parse_raw_text(input), expected, "{input:?}");
        };
        check("1,2,3", Ok(vec![1, 2, 3]));
        check(" FINGERPRINT=4294967295, -1 ,0\n", Ok(vec![u32::MAX, u32::MAX, 0]));
        check("-2147483648", Ok(vec![1 << 31]));
        check("", Err(RawTextError::Empty));
        check("FINGERPRINT=", Err(RawTextError::Empty));
        check("1,,3", Err(RawTextError::Item { position: 2, item: String::new() }));
        check("1,4294967296", Err(RawTextError::Item { position: 2, item: "4294967296".to_owned() }));
        check("1;2", Err(RawTextError::Item { position: 1, item: "1;2".to_owned() }));
        assert_eq!(to_raw_text(&[]), "");
        assert_eq!(to_raw_text(&[0, u32::MAX]), "0,4294967295");
        let items = vec![7, 1 << 31, 12];
        assert_eq!(parse_raw_text(&to_raw_text(&items)), Ok(items));
    }

    #[test]
    fn silence_item_is_all_zero_filters() {
        let item = CLASSIFIERS.iter().fold(0u32, |bits, cl| (bits << 2) | gray(quantize(cl, 0.0)));
        assert_eq!(item, SILENCE_ITEM);
    }

    #[test]
    fn item_count_matches_streaming() {
        for n in [0, 4095, 4096, 28_665, 28_666, 28_667, 40_000, 11_025 * 7 + 13] {
            let signal: Vec<i16> = (0..n).map(|i| ((i as f64 * 0.05).sin() * 8000.0) as i16).collect();
            let mut fp = Chromaprint::new();
            for chunk in signal.chunks(1000) {
                fp.feed(chunk);
            }
            let pieces = fp.finish();
            assert_eq!(pieces.len(), item_count(n), "n = {n}");
            assert_eq!(pieces, fingerprint(&signal), "chunked feeding changed the result for n = {n}");
        }
    }

    #[test]
    fn bins_and_notes_follow_the_description() {
        let fp = Chromaprint::new();
        assert_eq!(fp.first_bin, 10);
        assert_eq!(fp.first_bin + fp.notes.len(), 1308);
        // Bin 164 (441.4 Hz) is just above 440 Hz, an A: note 0; bin 163
        // (438.7 Hz) is just below it: note 11 (G sharp).
        assert_eq!(fp.notes[164 - 10], 0);
        assert_eq!(fp.notes[163 - 10], 11);
    }

    #[test]
    fn alignment_finds_a_shift() {
        let a: Vec<u32> = (0..300u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        let b = a[17..].to_vec();
        let m = best_alignment(&a, &b, 40, 50).unwrap();
        assert_eq!((m.offset, m.bit_error_rate), (17, 0.0));
        assert_eq!(m.similarity(), 1.0);
    }
}

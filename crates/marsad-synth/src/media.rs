//! Generated media: poster-like images, their re-encoded copies, tiny PDF
//! documents and WAV recordings. Each job carries its own seed, so jobs can
//! run in any order on any thread and still write identical bytes.

use std::fs;
use std::io;
use std::path::PathBuf;

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An original image: what an outlet published.
#[derive(Clone, Debug)]
pub(crate) struct ImageSpec {
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    /// The outlet's house colour, used for its corner mark.
    pub brand: [u8; 3],
    /// JPEG quality of the original.
    pub quality: u8,
}

/// How a copy differs from the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Variant {
    /// Pixels cut from the left, top, right and bottom before resizing.
    pub crop: [u32; 4],
    pub width: u32,
    pub height: u32,
    pub encoding: Encoding,
}

/// The encoding of a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Jpeg { quality: u8 },
    Png,
}

impl Variant {
    /// A re-upload: resized to `scale`, maybe cropped by up to 5 % per side,
    /// re-encoded as JPEG of another quality or as PNG.
    pub(crate) fn reupload<R: Rng>(rng: &mut R, spec: &ImageSpec, png: bool) -> Variant {
        let mut crop = [0; 4];
        if rng.random_bool(0.35) {
            for (i, c) in crop.iter_mut().enumerate() {
                let side = if i % 2 == 0 { spec.width } else { spec.height };
                *c = rng.random_range(0..=side / 20);
            }
        }
        let scale = rng.random_range(0.5..0.9);
        let cropped_w = spec.width - crop[0] - crop[2];
        let cropped_h = spec.height - crop[1] - crop[3];
        let encoding =
            if png { Encoding::Png } else { Encoding::Jpeg { quality: rng.random_range(60..=90) } };
        Variant { crop, width: scaled(cropped_w, scale), height: scaled(cropped_h, scale), encoding }
    }
}

fn scaled(side: u32, scale: f64) -> u32 {
    // Sides are at most a few thousand pixels: the product fits a u32.
    ((f64::from(side) * scale).round() as u32).max(16)
}

/// One original image and every file made from it: exact copies (`None`)
/// and variants.
#[derive(Clone, Debug)]
pub(crate) struct ImageJob {
    pub spec: ImageSpec,
    pub outputs: Vec<(PathBuf, Option<Variant>)>,
}

impl ImageJob {
    pub(crate) fn run(&self) -> io::Result<()> {
        if self.outputs.is_empty() {
            return Ok(());
        }
        let original = render(&self.spec);
        // The original's bytes are needed only for exact copies.
        let original_bytes = match self.outputs.iter().any(|(_, v)| v.is_none()) {
            true => encode(&original, Encoding::Jpeg { quality: self.spec.quality })?,
            false => Vec::new(),
        };
        for (path, variant) in &self.outputs {
            match variant {
                None => fs::write(path, &original_bytes)?,
                Some(v) => {
                    let [l, t, r, b] = v.crop;
                    let view = imageops::crop_imm(
                        &original,
                        l,
                        t,
                        self.spec.width - l - r,
                        self.spec.height - t - b,
                    );
                    // Area averaging: what most re-encoding pipelines do
                    // when they shrink, and far cheaper than a convolution.
                    let resized = imageops::thumbnail(&*view, v.width, v.height);
                    fs::write(path, encode(&resized, v.encoding)?)?;
                }
            }
        }
        Ok(())
    }
}

fn encode(img: &RgbImage, encoding: Encoding) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let result = match encoding {
        Encoding::Jpeg { quality } => {
            img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        }
        Encoding::Png => img.write_with_encoder(PngEncoder::new(&mut out)),
    };
    result.map_err(io::Error::other)?;
    Ok(out)
}

/// A procedural poster: a gradient background, bands of stripes, a mosaic,
/// discs and rings, grain, and the outlet's mark in a corner.
///
/// Blending is done in 8-bit fixed point (alpha out of 256) straight on the
/// pixel buffer: a demo renders a thousand of these.
pub(crate) fn render(spec: &ImageSpec) -> RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let (w, h) = (spec.width, spec.height);
    let mut canvas = Canvas { w, h, px: vec![0; w as usize * h as usize * 3] };
    gradient(&mut canvas, &mut rng);
    for _ in 0..rng.random_range(0..=2) {
        stripes(&mut canvas, &mut rng);
    }
    if rng.random_bool(0.4) {
        mosaic(&mut canvas, &mut rng);
    }
    let short = w.min(h);
    for _ in 0..rng.random_range(2..=7) {
        let colour = random_colour(&mut rng);
        let alpha = rng.random_range(140..=256);
        let (cx, cy) = (rng.random_range(0..w), rng.random_range(0..h));
        match rng.random_range(0..3) {
            0 => {
                let r = rng.random_range(short / 12..=short / 3);
                canvas.disc(cx, cy, r, 0, colour, alpha);
            }
            1 => {
                let r = rng.random_range(short / 8..=short / 2);
                let inner = r * rng.random_range(60..90) / 100;
                canvas.disc(cx, cy, r, inner, colour, alpha);
            }
            _ => {
                let (rw, rh) = (rng.random_range(w / 10..=w / 2), rng.random_range(h / 10..=h / 2));
                canvas.rect(cx, cy, rw, rh, colour, alpha);
            }
        }
    }
    if rng.random_bool(0.6) {
        grain(&mut canvas, spec.seed, rng.random_range(1..8));
    }
    mark(&mut canvas, spec.brand);
    // The buffer has exactly w * h * 3 bytes by construction.
    RgbImage::from_raw(w, h, canvas.px).unwrap_or_else(|| RgbImage::new(w, h))
}

/// An RGB pixel buffer with fixed-point blending.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn row_mut(&mut self, y: u32) -> &mut [u8] {
        let stride = self.w as usize * 3;
        &mut self.px[y as usize * stride..(y as usize + 1) * stride]
    }

    /// Blends `colour` into pixels `x0..x1` of row `y`, clipped to the
    /// canvas.
    fn span(&mut self, y: u32, x0: u32, x1: u32, colour: [u8; 3], alpha: u32) {
        let x1 = x1.min(self.w);
        if x0 >= x1 || y >= self.h {
            return;
        }
        let row = self.row_mut(y);
        for px in row[x0 as usize * 3..x1 as usize * 3].chunks_exact_mut(3) {
            for (c, &k) in px.iter_mut().zip(&colour) {
                *c = blend(*c, k, alpha);
            }
        }
    }

    fn rect(&mut self, x0: u32, y0: u32, w: u32, h: u32, colour: [u8; 3], alpha: u32) {
        let (x1, y1) = ((x0 + w).min(self.w), (y0 + h).min(self.h));
        for y in y0..y1 {
            self.span(y, x0, x1, colour, alpha);
        }
    }

    /// A filled disc (`inner == 0`) or a ring centred on (`cx`, `cy`).
    fn disc(&mut self, cx: u32, cy: u32, outer: u32, inner: u32, colour: [u8; 3], alpha: u32) {
        let (cx, cy, outer, inner) = (i64::from(cx), i64::from(cy), i64::from(outer), i64::from(inner));
        let (o2, i2) = (outer * outer, inner * inner);
        let y0 = (cy - outer).max(0);
        let y1 = (cy + outer + 1).min(i64::from(self.h));
        for y in y0..y1 {
            let dy2 = (y - cy) * (y - cy);
            let half = isqrt(o2 - dy2);
            let x0 = (cx - half).max(0);
            let x1 = (cx + half + 1).min(i64::from(self.w));
            if x0 >= x1 {
                continue;
            }
            if i2 <= dy2 {
                // The row misses the hole.
                self.span(y as u32, x0 as u32, x1 as u32, colour, alpha);
            } else {
                let hole = isqrt(i2 - dy2 - 1);
                let (h0, h1) = ((cx - hole).clamp(x0, x1), (cx + hole + 1).clamp(x0, x1));
                self.span(y as u32, x0 as u32, h0 as u32, colour, alpha);
                self.span(y as u32, h1 as u32, x1 as u32, colour, alpha);
            }
        }
    }
}

/// Integer square root, rounded down (0 for negative input).
fn isqrt(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let mut r = (n as f64).sqrt() as i64;
    while r * r > n {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

/// `a` blended towards `b` by `alpha` / 256.
fn blend(a: u8, b: u8, alpha: u32) -> u8 {
    ((u32::from(a) * (256 - alpha) + u32::from(b) * alpha + 128) >> 8) as u8
}

fn random_colour<R: Rng>(rng: &mut R) -> [u8; 3] {
    [rng.random(), rng.random(), rng.random()]
}

/// A linear gradient between two colours at a random angle.
fn gradient<R: Rng>(c: &mut Canvas, rng: &mut R) {
    let c0 = random_colour(rng);
    let c1 = random_colour(rng);
    let angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    let span = (c.w as f32).hypot(c.h as f32).max(1.0);
    // Position along the gradient, in 1/256 steps, split into x and y terms.
    let kx = angle.cos() * 128.0 / span;
    let ky = angle.sin() * 128.0 / span;
    let xs: Vec<f32> = (0..c.w).map(|x| x as f32 * kx + 128.0).collect();
    for y in 0..c.h {
        let ty = y as f32 * ky;
        let row = c.row_mut(y);
        for (px, &tx) in row.chunks_exact_mut(3).zip(&xs) {
            let alpha = (tx + ty).clamp(0.0, 256.0) as u32;
            for i in 0..3 {
                px[i] = blend(c0[i], c1[i], alpha);
            }
        }
    }
}

/// Diagonal or straight stripes across a horizontal band.
fn stripes<R: Rng>(c: &mut Canvas, rng: &mut R) {
    let y0 = rng.random_range(0..c.h);
    let y1 = (y0 + rng.random_range(c.h / 8..=c.h / 2)).min(c.h);
    let half = rng.random_range(4..24u32);
    let slant = rng.random_range(0..3u32);
    let colour = random_colour(rng);
    let alpha = rng.random_range(100..230);
    let period = i64::from(2 * half);
    for y in y0..y1 {
        // Pixel x is striped when (x + y * slant) mod period < half: the
        // stripes start at k * period - offset.
        let offset = i64::from(y * slant) % period;
        let mut start = -offset;
        while start < i64::from(c.w) {
            let (a, b) = (start.max(0), (start + i64::from(half)).min(i64::from(c.w)));
            if a < b {
                c.span(y, a as u32, b as u32, colour, alpha);
            }
            start += period;
        }
    }
}

/// A grid of coloured tiles over a random region.
fn mosaic<R: Rng>(c: &mut Canvas, rng: &mut R) {
    let tile = rng.random_range(16..64u32);
    let (x0, y0) = (rng.random_range(0..c.w / 2), rng.random_range(0..c.h / 2));
    let (cols, rows) = (rng.random_range(2..8u32), rng.random_range(2..8u32));
    for row in 0..rows {
        for col in 0..cols {
            if rng.random_bool(0.7) {
                let colour = random_colour(rng);
                c.rect(x0 + col * tile, y0 + row * tile, tile - 2, tile - 2, colour, 220);
            }
        }
    }
}

/// Per-pixel grain from an integer hash (cheap, and independent of any
/// random stream).
fn grain(c: &mut Canvas, seed: u64, amplitude: u32) {
    let range = u64::from(2 * amplitude + 1);
    for (i, px) in c.px.chunks_exact_mut(3).enumerate() {
        let delta = (splitmix(seed ^ i as u64) % range) as i32 - amplitude as i32;
        for v in px {
            *v = (i32::from(*v) + delta).clamp(0, 255) as u8;
        }
    }
}

/// The outlet's mark: a bordered square with a disc, bottom-right.
fn mark(c: &mut Canvas, brand: [u8; 3]) {
    let side = c.w.min(c.h) / 9;
    if side < 8 {
        return;
    }
    let (x0, y0) = (c.w - side - side / 3, c.h - side - side / 3);
    c.rect(x0, y0, side, side, [250, 250, 245], 256);
    c.rect(x0 + 3, y0 + 3, side - 6, side - 6, brand, 256);
    c.disc(x0 + side / 2, y0 + side / 2, side / 4, 0, [250, 250, 245], 256);
}

/// SplitMix64 finaliser: a well-mixed hash of a 64-bit value.
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A file whose bytes are fully known in advance, written to every path.
#[derive(Clone, Debug)]
pub(crate) struct BytesJob {
    pub bytes: Vec<u8>,
    pub paths: Vec<PathBuf>,
}

impl BytesJob {
    pub(crate) fn run(&self) -> io::Result<()> {
        self.paths.iter().try_for_each(|p| fs::write(p, self.bytes.as_slice()))
    }
}

/// A one-page PDF 1.4 with Helvetica text lines (ASCII only: the standard
/// fonts carry no Arabic), with a correct cross-reference table.
pub(crate) fn pdf(title: &str, lines: &[String]) -> Vec<u8> {
    let mut content = String::from("BT\n/F1 16 Tf\n72 770 Td\n");
    content.push_str(&format!("({}) Tj\n/F1 11 Tf\n", pdf_escape(title)));
    for line in lines {
        content.push_str(&format!("0 -18 Td\n({}) Tj\n", pdf_escape(line)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
         /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        format!("<< /Title ({}) /Producer (marsad-synth) >>", pdf_escape(title)),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        tail.push_str(&format!("{off:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.extend_from_slice(tail.as_bytes());
    out
}

fn pdf_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out
}

/// Sample rate of generated recordings.
const RATE: u32 = 8_000;

/// A short recording: a tune of soft tones over faint noise.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AudioSpec {
    pub seed: u64,
    pub seconds: u32,
}

/// How a re-uploaded recording differs: louder or softer, its start cut.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AudioVariant {
    pub gain: f32,
    pub trim_samples: u32,
}

impl AudioVariant {
    pub(crate) fn reupload<R: Rng>(rng: &mut R) -> AudioVariant {
        AudioVariant { gain: rng.random_range(0.7..1.1), trim_samples: rng.random_range(0..RATE / 3) }
    }

    /// Duration in whole seconds, as Telegram reports it.
    pub(crate) fn seconds(&self, spec: &AudioSpec) -> u32 {
        (spec.seconds * RATE - self.trim_samples) / RATE
    }
}

/// One recording and its copies.
#[derive(Clone, Debug)]
pub(crate) struct AudioJob {
    pub spec: AudioSpec,
    pub outputs: Vec<(PathBuf, Option<AudioVariant>)>,
}

impl AudioJob {
    pub(crate) fn run(&self) -> io::Result<()> {
        if self.outputs.is_empty() {
            return Ok(());
        }
        let samples = synth(&self.spec);
        for (path, variant) in &self.outputs {
            let v = variant.unwrap_or(AudioVariant { gain: 1.0, trim_samples: 0 });
            let pcm: Vec<i16> = samples[v.trim_samples as usize..]
                .iter()
                .map(|&s| (s * v.gain * f32::from(i16::MAX)).clamp(-32_768.0, 32_767.0) as i16)
                .collect();
            fs::write(path, wav(&pcm))?;
        }
        Ok(())
    }
}

/// A tune of its own per recording: a random key and mode, tempo, timbre
/// (a few harmonics) and melody, over faint noise — so that two different
/// recordings do not share their chroma by accident, as tunes drawn from one
/// scale would.
fn synth(spec: &AudioSpec) -> Vec<f32> {
    const MODES: [[f32; 7]; 4] = [
        [0.0, 2.0, 4.0, 5.0, 7.0, 9.0, 11.0],
        [0.0, 2.0, 3.0, 5.0, 7.0, 8.0, 10.0],
        [0.0, 1.0, 4.0, 5.0, 7.0, 8.0, 11.0],
        [0.0, 2.0, 3.0, 5.0, 7.0, 9.0, 10.0],
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let root = 130.8 * 2f32.powf(rng.random_range(0..24) as f32 / 12.0);
    let mode = MODES[rng.random_range(0..MODES.len())];
    let harmonics: [f32; 3] = [1.0, rng.random_range(0.0..0.6), rng.random_range(0.0..0.3)];
    let (short, long) = (
        rng.random_range(RATE as usize / 10..RATE as usize / 4),
        rng.random_range(RATE as usize / 3..RATE as usize),
    );
    let n = (spec.seconds * RATE) as usize;
    let mut out = Vec::with_capacity(n);
    let mut degree: i32 = rng.random_range(0..7);
    while out.len() < n {
        degree = (degree + rng.random_range(-3..=3)).clamp(-7, 14);
        let octave = degree.div_euclid(7) as f32;
        let freq = root * 2f32.powf((mode[degree.rem_euclid(7) as usize] + 12.0 * octave) / 12.0);
        let len = rng.random_range(short..=long.max(short + 1));
        let rest = rng.random_bool(0.1);
        for i in 0..len {
            let t = i as f32 / RATE as f32;
            let envelope = (i as f32 / 200.0).min(1.0) * (1.0 - i as f32 / len as f32);
            let tone: f32 = harmonics
                .iter()
                .enumerate()
                .map(|(h, a)| a * (std::f32::consts::TAU * freq * (h + 1) as f32 * t).sin())
                .sum();
            out.push(if rest { 0.0 } else { 0.3 * envelope * tone });
        }
    }
    out.truncate(n);
    for (i, s) in out.iter_mut().enumerate() {
        let noise = (splitmix(spec.seed ^ i as u64) >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        *s += 0.02 * noise;
    }
    out
}

/// A mono 16-bit PCM WAV file.
fn wav(pcm: &[i16]) -> Vec<u8> {
    // Recordings are seconds long: sizes fit the 32-bit RIFF fields.
    let data_len = (pcm.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + pcm.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly.
mod tests {
    use super::*;

    #[test]
    fn pdf_xref_offsets_point_at_objects() {
        let bytes = pdf("Bulletin (No. 1)", &["Clear skies, 21 C.".to_owned()]);
        let text = String::from_utf8(bytes).unwrap();
        let xref_at: usize = text.lines().rev().nth(1).unwrap().parse().unwrap();
        assert!(text[xref_at..].starts_with("xref\n"));
        let entries: Vec<&str> = text[xref_at..].lines().skip(3).take(6).collect();
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(entry.len(), 19, "xref entries are 20 bytes with the newline");
            let off: usize = entry[..10].parse().unwrap();
            assert!(text[off..].starts_with(&format!("{} 0 obj", i + 1)));
        }
        assert!(text.contains("(Bulletin \\(No. 1\\)) Tj"));
    }

    #[test]
    fn images_are_deterministic_and_variants_have_planned_size() {
        let spec = ImageSpec { seed: 7, width: 120, height: 90, brand: [10, 20, 30], quality: 90 };
        assert_eq!(render(&spec), render(&spec));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let v = Variant::reupload(&mut rng, &spec, true);
        let dir = std::env::temp_dir().join(format!("marsad-synth-media-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let job = ImageJob { spec, outputs: vec![(dir.join("a.png"), Some(v)), (dir.join("b.jpg"), None)] };
        job.run().unwrap();
        let copy = image::open(dir.join("a.png")).unwrap();
        assert_eq!((copy.width(), copy.height()), (v.width, v.height));
        let original = image::open(dir.join("b.jpg")).unwrap();
        assert_eq!((original.width(), original.height()), (120, 90));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wav_header() {
        let w = wav(&[0, 1, -1]);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([w[4], w[5], w[6], w[7]]) as usize, w.len() - 8);
        assert_eq!(w.len(), 44 + 6);
    }
}

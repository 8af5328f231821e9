//! A direct, unoptimised transcription of the reference downsampler: two
//! full-image passes of row then column box filters over whole float
//! buffers, then decimation. [`super::hash_luma`] uses the streaming path
//! in `fast`; this one exists so tests can check that both agree bit for bit
//! on arbitrary input.

/// Window size of one box-filter pass: `old / (2 new)` rounded up
/// (`computeJaroszFilterWindowSize`: two passes make one `old / new` cell).
pub(crate) fn window_size(old_dimension: usize, new_dimension: usize) -> usize {
    old_dimension.div_ceil(2 * new_dimension)
}

/// The sampled positions of decimation to 64: centres, `floor((k + 0.5) n / 64)`
/// computed in f64.
pub(crate) fn decimation_points(n: usize) -> [usize; 64] {
    let mut out = [0usize; 64];
    for (k, o) in out.iter_mut().enumerate() {
        *o = (((k as f64 + 0.5) * n as f64) / 64.0) as usize;
    }
    out
}

/// One 1-D box filter pass in four phases, with the running sum updated in
/// the reference's order (add the entering sample, then subtract the leaving
/// one) and divided by the current number of samples.
fn box_1d(input: &[f32], output: &mut [f32], len: usize, stride: usize, window: usize) {
    let half = (window + 2) / 2;
    let mut sum = 0f32;
    let mut count = 0usize;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    for _ in 0..half - 1 {
        sum += input[ri];
        count += 1;
        ri += stride;
    }
    for _ in 0..window - half + 1 {
        sum += input[ri];
        count += 1;
        output[oi] = sum / count as f32;
        ri += stride;
        oi += stride;
    }
    for _ in 0..len - window {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / count as f32;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..half - 1 {
        sum -= input[li];
        count -= 1;
        output[oi] = sum / count as f32;
        li += stride;
        oi += stride;
    }
}

/// Blur-and-decimate a `rows × cols` luma plane to 64×64 exactly as the
/// reference does (including its shortcut for input that is already 64×64).
/// Requires `rows, cols >= 1` and `luma.len() == rows * cols`.
pub(crate) fn downsample(luma: &[f32], rows: usize, cols: usize) -> Box<[[f32; 64]; 64]> {
    let mut out = Box::new([[0f32; 64]; 64]);
    if rows == 64 && cols == 64 {
        for (orow, irow) in out.iter_mut().zip(luma.chunks_exact(64)) {
            orow.copy_from_slice(irow);
        }
        return out;
    }
    let along_rows = window_size(cols, 64);
    let along_cols = window_size(rows, 64);
    let mut buf1 = luma.to_vec();
    let mut buf2 = vec![0f32; luma.len()];
    for _ in 0..2 {
        for r in 0..rows {
            let s = r * cols..(r + 1) * cols;
            box_1d(&buf1[s.clone()], &mut buf2[s], cols, 1, along_rows);
        }
        for c in 0..cols {
            box_1d(&buf2[c..], &mut buf1[c..], rows, cols, along_cols);
        }
    }
    let ri = decimation_points(rows);
    let ci = decimation_points(cols);
    for (orow, &r) in out.iter_mut().zip(ri.iter()) {
        for (o, &c) in orow.iter_mut().zip(ci.iter()) {
            *o = buf1[r * cols + c];
        }
    }
    out
}

/// PDQ of a float luma plane through the unoptimised transcription
/// (same results as [`super::hash_luma`], several times slower).
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn hash_luma(width: usize, height: usize, luma: &[f32]) -> super::PdqOutput {
    hash_luma_dihedral(width, height, luma).original()
}

/// The eight dihedral hashes of a float luma plane through the unoptimised
/// transcription.
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn hash_luma_dihedral(width: usize, height: usize, luma: &[f32]) -> super::PdqDihedral {
    assert_eq!(Some(luma.len()), width.checked_mul(height), "luma buffer size");
    if width < super::MIN_HASHABLE_DIM || height < super::MIN_HASHABLE_DIM {
        return super::PdqDihedral { hashes: [super::PdqHash::ZERO; 8], quality: 0 };
    }
    let small = downsample(luma, height, width);
    let quality = super::dct::quality(&small);
    let block = super::dct::dct64_to_16(&small);
    super::PdqDihedral { hashes: super::dct::dihedral_bits(&block), quality }
}

/// Luma of 8-bit RGB as the `pdqhash` Python bindings compute it:
/// `R * 0.299 + G * 0.587 + B * 0.114` in f64, rounded to f32.
///
/// # Panics
/// If `rgb.len()` is not a multiple of 3.
pub fn luma_from_rgb(rgb: &[u8]) -> Vec<f32> {
    assert!(rgb.len().is_multiple_of(3), "rgb buffer length not a multiple of 3");
    rgb.chunks_exact(3)
        .map(|p| (f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114) as f32)
        .collect()
}

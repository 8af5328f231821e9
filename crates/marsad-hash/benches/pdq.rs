//! PDQ throughput on synthetic images (decoded pixels, one thread), plus
//! decode-and-hash and Hamming distance.
//!
//! `cargo bench -p marsad-hash --bench pdq`; `bench/pdq_vs_reference.py`
//! compares against Meta's reference on the same pixels.

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use marsad_hash::image::DecodeLimits;
use marsad_hash::pdq::{self, PdqHash, reference};

/// Deterministic pseudo-random RGB with some structure (a gradient under
/// noise), so the hash is not degenerate.
fn synthetic_rgb(w: usize, h: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut out = Vec::with_capacity(w * h * 3);
    for r in 0..h {
        for c in 0..w {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x >> 56) as usize;
            out.extend_from_slice(&[
                ((c * 255 / w + n / 4) % 256) as u8,
                ((r * 255 / h + n / 8) % 256) as u8,
                (n % 256) as u8,
            ]);
        }
    }
    out
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("pdq_hash_rgb");
    group.measurement_time(Duration::from_secs(4)).sample_size(20);
    for (w, h) in [(320, 240), (640, 480), (1280, 720), (1920, 1080), (4000, 3000)] {
        let rgb = synthetic_rgb(w, h);
        group.throughput(Throughput::Elements((w * h) as u64));
        let id = format!("{w}x{h}");
        group.bench_with_input(BenchmarkId::new("hash", &id), &rgb, |b, rgb| {
            b.iter(|| pdq::hash_rgb(w, h, black_box(rgb)))
        });
        group.bench_with_input(BenchmarkId::new("dihedral", &id), &rgb, |b, rgb| {
            b.iter(|| pdq::hash_rgb_dihedral(w, h, black_box(rgb)))
        });
        if w * h <= 640 * 480 {
            // The plain transcription of the reference, for scale.
            let luma = reference::luma_from_rgb(&rgb);
            group.bench_with_input(BenchmarkId::new("transcription", &id), &luma, |b, luma| {
                b.iter(|| reference::hash_luma(w, h, black_box(luma)))
            });
        }
    }
    group.finish();
}

fn decode_and_hash(c: &mut Criterion) {
    let (w, h) = (1280u32, 720u32);
    let rgb = synthetic_rgb(w as usize, h as usize);
    let img = image::RgbImage::from_raw(w, h, rgb).expect("buffer size");
    let mut group = c.benchmark_group("pdq_decode_and_hash");
    group.measurement_time(Duration::from_secs(4)).sample_size(20);
    group.throughput(Throughput::Elements(u64::from(w * h)));
    for format in [image::ImageFormat::Png, image::ImageFormat::Jpeg] {
        let mut bytes = Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).expect("encode");
        let bytes = bytes.into_inner();
        let limits = DecodeLimits::default();
        group.bench_function(format!("{format:?} 1280x720").to_lowercase(), |b| {
            b.iter(|| pdq::hash_image_bytes(black_box(&bytes), &limits))
        });
    }
    group.finish();
}

fn hamming(c: &mut Criterion) {
    let hashes: Vec<PdqHash> = (0..1024u32)
        .map(|i| {
            let mut b = [0u8; 32];
            for (j, x) in b.iter_mut().enumerate() {
                *x = (i.wrapping_mul(2_654_435_761).rotate_left(j as u32) >> 7) as u8;
            }
            PdqHash::from_bytes(b)
        })
        .collect();
    let probe = hashes[17];
    c.bench_function("pdq_hamming_1024", |b| {
        b.iter(|| hashes.iter().map(|h| black_box(&probe).hamming(h)).filter(|&d| d <= 31).count())
    });
}

criterion_group!(benches, hashing, decode_and_hash, hamming);
criterion_main!(benches);

//! Decoding: formats, Pillow's conversions to 8-bit RGB, limits and bad
//! input.

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::{ImageBuffer, ImageFormat, Luma, LumaA, Rgb, Rgba};
use marsad_hash::image::{DecodeError, DecodeLimits, decode_pixels, decode_rgb};
use marsad_hash::pdq;

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn conformance_file(name: &str) -> Vec<u8> {
    let path = crate::conformance_dir().join("pdq/images").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn encode<P: image::PixelWithColorType>(
    img: &ImageBuffer<P, Vec<P::Subpixel>>,
    format: ImageFormat,
) -> Vec<u8>
where
    [P::Subpixel]: image::EncodableLayout,
{
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

/// CRC-32 (IEEE), for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A PNG whose header claims `width × height` RGB pixels, with a few bytes
/// of (not even valid) image data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    // A zlib stream of a few zero bytes.
    png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn zero_bytes_and_junk_are_unknown_formats() {
    assert!(matches!(decode_rgb(&[], &limits()), Err(DecodeError::UnknownFormat { len: 0 })));
    assert!(matches!(
        decode_rgb(b"hello, this is not an image at all", &limits()),
        Err(DecodeError::UnknownFormat { .. })
    ));
    assert!(pdq::hash_image_bytes(&[], &limits()).is_err());
}

#[test]
fn truncated_png_is_an_error() {
    let png = conformance_file("real_astronaut.png");
    for cut in [8, 20, 33, 100, png.len() / 2, png.len() - 13] {
        let err = decode_rgb(&png[..cut], &limits()).expect_err("truncated png must not decode");
        assert!(matches!(err, DecodeError::Malformed { format: "png", .. }), "cut at {cut}: {err}");
    }
}

#[test]
fn corrupt_jpeg_is_an_error() {
    let jpeg = conformance_file("real_astronaut_q75.jpg");
    // Header only.
    assert!(decode_rgb(&jpeg[..200], &limits()).is_err());
    // Just the start-of-image marker.
    assert!(decode_rgb(&jpeg[..2], &limits()).is_err());
    // A frame header declaring zero height and width.
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline jpeg has SOF0");
    let mut zero_size = jpeg.clone();
    zero_size[sof + 5..sof + 9].copy_from_slice(&[0, 0, 0, 0]);
    assert!(decode_rgb(&zero_size, &limits()).is_err());
    // Garbage in every byte after the headers must not panic, whatever the
    // decoder makes of it.
    let mut garbled = jpeg.clone();
    let len = garbled.len();
    for (i, b) in garbled[sof + 200..len - 2].iter_mut().enumerate() {
        *b = (i * 131 % 251) as u8;
    }
    let _ = decode_rgb(&garbled, &limits());
}

#[test]
fn huge_declared_png_fails_fast_with_bounded_memory() {
    let png = png_claiming(100_000, 100_000);
    let start = Instant::now();
    let (result, peak) = crate::peak_alloc(|| decode_rgb(&png, &limits()));
    let elapsed = start.elapsed();
    let err = result.expect_err("a 10-gigapixel header must be refused");
    assert!(matches!(err, DecodeError::TooLarge { width: 100_000, height: 100_000, .. }), "{err}");
    assert!(err.to_string().contains("100000x100000"), "{err}");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(peak < 16 << 20, "allocated {peak} bytes");
    // Within the side limit but over the pixel limit.
    let err = decode_rgb(&png_claiming(60_000, 60_000), &limits()).expect_err("over 100 MP");
    assert!(matches!(err, DecodeError::TooLarge { .. }), "{err}");
    // Over a tight memory cap.
    let tight = DecodeLimits { max_alloc: 1 << 20, ..limits() };
    let err = decode_rgb(&png_claiming(2_000, 2_000), &tight).expect_err("over 1 MiB");
    assert!(matches!(err, DecodeError::MemoryLimit { .. }), "{err}");
}

#[test]
fn grey_palette_and_alpha_expand_like_pillow() {
    let grey = ImageBuffer::from_fn(3, 2, |x, y| Luma([(x * 50 + y * 7) as u8]));
    let rgb = decode_rgb(&encode(&grey, ImageFormat::Png), &limits()).expect("grey png");
    assert_eq!(&rgb.as_raw()[..6], &[0, 0, 0, 50, 50, 50]);

    let la = ImageBuffer::from_fn(2, 1, |x, _| LumaA([(x * 9 + 1) as u8, 3]));
    let rgb = decode_rgb(&encode(&la, ImageFormat::Png), &limits()).expect("grey+alpha png");
    assert_eq!(rgb.as_raw(), &[1, 1, 1, 10, 10, 10]);

    // Alpha is dropped, not composited: a transparent pixel keeps its colour.
    let rgba = ImageBuffer::from_fn(2, 1, |x, _| Rgba([200, 100, x as u8, 0]));
    let rgb = decode_rgb(&encode(&rgba, ImageFormat::Png), &limits()).expect("rgba png");
    assert_eq!(rgb.as_raw(), &[200, 100, 0, 200, 100, 1]);
}

/// 16-bit samples as Pillow 13 converts them (measured with
/// `Image.open(png).convert("RGB")`): greyscale opens as mode "I;16" and
/// clips at 255; colour and grey + alpha keep the high byte.
#[test]
fn sixteen_bit_pngs_reduce_like_pillow() {
    let values: [u16; 12] = [0, 1, 255, 256, 257, 511, 1000, 32768, 65535, 65280, 65534, 128];
    let clipped: [u8; 12] = [0, 1, 255, 255, 255, 255, 255, 255, 255, 255, 255, 128];
    let high: [u8; 12] = [0, 0, 0, 1, 1, 1, 3, 128, 255, 255, 255, 0];
    let n = values.len() as u32;
    let red = |rgb: &marsad_hash::image::RgbImage| -> Vec<u8> {
        rgb.as_raw().chunks_exact(3).map(|p| p[0]).collect()
    };

    let grey = ImageBuffer::from_fn(n, 1, |x, _| Luma([values[x as usize]]));
    let rgb = decode_rgb(&encode(&grey, ImageFormat::Png), &limits()).expect("grey16");
    assert_eq!(red(&rgb), clipped);

    let colour = ImageBuffer::from_fn(n, 1, |x, _| Rgb([values[x as usize]; 3]));
    let rgb = decode_rgb(&encode(&colour, ImageFormat::Png), &limits()).expect("rgb16");
    assert_eq!(red(&rgb), high);

    let rgba = ImageBuffer::from_fn(n, 1, |x, _| Rgba([values[x as usize], 0, 0, 5]));
    let rgb = decode_rgb(&encode(&rgba, ImageFormat::Png), &limits()).expect("rgba16");
    assert_eq!(red(&rgb), high);

    let la = ImageBuffer::from_fn(n, 1, |x, _| LumaA([values[x as usize], 1000]));
    let rgb = decode_rgb(&encode(&la, ImageFormat::Png), &limits()).expect("la16");
    assert_eq!(red(&rgb), high);
}

#[test]
fn other_formats_decode() {
    let img = ImageBuffer::from_fn(40, 30, |x, y| Rgb([(x * 6) as u8, (y * 8) as u8, 77]));
    for format in [ImageFormat::Bmp, ImageFormat::Tiff, ImageFormat::Gif] {
        let bytes = encode(&img, format);
        let rgb = decode_rgb(&bytes, &limits()).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!((rgb.width(), rgb.height()), (40, 30), "{format:?}");
    }
    // Lossless formats give the pixels back exactly.
    for format in [ImageFormat::Bmp, ImageFormat::Tiff] {
        let rgb = decode_rgb(&encode(&img, format), &limits()).expect("decode");
        assert_eq!(rgb.as_raw(), img.as_raw().as_slice(), "{format:?}");
    }
}

/// Hashing straight from the decoder's layout gives what decoding to RGB
/// and hashing gives, for every layout.
#[test]
fn hash_image_bytes_matches_decode_then_hash() {
    let grey = ImageBuffer::from_fn(70, 50, |x, y| Luma([((x * x + y * 3) % 256) as u8]));
    let la = ImageBuffer::from_fn(70, 50, |x, y| LumaA([((x * 5 + y) % 256) as u8, (x % 256) as u8]));
    let rgba = ImageBuffer::from_fn(70, 50, |x, y| Rgba([x as u8, y as u8, (x ^ y) as u8, 9]));
    let rgb = ImageBuffer::from_fn(70, 50, |x, y| Rgb([y as u8, x as u8, (x * y % 256) as u8]));
    for bytes in [
        encode(&grey, ImageFormat::Png),
        encode(&la, ImageFormat::Png),
        encode(&rgba, ImageFormat::Png),
        encode(&rgb, ImageFormat::Png),
    ] {
        let pixels = decode_pixels(&bytes, &limits()).expect("decode");
        let channels = pixels.channels();
        let img = pixels.into_rgb();
        let want = pdq::hash_rgb(img.width(), img.height(), img.as_raw());
        assert_eq!(pdq::hash_image_bytes(&bytes, &limits()).ok(), Some(want), "{channels} channels");
        let dihedral = pdq::hash_image_bytes_dihedral(&bytes, &limits()).expect("decode");
        assert_eq!(dihedral.original(), want);
        assert_eq!(pdq::hash_image(&img), want);
    }
}

#[test]
fn images_under_five_pixels_hash_to_zero() {
    for (w, h) in [(0, 0), (1, 1), (4, 4), (4, 100), (100, 4), (3, 2)] {
        let rgb = vec![200u8; w * h * 3];
        let out = pdq::hash_rgb(w, h, &rgb);
        assert!(out.hash.is_zero() && out.quality == 0, "{w}x{h}");
        let d = pdq::hash_rgb_dihedral(w, h, &rgb);
        assert!(d.hashes.iter().all(|h| h.is_zero()) && d.quality == 0, "{w}x{h}");
        let luma = vec![1.5f32; w * h];
        assert!(pdq::hash_luma(w, h, &luma).hash.is_zero());
    }
    // Five pixels is enough.
    let rgb: Vec<u8> = (0..5 * 5 * 3).map(|i| (i * 37 % 256) as u8).collect();
    assert!(!pdq::hash_rgb(5, 5, &rgb).hash.is_zero());
}

fn generated_jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x * y) % 256) as u8])
    });
    encode(&img, ImageFormat::Jpeg)
}

#[test]
fn jpeg_cut_short_is_an_error_as_in_pillow() {
    let jpeg = generated_jpeg(320, 240);
    let whole = decode_pixels(&jpeg, &limits()).expect("whole file decodes");
    assert_eq!((whole.width(), whole.height(), whole.channels()), (320, 240, 3));
    // (Where exactly Pillow stops accepting a shortened file, which depends
    // on the 64 KiB blocks it reads, is checked against Pillow itself in
    // `pytx.rs`.)
    // Pillow raises "image file is truncated" when the data ends before the
    // last row (python-threatexchange and HMA then hash nothing).
    for cut in [jpeg.len() / 3, jpeg.len() / 2, jpeg.len() - 40] {
        let err = decode_pixels(&jpeg[..cut], &limits()).expect_err("a cut jpeg must not decode");
        assert!(matches!(err, DecodeError::Malformed { format: "jpeg", .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("truncated"), "cut at {cut}: {err}");
        assert!(pdq::hash_image_bytes(&jpeg[..cut], &limits()).is_err());
    }
}

#[test]
fn jpeg_over_the_limits_is_refused_before_decoding() {
    let jpeg = generated_jpeg(64, 48);
    let small = DecodeLimits { max_pixels: 1000, ..limits() };
    let err = decode_pixels(&jpeg, &small).expect_err("over 1000 pixels");
    assert!(matches!(err, DecodeError::TooLarge { format: "jpeg", width: 64, height: 48, .. }), "{err}");
    let tight = DecodeLimits { max_alloc: 4096, ..limits() };
    let err = decode_pixels(&jpeg, &tight).expect_err("over 4 KiB");
    assert!(matches!(err, DecodeError::MemoryLimit { format: "jpeg", .. }), "{err}");
    // A header claiming 65 000 × 65 000 is refused from the header alone.
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline jpeg has SOF0");
    let mut huge = jpeg.clone();
    huge[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    let (result, peak) = crate::peak_alloc(|| decode_pixels(&huge, &limits()));
    assert!(matches!(result, Err(DecodeError::TooLarge { .. })), "{result:?}");
    assert!(peak < 16 << 20, "allocated {peak} bytes");
}

#[test]
fn pnm_and_ico_decode_as_pillow_opens_them() {
    let rgb = ImageBuffer::from_fn(19, 7, |x, y| Rgb([(x * 13) as u8, (y * 31) as u8, 200]));
    let grey = ImageBuffer::from_fn(19, 7, |x, y| Luma([(x * 5 + y * 9) as u8]));
    // PPM (P6) and PGM (P5): the samples as they are.
    let ppm = decode_pixels(&encode(&rgb, ImageFormat::Pnm), &limits()).expect("ppm decodes");
    assert_eq!((ppm.channels(), ppm.as_raw()), (3, rgb.as_raw().as_slice()));
    let pgm = decode_pixels(&encode(&grey, ImageFormat::Pnm), &limits()).expect("pgm decodes");
    assert_eq!((pgm.channels(), pgm.as_raw()), (1, grey.as_raw().as_slice()));
    // PBM (P4): Pillow's mode "1", black 0 and white 255.
    let pbm = b"P4\n10 2\n\xA5\x80\x00\x40".to_vec();
    let bits = decode_pixels(&pbm, &limits()).expect("pbm decodes");
    assert_eq!((bits.width(), bits.height()), (10, 2));
    let px: Vec<u8> = bits.into_rgb().as_raw().chunks(3).map(|p| p[0]).collect();
    assert_eq!(px, [0, 255, 0, 255, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0]);
    // ICO (a PNG inside): the colours, alpha dropped.
    let rgba = ImageBuffer::from_fn(16, 16, |x, y| Rgba([(x * 16) as u8, (y * 16) as u8, 9, 128]));
    let ico = decode_rgb(&encode(&rgba, ImageFormat::Ico), &limits()).expect("ico decodes");
    let want: Vec<u8> = rgba.as_raw().chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    assert_eq!(ico.as_raw(), want.as_slice());
}

/// A palette BMP (8-bit, 16 colours, uncompressed) of the given header
/// size, its pixel rows all index 1.
fn palette_bmp(width: i32, height: i32) -> Vec<u8> {
    let palette: Vec<u8> = (0..16u8).flat_map(|i| [i * 9, 200 - i * 7, i * 13, 0]).collect();
    let stride = ((width.max(0) as usize * 8 + 31) >> 3) & !3;
    let pixels = vec![1u8; stride * height.unsigned_abs() as usize];
    let offset = 14 + 40 + palette.len();
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&((offset + pixels.len()) as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&(offset as u32).to_le_bytes());
    for v in [40i32, width, height] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    for v in [0u32, pixels.len() as u32, 2835, 2835, 16, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&palette);
    b.extend_from_slice(&pixels);
    b
}

/// Found by fuzzing (`image_pdq`): a palette BMP of width 0 and height
/// 4375 panicked the C++-tool hash (a row of no pixels sampled). Pillow
/// refuses an image of no width or height, whatever its format; every
/// hash of marsad refuses it too, and the same file with a width decodes.
#[test]
fn an_image_of_no_width_or_height_is_refused_by_every_hash() {
    let l = limits();
    for (w, h) in [(0, 4375), (0, 1), (7, 0), (0, -20)] {
        let bytes = palette_bmp(w, h);
        let refused = |what: &str, r: Result<(), DecodeError>| match r {
            Err(DecodeError::Malformed { message, .. }) => {
                assert!(message.contains("pixels"), "{what}: {message}")
            }
            other => panic!("{w}x{h} {what}: want Malformed, got {other:?}"),
        };
        refused("pdq", pdq::hash_image_bytes(&bytes, &l).map(drop));
        refused("variants", pdq::hash_image_bytes_variants(&bytes, &l).map(drop));
        refused("pytx", pdq::hash_image_bytes_pytx(&bytes, &l).map(drop));
        refused("dihedral", pdq::hash_image_bytes_dihedral(&bytes, &l).map(drop));
        refused("cpp tool", pdq::hash_image_bytes_cpp_tool(&bytes, &l).map(drop));
        refused("pixels", decode_pixels(&bytes, &l).map(drop));
    }
    let good = palette_bmp(5, 3);
    let p = decode_pixels(&good, &l).expect("a 5x3 palette BMP decodes");
    assert_eq!((p.width(), p.height()), (5, 3));
    pdq::hash_image_bytes_cpp_tool(&good, &l).expect("and hashes");
}

/// A little-endian grey TIFF, 8-bit, uncompressed, `w`×`h`, with the given
/// extra entries (tag, value as SHORT) added to its directory as they are,
/// repeats included.
fn grey_tiff(w: u16, h: u16, extra: &[(u16, u16)]) -> Vec<u8> {
    let pixels: Vec<u8> = (0..usize::from(w) * usize::from(h)).map(|i| (i * 37 % 251) as u8).collect();
    let mut entries: Vec<(u16, u16, u32)> = vec![
        (256, 3, w.into()),
        (257, 3, h.into()),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0),
        (277, 3, 1),
        (278, 3, h.into()),
        (279, 4, pixels.len() as u32),
    ];
    entries.extend(extra.iter().map(|&(tag, v)| (tag, 3, u32::from(v))));
    entries.sort_by_key(|e| e.0);
    let data_at = 8 + 2 + 12 * entries.len() as u32 + 4;
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        let value = if tag == 273 { data_at } else { value };
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&value.to_le_bytes());
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&pixels);
    b
}

/// Found by fuzzing (`image_pdq`): a TIFF whose FillOrder 2 survived the
/// copy made to undo it (the tag repeated in the directory) sent the
/// decoder round until the stack overflowed. The copy is opened once,
/// whatever it says; the tag once, the file decodes with its bits reversed.
#[test]
fn a_repeated_fill_order_tag_cannot_recurse() {
    let l = limits();
    let once = grey_tiff(4, 3, &[(266, 2)]);
    let plain = grey_tiff(4, 3, &[]);
    let reversed = decode_pixels(&once, &l).expect("FillOrder 2 decodes");
    let straight = decode_pixels(&plain, &l).expect("FillOrder 1 decodes");
    let flipped: Vec<u8> = straight.as_raw().iter().map(|b| b.reverse_bits()).collect();
    assert_eq!(reversed.as_raw(), flipped.as_slice(), "each byte's bits reversed");
    for extra in [&[(266, 2), (266, 2)][..], &[(266, 1), (266, 2)], &[(266, 2), (266, 1)]] {
        let bytes = grey_tiff(4, 3, extra);
        // Decoded or refused, the call returns.
        let _ = pdq::hash_image_bytes_variants(&bytes, &l);
        let _ = decode_pixels(&bytes, &l);
    }
}

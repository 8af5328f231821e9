//! JPEG through libjpeg-turbo with Pillow's settings (see `csrc/jpeg.c` for
//! what they are and where they come from).

use std::ffi::{c_char, c_int, c_long, c_void};

use super::{DecodeError, DecodeLimits};

const FORMAT: &str = "jpeg";

/// Largest number of scans accepted in a progressive file. Encoders write
/// about ten; each scan is a pass over the whole image, so a small file of
/// many scans would otherwise cost time without bound (libjpeg-turbo's own
/// tools suggest a limit of 500).
pub(crate) const MAX_SCANS: c_int = 500;

unsafe extern "C" {
    fn marsad_jpeg_decode(
        data: *const u8,
        len: usize,
        max_memory: c_long,
        max_scans: c_int,
        alloc: extern "C" fn(*mut c_void, u32, u32, c_int, u64) -> *mut u8,
        ctx: *mut c_void,
        msg: *mut c_char,
        msg_len: usize,
    ) -> c_int;
}

/// A decoded JPEG as Pillow opens it: `L` (1 channel), `RGB` (3) or `CMYK`
/// (4, with Pillow's Adobe polarity: 0 is no ink).
pub(crate) struct Jpeg {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

/// What the allocation callback saw and decided.
struct Sink {
    limits: DecodeLimits,
    shape: Option<(u32, u32, usize)>,
    buffer: Vec<u8>,
    refusal: Option<DecodeError>,
}

extern "C" fn allocate(
    ctx: *mut c_void,
    width: u32,
    height: u32,
    components: c_int,
    coefficients: u64,
) -> *mut u8 {
    // SAFETY: `ctx` is the `&mut Sink` that `decode` passed, alive for the
    // whole call of `marsad_jpeg_decode`, which calls this at most once.
    let sink = unsafe { &mut *ctx.cast::<Sink>() };
    let limits = sink.limits;
    let channels = usize::try_from(components).unwrap_or(0);
    if u64::from(width) * u64::from(height) > limits.max_pixels
        || width > limits.max_side
        || height > limits.max_side
    {
        sink.refusal = Some(DecodeError::TooLarge {
            format: FORMAT,
            width,
            height,
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
        });
        return std::ptr::null_mut();
    }
    let bytes = u64::from(width) * u64::from(height) * channels as u64;
    let memory_limit = || DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc };
    if bytes.saturating_add(coefficients) > limits.max_alloc {
        sink.refusal = Some(memory_limit());
        return std::ptr::null_mut();
    }
    let Ok(len) = usize::try_from(bytes) else {
        sink.refusal = Some(memory_limit());
        return std::ptr::null_mut();
    };
    let mut buffer = Vec::new();
    if buffer.try_reserve_exact(len).is_err() {
        sink.refusal = Some(memory_limit());
        return std::ptr::null_mut();
    }
    buffer.resize(len, 0);
    sink.buffer = buffer;
    sink.shape = Some((width, height, channels));
    sink.buffer.as_mut_ptr()
}

pub(crate) fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Jpeg, DecodeError> {
    let mut sink = Sink { limits: *limits, shape: None, buffer: Vec::new(), refusal: None };
    let mut msg = [0 as c_char; 200];
    // Whatever the decoder allocates beyond the output and coefficient
    // buffers counted above is small; cap it at the allocation limit too.
    let max_memory = c_long::try_from(limits.max_alloc).unwrap_or(c_long::MAX);
    // SAFETY: `bytes` is valid for `len` bytes for the call; the callback
    // gets `ctx` = `&mut sink` and returns either null or a pointer to
    // `width * height * components` writable bytes owned by `sink`, which
    // the C code writes only within and only during the call; `msg` is
    // valid for its length and the C code writes a NUL-terminated string
    // within it.
    let status = unsafe {
        marsad_jpeg_decode(
            bytes.as_ptr(),
            bytes.len(),
            max_memory,
            MAX_SCANS,
            allocate,
            (&raw mut sink).cast(),
            msg.as_mut_ptr(),
            msg.len(),
        )
    };
    let message = || {
        let end = msg.iter().position(|&c| c == 0).unwrap_or(msg.len());
        msg[..end].iter().map(|&c| c as u8 as char).collect::<String>()
    };
    let malformed = |message: String| DecodeError::Malformed { format: FORMAT, message };
    match status {
        0 => {
            let Some((width, height, channels)) = sink.shape else {
                return Err(malformed("no image in the data".into()));
            };
            Ok(Jpeg { width: width as usize, height: height as usize, channels, data: sink.buffer })
        }
        2 => Err(malformed("image file is truncated: the data ends before the last row".into())),
        3 => Err(sink
            .refusal
            .unwrap_or(DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc })),
        4 => Err(DecodeError::Unsupported { format: FORMAT, message: message() }),
        5 => Err(DecodeError::Unsupported {
            format: FORMAT,
            message: format!("progressive image with more than {MAX_SCANS} scans"),
        }),
        _ => Err(malformed(message())),
    }
}

/// Pillow's CMYK → RGB conversion (`cmyk2rgb` in `libImaging/Convert.c`):
/// each of R, G, B is `255 − k − c·(255 − k)/255`, rounded as Pillow's
/// `MULDIV255` rounds.
pub(crate) fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for p in cmyk.chunks_exact(4) {
        let nk = 255 - i32::from(p[3]);
        for &c in &p[..3] {
            let t = i32::from(c) * nk + 128;
            let scaled = ((t >> 8) + t) >> 8;
            out.push((nk - scaled).clamp(0, 255) as u8);
        }
    }
    out
}

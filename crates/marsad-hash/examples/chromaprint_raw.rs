//! Prints the Chromaprint fingerprint of mono 16-bit little-endian 11 025 Hz
//! samples read from standard input, as `fpcalc -raw` prints it.
//!
//! `ffmpeg -i FILE -af aresample=11025:ochl=mono… -f s16le - | chromaprint_raw`

use std::io::Read;

fn main() -> std::io::Result<()> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes)?;
    let samples: Vec<i16> = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let items = marsad_hash::audio::fingerprint(&samples);
    let text: Vec<String> = items.iter().map(u32::to_string).collect();
    println!("FINGERPRINT={}", text.join(","));
    Ok(())
}

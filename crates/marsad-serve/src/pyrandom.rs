//! Python's `random.Random(seed).random()` for a string seed, bit for bit:
//! HMA decides whether a bank takes part in a lookup by comparing its
//! `matching_enabled_ratio` with this number (`seed` makes the decision
//! repeatable), so a drop-in must draw the same number from the same seed.
//!
//! CPython seeds a string by version 2: the integer whose big-endian bytes
//! are the string's UTF-8 followed by its SHA-512, fed to MT19937's
//! `init_by_array` as little-endian 32-bit words; `random()` is
//! `(a >> 5, b >> 6)` of two outputs as a 53-bit fraction.

use sha2::Digest as _;

const N: usize = 624;
const M: usize = 397;

struct Mt {
    state: [u32; N],
    index: usize,
}

impl Mt {
    fn init_genrand(s: u32) -> Mt {
        let mut state = [0u32; N];
        state[0] = s;
        for i in 1..N {
            state[i] =
                1_812_433_253u32.wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30)).wrapping_add(i as u32);
        }
        Mt { state, index: N }
    }

    fn init_by_array(key: &[u32]) -> Mt {
        let mut mt = Mt::init_genrand(19_650_218);
        let s = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        let len = key.len().max(1);
        for _ in 0..N.max(len) {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key.get(j).copied().unwrap_or(0))
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
            if j >= len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
        }
        s[0] = 0x8000_0000;
        mt
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
                let mut v = self.state[(k + M) % N] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.state[k] = v;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// `random.Random(seed).random()` for a string `seed`.
pub fn random_of_seed(seed: &str) -> f64 {
    let mut bytes = seed.as_bytes().to_vec();
    bytes.extend_from_slice(&sha2::Sha512::digest(seed.as_bytes()));
    // The big-endian integer's 32-bit words, least significant first.
    let mut key: Vec<u32> =
        bytes.rchunks(4).map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))).collect();
    while key.len() > 1 && key.last() == Some(&0) {
        key.pop();
    }
    Mt::init_by_array(&key).random()
}

/// A fresh random number in [0, 1), for a lookup without a seed.
pub fn random_unseeded() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values CPython 3.11 prints for `random.Random(s).random()` (the
    /// integration tests compare many more with the python3 on the machine).
    #[test]
    fn cpython_values() {
        for (seed, want) in [
            ("", 0.9602256525641875),
            ("a", 0.2720295377534757),
            ("42", 0.473659421919327),
            ("content-1", 0.07925192725878893),
            ("بنك", 0.3801255945690658),
        ] {
            assert_eq!(random_of_seed(seed), want, "{seed:?}");
        }
        assert_eq!(random_of_seed(&"x".repeat(300)), 0.22742392778346976);
    }
}

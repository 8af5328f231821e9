//! Arabic-aware text normalization and MinHash near-duplicate signatures.
//!
//! [`normalize`] implements marsad's normalization specification, in this
//! order:
//! 1. Unicode NFKC;
//! 2. drop tatweel (U+0640), the Arabic marks U+0610–U+061A, U+064B–U+065F,
//!    U+0670, U+06D6–U+06ED, zero-width and bidi controls (U+200B–U+200F,
//!    U+061C, U+FEFF, U+2060, U+202A–U+202E, U+2066–U+2069) and every other
//!    character of general category Cf;
//! 3. map letter variants: أ إ آ ٱ ٲ ٳ → ا, ى → ي, ة → ه, ؤ → و, ئ → ي,
//!    ک → ك, ی → ي, ہ ۀ → ه, Arabic-Indic and Extended Arabic-Indic digits
//!    → 0–9;
//! 4. turn every character of category P*, S*, Z* or Cc into a space;
//! 5. lowercase (the full Unicode mapping, final sigma included);
//! 6. collapse runs of white space to one space and trim.
//!
//! [`MinHasher`] turns normalized text into a [`MinHashSignature`] over
//! [`shingles`]: the set of character 4-grams of the normalized text, spaces
//! included. Character n-grams rather than word n-grams because Arabic
//! attaches clitics to words (و "and", ف, ب, ل, ك, the article ال, the
//! pronoun suffixes ه ها هم…): "والمدينة" and "المدينة" are different words
//! but share all 4-grams but one, so a caption re-posted with a conjunction
//! added or an article dropped keeps almost all its shingles, where word
//! shingles would lose every shingle that touches the changed word. Four
//! characters is the shortest window that is rarely shared by unrelated
//! texts (Arabic roots are three letters; trigrams are common to everything).
//!
//! ```
//! use marsad_hash::text::{normalize, MinHasher};
//! assert_eq!(normalize("  الـسَّلامُ   عليكم!! "), "السلام عليكم");
//! let h = MinHasher::new(128);
//! let a = h.sign(&normalize("نشرة الأخبار اليومية من المدينة الشمالية"));
//! let b = h.sign(&normalize("ونشرة الاخبار اليومية من المدينة الشمالية"));
//! assert!(a.estimate_jaccard(&b) > 0.7);
//! ```

use std::fmt;

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

/// Normalizes text by marsad's specification (see the module docs).
///
/// The result is always a fixed point: `normalize(&normalize(s)) ==
/// normalize(s)`. The specification applied once almost always gives one;
/// the exception is a removed invisible character (say U+200D between `c`
/// and a combining acute) that leaves a letter and a combining mark side by
/// side, which NFKC would compose on a second pass. Only then is the
/// specification applied again, until the text no longer changes, so that
/// the same caption always normalizes to the same string.
pub fn normalize(text: &str) -> String {
    let mut out = normalize_once(text);
    // Each extra pass only composes; two are more than any input needs.
    for _ in 0..3 {
        if surely_nfkc(&out)
            || unicode_normalization::is_nfkc_quick(out.chars()) == unicode_normalization::IsNormalized::Yes
        {
            break;
        }
        let again = normalize_once(&out);
        if again == out {
            break;
        }
        out = again;
    }
    out
}

/// The specification's six steps, once.
fn normalize_once(text: &str) -> String {
    // Most text is already in NFKC: the quick check is far cheaper than
    // decomposing and recomposing every character.
    if surely_nfkc(text)
        || unicode_normalization::is_nfkc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes
    {
        steps_after_nfkc(text.chars(), text.len())
    } else {
        steps_after_nfkc(text.nfkc(), text.len())
    }
}

/// Whether every character is one NFKC leaves alone whatever surrounds it:
/// ASCII, Latin-1 letters and signs from U+00C0, Latin Extended-A but its
/// compatibility characters, the Arabic letters, tatweel, Arabic-Indic
/// digits and the Arabic comma, semicolon and question mark. None of them
/// decomposes or combines with a neighbour. A quick pre-check for the text
/// marsad mostly sees, several times faster than the general quick check.
fn surely_nfkc(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_ascii()
            || matches!(c,
                '\u{00C0}'..='\u{00FF}'
                | '\u{0100}'..='\u{0131}'
                | '\u{0134}'..='\u{013E}'
                | '\u{0141}'..='\u{0148}'
                | '\u{014A}'..='\u{017E}'
                | '\u{0621}'..='\u{063A}'
                | '\u{0640}'..='\u{064A}'
                | '\u{0660}'..='\u{0669}'
                | '\u{060C}'
                | '\u{061B}'
                | '\u{061F}')
    })
}

/// Steps 2 to 6 over NFKC characters.
fn steps_after_nfkc(chars: impl Iterator<Item = char>, len: usize) -> String {
    let mut mapped = String::with_capacity(len);
    for c in chars {
        if is_dropped(c) {
            continue;
        }
        let c = map_variant(c);
        mapped.push(if is_separator_like(c) { ' ' } else { c });
    }
    let lower = mapped.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for word in lower.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Step 2: characters removed outright.
fn is_dropped(c: char) -> bool {
    matches!(c,
        '\u{0640}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{200B}'..='\u{200F}'
        | '\u{061C}'
        | '\u{FEFF}'
        | '\u{2060}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}')
        || (!c.is_ascii() && get_general_category(c) == GeneralCategory::Format)
}

/// Step 3: letter variants and digits.
fn map_variant(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' | 'ٲ' | 'ٳ' => 'ا',
        'ى' | 'ئ' | 'ی' => 'ي',
        'ة' | 'ہ' | 'ۀ' => 'ه',
        'ؤ' => 'و',
        'ک' => 'ك',
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        _ => c,
    }
}

/// Step 4: punctuation, symbols, separators and control characters.
fn is_separator_like(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_alphanumeric();
    }
    use GeneralCategory::*;
    matches!(
        get_general_category(c),
        ConnectorPunctuation
            | DashPunctuation
            | OpenPunctuation
            | ClosePunctuation
            | InitialPunctuation
            | FinalPunctuation
            | OtherPunctuation
            | MathSymbol
            | CurrencySymbol
            | ModifierSymbol
            | OtherSymbol
            | SpaceSeparator
            | LineSeparator
            | ParagraphSeparator
            | Control
    )
}

/// Characters per shingle.
pub const SHINGLE_CHARS: usize = 4;

/// Bytes of a normalized text that fingerprints and similarity look at: a
/// longer text is compared on its first 64 KiB (cut at a character
/// boundary). Telegram's own limit is 4 096 characters a message; the cap
/// keeps a 15 MB text from costing gigabytes of shingles, and every
/// consumer (MinHash signatures, exact Jaccard) sees the same prefix.
pub const MAX_COMPARED_BYTES: usize = 64 * 1024;

/// The part of a normalized text that is compared: all of it, or its first
/// [`MAX_COMPARED_BYTES`] cut at a character boundary.
pub fn compared_part(normalized: &str) -> &str {
    if normalized.len() <= MAX_COMPARED_BYTES {
        return normalized;
    }
    let mut end = MAX_COMPARED_BYTES;
    while !normalized.is_char_boundary(end) {
        end -= 1;
    }
    &normalized[..end]
}

/// Calls `f` with the 64-bit hash of every character 4-gram of `normalized`
/// (overlapping, spaces included; a text shorter than four characters is
/// one shingle, an empty text none), over its [`compared_part`].
/// Duplicates are reported each time.
pub fn for_each_shingle(normalized: &str, mut f: impl FnMut(u64)) {
    let normalized = compared_part(normalized);
    if normalized.is_empty() {
        return;
    }
    // Byte offsets of character starts, in a small ring, so no allocation.
    let mut starts = [0usize; SHINGLE_CHARS + 1];
    let mut n = 0usize;
    for (i, _) in normalized.char_indices().chain(std::iter::once((normalized.len(), ' '))) {
        starts[n % (SHINGLE_CHARS + 1)] = i;
        n += 1;
        if n > SHINGLE_CHARS {
            let from = starts[(n - 1 - SHINGLE_CHARS) % (SHINGLE_CHARS + 1)];
            f(xxhash_rust::xxh3::xxh3_64(&normalized.as_bytes()[from..i]));
        }
    }
    if n <= SHINGLE_CHARS {
        f(xxhash_rust::xxh3::xxh3_64(normalized.as_bytes()));
    }
}

/// The set of shingle hashes of a normalized text, sorted and deduplicated
/// (what exact Jaccard similarity is computed on).
pub fn shingles(normalized: &str) -> Vec<u64> {
    let mut out = Vec::with_capacity(compared_part(normalized).len());
    for_each_shingle(normalized, |h| out.push(h));
    out.sort_unstable();
    out.dedup();
    out
}

/// Exact Jaccard similarity of two sorted, deduplicated shingle sets (1 when
/// both are empty).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

/// Default number of permutations of a signature.
pub const DEFAULT_PERMUTATIONS: usize = 128;

/// Computes MinHash signatures with a fixed family of permutations: the
/// `i`-th permutation of a 32-bit shingle key `x` is `fmix32(x ^ seed_i)`
/// (MurmurHash3's finaliser, a bijection of `u32`), and a signature keeps,
/// per permutation, the smallest value over the text's shingles. The seeds
/// are fixed, so signatures are comparable across runs and machines.
#[derive(Clone, Debug)]
pub struct MinHasher {
    seeds: Vec<u32>,
}

/// A MinHash signature: one 32-bit minimum per permutation. An empty text
/// has every value at `u32::MAX`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MinHashSignature(pub Vec<u32>);

impl MinHasher {
    /// A hasher with `permutations` permutations (at least 1).
    pub fn new(permutations: usize) -> Self {
        let mut state = 0x6d61_7273_6164_u64; // "marsad"
        let seeds = (0..permutations.max(1))
            .map(|_| {
                // splitmix64: fixed, well-spread seeds.
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) as u32
            })
            .collect();
        MinHasher { seeds }
    }

    /// Number of permutations.
    pub fn permutations(&self) -> usize {
        self.seeds.len()
    }

    /// The signature of a normalized text.
    pub fn sign(&self, normalized: &str) -> MinHashSignature {
        let mut sig = vec![u32::MAX; self.seeds.len()];
        for_each_shingle(normalized, |h| update(&mut sig, &self.seeds, fold(h)));
        MinHashSignature(sig)
    }

    /// The signature of a set of shingle hashes (as [`shingles`] returns).
    pub fn sign_shingles(&self, shingles: &[u64]) -> MinHashSignature {
        let mut sig = vec![u32::MAX; self.seeds.len()];
        for &h in shingles {
            update(&mut sig, &self.seeds, fold(h));
        }
        MinHashSignature(sig)
    }
}

impl Default for MinHasher {
    fn default() -> Self {
        MinHasher::new(DEFAULT_PERMUTATIONS)
    }
}

/// The 32-bit key of a 64-bit shingle hash.
#[inline]
fn fold(h: u64) -> u32 {
    (h ^ (h >> 32)) as u32
}

#[inline(always)]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline(always)]
fn update_portable(sig: &mut [u32], seeds: &[u32], x: u32) {
    for (s, &seed) in sig.iter_mut().zip(seeds) {
        *s = (*s).min(fmix32(x ^ seed));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn update_avx2(sig: &mut [u32], seeds: &[u32], x: u32) {
    // The same loop, compiled with AVX2 so it runs eight lanes at a time.
    update_portable(sig, seeds, x)
}

#[inline]
fn update(sig: &mut [u32], seeds: &[u32], x: u32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { update_avx2(sig, seeds, x) };
        return;
    }
    update_portable(sig, seeds, x)
}

/// Why a string is not a MinHash signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureParseError {
    /// The length is not a positive multiple of 8 hex digits.
    #[error("text signature must be a positive multiple of 8 hex digits, got {len} characters")]
    WrongLength {
        /// Characters given.
        len: usize,
    },
    /// A character is not a hex digit.
    #[error("text signature has non-hex character {found:?} at position {position}")]
    InvalidDigit {
        /// Zero-based position.
        position: usize,
        /// The character.
        found: char,
    },
}

impl MinHashSignature {
    /// The fraction of permutations whose minima agree: an unbiased estimate
    /// of the Jaccard similarity of the two shingle sets. Signatures of
    /// different lengths compare over the shorter.
    pub fn estimate_jaccard(&self, other: &MinHashSignature) -> f64 {
        let n = self.0.len().min(other.0.len());
        if n == 0 {
            return 0.0;
        }
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / n as f64
    }

    /// Whether the signature is that of an empty text.
    pub fn is_empty_text(&self) -> bool {
        self.0.iter().all(|&v| v == u32::MAX)
    }

    /// The text form: 8 lowercase hex digits per permutation, in order.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut bytes = Vec::with_capacity(self.0.len() * 8);
        for v in &self.0 {
            for shift in (0..8).rev() {
                bytes.push(DIGITS[((v >> (shift * 4)) & 0xf) as usize]);
            }
        }
        // Only ASCII hex digits were pushed.
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// Parses the text form.
    pub fn from_hex(text: &str) -> Result<Self, SignatureParseError> {
        if text.is_empty() || !text.len().is_multiple_of(8) {
            return Err(SignatureParseError::WrongLength { len: text.chars().count() });
        }
        // One pass over the bytes through a table (a grouping run reads a
        // million of these); where a byte is not a digit is looked for only
        // when one is not.
        const INVALID: u8 = 0xff;
        const DIGITS: [u8; 256] = {
            let mut t = [INVALID; 256];
            let mut i = 0;
            while i < 10 {
                t[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                t[b'a' as usize + i] = 10 + i as u8;
                t[b'A' as usize + i] = 10 + i as u8;
                i += 1;
            }
            t
        };
        let mut values = Vec::with_capacity(text.len() / 8);
        let mut bad = 0u8;
        for chunk in text.as_bytes().chunks_exact(8) {
            let mut v = 0u32;
            for &byte in chunk {
                let digit = DIGITS[byte as usize];
                bad |= digit & 0xf0;
                v = (v << 4) | u32::from(digit & 0x0f);
            }
            values.push(v);
        }
        if bad != 0 {
            let (position, found) = text
                .char_indices()
                .find(|(_, c)| !c.is_ascii_hexdigit())
                .unwrap_or((0, char::REPLACEMENT_CHARACTER));
            return Err(SignatureParseError::InvalidDigit { position, found });
        }
        Ok(MinHashSignature(values))
    }
}

impl fmt::Debug for MinHashSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MinHashSignature({} permutations)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx2_and_portable_agree() {
        let seeds = MinHasher::new(131).seeds;
        let mut a = vec![u32::MAX; seeds.len()];
        let mut b = a.clone();
        for x in [0u32, 1, 0xdead_beef, u32::MAX, 12345] {
            update_portable(&mut a, &seeds, x);
            update(&mut b, &seeds, x);
        }
        assert_eq!(a, b);
    }

    #[test]
    fn the_quick_nfkc_set_is_stable_under_nfkc() {
        // Every character of the set, alone and next to every other kind of
        // character of the set, is left alone by NFKC.
        let set: String =
            (0u32..0x0700).filter_map(char::from_u32).filter(|c| surely_nfkc(&c.to_string())).collect();
        assert!(set.chars().count() > 350);
        assert_eq!(set.nfkc().collect::<String>(), set);
        let reversed: String = set.chars().rev().collect();
        assert_eq!(reversed.nfkc().collect::<String>(), reversed);
        for c in set.chars() {
            let pair = format!("{c}{c}a{c}");
            assert_eq!(pair.nfkc().collect::<String>(), pair, "{c:?}");
        }
        assert!(!surely_nfkc("\u{0627}\u{0654}"));
        assert!(!surely_nfkc("ﬁ"));
    }

    #[test]
    fn short_texts_are_one_shingle() {
        assert_eq!(shingles("").len(), 0);
        assert_eq!(shingles("ab").len(), 1);
        assert_eq!(shingles("abcd").len(), 1);
        assert_eq!(shingles("abcde").len(), 2);
        // Four characters of Arabic (multi-byte) are one shingle too.
        assert_eq!(shingles("سلام").len(), 1);
        assert_eq!(shingles("abab ab").len(), 4);
    }
}

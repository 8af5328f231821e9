//! The text normalizer against its specification, rule by rule, and the
//! MinHash signature's invariants. Expected strings are written from the
//! specification by hand, never produced by the code under test.

use marsad_hash::text::{MinHashSignature, MinHasher, SignatureParseError, jaccard, normalize, shingles};
use proptest::prelude::*;

#[track_caller]
fn check(input: &str, expected: &str) {
    let got = normalize(input);
    assert_eq!(got, expected, "normalize({input:?}) = {got:?}, want {expected:?}");
}

#[test]
fn nfkc_comes_first() {
    // Compatibility forms: full-width Latin, ligatures, superscripts.
    check("ＡＢＣ１２３", "abc123");
    check("ﬁne", "fine");
    check("x²", "x2");
    // Arabic presentation forms become letters: ﻻ (lam-alef ligature).
    check("\u{FEFB}", "لا");
    // A decomposed alef + hamza above composes to أ, which is then mapped to ا.
    check("\u{0627}\u{0654}حمد", "احمد");
    // Decomposed é composes (and stays a letter).
    check("cafe\u{0301}", "café");
}

#[test]
fn tatweel_and_arabic_marks_are_dropped() {
    check("الـــسلام", "السلام");
    // Harakat U+064B–U+065F: fathatan, dammatan, kasratan, fatha, damma,
    // kasra, shadda, sukun, and the rest of the block.
    check("مُحَمَّدٌ", "محمد");
    check("كِتَابًا", "كتابا");
    check("\u{0628}\u{065F}\u{064B}", "ب");
    // Superscript alef U+0670.
    check("هٰذا", "هذا");
    // Quranic annotation marks U+0610–U+061A and U+06D6–U+06ED.
    check("ب\u{0610}\u{0615}\u{061A}ت", "بت");
    check("ب\u{06D6}\u{06DC}\u{06E1}\u{06ED}ت", "بت");
}

#[test]
fn invisible_controls_are_dropped_not_spaced() {
    for c in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{FEFF}', '\u{2060}']
    {
        check(&format!("ab{c}cd"), "abcd");
    }
    for c in '\u{202A}'..='\u{202E}' {
        check(&format!("ab{c}cd"), "abcd");
    }
    for c in '\u{2066}'..='\u{2069}' {
        check(&format!("ab{c}cd"), "abcd");
    }
    // Other Cf characters: soft hyphen, Arabic number sign, word joiner
    // relatives, a tag character.
    check("co\u{00AD}operate", "cooperate");
    check("\u{0600}123", "123");
    check("a\u{2061}b\u{E0041}c", "abc");
}

#[test]
fn letter_variants_are_unified() {
    check("أإآٱٲٳ", "اااااا");
    check("على", "علي");
    check("مدينة", "مدينه");
    check("مؤتمر", "موتمر");
    check("رئيس", "رييس");
    check("کتاب", "كتاب");
    check("فارسی", "فارسي");
    check("ہۀ", "هه");
}

#[test]
fn arabic_indic_digits_become_ascii() {
    check("٠١٢٣٤٥٦٧٨٩", "0123456789");
    check("۰۱۲۳۴۵۶۷۸۹", "0123456789");
    check("عام ٢٠١٧", "عام 2017");
}

#[test]
fn punctuation_symbols_separators_and_controls_become_spaces() {
    // Arabic comma, semicolon, question mark; Latin punctuation.
    check("نعم،لا؛ماذا؟", "نعم لا ماذا");
    check("a.b,c!d?e", "a b c d e");
    // Symbols: currency, math, modifier, other (emoji).
    check("10$20€30+40^50😀60", "10 20 30 40 50 60");
    // Separators: no-break space, ideographic space, line/paragraph separators.
    check("a\u{00A0}b\u{3000}c\u{2028}d\u{2029}e", "a b c d e");
    // Controls: tab, newline, carriage return, NUL, DEL.
    check("a\tb\nc\rd\u{0}e\u{7F}f", "a b c d e f");
    // Guillemets and brackets (Pi, Pf, Ps, Pe), underscore (Pc), dashes (Pd).
    check("«x»(y)_z—w", "x y z w");
}

#[test]
fn lowercase_is_the_full_mapping() {
    check("HELLO World", "hello world");
    check("ΣΟΦΙΑ ΟΔΟΣ", "σοφια οδος");
    check("ÉCOLE", "école");
    // İ lowercases to i + combining dot above (full, not simple, mapping).
    check("İ", "i\u{0307}");
    check("STRASSE ẞ", "strasse ß");
}

#[test]
fn whitespace_collapses_and_trims() {
    check("   ", "");
    check("", "");
    check("  a   b  ", "a b");
    check("a - b", "a b");
    check("...", "");
}

#[test]
fn rules_apply_together() {
    check("  «عَاجِلٌ»: الـمـكـتـب الإعلامي يُعلن ١٢ إصداراً جديداً!!  ", "عاجل المكتب الاعلامي يعلن 12 اصدارا جديدا");
    check("\u{200F}بيان\u{200F} رقم (٣)", "بيان رقم 3");
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Arabic, Latin, digits, marks, controls, punctuation and the odd
    // compatibility character, mixed.
    let chars = prop_oneof![
        proptest::char::range('\u{0600}', '\u{06FF}'),
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        Just(' '),
        Just('\u{0640}'),
        Just('\u{200F}'),
        Just('İ'),
        Just('Σ'),
        Just('ﬁ'),
        Just('\u{FEFB}'),
        Just('\u{0301}'),
        proptest::char::range('\u{0370}', '\u{03FF}'),
        proptest::char::range('\u{2000}', '\u{206F}'),
        proptest::char::range('\u{FB50}', '\u{FEFF}'),
        any::<char>(),
    ];
    proptest::collection::vec(chars, 0..80).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalize_is_idempotent(s in text_strategy()) {
        let once = normalize(&s);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn signature_round_trips_and_agrees_with_shingle_sets(a in text_strategy(), b in text_strategy()) {
        let h = MinHasher::new(64);
        let (na, nb) = (normalize(&a), normalize(&b));
        let sa = h.sign(&na);
        prop_assert_eq!(h.sign_shingles(&shingles(&na)), sa.clone());
        prop_assert_eq!(MinHashSignature::from_hex(&sa.to_hex()), Ok(sa.clone()));
        // Equal shingle sets give equal signatures; disjoint sets never agree
        // on a permutation (a min is always one of the set's own keys).
        let (ha, hb) = (shingles(&na), shingles(&nb));
        if ha == hb {
            prop_assert_eq!(h.sign(&nb), sa);
        } else if jaccard(&ha, &hb) == 0.0 && !ha.is_empty() && !hb.is_empty() {
            prop_assert_eq!(sa.estimate_jaccard(&h.sign(&nb)), 0.0);
        }
    }
}

#[test]
fn jaccard_estimate_tracks_exact_jaccard() {
    // Texts sharing a known fraction of their shingles: the estimate from 128
    // permutations stays within a few standard errors (sd ≤ 0.045).
    let h = MinHasher::default();
    let base: Vec<String> = (0..60).map(|i| format!("w{i:03}x")).collect();
    for keep in [0usize, 15, 30, 45, 55, 60] {
        let mut other = base[..keep].to_vec();
        other.extend((keep..60).map(|i| format!("v{i:03}y")));
        let (a, b) = (normalize(&base.join(" ")), normalize(&other.join(" ")));
        let exact = jaccard(&shingles(&a), &shingles(&b));
        let est = h.sign(&a).estimate_jaccard(&h.sign(&b));
        assert!((exact - est).abs() < 0.16, "keep {keep}: exact {exact:.3}, estimate {est:.3}");
    }
}

#[test]
fn clitics_change_few_shingles() {
    let a = normalize("اعلن المكتب الاعلامي عن اصدار جديد في المدينة الشمالية هذا الصباح");
    let b = normalize("واعلن المكتب الاعلامي عن الاصدار الجديد في مدينة الشمال هذا الصباح");
    let j = jaccard(&shingles(&a), &shingles(&b));
    assert!(j > 0.6, "jaccard {j}");
}

#[test]
fn bad_signatures_are_refused() {
    assert!(MinHashSignature::from_hex("").is_err());
    assert!(MinHashSignature::from_hex("abc").is_err());
    assert!(MinHashSignature::from_hex("0000000g").is_err());
    assert_eq!(MinHashSignature::from_hex("0000000a00000001"), Ok(MinHashSignature(vec![10, 1])));
    assert_eq!(MinHashSignature::from_hex("0000000A0000FFfF"), Ok(MinHashSignature(vec![10, 0xffff])));
    let digit = |text: &str| match MinHashSignature::from_hex(text) {
        Err(SignatureParseError::InvalidDigit { position, found }) => (position, found),
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(digit("0000000g"), (7, 'g'));
    assert_eq!(digit("00000000 0000000"), (8, ' '));
    // A two-byte character: the position is its byte offset.
    assert_eq!(digit("00000é0"), (5, 'é'));
}

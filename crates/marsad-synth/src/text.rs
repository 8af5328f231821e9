//! Neutral placeholder text in Arabic, English, French and Turkish —
//! weather notes, market photos, sports results, daily bulletins — and the
//! light alterations reposters make: diacritics, tatweel, letter variants,
//! digits, an added emoji or hashtag.

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::telegram::{EntityKind, Part, RichText};

/// The language of a caption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Ar,
    En,
    Fr,
    Tr,
}

impl Lang {
    /// ISO 639-1 code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Tr => "tr",
        }
    }

    fn vocabulary(self) -> &'static Vocabulary {
        match self {
            Lang::Ar => &ARABIC,
            Lang::En => &ENGLISH,
            Lang::Fr => &FRENCH,
            Lang::Tr => &TURKISH,
        }
    }
}

/// Sentence templates and slot fillers. Slots: `{d}` day, `{p}` place,
/// `{t}`/`{u}` teams, `{n}` a number, `{c}` a temperature, `{a}`/`{b}` scores, `{h}` an hour.
struct Vocabulary {
    sentences: &'static [&'static str],
    days: &'static [&'static str],
    places: &'static [&'static str],
    teams: &'static [&'static str],
    hashtags: &'static [&'static str],
    more: &'static str,
    source: &'static str,
}

static ARABIC: Vocabulary = Vocabulary {
    sentences: &[
        "نشرة الطقس ليوم {d}: سماء صافية ورياح خفيفة، ودرجة الحرارة {c} درجة.",
        "صور من سوق الخضار في {p} صباح اليوم.",
        "نتائج الدوري المحلي: فاز فريق {t} على فريق {u} بنتيجة {a}-{b}.",
        "جولة مصورة في حديقة المدينة مع بداية فصل الربيع.",
        "النشرة اليومية: افتتاح مكتبة عامة جديدة في {p}.",
        "أسعار الفواكه مستقرة هذا الأسبوع، والتمر متوفر بكثرة في الأسواق.",
        "أعمال صيانة الطريق الساحلي مستمرة حتى نهاية الشهر.",
        "معرض للصور الفوتوغرافية عن الطبيعة يفتح أبوابه يوم {d}.",
        "توقعات بهطول أمطار خفيفة مساء الغد على {p}.",
        "مهرجان الكتاب السنوي يستقبل الزوار من الساعة {h} صباحا.",
        "موسم قطف الزيتون في القرى المجاورة وفير هذا العام.",
        "تقرير مصور عن ورشة لتعليم الخط العربي للأطفال في {p}.",
        "إغلاق مؤقت لجسر المشاة بسبب أعمال الطلاء يوم {d}.",
        "حملة تطوعية لتنظيف الشاطئ شارك فيها {n} متطوعا.",
        "انطلاق سباق الدراجات الهوائية السنوي على مسافة {n} كيلومترا.",
        "درجات الحرارة ستنخفض إلى {b} درجات ليلة {d} على المرتفعات.",
        "افتتاح سوق الحرف اليدوية في {p} يوم {d} من الساعة {h}.",
    ],
    days: &["السبت", "الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة"],
    places: &["الحي الشمالي", "الميناء القديم", "وادي الزيتون", "ساحة السوق", "التلال الغربية"],
    teams: &["النجوم", "الشروق", "الوادي", "الميناء", "الأمل"],
    hashtags: &["#الطقس", "#السوق", "#رياضة", "#النشرة_اليومية", "#صور", "#الربيع"],
    more: "المزيد",
    source: "المصدر: ",
};

static ENGLISH: Vocabulary = Vocabulary {
    sentences: &[
        "Weather note for {d}: clear skies, light wind, {c}°C in the afternoon.",
        "Photos from the morning vegetable market in {p}.",
        "League results: {t} beat {u} {a}-{b} in a friendly match.",
        "Daily bulletin: a new public library opens in {p}.",
        "Spring walk through the city garden, the tulips are in bloom.",
        "Road maintenance on the coastal highway continues until the end of the month.",
        "A photo exhibition on landscapes opens on {d}.",
        "Light rain expected tomorrow evening over {p}.",
        "The annual book fair welcomes visitors from {h} a.m.",
        "The olive harvest in the nearby villages is plentiful this season.",
        "Volunteers cleaned the beach on {d}, {n} people took part.",
        "Fruit prices are stable this week and dates are plentiful.",
        "The footbridge is closed on {d} for painting works.",
        "The annual cycling race covers {n} kilometres this year.",
        "A calligraphy workshop for children opened in {p}.",
        "Market hours change on {d}: stalls open at {h} a.m.",
    ],
    days: &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    places: &[
        "the northern district",
        "the old harbour",
        "Olive Valley",
        "Market Square",
        "the western hills",
    ],
    teams: &["Stars", "Sunrise", "Valley", "Harbour", "Hope"],
    hashtags: &["#weather", "#market", "#sports", "#dailybulletin", "#photos", "#spring"],
    more: "More",
    source: "Source: ",
};

static FRENCH: Vocabulary = Vocabulary {
    sentences: &[
        "Bulletin météo du {d} : ciel dégagé, vent léger, {c} °C l'après-midi.",
        "Photos du marché aux légumes de {p} ce matin.",
        "Résultats du championnat : {t} bat {u} {a}-{b}.",
        "Bulletin quotidien : ouverture d'une nouvelle bibliothèque dans {p}.",
        "Promenade de printemps dans le jardin municipal, les tulipes sont en fleur.",
        "Les travaux sur la route côtière se poursuivent jusqu'à la fin du mois.",
        "Une exposition de photos de paysages ouvre ses portes le {d}.",
        "Pluie légère attendue demain soir sur {p}.",
        "Le salon du livre accueille les visiteurs dès {h} heures.",
        "La récolte des olives est abondante cette saison dans les villages voisins.",
        "{n} bénévoles ont nettoyé la plage le {d}.",
        "Les prix des fruits restent stables cette semaine.",
    ],
    days: &["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    places: &[
        "le quartier nord",
        "le vieux port",
        "la vallée des oliviers",
        "la place du marché",
        "les collines de l'ouest",
    ],
    teams: &["Étoiles", "Aurore", "Vallée", "Port", "Espoir"],
    hashtags: &["#météo", "#marché", "#sport", "#bulletin", "#photos"],
    more: "Plus",
    source: "Source : ",
};

static TURKISH: Vocabulary = Vocabulary {
    sentences: &[
        "{d} için hava durumu: açık gökyüzü, hafif rüzgâr, öğleden sonra {c} derece.",
        "{p} sabah sebze pazarından fotoğraflar.",
        "Lig sonuçları: {t}, {u} takımını {a}-{b} yendi.",
        "Günlük bülten: {p} yeni bir halk kütüphanesi açıldı.",
        "Şehir parkında bahar yürüyüşü, laleler açtı.",
        "Sahil yolundaki bakım çalışmaları ay sonuna kadar sürecek.",
        "Manzara fotoğrafları sergisi {d} günü açılıyor.",
        "Yarın akşam {p} hafif yağmur bekleniyor.",
        "Kitap fuarı ziyaretçilerini saat {h} itibarıyla kabul ediyor.",
        "Komşu köylerde zeytin hasadı bu sezon bereketli.",
        "{d} günü {n} gönüllü sahili temizledi.",
        "Meyve fiyatları bu hafta sabit kaldı.",
    ],
    days: &["Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"],
    places: &[
        "kuzey mahallesinde",
        "eski limanda",
        "Zeytin Vadisi'nde",
        "Pazar Meydanı'nda",
        "batı tepelerinde",
    ],
    teams: &["Yıldızlar", "Şafak", "Vadi", "Liman", "Umut"],
    hashtags: &["#havadurumu", "#pazar", "#spor", "#bülten", "#fotoğraf"],
    more: "Devamı",
    source: "Kaynak: ",
};

/// Simple emoji (one code point each) that reposters add.
const EMOJI: &[&str] = &["🌤", "📷", "🌿", "⚽", "📚", "🍊", "✨", "📌"];

/// Arabic harakat and tanween (fathatan … sukun).
const HARAKAT: &[char] =
    &['\u{064B}', '\u{064C}', '\u{064D}', '\u{064E}', '\u{064F}', '\u{0650}', '\u{0651}', '\u{0652}'];

const TATWEEL: char = '\u{0640}';

/// Appends one filled-in sentence.
pub(crate) fn sentence<R: Rng>(rng: &mut R, lang: Lang, out: &mut String) {
    let v = lang.vocabulary();
    let template = pick(rng, v.sentences);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let slot = rest[i + 1..].chars().next().unwrap_or('}');
        match slot {
            'd' => out.push_str(pick(rng, v.days)),
            'p' => out.push_str(pick(rng, v.places)),
            't' => out.push_str(v.teams[0..3].choose(rng).copied().unwrap_or_default()),
            'u' => out.push_str(v.teams[3..].choose(rng).copied().unwrap_or_default()),
            'n' => push_number(out, rng.random_range(5..60)),
            'c' => push_number(out, rng.random_range(8..36)),
            'a' | 'b' => push_number(out, rng.random_range(0..6)),
            'h' => push_number(out, rng.random_range(7..12)),
            _ => {}
        }
        // Slots are `{x}`: one ASCII letter between braces.
        rest = rest.get(i + 3..).unwrap_or("");
    }
    out.push_str(rest);
}

fn push_number(out: &mut String, n: u32) {
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(out, "{n}");
}

fn pick<R: Rng>(rng: &mut R, items: &'static [&'static str]) -> &'static str {
    items.choose(rng).copied().unwrap_or_default()
}

/// Sentences until the text holds at least `min_chars` characters, stopping
/// before `max_chars` (the first sentence is cut to fit if it must).
pub(crate) fn paragraph<R: Rng>(rng: &mut R, lang: Lang, min_chars: usize, max_chars: usize) -> String {
    let target = rng.random_range(min_chars..=max_chars.max(min_chars));
    let mut out = String::new();
    let mut n_chars = 0;
    let mut next = String::new();
    while n_chars < target {
        next.clear();
        sentence(rng, lang, &mut next);
        let len = next.chars().count() + usize::from(!out.is_empty());
        if n_chars + len > max_chars {
            if out.is_empty() {
                out.extend(next.chars().take(max_chars));
            }
            break;
        }
        if !out.is_empty() {
            out.push(if rng.random_bool(0.2) { '\n' } else { ' ' });
        }
        out.push_str(&next);
        n_chars += len;
    }
    out
}

/// Everything a caption may carry besides its sentences.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CaptionStyle<'a> {
    pub lang: Lang,
    /// A name of the outlet, mentioned in some captions.
    pub alias: &'a str,
    /// Used in example.org links.
    pub slug: &'a str,
    pub number: u32,
}

/// A release caption: sentences, sometimes a bold header or a source line
/// naming the outlet, hashtags, a link.
pub(crate) fn caption<R: Rng>(rng: &mut R, style: &CaptionStyle<'_>, max_chars: usize) -> RichText {
    let v = style.lang.vocabulary();
    let mut text = RichText::default();
    let header = rng.random_bool(0.2);
    if header {
        text.push(Part::new(EntityKind::Bold, style.alias));
        text.push(Part::plain("\n"));
    }
    // At least 100 characters: several sentences, so that two releases'
    // captions do not come out as near-duplicates of each other by chance.
    let body = paragraph(rng, style.lang, 100, max_chars);
    if rng.random_bool(0.15) {
        // Emphasise the first sentence.
        let cut = body.find(['.', ':', '\n']).map_or(body.len(), |i| i + 1);
        text.push(Part::new(EntityKind::Bold, &body[..cut]));
        text.push(Part::plain(&body[cut..]));
    } else {
        text.push(Part::plain(body));
    }
    if !header && rng.random_bool(0.2) {
        text.push(Part::plain(format!("\n{}{}", v.source, style.alias)));
    }
    if rng.random_bool(0.3) {
        for i in 0..rng.random_range(1..=3) {
            text.push(Part::plain(if i == 0 { "\n" } else { " " }));
            text.push(Part::new(EntityKind::Hashtag, pick(rng, v.hashtags)));
        }
    }
    if rng.random_bool(0.08) {
        let href = format!("https://example.org/{}/{}", style.slug, style.number);
        text.push(Part::plain("\n"));
        if rng.random_bool(0.5) {
            text.push(Part::new(EntityKind::TextLink { href }, v.more));
        } else {
            text.push(Part::new(EntityKind::Link, href));
        }
    }
    text
}

impl RichText {
    /// Appends a run, merging adjacent plain runs as Telegram does.
    pub(crate) fn push(&mut self, part: Part) {
        if part.text.is_empty() {
            return;
        }
        if part.kind == EntityKind::Plain
            && let Some(last) = self.parts.last_mut()
            && last.kind == EntityKind::Plain
        {
            last.text.push_str(&part.text);
            return;
        }
        self.parts.push(part);
    }

    /// Applies `f` to the text of every run except URLs.
    pub(crate) fn map_text(&mut self, mut f: impl FnMut(&str) -> String) {
        for part in &mut self.parts {
            if !matches!(part.kind, EntityKind::Link) {
                part.text = f(&part.text);
            }
        }
    }
}

/// A random tag in the caption's language.
pub(crate) fn hashtag<R: Rng>(rng: &mut R, lang: Lang) -> &'static str {
    pick(rng, lang.vocabulary().hashtags)
}

/// A random emoji.
pub(crate) fn emoji<R: Rng>(rng: &mut R) -> &'static str {
    pick(rng, EMOJI)
}

fn is_arabic_letter(c: char) -> bool {
    ('\u{0621}'..='\u{064A}').contains(&c)
}

/// Letters that never join the next one, so no tatweel may follow them.
fn joins_next(c: char) -> bool {
    is_arabic_letter(c) && !"ءآأؤإاةدذرزوى".contains(c)
}

/// Whether `s` contains Arabic letters.
pub(crate) fn has_arabic(s: &str) -> bool {
    s.chars().any(is_arabic_letter)
}

/// Removes harakat, tanween, superscript alef and tatweel.
pub(crate) fn strip_marks(s: &str) -> String {
    s.chars()
        .filter(|&c| !(('\u{064B}'..='\u{065F}').contains(&c) || c == '\u{0670}' || c == TATWEEL))
        .collect()
}

/// Puts a random haraka after roughly `rate` of the Arabic letters.
pub(crate) fn add_diacritics<R: Rng>(rng: &mut R, s: &str, rate: f64) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let next_is_mark = chars.peek().is_some_and(|n| HARAKAT.contains(n));
        if is_arabic_letter(c) && !next_is_mark && rng.random_bool(rate) {
            out.push(HARAKAT.choose(rng).copied().unwrap_or('\u{064E}'));
        }
    }
    out
}

/// Stretches up to `count` words with a tatweel between two joining letters.
pub(crate) fn add_tatweel<R: Rng>(rng: &mut R, s: &str, count: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let spots: Vec<usize> = (0..chars.len().saturating_sub(1))
        .filter(|&i| joins_next(chars[i]) && is_arabic_letter(chars[i + 1]))
        .collect();
    let chosen: Vec<usize> = spots.choose_multiple(rng, count).copied().collect();
    let mut out = String::with_capacity(s.len() + count * 4);
    for (i, &c) in chars.iter().enumerate() {
        out.push(c);
        if chosen.contains(&i) {
            for _ in 0..rng.random_range(1..=3) {
                out.push(TATWEEL);
            }
        }
    }
    out
}

/// Replaces hamza-carrying alefs by bare alef, teh marbuta by heh and alef
/// maksura by yeh, each occurrence with probability `p`.
pub(crate) fn vary_letters<R: Rng>(rng: &mut R, s: &str, p: f64) -> String {
    s.chars()
        .map(|c| {
            let variant = match c {
                'أ' | 'إ' | 'آ' => 'ا',
                'ة' => 'ه',
                'ى' => 'ي',
                _ => return c,
            };
            if rng.random_bool(p) { variant } else { c }
        })
        .collect()
}

/// Latin digits to Arabic-Indic digits (٠١٢٣٤٥٦٧٨٩).
pub(crate) fn to_arabic_indic(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(0x0660 + d).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Arabic-Indic digits to Latin digits.
pub(crate) fn to_latin_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from_u32(u32::from('0') + (u32::from(c) - 0x0660)).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Restyles an original caption the way a supporter re-posting it by hand
/// would: one to three light alterations, maybe an emoji or a hashtag.
pub(crate) fn repost_caption<R: Rng>(rng: &mut R, original: &RichText, lang: Lang) -> RichText {
    let mut text = original.clone();
    let arabic = has_arabic(&text.to_plain_string());
    let n = rng.random_range(1..=3);
    for _ in 0..n {
        match rng.random_range(0..6) {
            0 if arabic => text.map_text(strip_marks),
            1 if arabic => {
                let rate = rng.random_range(0.1..0.5);
                text.map_text(|s| add_diacritics(rng, s, rate));
            }
            2 if arabic => text.map_text(|s| add_tatweel(rng, s, 2)),
            3 if arabic => text.map_text(|s| vary_letters(rng, s, 0.7)),
            4 => {
                if rng.random_bool(0.5) {
                    text.map_text(to_arabic_indic);
                } else {
                    text.map_text(to_latin_digits);
                }
            }
            _ => {
                text.push(Part::plain(" "));
                text.push(Part::plain(emoji(rng)));
            }
        }
    }
    if rng.random_bool(0.25) {
        text.push(Part::plain("\n"));
        text.push(Part::new(EntityKind::Hashtag, hashtag(rng, lang)));
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly.
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn fills_every_slot() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for lang in [Lang::Ar, Lang::En, Lang::Fr, Lang::Tr] {
            for _ in 0..200 {
                let mut s = String::new();
                sentence(&mut rng, lang, &mut s);
                assert!(!s.contains('{') && !s.contains('}'), "{s}");
            }
        }
    }

    #[test]
    fn paragraph_respects_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for lang in [Lang::Ar, Lang::En, Lang::Fr, Lang::Tr] {
            for _ in 0..200 {
                let p = paragraph(&mut rng, lang, 20, 400);
                let n = p.chars().count();
                assert!((20..=400).contains(&n), "{n}: {p}");
            }
        }
    }

    #[test]
    fn arabic_alterations() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let s = "أسعار الفواكه مستقرة إلى 12 يوما";
        assert_eq!(vary_letters(&mut rng, s, 1.0), "اسعار الفواكه مستقره الي 12 يوما");
        assert_eq!(to_arabic_indic(s), "أسعار الفواكه مستقرة إلى ١٢ يوما");
        assert_eq!(to_latin_digits(&to_arabic_indic(s)), s);
        let marked = add_diacritics(&mut rng, s, 0.5);
        let marked = add_tatweel(&mut rng, &marked, 2);
        assert_ne!(marked, s);
        assert_eq!(strip_marks(&marked), s);
    }
}

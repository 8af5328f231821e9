//! The UI's languages: English, and Arabic laid out right to left. A
//! message is written in English in the page's template and looked up
//! here for Arabic ([`ARABIC`], a catalogue by the English text); a
//! message the catalogue lacks shows in English. Users' own texts are
//! never translated, and always sit in `dir="auto"` elements.
//!
//! The language is the `lang` parameter of a page's address (`?lang=ar`,
//! `?lang=en`), kept as the `marsad_lang` cookie for the next pages; else
//! that cookie; else the browser's first `Accept-Language`; else English.

use axum::http::{HeaderMap, header};

/// A language of the UI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English (left to right).
    #[default]
    En,
    /// Arabic (right to left).
    Ar,
}

/// The cookie that keeps the chosen language.
pub const LANG_COOKIE: &str = "marsad_lang";

impl Lang {
    /// `en` or `ar`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    /// `ltr` or `rtl`.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::Ar => "rtl",
        }
    }

    /// From a code.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ar" => Some(Lang::Ar),
            _ => None,
        }
    }

    /// The language a request asks for: its `lang` parameter (and whether
    /// it was given, to be kept), else the cookie, else `Accept-Language`.
    pub fn of_request(headers: &HeaderMap, query: Option<&str>) -> (Lang, bool) {
        if let Some(q) = query
            && let Some(l) = form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| Lang::parse(&v))
        {
            return (l, true);
        }
        if let Some(l) = super::session::cookie_value(headers, LANG_COOKIE).and_then(Lang::parse) {
            return (l, false);
        }
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let first = accept.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
        (if first.starts_with("ar") { Lang::Ar } else { Lang::En }, false)
    }

    /// `en` in this language.
    pub fn t(self, en: &'static str) -> &'static str {
        self.tr(en)
    }

    /// `en` in this language, for a message made at run time.
    pub fn tr(self, en: &str) -> &str {
        match self {
            Lang::En => en,
            Lang::Ar => arabic(en).unwrap_or(en),
        }
    }
}

/// The Arabic of an English message, if the catalogue has it.
pub fn arabic(en: &str) -> Option<&'static str> {
    ARABIC.binary_search_by(|(k, _)| (*k).cmp(en)).ok().map(|i| ARABIC[i].1)
}

/// English → Arabic, sorted by the English (a test checks).
pub const ARABIC: &[(&str, &str)] = &[
    ("Accounts (admin)", "الحسابات (للمشرف)"),
    ("Active", "نشط"),
    ("Agreement", "الاتفاق"),
    ("Aliases", "أسماء أخرى"),
    ("Analyst", "المحلل"),
    ("Attribution", "النسبة"),
    ("Audit", "السجل"),
    ("Audit log", "سجل التدقيق"),
    ("Bank", "البنك"),
    ("Bank file", "ملف البنك"),
    ("Bank import", "استيراد بنك"),
    ("Banks", "البنوك"),
    ("Blur level", "درجة التمويه"),
    ("Channel", "القناة"),
    ("Channels", "القنوات"),
    ("Code", "رمّز"),
    ("Confirm", "تأكيد"),
    ("Create it if new", "أنشئه إن كان جديدًا"),
    ("Dashboard", "لوحة المتابعة"),
    ("Decision", "القرار"),
    ("Escalate", "إحالة"),
    ("Escalated", "المُحالة"),
    ("Export", "تصدير"),
    ("Export's time zone", "المنطقة الزمنية للتصدير"),
    ("Filter", "تصفية"),
    ("First seen", "أول ظهور"),
    ("Format", "الشكل"),
    ("Formats", "الأشكال"),
    ("From", "من"),
    ("Import", "استيراد"),
    ("Import into this bank", "استيراد إلى هذا البنك"),
    ("Jobs", "المهام"),
    ("Keep the media", "احتفظ بالوسائط"),
    ("Language", "اللغة"),
    ("Last seen", "آخر ظهور"),
    ("Latest decisions", "آخر القرارات"),
    ("Matches", "التطابقات"),
    ("Most sightings", "الأكثر مشاهدة"),
    ("Name", "الاسم"),
    ("Newest first", "الأحدث أولًا"),
    ("Next page", "الصفحة التالية"),
    ("No fingerprints", "بلا بصمات"),
    ("Note", "ملاحظة"),
    ("Official only", "الرسمية فقط"),
    ("Oldest first", "الأقدم أولًا"),
    ("Open", "المفتوحة"),
    ("Outlet", "المؤسسة الإعلامية"),
    ("Outlets", "المؤسسات الإعلامية"),
    ("Password", "كلمة المرور"),
    ("Posted", "نُشر"),
    ("Posts", "المنشورات"),
    ("Primary theme", "الموضوع الرئيسي"),
    ("Region", "المنطقة"),
    ("Reject", "رفض"),
    ("Release", "الإصدار"),
    ("Releases", "الإصدارات"),
    ("Releases per", "الإصدارات لكل"),
    ("Reveal", "كشف"),
    ("Revealed today", "المكشوف اليوم"),
    ("Review", "المراجعة"),
    ("Review queue", "قائمة المراجعة"),
    ("Save", "حفظ"),
    ("Search", "بحث"),
    ("Secondary themes", "مواضيع ثانوية"),
    ("Seen again lately", "ما ظهر مجددًا مؤخرًا"),
    ("Settings", "الإعدادات"),
    ("Show", "عرض"),
    ("Sightings", "المشاهدات"),
    ("Sign in", "تسجيل الدخول"),
    ("Sign out", "تسجيل الخروج"),
    ("Signal type (CSV)", "نوع الإشارة (CSV)"),
    ("Sort", "الترتيب"),
    ("Source", "المصدر"),
    ("Sources", "المصادر"),
    ("The store", "المخزن"),
    ("Themes", "المواضيع"),
    ("Timeline", "الخط الزمني"),
    ("To", "إلى"),
    ("Upload", "رفع"),
    ("What joined them", "ما جمعها"),
    ("Words", "كلمات"),
    ("Wrong name or password.", "الاسم أو كلمة المرور غير صحيحة."),
    ("attributed to an outlet", "منسوبة إلى مؤسسة"),
    ("channels", "قنوات"),
    ("releases", "إصدارات"),
    ("sightings", "مشاهدات"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_unique_and_arabic() {
        for w in ARABIC.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?} before {:?}", w[0].0, w[1].0);
        }
        for (en, ar) in ARABIC {
            assert!(
                !ar.is_empty() && ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                "{en}: {ar}"
            );
            assert_eq!(arabic(en), Some(*ar));
        }
        assert_eq!(Lang::Ar.t("Dashboard"), "لوحة المتابعة");
        assert_eq!(Lang::Ar.t("not in the catalogue"), "not in the catalogue");
        assert_eq!(Lang::En.t("Dashboard"), "Dashboard");
    }

    /// Every message a page's template looks up (`.t("…")`) is in the
    /// catalogue, so no part of a page stays English in Arabic.
    #[test]
    fn every_message_of_the_pages_is_in_the_catalogue() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("catalogue.rs"),
            include_str!("dashboard.rs"),
            include_str!("media.rs"),
            include_str!("records.rs"),
            include_str!("release.rs"),
            include_str!("review.rs"),
            include_str!("settings.rs"),
            include_str!("uploads.rs"),
        ];
        let mut missing = Vec::new();
        for src in sources {
            for (at, _) in src.match_indices(".t(\"") {
                let rest = &src[at + 4..];
                let Some(end) = rest.find("\")") else { continue };
                let message = &rest[..end];
                if arabic(message).is_none() {
                    missing.push(message.to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "not in the Arabic catalogue: {missing:?}");
    }

    #[test]
    fn the_language_is_the_parameter_then_the_cookie_then_the_browsers() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of_request(&h, None), (Lang::En, false));
        h.insert(header::ACCEPT_LANGUAGE, "ar-IQ,ar;q=0.9,en;q=0.5".parse().expect("header"));
        assert_eq!(Lang::of_request(&h, None), (Lang::Ar, false));
        h.insert(header::COOKIE, "marsad_lang=en".parse().expect("header"));
        assert_eq!(Lang::of_request(&h, None), (Lang::En, false));
        assert_eq!(Lang::of_request(&h, Some("q=x&lang=ar")), (Lang::Ar, true));
        assert_eq!(Lang::of_request(&h, Some("lang=fr")), (Lang::En, false), "an unknown one is ignored");
    }
}

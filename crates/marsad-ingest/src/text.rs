//! Flattening Telegram's `text` field: a string, or an array whose items are
//! strings or entity objects (`{"type": "bold", "text": "…"}`), into one
//! string, without building intermediate values.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Deserializes a Telegram `text` field into its flattened string.
pub(crate) fn flatten<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextVisitor).map(Some)
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings and text entities")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut out = String::new();
        while seq.next_element_seed(Part(&mut out))?.is_some() {}
        Ok(out)
    }
}

/// One item of a text array, appended to the output.
struct Part<'o>(&'o mut String);

impl<'de> de::DeserializeSeed<'de> for Part<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Part<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a text entity object with a \"text\" string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "text" {
                let text: std::borrow::Cow<'de, str> = map.next_value()?;
                self.0.push_str(&text);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct M {
        #[serde(default, deserialize_with = "super::flatten")]
        text: Option<String>,
    }

    fn check(json: &str, expected: &str) {
        let m: M = serde_json::from_str(json).expect(json);
        assert_eq!(m.text.as_deref(), Some(expected), "{json}");
    }

    #[test]
    fn shapes() {
        check(r#"{"text": "plain"}"#, "plain");
        check(r#"{"text": ""}"#, "");
        check(r#"{"text": []}"#, "");
        check(
            r#"{"text": ["a ", {"type": "bold", "text": "b"}, " c", {"type": "text_link", "text": "d", "href": "https://x"}]}"#,
            "a b cd",
        );
        check(r#"{"text": [{"href": "h", "text": "نص \"مقتبس\""}]}"#, "نص \"مقتبس\"");
        let m: M = serde_json::from_str("{}").expect("absent");
        assert_eq!(m.text, None);
    }

    #[test]
    fn wrong_types_are_errors() {
        for bad in
            [r#"{"text": 5}"#, r#"{"text": [5]}"#, r#"{"text": [{"text": 5}]}"#, r#"{"text": {"a": 1}}"#]
        {
            assert!(serde_json::from_str::<M>(bad).is_err(), "{bad}");
        }
    }
}

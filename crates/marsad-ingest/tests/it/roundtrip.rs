//! Property tests: whatever the messages and however the ingest is batched,
//! the store holds exactly the non-service messages, with texts flattened.

use marsad_core::{Platform, SourceKey, UtcTime};
use marsad_ingest::{ExactOnly, IngestConfig};
use marsad_store::prelude::*;
use marsad_store_sqlite::SqliteStore;
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
struct Msg {
    unix: i64,
    parts: Vec<(bool, String)>,
    as_array: bool,
    service: bool,
    forwarded: Option<String>,
}

fn msg() -> impl Strategy<Value = Msg> {
    let text = prop_oneof!["[a-z ]{0,12}", "[ء-ي ]{0,12}", "\\PC{0,8}"];
    (
        1_400_000_000i64..1_800_000_000,
        prop::collection::vec((any::<bool>(), text), 0..4),
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::option::of("[A-Za-z ]{1,10}"),
    )
        .prop_map(|(unix, parts, as_array, service, forwarded)| Msg {
            unix,
            parts,
            as_array,
            service,
            forwarded,
        })
}

impl Msg {
    fn flat(&self) -> String {
        self.parts.iter().map(|(_, t)| t.as_str()).collect()
    }

    fn to_json(&self, id: usize) -> Value {
        let text = if self.as_array {
            Value::Array(
                self.parts
                    .iter()
                    .map(|(entity, t)| if *entity { json!({"type": "bold", "text": t}) } else { json!(t) })
                    .collect(),
            )
        } else {
            json!(self.flat())
        };
        let mut m = json!({
            "id": id, "type": if self.service { "service" } else { "message" },
            "date_unixtime": self.unix.to_string(), "text": text,
        });
        if let Some(f) = &self.forwarded {
            m["forwarded_from"] = json!(f);
        }
        m
    }
}

fn ingest(dir: &std::path::Path, name: &str, export: &std::path::Path, batch_size: usize) -> SqliteStore {
    let mut store = SqliteStore::open(&dir.join(name)).expect("open");
    let cfg = IngestConfig { batch_size, ..IngestConfig::default() };
    marsad_ingest::telegram::ingest(&mut store, export, &cfg, &marsad_ingest::Stages::new(&ExactOnly))
        .expect("ingest");
    store
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn ingest_is_exact_and_independent_of_batching(
        msgs in prop::collection::vec(msg(), 0..60),
        b1 in 1usize..8,
        b2 in 8usize..100,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let export = dir.path().join("result.json");
        let body = json!({
            "name": "P", "type": "public_channel", "id": 42,
            "messages": msgs.iter().enumerate().map(|(i, m)| m.to_json(i + 1)).collect::<Vec<_>>(),
        });
        std::fs::write(&export, serde_json::to_vec(&body).expect("json")).expect("write");

        let a = ingest(dir.path(), "a.db", &export, b1);
        let b = ingest(dir.path(), "b.db", &export, b2);
        let key = SourceKey { platform: Platform::telegram(), platform_id: "42".into() };
        let pa = a.posts_of_source(&key).expect("posts");
        let pb = b.posts_of_source(&key).expect("posts");
        prop_assert_eq!(&pa, &pb);

        let mut expected: Vec<_> = msgs
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.service)
            .map(|(i, m)| ((i + 1).to_string(), UtcTime::from_unix_seconds(m.unix), m.flat(), m.forwarded.clone()))
            .collect();
        expected.sort_by(|x, y| (x.1, x.0.len(), &x.0).cmp(&(y.1, y.0.len(), &y.0)));
        let got: Vec<_> = pa.into_iter().map(|p| (p.platform_post_id, p.posted_at, p.text, p.forwarded_from)).collect();
        prop_assert_eq!(got, expected);
    }
}

//! Reading generated exports back: every chat of every `result.json`, with
//! the folder its media paths are relative to.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use marsad_synth::{DemoConfig, DemoCorpus, generate_demo};
use serde_json::Value;

/// A small corpus, fast to generate in a debug build.
pub fn small_config() -> DemoConfig {
    DemoConfig { days: 20, scale: 0.2, ..DemoConfig::default() }
}

/// A fresh, empty folder under the target's temp folder.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("marsad-synth-it").join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    dir
}

/// The small corpus, generated once for all tests that only read it.
pub fn shared() -> &'static DemoCorpus {
    static CORPUS: OnceLock<DemoCorpus> = OnceLock::new();
    CORPUS.get_or_init(|| generate_demo(&fresh_dir("shared"), &small_config()).unwrap())
}

/// One chat of an export.
pub struct ChatExport {
    /// Folder the chat's media paths are relative to.
    pub root: PathBuf,
    pub chat: Value,
}

impl ChatExport {
    pub fn id(&self) -> i64 {
        self.chat["id"].as_i64().unwrap()
    }

    pub fn messages(&self) -> &[Value] {
        self.chat["messages"].as_array().unwrap()
    }
}

/// Every chat of every export: single-chat documents are a chat themselves,
/// whole-account ones list theirs under `chats.list`.
pub fn read_chats(corpus: &DemoCorpus) -> Vec<ChatExport> {
    let mut chats = Vec::new();
    for path in &corpus.exports {
        let doc: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let root = path.parent().unwrap().to_path_buf();
        match doc["chats"]["list"].as_array() {
            Some(list) => {
                chats.extend(list.iter().map(|c| ChatExport { root: root.clone(), chat: c.clone() }))
            }
            None => chats.push(ChatExport { root, chat: doc }),
        }
    }
    chats
}

pub fn unixtime(message: &Value) -> i64 {
    message["date_unixtime"].as_str().unwrap().parse().unwrap()
}

/// The media path of a message (`photo` or `file`), if any.
pub fn media_path(message: &Value) -> Option<&str> {
    message.get("photo").or_else(|| message.get("file")).and_then(Value::as_str)
}

/// The plain text of a message's `text`, string or array.
pub fn plain_text(message: &Value) -> String {
    match &message["text"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| p.as_str().map_or_else(|| p["text"].as_str().unwrap().to_owned(), str::to_owned))
            .collect(),
        other => panic!("unexpected text {other}"),
    }
}

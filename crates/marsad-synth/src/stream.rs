//! Large text-only single-chat exports, streamed to disk in constant memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::DemoConfig;
use crate::catalog::{OUTLETS, SUPPORTERS};
use crate::clock::{HOUR, MINUTE, Stamp};
use crate::telegram::{Action, Body, ChatKind, ChatStream, EntityKind, Message, Part, Post, RichText};
use crate::text::{self, Lang};

/// Name of the chat in text exports.
const CHAT_NAME: &str = "Synthetic Text Channel";
/// Its Telegram id.
const CHAT_ID: i64 = 1_000_000_999;

pub(crate) fn write_text_export(path: &Path, n_messages: u64, seed: u64) -> io::Result<()> {
    let defaults = DemoConfig::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut stream = ChatStream::begin(file, CHAT_NAME, ChatKind::PublicChannel, CHAT_ID)?;
    let from_id = format!("channel{CHAT_ID}");
    let mut t = defaults.start_unix;
    let mut id = 0;
    let mut last_post = None;
    for _ in 0..n_messages {
        t += rng.random_range(1..10 * MINUTE);
        id += if rng.random_bool(0.02) { rng.random_range(2..5) } else { 1 };
        let date = Stamp::new(t, defaults.utc_offset_secs);
        let roll = rng.random_range(0..100);
        let message = match last_post {
            Some(message_id) if roll < 5 => Message {
                id,
                date,
                edited: None,
                body: Body::Service {
                    actor: CHAT_NAME.to_owned(),
                    actor_id: from_id.clone(),
                    action: Action::PinMessage { message_id },
                },
            },
            _ => {
                let lang = *[Lang::Ar, Lang::Ar, Lang::Ar, Lang::En, Lang::Fr, Lang::Tr]
                    .choose(&mut rng)
                    .unwrap_or(&Lang::Ar);
                let max_chars = rng.random_range(20..=400);
                let body = text::paragraph(&mut rng, lang, 20, max_chars);
                let text = if roll < 70 { RichText::plain(body) } else { decorate(&mut rng, body, lang) };
                let edited = rng
                    .random_bool(0.08)
                    .then(|| Stamp::new(t + rng.random_range(MINUTE..2 * HOUR), date.offset));
                let forwarded_from = rng.random_bool(0.1).then(|| forward_source(&mut rng).to_owned());
                let reply_to_message_id = last_post.filter(|_| rng.random_bool(0.07));
                last_post = Some(id);
                Message {
                    id,
                    date,
                    edited,
                    body: Body::Post(Post {
                        from: CHAT_NAME.to_owned(),
                        from_id: from_id.clone(),
                        forwarded_from,
                        reply_to_message_id,
                        media: None,
                        text,
                    }),
                }
            }
        };
        stream.push(&message)?;
    }
    stream.finish()?.flush()
}

fn forward_source<R: Rng>(rng: &mut R) -> &'static str {
    let i = rng.random_range(0..OUTLETS.len() + SUPPORTERS.len());
    OUTLETS.get(i).map_or_else(|| SUPPORTERS[i - OUTLETS.len()].name, |o| o.name)
}

/// Formats a span of the text and appends tags and links, so the text is
/// written as an array of strings and entity objects.
fn decorate<R: Rng>(rng: &mut R, body: String, lang: Lang) -> RichText {
    let spaces: Vec<usize> = body.match_indices(' ').map(|(i, _)| i).collect();
    let mut text = RichText::default();
    let kind = if rng.random_bool(0.7) { EntityKind::Bold } else { EntityKind::Italic };
    if spaces.len() < 2 {
        text.push(Part::new(kind, body));
    } else {
        let a = rng.random_range(0..spaces.len() - 1);
        let b = rng.random_range(a + 1..spaces.len());
        let (start, end) = (spaces[a] + 1, spaces[b]);
        text.push(Part::plain(&body[..start]));
        text.push(Part::new(kind, &body[start..end]));
        text.push(Part::plain(&body[end..]));
    }
    if rng.random_bool(0.5) {
        text.push(Part::plain(" "));
        text.push(Part::new(EntityKind::Hashtag, text::hashtag(rng, lang)));
    }
    match rng.random_range(0..10) {
        0..2 => {
            text.push(Part::plain("\n"));
            let href = format!("https://example.org/text/{}", rng.random_range(1..100_000));
            text.push(Part::new(EntityKind::TextLink { href }, "example.org"));
        }
        2 => {
            text.push(Part::plain(" "));
            text.push(Part::new(EntityKind::Link, "https://example.org/"));
        }
        3 => {
            text.push(Part::plain(" "));
            text.push(Part::new(EntityKind::Mention, "@example_channel"));
        }
        _ => {}
    }
    text
}

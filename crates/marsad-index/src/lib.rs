//! marsad's matchers, in memory: the structures that answer "what do we
//! already know that looks like this?" for every signal type.
//!
//! - [`pdq::PdqIndex`]: exact PDQ range search (every hash within `T`
//!   bits), multi-index hashing with a pair filter, SIMD chosen at run time.
//! - [`text::TextLsh`]: MinHash LSH candidates for near-duplicate text.
//! - [`vpdq::VpdqIndex`]: video matching with Meta's vPDQ semantics.
//! - [`audio::AudioIndex`]: Chromaprint matching by offset votes and bit
//!   error rate.
//!
//! Ids are the caller's `u32`s; these structures know nothing of banks or
//! stores.
//!
//! ```
//! use marsad_hash::pdq::PdqHash;
//! use marsad_index::pdq::PdqIndex;
//!
//! let a = PdqHash::from_hex(&"f0".repeat(32)).unwrap();
//! let mut near = a;
//! near.flip_bit(3);
//! let index = PdqIndex::build([(a, 7)]);
//! let mut hits = Vec::new();
//! index.range(&near, 31, &mut hits);
//! assert_eq!((hits[0].id, hits[0].distance), (7, 1));
//! ```
#![deny(missing_docs)]

pub mod audio;
pub mod pdq;
pub mod text;
pub mod vpdq;

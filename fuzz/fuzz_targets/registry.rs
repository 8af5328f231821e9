//! The outlet registry (TOML) reader: an error naming the outlet, or
//! outlets whose names are unique and non-empty and whose channels belong
//! to one outlet each.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(outlets) = marsad_observe::registry::parse(text) {
        let mut names = HashSet::new();
        let mut channels = HashSet::new();
        for o in &outlets {
            assert!(!o.name.is_empty());
            assert!(names.insert(o.name.clone()), "name {:?} twice", o.name);
            for c in &o.channels {
                assert!(channels.insert(c.clone()), "channel {c} twice");
            }
        }
    }
    for line in text.lines().take(16) {
        let _ = marsad_observe::registry::parse_channel(line);
    }
});

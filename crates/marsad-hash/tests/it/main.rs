//! Integration tests for marsad-hash (one test crate, modules per area).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod conformance;
mod decode;
mod props;
mod pytx;
mod text;
mod tiff;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

/// `shared/conformance` beside the project; the conformance suite must not
/// pass silently when it is missing.
pub fn conformance_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    assert!(
        dir.join("pdq/expected.csv").is_file(),
        "conformance vectors not found at {} (expected shared/conformance beside the project)",
        dir.display()
    );
    dir
}

/// Runs a Python `script` with `dir` as its argument (it writes its files
/// there and prints its table) and returns what it printed. The reference
/// tools must be installed: the test fails loudly, never skips.
pub fn run_reference(script: &str, dir: &std::path::Path) -> String {
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(dir).output().unwrap_or_else(|e| {
        panic!("running python3 failed ({e}); install Python 3 with `pip install threatexchange pdqhash pillow`")
    });
    assert!(
        out.status.success(),
        "the reference script failed (needs `pip install threatexchange pdqhash pillow`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The system allocator, counting what each thread allocates, so a test can
/// assert that a call stayed within a memory budget.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the bookkeeping only touches
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + layout.size();
            live.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract for
        // `layout`, which is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(layout.size())));
        // SAFETY: our caller upholds `GlobalAlloc::dealloc`'s contract:
        // `ptr` came from `alloc` above (so from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak number of bytes this thread
/// had allocated during the call (above what it held before).
pub fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, peak.saturating_sub(base))
}

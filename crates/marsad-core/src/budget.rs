//! One memory budget shared by every worker of a process: decoding an
//! image, a batch of video frames or a long text first reserves the bytes it
//! will hold, and waits while other workers hold the rest. Whatever the
//! input and however many cores, the memory those items hold together stays
//! under the budget; an item that needs more than the whole budget on its
//! own is refused at once.
//!
//! A worker holds at most one [`Reservation`] at a time and waits only while
//! it holds none ([`Reservation::resize`] gives its bytes back before
//! waiting for more), so workers cannot deadlock on the budget. That holds
//! only if nothing done while holding a reservation can run another
//! worker's job on the same thread: work under a reservation must not wait
//! on a work-stealing pool (rayon) whose jobs may reserve too.
//!
//! ```
//! use marsad_core::MemoryBudget;
//! let budget = MemoryBudget::new(1000);
//! let a = budget.reserve(600, "an image").unwrap();
//! assert_eq!(budget.in_use(), 600);
//! assert!(budget.reserve(2000, "a larger image").is_err());
//! drop(a);
//! assert_eq!(budget.in_use(), 0);
//! ```

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// The default budget: 512 MiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 512 << 20;

/// A budget of bytes shared by the workers of a process (cheap to clone: the
/// clones share one count).
#[derive(Clone)]
pub struct MemoryBudget {
    shared: Arc<Shared>,
}

struct Shared {
    total: u64,
    in_use: Mutex<u64>,
    freed: Condvar,
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget").field("total", &self.total()).field("in_use", &self.in_use()).finish()
    }
}

impl Default for MemoryBudget {
    /// [`DEFAULT_MEMORY_BUDGET`].
    fn default() -> Self {
        MemoryBudget::new(DEFAULT_MEMORY_BUDGET)
    }
}

/// An item needs more memory than the whole budget.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} needs {} of memory, over the memory budget of {} (raise it with --memory)", Size(*.needs), Size(*.budget))]
pub struct OverBudget {
    /// What was to be held.
    pub what: String,
    /// The bytes it needs.
    pub needs: u64,
    /// The whole budget.
    pub budget: u64,
}

/// Bytes printed in binary units (`512 MiB`, `1.5 GiB`, `900 B`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut v = self.0 as f64;
        let mut unit = 0;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        if unit == 0 || v.fract() == 0.0 {
            write!(f, "{v:.0} {}", UNITS[unit])
        } else {
            write!(f, "{v:.1} {}", UNITS[unit])
        }
    }
}

/// Parses a size: a number with an optional unit `K`, `M`, `G` or `T`
/// (each a power of 1024; `KiB`, `MB`, `g`… are read the same), or `B`
/// or none for bytes: `512M`, `2G`, `1.5GiB`, `1048576`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || {
        format!(
            "invalid size {text:?}: expected a number with an optional unit K, M, G or T (powers of 1024), e.g. 512M"
        )
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix("ib").or_else(|| unit.strip_suffix('b')).unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

impl MemoryBudget {
    /// A budget of `total` bytes.
    pub fn new(total: u64) -> Self {
        MemoryBudget { shared: Arc::new(Shared { total, in_use: Mutex::new(0), freed: Condvar::new() }) }
    }

    /// The whole budget in bytes.
    pub fn total(&self) -> u64 {
        self.shared.total
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> u64 {
        *self.shared.in_use.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `bytes` for `what`, waiting while other workers hold too
    /// much; refused at once when `bytes` is more than the whole budget.
    /// The bytes return to the budget when the reservation is dropped.
    pub fn reserve(&self, bytes: u64, what: impl fmt::Display) -> Result<Reservation, OverBudget> {
        self.check(bytes, &what)?;
        self.wait_for(bytes);
        Ok(Reservation { budget: self.clone(), bytes })
    }

    fn check(&self, bytes: u64, what: &dyn fmt::Display) -> Result<(), OverBudget> {
        if bytes > self.shared.total {
            return Err(OverBudget { what: what.to_string(), needs: bytes, budget: self.shared.total });
        }
        Ok(())
    }

    fn wait_for(&self, bytes: u64) {
        let s = &self.shared;
        let mut in_use = s.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        while s.total - *in_use < bytes {
            in_use = s.freed.wait(in_use).unwrap_or_else(PoisonError::into_inner);
        }
        *in_use += bytes;
    }

    fn release(&self, bytes: u64) {
        let s = &self.shared;
        let mut in_use = s.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        *in_use = in_use.saturating_sub(bytes);
        drop(in_use);
        s.freed.notify_all();
    }
}

/// Bytes held from a [`MemoryBudget`] until dropped.
#[derive(Debug)]
#[must_use = "the bytes return to the budget as soon as the reservation is dropped"]
pub struct Reservation {
    budget: MemoryBudget,
    bytes: u64,
}

impl Reservation {
    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Holds `bytes` instead: less is given back at once; more is checked
    /// against the whole budget, then waited for with this reservation's
    /// bytes given back first (so that two workers growing at once cannot
    /// wait on each other).
    pub fn resize(&mut self, bytes: u64, what: impl fmt::Display) -> Result<(), OverBudget> {
        if bytes <= self.bytes {
            self.budget.release(self.bytes - bytes);
            self.bytes = bytes;
            return Ok(());
        }
        self.budget.check(bytes, &what)?;
        let held = self.bytes;
        {
            // Grow in place when the rest of the budget allows it.
            let s = &self.budget.shared;
            let mut in_use = s.in_use.lock().unwrap_or_else(PoisonError::into_inner);
            if s.total - *in_use >= bytes - held {
                *in_use += bytes - held;
                self.bytes = bytes;
                return Ok(());
            }
        }
        self.budget.release(held);
        self.bytes = 0;
        self.budget.wait_for(bytes);
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.release(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn over_the_whole_budget_is_refused_with_both_figures() {
        let b = MemoryBudget::new(512 << 20);
        let e = b.reserve(600 << 20, "decoding the png image of 10000x10000").unwrap_err();
        assert_eq!(
            e.to_string(),
            "decoding the png image of 10000x10000 needs 600 MiB of memory, over the memory budget of 512 MiB (raise it with --memory)"
        );
        assert_eq!(b.in_use(), 0);
        let mut r = b.reserve(10, "x").unwrap();
        assert!(r.resize(513 << 20, "more").is_err());
        assert_eq!(r.bytes(), 10, "a refused resize keeps what was held");
    }

    #[test]
    fn resize_gives_back_and_grows() {
        let b = MemoryBudget::new(100);
        let mut r = b.reserve(60, "a").unwrap();
        r.resize(20, "a").unwrap();
        assert_eq!(b.in_use(), 20);
        r.resize(100, "a").unwrap();
        assert_eq!(b.in_use(), 100);
        drop(r);
        assert_eq!(b.in_use(), 0);
    }

    #[test]
    fn workers_together_never_hold_more_than_the_budget() {
        let b = MemoryBudget::new(1000);
        let held = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(0));
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (b, held, peak) = (b.clone(), Arc::clone(&held), Arc::clone(&peak));
                s.spawn(move || {
                    for i in 0..200u64 {
                        let want = 100 + (t * 37 + i * 91) % 800;
                        let mut r = b.reserve(want / 2, "item").unwrap();
                        r.resize(want, "item").unwrap();
                        let now = held.fetch_add(want, Ordering::SeqCst) + want;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        held.fetch_sub(want, Ordering::SeqCst);
                        drop(r);
                    }
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 1000, "peak {}", peak.load(Ordering::SeqCst));
        assert!(peak.load(Ordering::SeqCst) > 0);
        assert_eq!(b.in_use(), 0);
    }

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("64 kb"), Ok(64 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        for bad in ["", "M", "12X", "-1G", "1e9", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(Size(900).to_string(), "900 B");
        assert_eq!(Size(512 << 20).to_string(), "512 MiB");
        assert_eq!(Size(3 << 29).to_string(), "1.5 GiB");
    }
}

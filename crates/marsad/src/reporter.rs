//! Progress bars: the binary's implementation of the libraries' `Reporter`.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use marsad_engine::{Reporter, Unit};

/// Draws a progress bar per phase on stderr when it is a terminal.
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bars {
    pub fn new() -> Self {
        Bars { bar: Mutex::new(None), enabled: std::io::stderr().is_terminal() }
    }
}

impl Reporter for Bars {
    fn start(&self, phase: &str, total: Option<u64>, unit: Unit) {
        if !self.enabled {
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        let template = match (unit, total.is_some()) {
            (Unit::Bytes, true) => {
                "{prefix:>10} [{bar:30}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})"
            }
            (Unit::Bytes, false) => "{prefix:>10} {spinner} {binary_bytes} ({binary_bytes_per_sec})",
            (Unit::Records, true) => "{prefix:>10} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta})",
            (Unit::Records, false) => "{prefix:>10} {spinner} {human_pos} ({per_sec})",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(phase.to_owned());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

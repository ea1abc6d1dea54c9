//! Step-by-step progress on stderr.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

/// One spinner per long step; finished steps stay on screen with their time.
pub struct Steps {
    total: usize,
    n: usize,
    quiet: bool,
}

impl Steps {
    pub fn new(total: usize, quiet: bool) -> Self {
        Self { total, n: 0, quiet }
    }

    /// Run `f` as the next step, showing a spinner while it works.
    pub fn run<T>(&mut self, what: &str, f: impl FnOnce() -> eyre::Result<T>) -> eyre::Result<T> {
        self.n += 1;
        let label = format!("[{}/{}] {what}", self.n, self.total);
        let bar = if self.quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
        bar.set_message(label.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        let start = Instant::now();
        let out = f();
        bar.finish_and_clear();
        if !self.quiet {
            let mark = if out.is_ok() { "done" } else { "FAILED" };
            eprintln!("{label} … {mark} in {:.1} s", start.elapsed().as_secs_f64());
        }
        out
    }
}

//! How far a long copy is, and how fast it goes, for the UI's progress bar.

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub bytes: u64,
    /// Known when the size is known beforehand (a volume's `du`, a file's length).
    pub total: Option<u64>,
    /// Average since the start.
    pub rate_bytes_per_s: f64,
}

/// Turns byte counts into [`Progress`]. The clock is passed in so tests choose the times.
#[derive(Debug, Clone, Copy)]
pub struct Meter {
    start: Instant,
    total: Option<u64>,
}

impl Meter {
    pub fn new(start: Instant, total: Option<u64>) -> Self {
        Meter { start, total }
    }

    /// Progress after `bytes` at `now`; the rate is 0 until any time has passed.
    pub fn at(&self, bytes: u64, now: Instant) -> Progress {
        let secs = now.saturating_duration_since(self.start).as_secs_f64();
        Progress {
            bytes,
            total: self.total,
            rate_bytes_per_s: if secs > 0.0 { bytes as f64 / secs } else { 0.0 },
        }
    }
}

//! Per-agent rate limits: a fixed one-minute window, counted in state the host shares across
//! worker threads. This module is the arithmetic; the filter does the compare-and-swap.

/// A window's count, as stored in shared data (12 bytes: minute, count, little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Minutes since the Unix epoch.
    pub minute: u64,
    pub count: u32,
}

impl Window {
    pub fn encode(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.minute.to_le_bytes());
        out[8..].copy_from_slice(&self.count.to_le_bytes());
        out
    }

    /// `None` for anything that is not 12 bytes: such a value starts a new window.
    pub fn decode(bytes: &[u8]) -> Option<Window> {
        let minute = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let count = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
        (bytes.len() == 12).then_some(Window { minute, count })
    }
}

/// The outcome of taking one request from a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    pub allowed: bool,
    /// Requests per minute.
    pub limit: u32,
    /// Requests left in this window after this one.
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: u64,
    /// What to store (unchanged when refused).
    pub next: Window,
}

/// Takes one request at `now_secs` from a window holding `current`.
pub fn take(limit: u32, now_secs: u64, current: Option<Window>) -> Take {
    let minute = now_secs / 60;
    let reset_secs = 60 - now_secs % 60;
    let used = match current {
        Some(w) if w.minute == minute => w.count,
        _ => 0,
    };
    if used >= limit {
        return Take { allowed: false, limit, remaining: 0, reset_secs, next: Window { minute, count: used } };
    }
    let count = used + 1;
    Take { allowed: true, limit, remaining: limit - count, reset_secs, next: Window { minute, count } }
}

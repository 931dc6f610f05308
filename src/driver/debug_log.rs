//! Opt-in diagnostics: with `DNSSD_DEBUG` set (to anything but `0`), the
//! engine describes each packet it sends and receives and each interface
//! change on stderr. The library is otherwise silent. Lines are capped per
//! second, so a busy or hostile link cannot flood the output.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::wire::message;

/// The environment variable that turns the log on.
pub const DEBUG_ENV: &str = "DNSSD_DEBUG";
/// At most this many lines a second; the rest are counted and reported.
const LINES_PER_SECOND: u32 = 200;

pub struct DebugLog {
    enabled: bool,
    window: Instant,
    lines: u32,
    dropped: u32,
}

impl DebugLog {
    pub fn from_env() -> DebugLog {
        let enabled = std::env::var(DEBUG_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
        DebugLog { enabled, window: Instant::now(), lines: 0, dropped: 0 }
    }

    pub fn line(&mut self, text: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            if self.dropped > 0 {
                eprintln!("dns-sd: ({} lines dropped)", self.dropped);
            }
            self.window = now;
            self.lines = 0;
            self.dropped = 0;
        }
        if self.lines >= LINES_PER_SECOND {
            self.dropped += 1;
            return;
        }
        self.lines += 1;
        eprintln!("dns-sd: {}", text());
    }

    /// One line describing a datagram.
    pub fn packet(&mut self, direction: &str, ifindex: u32, peer: SocketAddr, payload: &[u8]) {
        self.line(|| match message::decode(payload) {
            Some(m) => {
                let questions: Vec<String> = m.queries.iter().map(|q| format!("{} {}", q.name(), q.query_type())).collect();
                let records: Vec<String> = m.answers.iter().map(|r| format!("{} {} ttl={}", r.name, r.record_type(), r.ttl)).collect();
                format!(
                    "{direction} if{ifindex} {peer} {} bytes {:?} q=[{}] an=[{}] ns={} ar={}",
                    payload.len(),
                    m.metadata.message_type,
                    questions.join(", "),
                    records.join(", "),
                    m.authorities.len(),
                    m.additionals.len()
                )
            }
            None => format!("{direction} if{ifindex} {peer} {} bytes (malformed)", payload.len()),
        });
    }
}

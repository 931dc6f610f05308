//! The text the tool prints, in the format of Apple's `dns-sd`, so that
//! scripts written for it keep working.

use std::fmt::Write as _;
use std::io::Write as _;

/// Local time of day and date, from the C library (which knows the time zone).
struct LocalTime {
    date: String,
    clock: String,
}

fn local_time() -> LocalTime {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seconds = now.as_secs() as i64;
    let millis = now.subsec_millis();
    let (date, hour, minute, second) = dns_sd::driver::localtime::local_date_and_time(seconds);
    LocalTime { date, clock: format!("{hour:2}:{minute:02}:{second:02}.{millis:03}  ") }
}

/// Prints the time stamp that starts each result line, preceded by a
/// `DATE:` line whenever the day changed since the last one.
pub struct Stamper {
    last_date: Option<String>,
}

impl Stamper {
    pub fn new() -> Self {
        Stamper { last_date: None }
    }

    pub fn stamp(&mut self) -> String {
        let now = local_time();
        let mut out = String::new();
        if self.last_date.as_deref() != Some(&now.date) {
            let _ = writeln!(out, "DATE: ---{}---", now.date);
            self.last_date = Some(now.date);
        }
        out.push_str(&now.clock);
        out
    }
}

/// Writes and flushes (the tool's output is read by scripts as it comes).
pub fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

pub const BROWSE_HEADER: &str = "Timestamp     A/R    Flags  if Domain               Service Type         Instance Name\n";

/// One browse result line (after the time stamp).
pub fn browse_line(add: bool, flags: u32, ifindex: u32, domain: &str, service_type: &str, name: &str) -> String {
    format!("{} {:8X} {:3} {:<20} {:<20} {}\n", if add { "Add" } else { "Rmv" }, flags, ifindex as i32, domain, service_type, name)
}

/// One resolve result (after the time stamp), with the TXT on its own line
/// unless it is the lone empty string.
pub fn resolve_line(fullname: &str, host: &str, port: u16, ifindex: u32, flags: u32, txt: &[u8]) -> String {
    let mut out = format!("{fullname} can be reached at {host}:{port} (interface {})", ifindex as i32);
    if flags != 0 {
        let _ = write!(out, " Flags: {flags:X}");
    }
    if txt.len() > 1 {
        out.push('\n');
        out.push_str(&dns_sd::wire::txt::display_like_dns_sd(txt));
    }
    out.push('\n');
    out
}

/// The register reply line (after the time stamp).
pub fn register_line(name: &str, service_type: &str, domain: &str, added: bool) -> String {
    format!(
        "Got a reply for service {name}.{service_type}{domain}: {}\n",
        if added { "Name now registered and active" } else { "Name registration removed" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browse_line_matches_apple_columns() {
        assert_eq!(
            browse_line(true, 2, 1, "local.", "_http._tcp.", "Test"),
            "Add        2   1 local.               _http._tcp.          Test\n"
        );
        assert_eq!(
            browse_line(false, 0, 3, "local.", "_http._tcp.", "My Box"),
            "Rmv        0   3 local.               _http._tcp.          My Box\n"
        );
    }

    #[test]
    fn resolve_line_shows_txt_only_when_not_empty() {
        assert_eq!(
            resolve_line("Test._http._tcp.local.", "vm.local.", 8080, 1, 0, b"\0"),
            "Test._http._tcp.local. can be reached at vm.local.:8080 (interface 1)\n"
        );
        assert_eq!(
            resolve_line("T._http._tcp.local.", "h.local.", 80, 2, 0, b"\x05a=one"),
            "T._http._tcp.local. can be reached at h.local.:80 (interface 2)\n a=one\n"
        );
    }

    #[test]
    fn register_line_matches_apple() {
        assert_eq!(
            register_line("Test", "_http._tcp.", "local.", true),
            "Got a reply for service Test._http._tcp.local.: Name now registered and active\n"
        );
    }
}

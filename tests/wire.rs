//! Ring 2, on the wire: what the engine sends, read back from packets
//! captured on a virtual link (RFC 6762 and RFC 6763; the row names are
//! those of the conformance checklist). Every interval is measured between
//! pcap timestamps. Needs root (network namespaces and tcpdump).
//!
//! Each test starts its own lab and starts the capture before our program:
//! - registration: probes, announcements, TTLs and cache-flush bits;
//! - goodbye: SIGINT to the register program;
//! - answers: hand-made queries from a second host (a Python stdlib UDP
//!   sender), the responder's delays, rate limit, known-answer suppression,
//!   legacy unicast, NSEC and the reverse-mapping PTR;
//! - querying: the continuous queries of `dns-sd -B`;
//! - truncated queries with known answers in further packets, the rate
//!   limit for records sent as additional records, and the other address
//!   family as additional records of an address answer.
//!
//! Every packet our program sends is also held to the rules that apply to
//! all of them (`check_sent_by_us`): IP TTL 255, source port 5353, header
//! bits, cache-flush bits, no empty TXT. `DSD_WIRE_SHOW=1` prints each
//! capture, decoded.

mod support;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::PTR;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use support::*;

// ---------------------------------------------------------------------------
// Expected values
// ---------------------------------------------------------------------------

const MDNS_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
const MDNS_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
const SERVICES: &str = "_services._dns-sd._udp.local.";
/// RFC 6762 §10: SRV, A, AAAA and reverse PTRs.
const HOST_TTL: u32 = 120;
/// RFC 6762 §10: PTR and TXT.
const OTHER_TTL: u32 = 4500;
const CACHE_FLUSH: u16 = 0x8000;
const CLASS_IN: u16 = 1;

/// Scheduling slack on a busy two-core machine, added to the upper end of
/// a window (and taken from the lower end where lateness can shrink an
/// interval).
const SLACK: f64 = 0.040;
/// For "at least this long after" checks: a packet can reach the capture a
/// few milliseconds after the engine decided to send it, which shortens
/// the interval to the next one by as much.
const STAMP_JITTER: f64 = 0.005;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap_or_else(|e| panic!("bad name {s}: {e}"))
}

/// Wall-clock time in the pcap timestamps' terms (seconds since the epoch).
fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs_f64()
}

fn sleep_until_epoch(t: f64) {
    let left = t - epoch_now();
    if left > 0.0 {
        thread::sleep(secs(left));
    }
}

fn example(program: &str) -> String {
    build_c_examples().join(program).display().to_string()
}

fn wait_registered(proc: &Proc) -> String {
    proc.wait_for_line(|l: &str| l.starts_with("REGISTERED ") || l.starts_with("ERROR"), Duration::from_secs(5))
        .filter(|l| l.starts_with("REGISTERED "))
        .unwrap_or_else(|| panic!("no registration: {}", proc.describe()))
}

// ---------------------------------------------------------------------------
// Decoded packets: hickory's reading plus the raw fields it abstracts away
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Answer,
    Authority,
    Additional,
}

/// One resource record as it was on the wire.
#[derive(Clone, Debug)]
struct Rr {
    section: Section,
    record: Record,
    /// The class field as sent, cache-flush bit included.
    class: u16,
    /// Where its rdata lies in the payload (names in it may be compressed).
    rdata: Range<usize>,
}

impl Rr {
    fn cache_flush(&self) -> bool {
        self.class & CACHE_FLUSH != 0
    }

    fn rtype(&self) -> RecordType {
        self.record.record_type()
    }

    fn is(&self, owner: &str, rtype: RecordType) -> bool {
        self.rtype() == rtype && self.record.name == name(owner)
    }

    fn ptr_target(&self) -> Option<&Name> {
        match &self.record.data {
            RData::PTR(PTR(target)) => Some(target),
            _ => None,
        }
    }

    fn srv(&self) -> Option<(u16, u16, u16, &Name)> {
        match &self.record.data {
            RData::SRV(srv) => Some((srv.priority, srv.weight, srv.port, &srv.target)),
            _ => None,
        }
    }

    fn address(&self) -> Option<IpAddr> {
        match &self.record.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        }
    }

    /// A reverse-mapping PTR (unique, RFC 6762 §4) rather than a DNS-SD
    /// PTR (shared).
    fn is_reverse(&self) -> bool {
        let owner = self.record.name.to_ascii().to_ascii_lowercase();
        owner.ends_with(".in-addr.arpa.") || owner.ends_with(".ip6.arpa.")
    }
}

#[derive(Clone, Debug)]
struct Packet {
    time: f64,
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    dst_port: u16,
    ip_ttl: u8,
    payload: Vec<u8>,
    message: Message,
    /// Class fields of the questions as sent (QU bit included).
    qclasses: Vec<u16>,
    rrs: Vec<Rr>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// The offset just past a (possibly compressed) name starting at `at`.
fn skip_name(b: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *b.get(at)? as usize;
        match len & 0xc0 {
            0 if len == 0 => return Some(at + 1),
            0 => at += 1 + len,
            0xc0 => return Some(at + 2),
            _ => return None,
        }
    }
}

/// The name at `at`, following compression pointers, as dotted text.
fn name_at(b: &[u8], mut at: usize) -> Option<String> {
    let mut text = String::new();
    for _ in 0..128 {
        let len = *b.get(at)? as usize;
        if len == 0 {
            return Some(if text.is_empty() { ".".into() } else { text });
        }
        if len & 0xc0 == 0xc0 {
            at = ((len & 0x3f) << 8) | *b.get(at + 1)? as usize;
            continue;
        }
        text.push_str(std::str::from_utf8(b.get(at + 1..at + 1 + len)?).ok()?);
        text.push('.');
        at += 1 + len;
    }
    None
}

/// Whether the name at `at` uses a compression pointer.
fn name_is_compressed(b: &[u8], mut at: usize) -> bool {
    while let Some(&len) = b.get(at) {
        if len == 0 {
            return false;
        }
        if len & 0xc0 != 0 {
            return true;
        }
        at += 1 + len as usize;
    }
    false
}

/// Question classes, and (class, rdata range) of every record, in order.
type RawFields = (Vec<u16>, Vec<(u16, Range<usize>)>);

fn raw_fields(b: &[u8]) -> Option<RawFields> {
    let qd = be16(b, 4)?;
    let rr_count = be16(b, 6)? as usize + be16(b, 8)? as usize + be16(b, 10)? as usize;
    let mut at = 12;
    let mut qclasses = Vec::new();
    for _ in 0..qd {
        at = skip_name(b, at)?;
        qclasses.push(be16(b, at + 2)?);
        at += 4;
    }
    let mut rrs = Vec::new();
    for _ in 0..rr_count {
        at = skip_name(b, at)?;
        let class = be16(b, at + 2)?;
        let len = be16(b, at + 8)? as usize;
        let start = at + 10;
        if start + len > b.len() {
            return None;
        }
        rrs.push((class, start..start + len));
        at = start + len;
    }
    Some((qclasses, rrs))
}

impl Packet {
    fn decode(u: &UdpPacket) -> Packet {
        let fail = |why: &str| -> ! {
            panic!(
                "{why}: {}:{} -> {}:{} at {:.6}, payload {:02x?}",
                u.src, u.src_port, u.dst, u.dst_port, u.time, u.payload
            )
        };
        let message = Message::from_vec(&u.payload).unwrap_or_else(|e| fail(&format!("hickory cannot parse a packet ({e})")));
        let (qclasses, raw) = raw_fields(&u.payload).unwrap_or_else(|| fail("malformed DNS message"));
        let sections = [
            (Section::Answer, &message.answers),
            (Section::Authority, &message.authorities),
            (Section::Additional, &message.additionals),
        ];
        let records: Vec<(Section, Record)> = sections.iter().flat_map(|(s, rs)| rs.iter().map(move |r| (*s, r.clone()))).collect();
        if records.len() != raw.len() || qclasses.len() != message.queries.len() {
            fail("hickory and the raw reader disagree on the record count");
        }
        let rrs = records
            .into_iter()
            .zip(raw)
            .map(|((section, record), (class, rdata))| Rr { section, record, class, rdata })
            .collect();
        Packet {
            time: u.time,
            src: u.src,
            src_port: u.src_port,
            dst: u.dst,
            dst_port: u.dst_port,
            ip_ttl: u.ttl,
            payload: u.payload.clone(),
            message,
            qclasses,
            rrs,
        }
    }

    fn is_response(&self) -> bool {
        self.message.metadata.message_type == MessageType::Response
    }

    fn is_query(&self) -> bool {
        !self.is_response()
    }

    fn v4(&self) -> bool {
        self.src.is_ipv4()
    }

    fn multicast(&self) -> bool {
        self.dst.is_multicast()
    }

    fn in_section(&self, section: Section) -> impl Iterator<Item = &Rr> {
        self.rrs.iter().filter(move |r| r.section == section)
    }

    fn answers(&self) -> impl Iterator<Item = &Rr> {
        self.in_section(Section::Answer)
    }

    fn answer(&self, owner: &str, rtype: RecordType) -> Option<&Rr> {
        self.answers().find(|r| r.is(owner, rtype))
    }

    fn additional(&self, owner: &str, rtype: RecordType) -> Option<&Rr> {
        self.in_section(Section::Additional).find(|r| r.is(owner, rtype))
    }

    fn anywhere(&self, owner: &str, rtype: RecordType) -> Option<&Rr> {
        self.rrs.iter().find(|r| r.is(owner, rtype))
    }

    fn asks(&self, owner: &str, rtype: RecordType) -> bool {
        self.message.queries.iter().any(|q| q.query_type == rtype && q.name == name(owner))
    }

    fn question_class(&self, owner: &str) -> Option<u16> {
        let i = self.message.queries.iter().position(|q| q.name == name(owner))?;
        Some(self.qclasses[i])
    }

    fn rdata(&self, rr: &Rr) -> &[u8] {
        &self.payload[rr.rdata.clone()]
    }

    fn describe(&self, t0: f64) -> String {
        let m = &self.message.metadata;
        let mut s = format!(
            "{:9.1} ms {}:{} -> {}:{} ipttl {} id {} {} aa {} tc {}\n",
            (self.time - t0) * 1e3,
            self.src,
            self.src_port,
            self.dst,
            self.dst_port,
            self.ip_ttl,
            m.id,
            if self.is_response() { "response" } else { "query" },
            m.authoritative,
            m.truncation
        );
        for (q, class) in self.message.queries.iter().zip(&self.qclasses) {
            s += &format!("      QD {} {} class {:#06x}\n", q.name, q.query_type, class);
        }
        for r in &self.rrs {
            let tag = match r.section {
                Section::Answer => "AN",
                Section::Authority => "NS",
                Section::Additional => "AR",
            };
            s += &format!(
                "      {tag} {} {} {} class {:#06x} rdata {}\n",
                r.record.name,
                r.record.ttl,
                r.rtype(),
                r.class,
                r.record.data
            );
        }
        s
    }
}

fn decode_all(pcap: &[u8]) -> Vec<Packet> {
    pcap_udp_packets(pcap).iter().map(Packet::decode).collect()
}

fn show(packets: &[Packet]) -> String {
    packets.iter().map(|p| p.describe(packets[0].time)).collect()
}

fn show_from(packets: &[Packet], t0: f64) -> String {
    let text: String = packets.iter().map(|p| p.describe(t0)).collect();
    if std::env::var_os("DSD_WIRE_SHOW").is_some() {
        eprintln!("{text}");
    }
    text
}

/// The addresses a host sends from.
struct Sender {
    v4: Ipv4Addr,
    v6: Ipv6Addr,
    link_local: Ipv6Addr,
}

impl Sender {
    fn of(host: &Host) -> Sender {
        Sender {
            v4: host.ipv4(),
            v6: host.ipv6(),
            link_local: host.ipv6_link_local().expect("link-local address"),
        }
    }

    fn sent(&self, p: &Packet) -> bool {
        p.src == IpAddr::V4(self.v4) || p.src == IpAddr::V6(self.v6) || p.src == IpAddr::V6(self.link_local)
    }
}

/// Polls the capture until `count` packets match `pred`; returns them.
fn wait_for_packets(cap: &Capture, count: usize, timeout: Duration, pred: impl Fn(&Packet) -> bool) -> Vec<Packet> {
    let mut found = Vec::new();
    poll_until(timeout, Duration::from_millis(50), || {
        found = decode_all(&cap.snapshot()).into_iter().filter(|p| pred(p)).collect();
        found.len() >= count
    });
    assert!(
        found.len() >= count,
        "only {} of {count} expected packets within {timeout:?}:\n{}",
        found.len(),
        show(&found)
    );
    found
}

/// Rules every packet our engine sends obeys, whatever it is.
fn check_sent_by_us(p: &Packet, all: &str) {
    let m = &p.message.metadata;
    let why = |rule: &str| format!("{rule}\nin: {}\ncapture:\n{all}", p.describe(0.0));
    // NET-02: IP TTL / hop limit 255 on everything.
    assert_eq!(p.ip_ttl, 255, "{}", why("NET-02: IP TTL / hop limit must be 255"));
    // RSP-10, QRY-02: from port 5353.
    assert_eq!(p.src_port, 5353, "{}", why("RSP-10/QRY-02: source port must be 5353"));
    if p.multicast() {
        let group = if p.v4() { IpAddr::V4(MDNS_V4) } else { IpAddr::V6(MDNS_V6) };
        assert_eq!(
            (p.dst, p.dst_port),
            (group, 5353),
            "{}",
            why("RSP-10: multicast goes to the mDNS group, port 5353")
        );
    }
    // MSG-02: opcode 0, rcode 0, RD/RA/AD/CD clear.
    assert_eq!(m.op_code, OpCode::Query, "{}", why("MSG-02: opcode 0"));
    assert_eq!(m.response_code, ResponseCode::NoError, "{}", why("MSG-02: rcode 0"));
    assert!(
        !m.recursion_desired && !m.recursion_available && !m.authentic_data && !m.checking_disabled,
        "{}",
        why("MSG-02: RD, RA, AD, CD clear")
    );
    // TXT-02: never an empty TXT rdata (no data is one zero byte).
    for r in p.rrs.iter().filter(|r| r.rtype() == RecordType::TXT) {
        assert!(!p.rdata(r).is_empty(), "{}", why("TXT-02: empty TXT rdata"));
    }
    if p.is_query() {
        // MSG-01: multicast queries have ID 0; CFB-02: no cache-flush bit in
        // queries (probes' proposed records, known answers).
        assert_eq!(m.id, 0, "{}", why("MSG-01: query ID 0"));
        assert!(p.rrs.iter().all(|r| !r.cache_flush()), "{}", why("CFB-02/PRB-07: cache-flush bit in a query"));
        return;
    }
    assert!(m.authoritative, "{}", why("MSG-02: AA set in responses"));
    // ADD-04: no record twice in one packet (an answer is not repeated as
    // an additional record).
    let mut seen = BTreeSet::new();
    for r in &p.rrs {
        let key = (r.record.name.to_ascii().to_ascii_lowercase(), u16::from(r.rtype()), p.rdata(r).to_vec());
        assert!(seen.insert(key), "{}", why(&format!("ADD-04: {} {} twice", r.record.name, r.rtype())));
    }
    assert!(!m.truncation, "{}", why("MSG-02: TC clear in responses"));
    if p.dst_port == 5353 {
        // RSP-04, MSG-01: no questions, ID 0.
        assert_eq!(m.id, 0, "{}", why("MSG-01: multicast response ID 0"));
        assert!(p.message.queries.is_empty(), "{}", why("RSP-04: no questions in mDNS responses"));
        // ANN-02: unique records carry the cache-flush bit, shared ones never.
        for r in &p.rrs {
            let unique = match r.rtype() {
                RecordType::PTR => r.is_reverse(),
                _ => true,
            };
            assert_eq!(
                r.cache_flush(),
                unique,
                "{}",
                why(&format!("ANN-02: cache-flush bit on {} {}", r.record.name, r.rtype()))
            );
            assert_eq!(r.class & !CACHE_FLUSH, CLASS_IN, "{}", why("class IN"));
        }
    }
}

fn check_all_sent_by(packets: &[Packet], us: &Sender) {
    let all = show(packets);
    let ours: Vec<&Packet> = packets.iter().filter(|p| us.sent(p)).collect();
    assert!(!ours.is_empty(), "nothing sent by us:\n{all}");
    for p in ours {
        check_sent_by_us(p, &all);
    }
}

/// Checks consecutive gaps between the packets' times against `expected`
/// (seconds), each within `tolerance`.
fn check_gaps(what: &str, packets: &[&Packet], expected: &[f64], tolerance: f64, all: &str) {
    assert_eq!(
        packets.len(),
        expected.len() + 1,
        "{what}: expected {} packets, got {}:\n{all}",
        expected.len() + 1,
        packets.len()
    );
    for (i, (pair, want)) in packets.windows(2).zip(expected).enumerate() {
        let gap = pair[1].time - pair[0].time;
        assert!(
            (gap - want).abs() <= tolerance,
            "{what}: gap {} is {:.1} ms, expected {:.0} ± {:.0} ms\n{all}",
            i + 1,
            gap * 1e3,
            want * 1e3,
            tolerance * 1e3
        );
    }
}

fn family_name(v4: bool) -> &'static str {
    if v4 {
        "IPv4"
    } else {
        "IPv6"
    }
}

// ---------------------------------------------------------------------------
// 1. Registration: probes and announcements
// ---------------------------------------------------------------------------

#[test]
fn registration_probes_three_times_then_announces_three_times() {
    const INSTANCE: &str = "WireTest._wiretest._tcp.local.";
    const SERVICE: &str = "_wiretest._tcp.local.";
    let lab = Lab::new(1);
    let host = lab.host(1);
    let us = Sender::of(host);
    let cap = capture(host, "eth0");
    // No TXT items: the C program passes an empty TXT (length 0), which
    // must go out as one zero byte.
    let spawned = epoch_now();
    let reg = host.spawn(example("register"), &["WireTest", "_wiretest._tcp", "4242"], &[]);
    wait_registered(&reg);
    // The third announcement, then long enough for a fourth one at the
    // doubled interval (4 s) to show up if there were one.
    let announcements = wait_for_packets(&cap, 3, secs(10.0), |p| {
        us.sent(p) && p.is_response() && p.v4() && p.answer(INSTANCE, RecordType::SRV).is_some()
    });
    sleep_until_epoch(announcements[2].time + 4.5);
    let packets = decode_all(&cap.stop());
    drop(reg);
    let all = show_from(&packets, packets.first().map_or(0.0, |p| p.time));
    assert!(packets.iter().all(|p| us.sent(p)), "a packet from elsewhere:\n{all}");
    check_all_sent_by(&packets, &us);

    // The host name is the SRV target the probes propose.
    let host_name = packets
        .iter()
        .flat_map(|p| &p.rrs)
        .find_map(|r| r.srv().map(|s| s.3.clone()))
        .unwrap_or_else(|| panic!("no SRV at all:\n{all}"));
    let host_name_text = host_name.to_ascii();
    assert!(
        host_name.is_fqdn() && host_name_text.to_ascii_lowercase().ends_with(".local."),
        "host name {host_name}"
    );

    for v4 in [true, false] {
        let family = family_name(v4);
        let group = if v4 { IpAddr::V4(MDNS_V4) } else { IpAddr::V6(MDNS_V6) };
        let mine: Vec<&Packet> = packets.iter().filter(|p| p.v4() == v4).collect();
        for p in &mine {
            assert_eq!((p.dst, p.dst_port), (group, 5353), "{family}: all of it multicast to the group:\n{all}");
        }

        // PRB-01, PRB-02, PRB-07: three probes for the instance, question
        // ANY, the proposed SRV and TXT in the authority section without
        // the cache-flush bit.
        let probes: Vec<&Packet> = mine
            .iter()
            .copied()
            .filter(|p| p.is_query() && p.message.queries.iter().any(|q| q.name == name(INSTANCE)))
            .collect();
        assert_eq!(probes.len(), 3, "{family}: PRB-01: three probes for {INSTANCE}:\n{all}");
        // PRB-06, QRY-12: the program is alone on port 5353 here, so its
        // first probe asks for unicast replies (QU); the others do not.
        let qu: Vec<bool> = probes.iter().map(|p| p.question_class(INSTANCE).is_some_and(|c| c & 0x8000 != 0)).collect();
        assert_eq!(qu, vec![true, false, false], "{family}: PRB-06: QU bit on the first probe only:\n{all}");
        for p in &probes {
            assert!(
                p.asks(INSTANCE, RecordType::ANY),
                "{family}: PRB-02: probe question type ANY:\n{}",
                p.describe(0.0)
            );
            assert_eq!(p.question_class(INSTANCE).map(|c| c & 0x7fff), Some(CLASS_IN), "PRB-02: class IN");
            let proposed: Vec<&Rr> = p.in_section(Section::Authority).filter(|r| r.record.name == name(INSTANCE)).collect();
            let types: BTreeSet<u16> = proposed.iter().map(|r| u16::from(r.rtype())).collect();
            assert_eq!(types, BTreeSet::from([16, 33]), "{family}: PRB-07: proposed SRV and TXT:\n{}", p.describe(0.0));
            for r in &proposed {
                assert_eq!(
                    r.class,
                    CLASS_IN,
                    "{family}: PRB-07: no cache-flush bit in proposed records:\n{}",
                    p.describe(0.0)
                );
            }
            let srv = p.anywhere(INSTANCE, RecordType::SRV).and_then(Rr::srv).unwrap();
            assert_eq!((srv.0, srv.1, srv.2, srv.3), (0, 0, 4242, &host_name), "SVC-06: SRV 0 0 4242 {host_name}");
            let txt = p.anywhere(INSTANCE, RecordType::TXT).unwrap();
            assert_eq!(p.rdata(txt), &[0u8][..], "TXT-02: an empty TXT is one zero byte");
        }
        // PRB-03: the first probe after a random 0-250 ms (plus the
        // program's start-up).
        let first_probe = probes[0].time - spawned;
        assert!(
            first_probe <= 0.250 + 0.200,
            "{family}: PRB-03: first probe {:.1} ms after the program started:\n{all}",
            first_probe * 1e3
        );
        // PRB-04: 250 ms apart.
        check_gaps(&format!("{family}: PRB-04: instance probes"), &probes, &[0.250, 0.250], SLACK, &all);

        // PRB-01: the host name (A and AAAA) is probed the same way.
        let host_probes: Vec<&Packet> = mine
            .iter()
            .copied()
            .filter(|p| p.is_query() && p.message.queries.iter().any(|q| q.name == host_name))
            .collect();
        for p in &host_probes {
            assert!(
                p.asks(&host_name_text, RecordType::ANY),
                "{family}: PRB-02: host probe type ANY:\n{}",
                p.describe(0.0)
            );
            let proposed: BTreeSet<IpAddr> = p
                .in_section(Section::Authority)
                .filter(|r| r.record.name == host_name)
                .filter_map(Rr::address)
                .collect();
            assert_eq!(
                proposed,
                BTreeSet::from([IpAddr::V4(us.v4), IpAddr::V6(us.v6)]),
                "{family}: PRB-07: proposed A and AAAA:\n{}",
                p.describe(0.0)
            );
        }
        check_gaps(&format!("{family}: PRB-01/04: host-name probes"), &host_probes, &[0.250, 0.250], SLACK, &all);

        // ANN-03: three announcements, one then two seconds apart.
        let announcements: Vec<&Packet> = mine
            .iter()
            .copied()
            .filter(|p| p.is_response() && p.answer(INSTANCE, RecordType::SRV).is_some_and(|r| r.record.ttl > 0))
            .collect();
        check_gaps(&format!("{family}: ANN-03: service announcements"), &announcements, &[1.0, 2.0], 0.050, &all);
        // PRB-05: none before probing has ended, 250 ms after the third probe.
        let after_third = announcements[0].time - probes[2].time;
        assert!(
            after_third >= 0.250 - STAMP_JITTER,
            "{family}: PRB-05: first announcement {:.1} ms after the third probe:\n{all}",
            after_third * 1e3
        );
        let after_first = announcements[0].time - probes[0].time;
        assert!(
            after_first >= 0.750 - STAMP_JITTER,
            "{family}: PRB-05: first announcement {:.1} ms after the first probe:\n{all}",
            after_first * 1e3
        );
        // No response with the service's records before that (a probe is not an answer).
        let early = mine
            .iter()
            .find(|p| p.is_response() && p.time < announcements[0].time && p.anywhere(INSTANCE, RecordType::SRV).is_some());
        assert!(early.is_none(), "{family}: PRB-05: service records before the announcements:\n{all}");

        // ANN-01, ANN-02, TTL-01, SVC-03: every announcement holds all the
        // service's records with their TTLs; cache-flush on SRV/TXT/A/AAAA
        // only (checked for every record by check_sent_by_us).
        for p in &announcements {
            let d = p.describe(0.0);
            let srv = p.answer(INSTANCE, RecordType::SRV).unwrap();
            let txt = p
                .answer(INSTANCE, RecordType::TXT)
                .unwrap_or_else(|| panic!("{family}: ANN-01: TXT announced:\n{d}"));
            let ptr = p
                .answer(SERVICE, RecordType::PTR)
                .unwrap_or_else(|| panic!("{family}: ANN-01: service PTR announced:\n{d}"));
            let services = p
                .answer(SERVICES, RecordType::PTR)
                .unwrap_or_else(|| panic!("{family}: SVC-03: {SERVICES} PTR announced:\n{d}"));
            assert_eq!(ptr.ptr_target(), Some(&name(INSTANCE)), "{d}");
            assert_eq!(services.ptr_target(), Some(&name(SERVICE)), "{d}");
            assert_eq!(p.rdata(txt), &[0u8][..], "TXT-02:\n{d}");
            assert!(
                srv.cache_flush() && txt.cache_flush() && !ptr.cache_flush() && !services.cache_flush(),
                "ANN-02:\n{d}"
            );
            assert_eq!(
                (srv.record.ttl, txt.record.ttl, ptr.record.ttl, services.record.ttl),
                (HOST_TTL, OTHER_TTL, OTHER_TTL, OTHER_TTL),
                "TTL-01:\n{d}"
            );
        }

        // The host's addresses are announced three times too, with the
        // cache-flush bit and 120 s TTLs.
        let host_announcements: Vec<&Packet> = mine
            .iter()
            .copied()
            .filter(|p| p.is_response() && p.answer(&host_name_text, RecordType::A).is_some())
            .collect();
        check_gaps(&format!("{family}: ANN-03: host announcements"), &host_announcements, &[1.0, 2.0], 0.050, &all);
        for p in &host_announcements {
            let d = p.describe(0.0);
            let addresses: BTreeSet<IpAddr> = p.answers().filter(|r| r.record.name == host_name).filter_map(Rr::address).collect();
            assert_eq!(
                addresses,
                BTreeSet::from([IpAddr::V4(us.v4), IpAddr::V6(us.v6)]),
                "{family}: A and AAAA announced:\n{d}"
            );
            for r in p.answers().filter(|r| r.record.name == host_name) {
                assert!(r.cache_flush() && r.record.ttl == HOST_TTL, "{family}: ANN-02/TTL-01 on {}:\n{d}", r.rtype());
            }
        }
        let host_probe_end = host_probes[2].time;
        assert!(
            host_announcements[0].time - host_probe_end >= 0.250 - STAMP_JITTER,
            "{family}: PRB-05 for the host name:\n{all}"
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Goodbye
// ---------------------------------------------------------------------------

#[test]
fn sigint_sends_goodbyes_for_the_service_but_not_for_the_host_addresses() {
    const INSTANCE: &str = "WireBye._wirebye._tcp.local.";
    const SERVICE: &str = "_wirebye._tcp.local.";
    let lab = Lab::new(1);
    let host = lab.host(1);
    let us = Sender::of(host);
    let cap = capture(host, "eth0");
    let reg = host.spawn(example("register"), &["WireBye", "_wirebye._tcp", "4243", "a=1"], &[]);
    wait_registered(&reg);
    // Between the second and the third announcement (due 2 s after the
    // second): the goodbye must also cancel the announcement still to come.
    let second = wait_for_packets(&cap, 2, secs(10.0), |p| {
        us.sent(p) && p.is_response() && p.v4() && p.answer(INSTANCE, RecordType::SRV).is_some()
    });
    sleep_until_epoch(second[1].time + 0.3);
    let signalled = epoch_now();
    reg.signal(libc::SIGINT);
    let status = reg.wait_exit(secs(5.0));
    assert!(status.is_some_and(|s| s.success()), "register exits 0 after SIGINT: {}", reg.describe());
    let packets = decode_all(&cap.stop());
    let all = show_from(&packets, signalled);
    check_all_sent_by(&packets, &us);

    let service_records = [
        (INSTANCE, RecordType::SRV),
        (INSTANCE, RecordType::TXT),
        (SERVICE, RecordType::PTR),
        (SERVICES, RecordType::PTR),
    ];
    let is_service_record = |r: &Rr| service_records.iter().any(|(n, t)| r.is(n, *t));
    for v4 in [true, false] {
        let family = family_name(v4);
        let mine: Vec<&Packet> = packets.iter().filter(|p| us.sent(p) && p.v4() == v4).collect();
        let goodbyes: Vec<&Packet> = mine
            .iter()
            .copied()
            .filter(|p| p.is_response() && p.answers().any(|r| r.record.ttl == 0))
            .collect();
        let Some(first) = goodbyes.first() else {
            panic!("{family}: GBY-01: no goodbye (times from SIGINT):\n{all}")
        };
        // GBY-01: within 200 ms of the signal.
        let delay = first.time - signalled;
        assert!(
            (0.0..=0.200).contains(&delay),
            "{family}: GBY-01: goodbye {:.1} ms after SIGINT:\n{all}",
            delay * 1e3
        );
        assert!(first.multicast(), "{family}: goodbyes are multicast:\n{all}");
        // The same records as announced, with TTL 0.
        for (owner, rtype) in service_records {
            let found = goodbyes
                .iter()
                .find_map(|p| p.answer(owner, rtype).filter(|r| r.record.ttl == 0).map(|r| (p, r)));
            let (p, r) = found.unwrap_or_else(|| panic!("{family}: GBY-01: no goodbye for {owner} {rtype}:\n{all}"));
            match rtype {
                RecordType::SRV => assert_eq!(r.srv().map(|s| s.2), Some(4243), "{all}"),
                RecordType::TXT => assert_eq!(p.rdata(r), &b"\x03a=1"[..], "{all}"),
                _ => {}
            }
        }
        // Nothing else says goodbye: not the host's addresses (another
        // responder on this host may publish them) nor its reverse PTRs.
        for p in &mine {
            for r in p.rrs.iter().filter(|r| r.record.ttl == 0) {
                assert!(
                    is_service_record(r),
                    "{family}: goodbye for {} {}, which is not the service's:\n{all}",
                    r.record.name,
                    r.rtype()
                );
            }
        }
        // After the goodbye, the service is never announced again.
        let later = mine
            .iter()
            .find(|p| p.time > first.time && p.rrs.iter().any(|r| is_service_record(r) && r.record.ttl > 0));
        assert!(later.is_none(), "{family}: service records with TTL > 0 after the goodbye:\n{all}");
    }
}

// ---------------------------------------------------------------------------
// 3. Answers to hand-made queries
// ---------------------------------------------------------------------------

/// Sends hand-made queries from a host that runs no mDNS engine. argv: the
/// host's IPv4 address, then one `DELAY_MS:MODE:HEX` per query, DELAY_MS
/// after the previous one; MODE `m` sends from port 5353 (an mDNS querier),
/// `l` from an ephemeral port (a legacy resolver). Both go to
/// 224.0.0.251:5353 with TTL 255. Prints `SENT i` after each.
const QUERY_SENDER: &str = r#"
import socket, sys, time
src = sys.argv[1]
def make(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("0.0.0.0", port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    return s
mdns, legacy = make(5353), make(0)
for i, step in enumerate(sys.argv[2:]):
    delay, mode, data = step.split(":")
    time.sleep(int(delay) / 1000)
    (mdns if mode == "m" else legacy).sendto(bytes.fromhex(data), ("224.0.0.251", 5353))
    print("SENT", i, flush=True)
time.sleep(1)
"#;

fn query_bytes(id: u16, owner: &str, rtype: RecordType, known_answers: Vec<Record>) -> Vec<u8> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.queries.push(Query::query(name(owner), rtype));
    message.answers = known_answers;
    message.to_vec().expect("encode a query")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The types an NSEC's rdata lists (window block 0 only, RFC 6762 §6.1),
/// and its next-domain name.
fn nsec_fields(p: &Packet, rr: &Rr) -> (String, BTreeSet<u16>) {
    let d = p.describe(0.0);
    let next = name_at(&p.payload, rr.rdata.start).unwrap_or_else(|| panic!("NSEC next name:\n{d}"));
    let at = skip_name(&p.payload, rr.rdata.start).unwrap_or_else(|| panic!("NSEC next name:\n{d}"));
    let blocks = &p.payload[at..rr.rdata.end];
    assert!(blocks.len() >= 2 && blocks[0] == 0, "NEG-02: one window block, number 0:\n{d}");
    let len = blocks[1] as usize;
    assert!(
        (1..=32).contains(&len) && blocks.len() == 2 + len,
        "NEG-02: bitmap length 1-32, nothing after it:\n{d}"
    );
    let types = (0..len * 8).filter(|t| blocks[2 + t / 8] & (0x80 >> (t % 8)) != 0).map(|t| t as u16).collect();
    (next, types)
}

/// A query for the sender: milliseconds after the previous one, `m` (from
/// port 5353) or `l` (a legacy resolver's ephemeral port), the message.
type Step = (u32, &'static str, Vec<u8>);

const ANS_INSTANCE: &str = "WireAns._wireans._tcp.local.";
const ANS_SERVICE: &str = "_wireans._tcp.local.";

/// What host 1's capture saw while host 2 sent its queries to host 1's
/// registered `WireAns._wireans._tcp` (port 4244, TXT path=/wire).
struct Exchange {
    packets: Vec<Packet>,
    /// Each query as it arrived, in the order of the steps.
    q: Vec<Packet>,
    us: Sender,
    peer: IpAddr,
    host_name: Name,
    /// The third announcement: times in messages are relative to it.
    t0: f64,
    all: String,
}

/// Registers the service on host 1 of a new two-host lab, waits until its
/// announcements are over and the one-second rate limit has passed, sends
/// `steps(host 1, its host name)` from host 2, and returns what was
/// captured on host 1.
fn exchange(steps: impl FnOnce(&Host, &Name) -> Vec<Step>) -> Exchange {
    let lab = Lab::new(2);
    let (host, peer) = (lab.host(1), lab.host(2));
    let us = Sender::of(host);
    let cap = capture(host, "eth0");
    let reg = host.spawn(example("register"), &["WireAns", "_wireans._tcp", "4244", "path=/wire"], &[]);
    wait_registered(&reg);
    let announcements = wait_for_packets(&cap, 3, secs(10.0), |p| {
        us.sent(p) && p.is_response() && p.v4() && p.answer(ANS_INSTANCE, RecordType::SRV).is_some()
    });
    sleep_until_epoch(announcements[2].time + 1.2);
    let host_name = announcements[0]
        .answer(ANS_INSTANCE, RecordType::SRV)
        .and_then(Rr::srv)
        .map(|s| s.3.clone())
        .unwrap();
    let steps = steps(host, &host_name);
    let mut args = vec!["-c".to_string(), QUERY_SENDER.to_string(), peer.ipv4().to_string()];
    args.extend(steps.iter().map(|(delay, mode, bytes)| format!("{delay}:{mode}:{}", hex(bytes))));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    peer.run("python3", &args, secs(30.0)).assert_success("query sender");
    let packets = decode_all(&cap.stop());
    drop(reg);
    let t0 = announcements[2].time;
    let all = show_from(&packets, t0);
    check_all_sent_by(&packets, &us);
    // Identical queries are matched in the order sent.
    let peer_addr = IpAddr::V4(peer.ipv4());
    let q = steps
        .iter()
        .enumerate()
        .map(|(i, (_, _, bytes))| {
            let nth = steps[..i].iter().filter(|s| s.2 == *bytes).count();
            let found = packets.iter().filter(|p| p.src == peer_addr && p.payload == *bytes).nth(nth);
            found.unwrap_or_else(|| panic!("query {i} not captured:\n{all}")).clone()
        })
        .collect();
    Exchange {
        packets,
        q,
        us,
        peer: peer_addr,
        host_name,
        t0,
        all,
    }
}

impl Exchange {
    /// Our responses multicast strictly between two times.
    fn multicast_between(&self, from: f64, to: f64) -> Vec<&Packet> {
        self.packets
            .iter()
            .filter(|p| self.us.sent(p) && p.is_response() && p.multicast() && p.time > from && p.time < to)
            .collect()
    }

    /// The first IPv4 multicast response after query `i` (before `to`)
    /// that answers `owner`/`rtype`.
    fn answer_to(&self, i: usize, to: f64, owner: &str, rtype: RecordType) -> Option<&Packet> {
        self.multicast_between(self.q[i].time, to)
            .into_iter()
            .find(|p| p.v4() && p.answer(owner, rtype).is_some())
    }

    fn describe(&self, p: &Packet) -> String {
        p.describe(self.t0)
    }

    /// Asserts that `p` carries our A and AAAA records as additional records.
    fn check_addresses(&self, p: &Packet, rule: &str) {
        let text = self.host_name.to_ascii();
        let a = p.additional(&text, RecordType::A).and_then(Rr::address);
        let aaaa = p.additional(&text, RecordType::AAAA).and_then(Rr::address);
        let want = (Some(IpAddr::V4(self.us.v4)), Some(IpAddr::V6(self.us.v6)));
        assert_eq!(
            (a, aaaa),
            want,
            "{rule}: A and AAAA of {} as additional records:\n{}",
            self.host_name,
            self.describe(p)
        );
    }
}

fn delay_ms(response: &Packet, query: &Packet) -> f64 {
    (response.time - query.time) * 1e3
}

#[test]
fn answers_to_queries_from_another_host() {
    const INSTANCE: &str = ANS_INSTANCE;
    const SERVICE: &str = ANS_SERVICE;
    let legacy_id = 0x4a7b;
    let mut reverse = String::new();
    let x = exchange(|host, _| {
        let known_ptr = |ttl: u32| Record::from_rdata(name(SERVICE), ttl, RData::PTR(PTR(name(INSTANCE))));
        let [a, b, c, d] = host.ipv4().octets();
        reverse = format!("{d}.{c}.{b}.{a}.in-addr.arpa.");
        vec![
            // 0: a browse: shared answer, random delay, additional records.
            (0, "m", query_bytes(0, SERVICE, RecordType::PTR, vec![])),
            // 1: a resolve: unique answer, at once.
            (1300, "m", query_bytes(0, INSTANCE, RecordType::SRV, vec![])),
            // 2: the same 300 ms later: rate-limited.
            (300, "m", query_bytes(0, INSTANCE, RecordType::SRV, vec![])),
            // 3: the PTR as a known answer with half its TTL: silence.
            (1000, "m", query_bytes(0, SERVICE, RecordType::PTR, vec![known_ptr(OTHER_TTL / 2)])),
            // 4: with less than half: answered.
            (500, "m", query_bytes(0, SERVICE, RecordType::PTR, vec![known_ptr(OTHER_TTL / 2 - 1)])),
            // 5: a legacy resolver.
            (500, "l", query_bytes(legacy_id, SERVICE, RecordType::PTR, vec![])),
            // 6: a type the instance does not have: NSEC.
            (300, "m", query_bytes(0, INSTANCE, RecordType::A, vec![])),
            // 7: the reverse-mapping name of our address.
            (300, "m", query_bytes(0, &reverse, RecordType::PTR, vec![])),
            // 8: service type enumeration.
            (300, "m", query_bytes(0, SERVICES, RecordType::PTR, vec![])),
        ]
    });
    let q: Vec<&Packet> = x.q.iter().collect();
    let (all, t0) = (&x.all, x.t0);
    let peer_addr = x.peer;
    let ours: Vec<&Packet> = x.packets.iter().filter(|p| x.us.sent(p) && p.is_response()).collect();
    let multicast_between = |from: f64, to: f64| x.multicast_between(from, to);
    let host_name = x.host_name.clone();
    let check_addresses = |p: &Packet, rule: &str| x.check_addresses(p, rule);

    // 0. RSP-06, ADD-01: the PTR after 20-120 ms, multicast, with SRV, TXT
    // and the addresses as additional records; one response only.
    // (The engine multicasts every response over both IPv4 and IPv6, so an
    // IPv4 query gets an IPv6 copy too; the IPv4 one is the answer.)
    let answered: Vec<&Packet> = multicast_between(q[0].time, q[1].time)
        .into_iter()
        .filter(|p| p.v4() && p.answer(SERVICE, RecordType::PTR).is_some())
        .collect();
    assert_eq!(answered.len(), 1, "RSP-06: one multicast answer to the PTR query over IPv4:\n{all}");
    let r0 = answered[0];
    let delay = delay_ms(r0, q[0]);
    assert!(
        (19.5..=120.0 + SLACK * 1e3).contains(&delay),
        "RSP-06: shared answer after {delay:.1} ms, not 20-120:\n{all}"
    );
    assert_eq!(r0.answer(SERVICE, RecordType::PTR).and_then(Rr::ptr_target), Some(&name(INSTANCE)), "{all}");
    let srv = r0
        .additional(INSTANCE, RecordType::SRV)
        .unwrap_or_else(|| panic!("ADD-01: SRV as an additional record:\n{}", r0.describe(t0)));
    assert_eq!(srv.srv().map(|s| s.2), Some(4244));
    let txt = r0
        .additional(INSTANCE, RecordType::TXT)
        .unwrap_or_else(|| panic!("ADD-01: TXT as an additional record:\n{}", r0.describe(t0)));
    assert_eq!(r0.rdata(txt), &b"\x0apath=/wire"[..]);
    check_addresses(r0, "ADD-01");
    assert_eq!(r0.answers().count(), 1, "ADD-04: only the PTR in the answer section:\n{}", r0.describe(t0));

    // 1. RSP-05, ADD-02: the SRV at once, with the addresses.
    let r1 = multicast_between(q[1].time, q[2].time)
        .into_iter()
        .find(|p| p.v4() && p.answer(INSTANCE, RecordType::SRV).is_some())
        .unwrap_or_else(|| panic!("no answer to the SRV query:\n{all}"));
    let delay = delay_ms(r1, q[1]);
    assert!(delay < 30.0, "RSP-05: unique answer after {delay:.1} ms:\n{all}");
    check_addresses(r1, "ADD-02");

    // 2. RSP-11: the same question 300 ms later: the SRV is not multicast
    // again within a second (nor at all before the next query).
    assert!(q[2].time - r1.time < 0.5, "the repeated query came too late to test the rate limit:\n{all}");
    let again: Vec<&Packet> = multicast_between(r1.time, q[3].time)
        .into_iter()
        .filter(|p| p.anywhere(INSTANCE, RecordType::SRV).is_some())
        .collect();
    assert!(
        again.is_empty(),
        "RSP-11: SRV multicast again {:.1} ms after the last time:\n{all}",
        delay_ms(again[0], r1)
    );

    // 3. KAS-01: a known answer with exactly half the true TTL (2250 of
    // 4500) suppresses the PTR.
    let suppressed: Vec<&Packet> = multicast_between(q[3].time, q[4].time)
        .into_iter()
        .filter(|p| p.answer(SERVICE, RecordType::PTR).is_some())
        .collect();
    assert!(suppressed.is_empty(), "KAS-01: PTR given although the query knew it:\n{all}");

    // 4. KAS-01: one with less than half (2249) does not.
    let r4 = multicast_between(q[4].time, q[5].time)
        .into_iter()
        .find(|p| p.v4() && p.answer(SERVICE, RecordType::PTR).is_some())
        .unwrap_or_else(|| panic!("KAS-01: no PTR although the known answer had less than half its TTL:\n{all}"));
    let delay = delay_ms(r4, q[4]);
    assert!(
        (19.5..=120.0 + SLACK * 1e3).contains(&delay),
        "RSP-06: shared answer after {delay:.1} ms:\n{all}"
    );

    // 5. LEG-02..05: a unicast reply to the legacy resolver's port, its ID,
    // its question, TTLs of at most 10 s, no cache-flush bit, SRV target
    // not compressed.
    let replies: Vec<&Packet> = ours.iter().copied().filter(|p| p.dst == peer_addr && p.dst_port == q[5].src_port).collect();
    assert_eq!(replies.len(), 1, "LEG-02: one unicast reply to {}:{}:\n{all}", peer_addr, q[5].src_port);
    let r5 = replies[0];
    let d = r5.describe(t0);
    assert_ne!(q[5].src_port, 5353);
    assert!(r5.time > q[5].time && r5.time < q[6].time, "legacy reply in time:\n{all}");
    assert_eq!(r5.message.metadata.id, legacy_id, "LEG-02: the query's ID:\n{d}");
    assert_eq!(r5.message.queries, q[5].message.queries, "LEG-02: the question repeated:\n{d}");
    assert_eq!(r5.qclasses, vec![CLASS_IN], "LEG-02: the question repeated:\n{d}");
    assert_eq!(
        r5.answer(SERVICE, RecordType::PTR).and_then(Rr::ptr_target),
        Some(&name(INSTANCE)),
        "LEG-02: the PTR:\n{d}"
    );
    for r in &r5.rrs {
        assert!(r.record.ttl <= 10, "LEG-04: TTL {} > 10 on {} {}:\n{d}", r.record.ttl, r.record.name, r.rtype());
        assert_eq!(
            r.class,
            CLASS_IN,
            "LEG-03: no cache-flush bit in legacy replies ({} {}):\n{d}",
            r.record.name,
            r.rtype()
        );
    }
    let srv = r5
        .additional(INSTANCE, RecordType::SRV)
        .unwrap_or_else(|| panic!("ADD-01: SRV in the legacy reply:\n{d}"));
    assert!(
        !name_is_compressed(&r5.payload, srv.rdata.start + 6),
        "LEG-05: SRV target compressed in a legacy reply:\n{d}"
    );
    // A legacy query is not answered by multicast (the PTR went out 1 s ago).
    assert!(
        multicast_between(q[5].time, q[6].time)
            .iter()
            .all(|p| p.answer(SERVICE, RecordType::PTR).is_none()),
        "RSP-10: legacy query answered by multicast:\n{all}"
    );

    // 6. NEG-01/02: an A query on the instance name gets an NSEC listing
    // what the name has: SRV and TXT.
    let r6 = multicast_between(q[6].time, q[7].time)
        .into_iter()
        .find(|p| p.v4() && p.answers().any(|r| r.rtype() == RecordType::NSEC))
        .unwrap_or_else(|| panic!("NEG-01: no NSEC for {INSTANCE} A:\n{all}"));
    let nsec = r6
        .answer(INSTANCE, RecordType::NSEC)
        .unwrap_or_else(|| panic!("NEG-01: NSEC owned by the instance:\n{}", r6.describe(t0)));
    let (next, types) = nsec_fields(r6, nsec);
    assert_eq!(name(&next), name(INSTANCE), "NEG-02: next domain name is the owner:\n{}", r6.describe(t0));
    assert_eq!(types, BTreeSet::from([16, 33]), "NEG-02: NSEC lists TXT and SRV only:\n{}", r6.describe(t0));
    assert!(r6.anywhere(INSTANCE, RecordType::A).is_none());
    assert!(delay_ms(r6, q[6]) <= 120.0 + SLACK * 1e3, "NSEC too late:\n{all}");

    // 7. SVC-09: the reverse-mapping PTR gives the host name.
    let r7 = multicast_between(q[7].time, q[8].time)
        .into_iter()
        .find(|p| p.v4() && p.answer(&reverse, RecordType::PTR).is_some())
        .unwrap_or_else(|| panic!("SVC-09: no answer for {reverse} PTR:\n{all}"));
    let ptr = r7.answer(&reverse, RecordType::PTR).unwrap();
    assert_eq!(ptr.ptr_target(), Some(&host_name), "SVC-09:\n{}", r7.describe(t0));
    assert_eq!(ptr.record.ttl, HOST_TTL, "TTL-01: reverse PTR TTL:\n{}", r7.describe(t0));
    assert!(delay_ms(r7, q[7]) < 30.0, "RSP-05: reverse PTR (unique) answered at once:\n{all}");

    // 8. SVC-03: the service type, as a shared answer after 20-120 ms.
    let r8 = multicast_between(q[8].time, q[8].time + 1.0)
        .into_iter()
        .find(|p| p.v4() && p.answer(SERVICES, RecordType::PTR).is_some())
        .unwrap_or_else(|| panic!("SVC-03: no answer for {SERVICES} PTR:\n{all}"));
    let ptr = r8.answer(SERVICES, RecordType::PTR).unwrap();
    assert_eq!(ptr.ptr_target(), Some(&name(SERVICE)), "SVC-03:\n{}", r8.describe(t0));
    assert_eq!(ptr.record.ttl, OTHER_TTL, "TTL-01:\n{}", r8.describe(t0));
    let delay = delay_ms(r8, q[8]);
    assert!(
        (19.5..=120.0 + SLACK * 1e3).contains(&delay),
        "SVC-03: shared answer after {delay:.1} ms:\n{all}"
    );

    // RSP-10: the legacy reply is the only unicast we sent.
    let unicast: Vec<&Packet> = ours.iter().copied().filter(|p| !p.multicast()).collect();
    assert_eq!(unicast.len(), 1, "RSP-10: unicast responses other than the legacy reply:\n{all}");
}

#[test]
fn truncated_query_waits_for_the_rest_of_its_known_answers() {
    let x = exchange(|_, _| {
        let mut truncated = Message::new(0, MessageType::Query, OpCode::Query);
        truncated.metadata.truncation = true;
        truncated.queries.push(Query::query(name(ANS_SERVICE), RecordType::PTR));
        let truncated = truncated.to_vec().expect("encode a query");
        let mut rest = Message::new(0, MessageType::Query, OpCode::Query);
        rest.answers
            .push(Record::from_rdata(name(ANS_SERVICE), OTHER_TTL, RData::PTR(PTR(name(ANS_INSTANCE)))));
        vec![
            // 0, 1: a truncated query, and right after it the packet with
            // the rest of its known answers: our PTR.
            (0, "m", truncated.clone()),
            (2, "m", rest.to_vec().expect("encode a query")),
            // 2: a truncated query whose second packet was lost.
            (1500, "m", truncated),
        ]
    });
    // KAS-05: the PTR was known, so it is not given.
    let given = x.answer_to(0, x.q[2].time, ANS_SERVICE, RecordType::PTR);
    assert!(
        given.is_none(),
        "KAS-05: PTR sent although the second packet of the query listed it:\n{}",
        x.all
    );
    // RSP-08: the answer waits 400-500 ms for more known answers.
    let r2 = x
        .answer_to(2, x.q[2].time + 2.0, ANS_SERVICE, RecordType::PTR)
        .unwrap_or_else(|| panic!("no answer to the truncated query:\n{}", x.all));
    let delay = delay_ms(r2, &x.q[2]);
    assert!(
        (399.5..=500.0 + SLACK * 1e3).contains(&delay),
        "RSP-08: truncated query answered after {delay:.1} ms, not 400-500:\n{}",
        x.all
    );
}

#[test]
fn a_record_sent_as_an_additional_record_is_not_multicast_again_within_a_second() {
    let x = exchange(|_, _| {
        vec![
            (0, "m", query_bytes(0, ANS_SERVICE, RecordType::PTR, vec![])),
            (400, "m", query_bytes(0, ANS_INSTANCE, RecordType::SRV, vec![])),
        ]
    });
    let r0 = x
        .answer_to(0, x.q[1].time, ANS_SERVICE, RecordType::PTR)
        .unwrap_or_else(|| panic!("no answer to the PTR query:\n{}", x.all));
    assert!(
        r0.additional(ANS_INSTANCE, RecordType::SRV).is_some(),
        "ADD-01: SRV as an additional record:\n{}",
        x.all
    );
    assert!(x.q[1].time - r0.time < 0.9, "the SRV query came too late to test the rate limit:\n{}", x.all);
    // RSP-11: a record is multicast at most once a second, in any section.
    let again: Vec<&Packet> = x
        .multicast_between(r0.time, r0.time + 0.95)
        .into_iter()
        .filter(|p| p.v4() && p.anywhere(ANS_INSTANCE, RecordType::SRV).is_some())
        .collect();
    assert!(
        again.is_empty(),
        "RSP-11: SRV multicast again {:.1} ms after it went out as an additional record:\n{}",
        delay_ms(again[0], r0),
        x.all
    );
}

#[test]
fn address_answers_carry_the_other_family_as_additional_records() {
    let x = exchange(|_, host_name| {
        let host_name = host_name.to_ascii();
        vec![
            (0, "m", query_bytes(0, &host_name, RecordType::A, vec![])),
            (1200, "m", query_bytes(0, &host_name, RecordType::AAAA, vec![])),
        ]
    });
    let text = x.host_name.to_ascii();
    // RSP-16, ADD-03: A answer → AAAA additional, and the other way round.
    let r0 = x
        .answer_to(0, x.q[1].time, &text, RecordType::A)
        .unwrap_or_else(|| panic!("no answer to the A query:\n{}", x.all));
    let r1 = x
        .answer_to(1, x.q[1].time + 1.0, &text, RecordType::AAAA)
        .unwrap_or_else(|| panic!("no answer to the AAAA query:\n{}", x.all));
    for (p, rtype, address) in [(r0, RecordType::AAAA, IpAddr::V6(x.us.v6)), (r1, RecordType::A, IpAddr::V4(x.us.v4))] {
        let extra = p.additional(&text, rtype).and_then(Rr::address);
        assert_eq!(extra, Some(address), "RSP-16: {rtype} as an additional record:\n{}", x.describe(p));
    }
}

// ---------------------------------------------------------------------------
// 4. Continuous querying
// ---------------------------------------------------------------------------

#[test]
fn browse_queries_start_within_120_ms_then_double_from_one_second() {
    const NOTHING: &str = "_nothing._tcp.local.";
    let lab = Lab::new(1);
    let host = lab.host(1);
    let us = Sender::of(host);
    let cap = capture(host, "eth0");
    let spawned = epoch_now();
    let browse = host.spawn(dns_sd_tool(), &["-t", "8", "-B", "_nothing._tcp"], &[]);
    // Printed just before the browse starts: its queries come after this.
    browse
        .wait_for_line("Browsing for _nothing._tcp", secs(5.0))
        .unwrap_or_else(|| panic!("dns-sd -B did not start: {}", browse.describe()));
    let printed = epoch_now();
    let out = browse.finish(secs(15.0));
    assert!(!out.timed_out, "dns-sd -t 8 did not exit: {out:?}");
    let packets = decode_all(&cap.stop());
    let all = show_from(&packets, spawned);
    check_all_sent_by(&packets, &us);

    for v4 in [true, false] {
        let family = family_name(v4);
        let queries: Vec<&Packet> = packets
            .iter()
            .filter(|p| us.sent(p) && p.v4() == v4 && p.is_query() && p.asks(NOTHING, RecordType::PTR))
            .collect();
        // QRY-03: 20-120 ms after the browse started, then 1, 2 and 4 s
        // apart; the next would be 8 s later, after the program has ended.
        check_gaps(&format!("{family}: QRY-03: browse queries"), &queries, &[1.0, 2.0, 4.0], 0.050, &all);
        let first = queries[0].time;
        assert!(
            first - spawned >= 0.020,
            "{family}: QRY-03: first query {:.1} ms after the program started:\n{all}",
            (first - spawned) * 1e3
        );
        assert!(
            first - printed <= 0.120 + SLACK,
            "{family}: QRY-03: first query {:.1} ms after the browse started:\n{all}",
            (first - printed) * 1e3
        );
        for (i, p) in queries.iter().enumerate() {
            let d = p.describe(spawned);
            // QRY-01/02: multicast from 5353 (check_sent_by_us has the rest).
            assert!(p.multicast() && p.src_port == 5353, "{family}: QRY-01/02:\n{d}");
            // QRY-06: the first query right after start-up asks for unicast
            // replies (the program is alone on port 5353); the others do not.
            let class = if i == 0 { CLASS_IN | 0x8000 } else { CLASS_IN };
            assert_eq!(p.question_class(NOTHING), Some(class), "{family}: QRY-06: query {i}:\n{d}");
            // Nothing cached, so no known answers.
            assert_eq!(p.answers().count(), 0, "{family}: known answers out of nowhere:\n{d}");
        }
    }
}

// ---------------------------------------------------------------------------
// The pcap reader's IP TTL (no root needed)
// ---------------------------------------------------------------------------

#[test]
fn pcap_reader_reports_the_ip_ttl_and_hop_limit() {
    let mut pcap = Vec::new();
    pcap.extend(0xa1b2_c3d4u32.to_le_bytes());
    pcap.extend(2u16.to_le_bytes());
    pcap.extend(4u16.to_le_bytes());
    pcap.extend([0u8; 8]);
    pcap.extend(65535u32.to_le_bytes());
    pcap.extend(1u32.to_le_bytes()); // Ethernet
    let udp = |payload: &[u8]| -> Vec<u8> {
        let mut u = Vec::new();
        u.extend(5353u16.to_be_bytes());
        u.extend(5353u16.to_be_bytes());
        u.extend((8 + payload.len() as u16).to_be_bytes());
        u.extend([0, 0]);
        u.extend(payload);
        u
    };
    let mut frames = Vec::new();
    // IPv4, TTL 7.
    let body = udp(b"four");
    let mut f = vec![0u8; 12];
    f.extend(0x0800u16.to_be_bytes());
    f.extend([0x45, 0]);
    f.extend((20 + body.len() as u16).to_be_bytes());
    f.extend([0, 0, 0, 0, 7, 17, 0, 0, 192, 0, 2, 1, 224, 0, 0, 251]);
    f.extend(&body);
    frames.push(f);
    // IPv6, hop limit 9.
    let body = udp(b"six");
    let mut f = vec![0u8; 12];
    f.extend(0x86ddu16.to_be_bytes());
    f.extend([0x60, 0, 0, 0]);
    f.extend((body.len() as u16).to_be_bytes());
    f.extend([17, 9]);
    f.extend(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1).octets());
    f.extend(MDNS_V6.octets());
    f.extend(&body);
    frames.push(f);
    for f in frames {
        pcap.extend([0u8; 8]);
        pcap.extend((f.len() as u32).to_le_bytes());
        pcap.extend((f.len() as u32).to_le_bytes());
        pcap.extend(f);
    }
    let got: Vec<(Vec<u8>, u8)> = pcap_udp_packets(&pcap).into_iter().map(|p| (p.payload, p.ttl)).collect();
    assert_eq!(got, vec![(b"four".to_vec(), 7), (b"six".to_vec(), 9)]);
}

// ---------------------------------------------------------------------------
// Unicast replies (QU): asked for only while the port is ours alone
// ---------------------------------------------------------------------------

#[test]
fn a_peer_that_answers_only_by_unicast_is_found_by_a_program_alone_on_the_port() {
    let lab = Lab::new(2);
    let us = Sender::of(lab.host(1));
    let peer_address = lab.host(2).ipv4();
    let script = manifest_dir().join("tests/peers/unicast_only_responder.py").display().to_string();
    let peer = lab.host(2).spawn("python3", &[&script, "20", "Unicast Only", "_quonly._tcp", "7300", &peer_address.to_string()], &[]);
    peer.wait_for_line("READY", secs(10.0)).unwrap_or_else(|| panic!("peer: {}", peer.describe()));
    let cap = capture(lab.host(1), "eth0");
    let browse = lab.host(1).spawn(dns_sd_tool(), &["-t", "3", "-B", "_quonly._tcp"], &[]);
    let found = browse.wait_for_line(|l: &str| l.contains(" Add ") && l.contains("Unicast Only"), secs(6.0));
    let out = browse.finish(secs(10.0));
    let packets = decode_all(&cap.stop());
    let all = show(&packets);
    assert!(found.is_some(), "QU then the unicast answer: the browse finds the peer:\n{}\n{all}", out.stdout_lines().join("\n"));
    // The only way it could: our first query asked for unicast replies,
    // and the answer came by unicast from the peer's port 5353.
    let first = packets.iter().find(|p| us.sent(p) && p.is_query() && p.asks("_quonly._tcp.local.", RecordType::PTR));
    assert!(first.is_some_and(|p| p.question_class("_quonly._tcp.local.") == Some(CLASS_IN | 0x8000)), "first query QU:\n{all}");
    let answer = packets
        .iter()
        .find(|p| p.src == IpAddr::V4(peer_address) && p.is_response())
        .unwrap_or_else(|| panic!("no answer from the peer:\n{all}"));
    assert_eq!((answer.dst, answer.dst_port, answer.src_port), (IpAddr::V4(lab.host(1).ipv4()), 5353, 5353), "unicast:\n{all}");
    assert!(packets.iter().all(|p| !(p.src == IpAddr::V4(peer_address) && p.multicast())), "the peer never multicasts:\n{all}");
}

#[test]
fn a_program_sharing_the_port_with_another_asks_for_no_unicast_replies() {
    const SECOND: &str = "Second._sharing._tcp.local.";
    let lab = Lab::new(1);
    let host = lab.host(1);
    let us = Sender::of(host);
    let first = host.spawn(example("register"), &["First", "_sharing._tcp", "7400"], &[]);
    wait_registered(&first);
    let cap = capture(host, "eth0");
    let second = host.spawn(example("register"), &["Second", "_sharing._tcp", "7401"], &[]);
    wait_registered(&second);
    let browse = host.spawn(dns_sd_tool(), &["-t", "2", "-B", "_sharing._tcp"], &[]);
    let out = browse.finish(secs(10.0));
    let packets = decode_all(&cap.stop());
    let all = show(&packets);
    let adds = out.stdout_lines().iter().filter(|l| l.contains(" Add ")).count();
    assert_eq!(adds, 2, "a browse sharing the port finds both:\n{}", out.stdout_lines().join("\n"));
    // QRY-12: a unicast reply would reach only one of the programs on port
    // 5353, so neither the second's probes nor the browse's queries ask.
    let probes: Vec<&Packet> = packets.iter().filter(|p| us.sent(p) && p.is_query() && p.asks(SECOND, RecordType::ANY)).collect();
    assert_eq!(probes.len(), 6, "three probes on each IP version:\n{all}");
    for p in packets.iter().filter(|p| us.sent(p) && p.is_query()) {
        assert!(p.qclasses.iter().all(|c| c & 0x8000 == 0), "QU bit while sharing the port:\n{}", p.describe(0.0));
    }
    drop(first);
    drop(second);
}

//! Checks of the test harness itself (tests/support): labs, processes in
//! them, packet capture and the pcap reader. Needs root (network namespaces).

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use support::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Listens for one datagram on 224.0.0.251:5353, joined on the interface
/// whose index is argv[1]; prints READY, then `GOT <payload> <src> <port>`.
const PY_LISTEN: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("", 5353))
mreqn = struct.pack("4s4si", socket.inet_aton("224.0.0.251"), socket.inet_aton("0.0.0.0"), int(sys.argv[1]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
s.settimeout(float(sys.argv[2]))
print("READY", flush=True)
data, addr = s.recvfrom(9000)
print("GOT", data.decode(), addr[0], addr[1], flush=True)
"#;

/// Sends argv[2] to 224.0.0.251:5353 from the interface address argv[1],
/// argv[3] times, 100 ms apart.
const PY_SEND: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
for i in range(int(sys.argv[3])):
    s.sendto(sys.argv[2].encode(), ("224.0.0.251", 5353))
    time.sleep(0.1)
print("SENT", flush=True)
"#;

fn our_namespaces_exist(names: &[String]) -> Vec<String> {
    let now = netns_list();
    names.iter().filter(|n| now.contains(n)).cloned().collect()
}

#[test]
fn hosts_can_ping_each_other() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    assert_eq!(h1.ipv4(), Ipv4Addr::new(192, 0, 2, 11));
    assert_eq!(h2.ipv4(), Ipv4Addr::new(192, 0, 2, 12));
    assert_eq!(h2.ipv6(), "2001:db8::12".parse::<Ipv6Addr>().unwrap());
    assert!(
        h1.ifindex_of("eth0") > 1,
        "eth0 should not be ifindex 1 (lo)"
    );
    assert_eq!(h1.ifindex_of("lo"), 1);
    let ll = h1.ipv6_link_local().expect("link-local address");
    assert_eq!(ll.segments()[0], 0xfe80);

    let out = h1.run("ping", &["-c1", "-W2", "192.0.2.12"], SECS(10));
    out.assert_success("ping 192.0.2.12 from host 1");
    let out = h1.run("ping", &["-6", "-c1", "-W2", "2001:db8::12"], SECS(10));
    out.assert_success("ping 2001:db8::12 from host 1");
}

#[test]
fn multicast_reaches_the_other_host() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    let ifindex = h2.ifindex_of("eth0").to_string();
    let listener = h2.spawn("python3", &["-c", PY_LISTEN, &ifindex, "15"], &[]);
    assert!(
        listener.wait_for_line("READY", SECS(15)).is_some(),
        "listener did not start: {}",
        listener.describe()
    );
    let sender = h1.run(
        "python3",
        &["-c", PY_SEND, "192.0.2.11", "hello-from-h1", "3"],
        SECS(15),
    );
    sender.assert_success("multicast sender");
    let got = listener
        .wait_for_line("GOT", SECS(10))
        .unwrap_or_else(|| panic!("no datagram arrived: {}", listener.describe()));
    assert!(
        got.starts_with("GOT hello-from-h1 192.0.2.11 "),
        "unexpected: {got}"
    );
    assert!(
        listener
            .wait_exit(SECS(5))
            .map(|s| s.success())
            .unwrap_or(false),
        "{}",
        listener.describe()
    );
}

#[test]
fn capture_records_multicast_between_hosts() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    let cap = capture(h2, "eth0");
    let cap_sw = capture(lab.switch().unwrap(), "br0");
    h1.run(
        "python3",
        &["-c", PY_SEND, "192.0.2.11", "captured-payload", "2"],
        SECS(15),
    )
    .assert_success("multicast sender");
    let pcap = cap.stop();
    let packets = pcap_udp_packets(&pcap);
    let ours: Vec<_> = packets
        .iter()
        .filter(|p| p.payload == b"captured-payload")
        .collect();
    assert_eq!(
        ours.len(),
        2,
        "expected both datagrams in the capture, got {packets:?}"
    );
    for p in &ours {
        assert_eq!(p.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)));
        assert_eq!(p.dst, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)));
        assert_eq!(p.dst_port, 5353);
        assert!(
            p.time > 1.0e9,
            "timestamp should be epoch seconds: {}",
            p.time
        );
    }
    assert!(ours[1].time >= ours[0].time);
    let simple = pcap_udp_payloads(&pcap);
    assert!(simple
        .iter()
        .any(|(_, data, src, _)| data == b"captured-payload" && *src == ours[0].src));

    let on_switch = pcap_udp_payloads(&cap_sw.stop());
    assert_eq!(
        on_switch
            .iter()
            .filter(|(_, d, _, _)| d == b"captured-payload")
            .count(),
        2
    );
}

#[test]
fn solo_lab_has_multicast_on_loopback() {
    let lab = Lab::solo();
    let h = lab.host(1);
    assert_eq!(h.iface(), "lo");
    assert_eq!(h.ipv4(), Ipv4Addr::LOCALHOST);
    assert_eq!(lab.namespace_names().len(), 1);
    let listener = h.spawn("python3", &["-c", PY_LISTEN, "1", "15"], &[]);
    assert!(
        listener.wait_for_line("READY", SECS(15)).is_some(),
        "{}",
        listener.describe()
    );
    h.run(
        "python3",
        &["-c", PY_SEND, "127.0.0.1", "loopback-hello", "3"],
        SECS(15),
    )
    .assert_success("sender on lo");
    let got = listener.wait_for_line("GOT", SECS(10));
    assert!(
        got.as_deref()
            .map(|g| g.starts_with("GOT loopback-hello 127.0.0.1 "))
            .unwrap_or(false),
        "{}",
        listener.describe()
    );
}

#[test]
fn dropping_the_lab_removes_namespaces_and_processes() {
    let lab = Lab::new(2);
    let names = lab.namespace_names();
    assert_eq!(names.len(), 3);
    assert_eq!(our_namespaces_exist(&names), names);
    // A process that is not a Proc (detached from the shell that started
    // it): only the lab's own cleanup can end it.
    let out = lab
        .host(1)
        .sh("sleep 300 >/dev/null 2>&1 & echo $!", SECS(10));
    out.assert_success("start a detached sleep");
    let pid: i32 = out.stdout.trim().parse().expect("pid");
    assert!(lab.host(1).pids().contains(&pid));
    drop(lab);
    assert!(
        our_namespaces_exist(&names).is_empty(),
        "left behind: {:?}",
        our_namespaces_exist(&names)
    );
    let gone = poll_until(SECS(5), Duration::from_millis(20), || {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // A zombie waiting for its reaper is gone for our purposes.
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .map(|r| r.trim_start().starts_with('Z'))
                .unwrap_or(false),
        }
    });
    assert!(gone, "the detached sleep {pid} survived the lab");
}

#[test]
fn a_panicking_test_still_cleans_up() {
    let names = std::sync::Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lab = Lab::new(1);
        *names.lock().unwrap() = lab.namespace_names();
        let _p = lab.host(1).spawn("sleep", &["300"], &[]);
        panic!("deliberate panic inside a lab");
    }));
    assert!(result.is_err());
    let names = names.into_inner().unwrap();
    assert_eq!(names.len(), 2);
    assert!(our_namespaces_exist(&names).is_empty());
}

#[test]
fn labs_in_parallel_threads_get_distinct_names() {
    let labs: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let lab = Lab::new(2);
                    let out = lab
                        .host(1)
                        .run("ping", &["-c1", "-W2", "192.0.2.12"], SECS(10));
                    out.assert_success("ping inside a parallel lab");
                    lab.namespace_names()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<String> = labs.concat();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "namespace names must be unique");
    assert!(our_namespaces_exist(&all).is_empty());
    for name in &all {
        assert!(
            name.starts_with(&format!("dsd{}x", std::process::id())),
            "{name}"
        );
    }
}

#[test]
fn proc_collects_output_and_takes_signals() {
    let lab = Lab::solo();
    let h = lab.host(1);
    let p = h.spawn(
        "sh",
        &[
            "-c",
            "echo first; echo \"env=$DSD_TEST_VAR\"; echo oops >&2; echo second; exec sleep 300",
        ],
        &[("DSD_TEST_VAR", "42")],
    );
    assert_eq!(
        p.wait_for_line("second", SECS(10)).as_deref(),
        Some("second")
    );
    // Lines printed before the call are found too.
    assert_eq!(p.wait_for_line("first", SECS(1)).as_deref(), Some("first"));
    assert_eq!(
        p.wait_for_line(|l: &str| l.starts_with("env="), SECS(1))
            .as_deref(),
        Some("env=42")
    );
    assert_eq!(
        p.wait_for_lines("s", 2, SECS(1)),
        vec!["first".to_string(), "second".to_string()]
    );
    assert!(p.wait_for_stderr_line("oops", SECS(5)).is_some());
    assert_eq!(p.stderr_text(), "oops\n");
    assert_eq!(p.stdout_lines(), vec!["first", "env=42", "second"]);
    assert!(p
        .wait_for_line("never printed", Duration::from_millis(200))
        .is_none());
    assert!(p.is_running());
    assert!(p.wait_exit(Duration::from_millis(100)).is_none());
    p.signal(libc::SIGINT);
    let status = p.wait_exit(SECS(5)).expect("sleep should die of SIGINT");
    assert_eq!(status_text(&status), "signal 2");

    // A program that ends: wait_for_line gives up at end of output.
    let q = h.spawn("sh", &["-c", "echo only; exit 3"], &[]);
    assert!(q.wait_for_line("missing", SECS(10)).is_none());
    assert_eq!(q.wait_exit(SECS(5)).and_then(|s| s.code()), Some(3));
    assert_eq!(q.stdout_lines(), vec!["only"]);
}

#[test]
fn run_kills_on_timeout() {
    let lab = Lab::solo();
    let h = lab.host(1);
    let out = h.run(
        "sh",
        &["-c", "echo started; exec sleep 300"],
        Duration::from_millis(500),
    );
    assert!(out.timed_out);
    assert!(!out.success());
    assert_eq!(out.stdout, "started\n");
    assert_eq!(
        out.status.map(|s| status_text(&s)).as_deref(),
        Some("signal 9")
    );

    let out = h.run("sh", &["-c", "echo fine; echo err >&2"], SECS(10));
    assert!(out.success() && !out.timed_out);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("fine\n", "err\n")
    );
    // Programs really run inside the namespace.
    let links = h.run("ip", &["-o", "link"], SECS(10));
    assert_eq!(
        links.stdout_lines().len(),
        1,
        "only lo expected: {}",
        links.stdout
    );
}

#[test]
fn build_paths() {
    let profile = profile_dir();
    let exe = std::env::current_exe().unwrap();
    assert!(
        exe.starts_with(&profile),
        "{} not under {}",
        exe.display(),
        profile.display()
    );
    assert!(profile.join("deps").is_dir());
    assert!(target_dir().is_absolute());
    let lib = library_dir();
    assert_eq!(lib, profile);
    assert!(lib.join("libdns_sd.so.1").exists());
    // The library in the profile dir is the one cargo test just built.
    use std::os::unix::fs::MetadataExt;
    let fresh = std::fs::metadata(lib.join("deps/libdns_sd.so")).unwrap();
    let used = std::fs::metadata(lib.join("libdns_sd.so")).unwrap();
    assert_eq!((fresh.dev(), fresh.ino()), (used.dev(), used.ino()));
    assert_eq!(
        std::fs::canonicalize(lib.join("libdns_sd.so.1")).unwrap(),
        std::fs::canonicalize(lib.join("libdns_sd.so")).unwrap()
    );
}

/// The examples compile against the generated include/dns_sd.h and link
/// with the library.
#[test]
fn c_examples_build() {
    let dir = build_c_examples();
    for prog in ["register", "browse_resolve", "register_cpp"] {
        assert!(
            dir.join(prog).is_file(),
            "{prog} missing in {}",
            dir.display()
        );
    }
    assert_eq!(build_c_examples(), dir);
}

// ---------------------------------------------------------------------------
// The pcap reader, on bytes made here
// ---------------------------------------------------------------------------

struct PcapWriter {
    big_endian: bool,
    bytes: Vec<u8>,
}

impl PcapWriter {
    fn new(big_endian: bool, nanos: bool, linktype: u32) -> Self {
        let mut w = PcapWriter {
            big_endian,
            bytes: Vec::new(),
        };
        w.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        w.u16(2);
        w.u16(4);
        w.u32(0);
        w.u32(0);
        w.u32(65535);
        w.u32(linktype);
        w
    }
    fn u16(&mut self, v: u16) {
        self.bytes.extend(if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u32(&mut self, v: u32) {
        self.bytes.extend(if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn record(&mut self, sec: u32, frac: u32, frame: &[u8]) {
        self.u32(sec);
        self.u32(frac);
        self.u32(frame.len() as u32);
        self.u32(frame.len() as u32);
        self.bytes.extend_from_slice(frame);
    }
}

fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend(src_port.to_be_bytes());
    u.extend(dst_port.to_be_bytes());
    u.extend(((payload.len() + 8) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend_from_slice(payload);
    u
}

/// An IPv4 header + body; `frag` = (id, offset in bytes, more fragments).
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, frag: (u16, usize, bool), body: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend(((20 + body.len()) as u16).to_be_bytes());
    p.extend(frag.0.to_be_bytes());
    let flags_off = ((frag.1 / 8) as u16) | if frag.2 { 0x2000 } else { 0 };
    p.extend(flags_off.to_be_bytes());
    p.extend([255, proto, 0, 0]);
    p.extend(src);
    p.extend(dst);
    p.extend_from_slice(body);
    p
}

fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend((body.len() as u16).to_be_bytes());
    p.extend([next, 255]);
    p.extend(src.octets());
    p.extend(dst.octets());
    p.extend_from_slice(body);
    p
}

fn ether(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb, 0x02, 0, 0, 0, 0, 1];
    f.extend(ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn pcap_reader_ethernet_ipv4_and_ipv6() {
    for big_endian in [false, true] {
        let mut w = PcapWriter::new(big_endian, false, 1);
        let v4 = ipv4(
            [192, 0, 2, 11],
            [224, 0, 0, 251],
            17,
            (1, 0, false),
            &udp(5353, 5353, b"four"),
        );
        w.record(1_700_000_000, 250_000, &ether(0x0800, &v4));
        // Not UDP (ICMP): skipped.
        let icmp = ipv4(
            [192, 0, 2, 11],
            [192, 0, 2, 12],
            1,
            (2, 0, false),
            &[8, 0, 0, 0, 0, 0, 0, 0],
        );
        w.record(1_700_000_000, 300_000, &ether(0x0800, &icmp));
        // ARP: skipped.
        w.record(1_700_000_000, 350_000, &ether(0x0806, &[0u8; 28]));
        let (s6, d6): (Ipv6Addr, Ipv6Addr) =
            ("fe80::1".parse().unwrap(), "ff02::fb".parse().unwrap());
        // Hop-by-hop options header before UDP.
        let mut hbh = vec![17, 0, 5, 2, 0, 0, 1, 0];
        hbh.extend(udp(40000, 5353, b"six"));
        w.record(
            1_700_000_001,
            500_000,
            &ether(0x86dd, &ipv6(s6, d6, 0, &hbh)),
        );
        // A VLAN-tagged frame.
        let mut tagged = vec![0x00, 0x05];
        tagged.extend(0x0800u16.to_be_bytes());
        tagged.extend(ipv4(
            [192, 0, 2, 12],
            [224, 0, 0, 251],
            17,
            (3, 0, false),
            &udp(5353, 5353, b"vlan"),
        ));
        w.record(1_700_000_002, 0, &ether(0x8100, &tagged));
        // Ethernet padding after a short IPv4 packet must not reach the payload.
        let mut padded = ether(
            0x0800,
            &ipv4(
                [192, 0, 2, 13],
                [224, 0, 0, 251],
                17,
                (4, 0, false),
                &udp(5353, 5353, b"x"),
            ),
        );
        padded.extend([0u8; 20]);
        w.record(1_700_000_003, 0, &padded);

        let got = pcap_udp_payloads(&w.bytes);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!((got[0].0 - 1_700_000_000.25).abs() < 1e-6);
        assert_eq!(got[0].1, b"four");
        assert_eq!(got[0].2, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)));
        assert_eq!(got[0].3, 5353);
        assert!((got[1].0 - 1_700_000_001.5).abs() < 1e-6);
        assert_eq!(
            (got[1].1.as_slice(), got[1].2, got[1].3),
            (&b"six"[..], IpAddr::V6(s6), 40000)
        );
        assert_eq!(got[2].1, b"vlan");
        assert_eq!(got[3].1, b"x");

        let full = pcap_udp_packets(&w.bytes);
        assert_eq!(full[1].dst, IpAddr::V6(d6));
        assert_eq!(full[1].dst_port, 5353);
    }
}

#[test]
fn pcap_reader_nanoseconds_truncation_and_garbage() {
    let mut w = PcapWriter::new(false, true, 1);
    let v4 = ipv4(
        [10, 0, 0, 1],
        [224, 0, 0, 251],
        17,
        (1, 0, false),
        &udp(5353, 5353, b"ns"),
    );
    w.record(5, 123_456_789, &ether(0x0800, &v4));
    w.record(6, 0, &ether(0x0800, &v4));
    let whole = w.bytes.clone();
    let got = pcap_udp_payloads(&whole);
    assert_eq!(got.len(), 2);
    assert!((got[0].0 - 5.123456789).abs() < 1e-9);
    // A file cut in the middle of the last record (tcpdump killed): the
    // complete records are still read.
    let cut = &whole[..whole.len() - 10];
    assert_eq!(pcap_udp_payloads(cut).len(), 1);
    assert!(pcap_udp_payloads(&whole[..20]).is_empty());
    assert!(pcap_udp_payloads(b"this is not a pcap file at all, no").is_empty());
    assert!(pcap_udp_payloads(&[]).is_empty());
}

#[test]
fn pcap_reader_reassembles_fragments() {
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let datagram = udp(5353, 5353, &payload);
    let mut w = PcapWriter::new(false, false, 1);
    // IPv4: three fragments, sent out of order.
    let pieces = [
        (0usize, 1480usize, true),
        (1480, 2960, true),
        (2960, datagram.len(), false),
    ];
    for &i in &[1usize, 0, 2] {
        let (a, b, more) = pieces[i];
        let p = ipv4(
            [192, 0, 2, 11],
            [224, 0, 0, 251],
            17,
            (77, a, more),
            &datagram[a..b],
        );
        w.record(10, i as u32, &ether(0x0800, &p));
    }
    // IPv6: two fragments with a fragment header.
    let (s6, d6): (Ipv6Addr, Ipv6Addr) =
        ("2001:db8::11".parse().unwrap(), "ff02::fb".parse().unwrap());
    for (a, b, more) in [(0usize, 1448usize, true), (1448, datagram.len(), false)] {
        let mut body = vec![17, 0];
        body.extend((((a / 8) as u16) << 3 | more as u16).to_be_bytes());
        body.extend(0xdead_beefu32.to_be_bytes());
        body.extend_from_slice(&datagram[a..b]);
        w.record(11, 0, &ether(0x86dd, &ipv6(s6, d6, 44, &body)));
    }
    // A lone fragment whose companions never come: nothing.
    let p = ipv4(
        [192, 0, 2, 12],
        [224, 0, 0, 251],
        17,
        (99, 0, true),
        &datagram[..1480],
    );
    w.record(12, 0, &ether(0x0800, &p));

    let got = pcap_udp_packets(&w.bytes);
    assert_eq!(
        got.len(),
        2,
        "{:?}",
        got.iter()
            .map(|p| (p.src, p.payload.len()))
            .collect::<Vec<_>>()
    );
    assert_eq!(got[0].payload, payload);
    assert_eq!(got[0].src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)));
    assert_eq!(got[1].payload, payload);
    assert_eq!(got[1].src, IpAddr::V6(s6));
}

#[test]
fn pcap_reader_linux_cooked_and_raw() {
    let v4 = ipv4(
        [192, 0, 2, 11],
        [224, 0, 0, 251],
        17,
        (1, 0, false),
        &udp(5353, 5353, b"sll"),
    );
    let mut w = PcapWriter::new(false, false, 113);
    let mut sll = vec![0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    sll.extend(0x0800u16.to_be_bytes());
    sll.extend_from_slice(&v4);
    w.record(1, 0, &sll);
    assert_eq!(pcap_udp_payloads(&w.bytes)[0].1, b"sll");

    let mut w = PcapWriter::new(false, false, 101);
    w.record(1, 0, &v4);
    assert_eq!(pcap_udp_payloads(&w.bytes)[0].1, b"sll");

    // An unknown link type yields nothing rather than garbage.
    let mut w = PcapWriter::new(false, false, 147);
    w.record(1, 0, &v4);
    assert!(pcap_udp_payloads(&w.bytes).is_empty());
}

#[test]
fn example_output_parsers() {
    let b = parse_browse_line("ADD My Web Server _http._tcp. local. 2").unwrap();
    assert_eq!(
        b,
        BrowseLine {
            add: true,
            name: "My Web Server".into(),
            regtype: "_http._tcp.".into(),
            domain: "local.".into(),
            ifindex: 2
        }
    );
    assert!(
        !parse_browse_line("REMOVE x _ipp._tcp. local. 3")
            .unwrap()
            .add
    );
    assert!(parse_browse_line("RESOLVED x").is_none());
    assert!(parse_browse_line("ADD x _ipp._tcp. local. notanumber").is_none());

    assert_eq!(
        parse_registered_line("REGISTERED Two Words _http._tcp. local."),
        Some((
            true,
            "Two Words".into(),
            "_http._tcp.".into(),
            "local.".into()
        ))
    );
    assert_eq!(
        parse_registered_line("REMOVED a _x._udp. local.").map(|r| r.0),
        Some(false)
    );
    assert!(parse_registered_line("ERROR -65548").is_none());

    let r = parse_resolved_line(
        r"RESOLVED My\032Web._http._tcp.local. host.local. 8080 2 path=/x flag empty= b=\x01\x5Cz sp=a\x20b",
    )
    .unwrap();
    assert_eq!(r.fullname, r"My\032Web._http._tcp.local.");
    assert_eq!(
        (r.host.as_str(), r.port, r.ifindex),
        ("host.local.", 8080, 2)
    );
    assert_eq!(r.txt.len(), 5);
    assert_eq!(r.txt_value("path"), Some(&b"/x"[..]));
    assert_eq!(r.txt[1], (b"flag".to_vec(), None));
    assert_eq!(r.txt_value("empty"), Some(&b""[..]));
    assert_eq!(r.txt_value("b"), Some(&b"\x01\\z"[..]));
    assert_eq!(r.txt_value("sp"), Some(&b"a b"[..]));
    assert!(parse_resolved_line("RESOLVED a b c 1").is_none());
    assert!(parse_resolved_line("RESOLVED a.local. h.local. 1 1")
        .unwrap()
        .txt
        .is_empty());
}

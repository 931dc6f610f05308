//! Ring 2: interfaces and addresses that appear, change or vanish while the
//! engine runs (issue #2; RFC 6762 §8, §10.2, §10.3, §6.2, §14; checklist
//! rows PRB-12, NET-04, CFB-04). The engine reads the interface list again
//! when the kernel reports a link or address change over netlink (and every
//! 5 s as a safety net): records are probed and announced on a new
//! interface, the cache of a vanished one is dropped, and a host on two
//! links answers each link with that link's addresses only. Needs root.
//!
//! Every engine here runs with a host name of its own (`ifh1`, `ifh2`, ...:
//! see [`spawn_named`]), so that the host name records the tests look for
//! are known in advance and no two hosts fight over the machine's name.
//!
//! Notes on the lab: `ip link set eth0 down` drops the interface's IPv6
//! addresses other than the link-local one (which comes back with the link)
//! and its routes; IPv4 addresses stay. While a host's only link is down,
//! the engine falls back to `lo`, so a registration may complete there.

mod support;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{Name, RData, Record};
use support::*;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// From a link or address appearing to a browser on the link seeing the
/// service: the interface list is read again at once (netlink), 0-250 ms
/// before the first probe, 750 ms of probing, then the first announcement
/// (about 1 s in all); the rest is slack for a busy two-core machine.
const APPEAR_WINDOW: Duration = secs(6);

/// From a browser's interface vanishing to its REMOVE: the interface list
/// is read again at once (netlink), plus slack.
const VANISH_WINDOW: Duration = secs(4);

/// The engine's safety-net reading of the interface list, while netlink
/// works (`INTERFACE_POLL_WITH_NETLINK` in the driver).
const SAFETY_NET_POLL: Duration = secs(5);

/// From an address being added to the first packet carrying it: netlink
/// wakes the engine at once, then 0-250 ms until the first probe; the rest
/// is slack for a busy two-core machine.
const NOTICE_WINDOW: Duration = Duration::from_millis(1500);

/// Between the two address changes of the netlink test: longer than
/// [`NOTICE_WINDOW`], and short enough that both fit in one
/// [`SAFETY_NET_POLL`] period with their windows.
const CHANGE_SPACING: Duration = Duration::from_millis(2500);

/// A registration is reported within this long (probing takes 0.75-1 s).
const REGISTER_WINDOW: Duration = secs(5);

fn example(name: &str) -> String {
    build_c_examples().join(name).display().to_string()
}

fn tool() -> String {
    dns_sd_tool().display().to_string()
}

/// Starts `program args...` in `host` inside a UTS namespace of its own
/// whose host name is `hostname`, so its engine publishes `hostname.local.`.
/// (Network namespaces share the machine's host name, so every engine would
/// otherwise claim the same one.) `unshare` and `sh` both exec, so the
/// returned process is the program itself and signals reach it.
fn spawn_named(host: &Host, hostname: &str, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Proc {
    let mut argv = vec!["--uts", "sh", "-c", r#"hostname "$0" && exec "$@""#, hostname, program];
    argv.extend_from_slice(args);
    host.spawn("unshare", &argv, envs)
}

/// [`spawn_named`], run to completion (killed after `timeout`).
fn run_named(host: &Host, hostname: &str, program: &str, args: &[&str], timeout: Duration) -> Output {
    spawn_named(host, hostname, program, args, &[]).finish(timeout)
}

fn wait_registered(proc: &Proc, what: &str) -> String {
    let line = proc
        .wait_for_line(|l: &str| l.starts_with("REGISTERED ") || l.starts_with("ERROR"), REGISTER_WINDOW)
        .unwrap_or_else(|| panic!("{what}: no register callback\n{}", proc.describe()));
    assert!(line.starts_with("REGISTERED "), "{what}: {line}\n{}", proc.describe());
    line
}

/// Seconds since the epoch, the clock pcap time stamps use.
fn wall_clock() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// A DNS name from its dotted text; labels may contain spaces.
fn dns_name(text: &str) -> Name {
    let labels: Vec<&[u8]> = text.trim_end_matches('.').split('.').map(str::as_bytes).collect();
    let mut name = Name::from_labels(labels).expect("valid name");
    name.set_fqdn(true);
    name
}

/// The addresses of `iface` in `host` (every scope), from `ip -o addr`.
fn iface_addresses(host: &Host, iface: &str) -> Vec<IpAddr> {
    let out = host.sh(&format!("ip -o addr show dev {iface}"), secs(5));
    out.stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace().skip_while(|w| *w != "inet" && *w != "inet6");
            words.next()?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}

/// RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR (linux/rtnetlink.h).
const RTNETLINK_GROUPS: u32 = 0x1 | 0x10 | 0x100;

/// The multicast groups of each rtnetlink (NETLINK_ROUTE) socket that
/// process `pid` holds: its descriptors name socket inodes, and the
/// `/proc/net/netlink` of its namespace gives each netlink socket's
/// protocol, groups (hex) and inode.
fn route_netlink_groups(pid: i32) -> Vec<u32> {
    let inodes: BTreeSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter_map(|target| target.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/netlink")).unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (protocol, groups, inode) = (*fields.get(1)?, *fields.get(3)?, fields.get(9)?.parse::<u64>().ok()?);
            if protocol != "0" || !inodes.contains(&inode) {
                return None;
            }
            u32::from_str_radix(groups, 16).ok()
        })
        .collect()
}

fn sh_ok(host: &Host, script: &str) {
    host.sh(script, secs(5)).assert_success(script);
}

/// One mDNS message from a capture.
#[derive(Debug)]
struct Packet {
    time: f64,
    src: IpAddr,
    dst: IpAddr,
    msg: Message,
}

impl Packet {
    fn is_v4(&self) -> bool {
        self.dst.is_ipv4()
    }

    fn is_query(&self) -> bool {
        self.msg.metadata.message_type == MessageType::Query
    }

    fn records(&self) -> impl Iterator<Item = &Record> {
        self.msg.answers.iter().chain(&self.msg.authorities).chain(&self.msg.additionals)
    }

    /// A probe (RFC 6762 §8.1): a query asking for `name` with proposed
    /// records of `name` in the authority section.
    fn is_probe_for(&self, name: &Name) -> bool {
        self.is_query() && self.msg.queries.iter().any(|q| q.name() == name) && self.msg.authorities.iter().any(|r| r.name == *name)
    }

    /// A response that gives records of `name` (not goodbyes).
    fn announces(&self, name: &Name) -> bool {
        !self.is_query() && self.msg.answers.iter().any(|r| r.name == *name && r.ttl > 0)
    }

    /// Every address in an A or AAAA record, in any section.
    fn addresses(&self) -> Vec<IpAddr> {
        self.records().filter_map(record_address).collect()
    }
}

fn record_address(r: &Record) -> Option<IpAddr> {
    match &r.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
        _ => None,
    }
}

/// The mDNS messages (UDP port 5353, parsable) in a pcap file.
fn mdns_packets(pcap: &[u8]) -> Vec<Packet> {
    pcap_udp_packets(pcap)
        .into_iter()
        .filter(|p| p.src_port == 5353 || p.dst_port == 5353)
        .filter_map(|p| Some(Packet { time: p.time, src: p.src, dst: p.dst, msg: Message::from_vec(&p.payload).ok()? }))
        .collect()
}

fn describe_packets(packets: &[&Packet]) -> String {
    packets
        .iter()
        .map(|p| {
            let questions: Vec<String> = p.msg.queries.iter().map(|q| format!("{} {}", q.name(), q.query_type())).collect();
            let records: Vec<String> = p.records().map(|r| format!("{} {} ttl {}", r.name, r.record_type(), r.ttl)).collect();
            format!(
                "{:.3} {} -> {} {} q={:?} rr={:?}",
                p.time,
                p.src,
                p.dst,
                if p.is_query() { "query" } else { "response" },
                questions,
                records
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A `dns-sd -Q` result line: (add, address) for A and AAAA answers.
fn parse_query_line(line: &str) -> Option<(bool, IpAddr)> {
    let add = if line.contains(" Add ") {
        true
    } else if line.contains(" Rmv ") {
        false
    } else {
        return None;
    };
    let (_, hex) = line.split_once(" bytes: ")?;
    let bytes: Vec<u8> = hex.split_whitespace().map(|b| u8::from_str_radix(b, 16)).collect::<Result<_, _>>().ok()?;
    let address = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[..]).ok()?)),
        _ => return None,
    };
    Some((add, address))
}

/// The addresses a `dns-sd -Q` run added (and not removed again).
fn query_addresses(lines: &[&str]) -> BTreeSet<IpAddr> {
    let mut set = BTreeSet::new();
    for (add, address) in lines.iter().filter_map(|l| parse_query_line(l)) {
        if add {
            set.insert(address);
        } else {
            set.remove(&address);
        }
    }
    set
}

fn ips(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

/// Polls a running capture until `done` holds for its packets so far.
fn wait_for_packets(cap: &Capture, timeout: Duration, done: impl Fn(&[Packet]) -> bool) -> bool {
    poll_until(timeout, Duration::from_millis(100), || done(&mdns_packets(&cap.snapshot())))
}

// ---------------------------------------------------------------------------
// A link or an address appears
// ---------------------------------------------------------------------------

/// PRB-12, NET-04: registered while the host's only link is down, the
/// service is probed and then announced on the link once it comes up, and a
/// browser already running on another host finds and resolves it.
#[test]
fn service_registered_while_the_link_is_down_is_probed_and_announced_when_it_comes_up() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    h1.set_link(false);
    let browser = spawn_named(h2, "ifh2", &example("browse_resolve"), &["-t", "40", "_linkup._tcp"], &[]);
    let cap = capture(h2, "eth0");
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Late Link", "_linkup._tcp", "4101", "k=v"], &[]);

    // Long enough for the engine to settle on what it has (lo) and for
    // anything that could leak onto the link to do so.
    thread::sleep(secs(3));
    assert!(reg.is_running(), "{}", reg.describe());
    assert!(browser.lines_matching("Late Link").is_empty(), "seen while the link was down: {:?}", browser.stdout_lines());

    let up_at = wall_clock();
    let up = Instant::now();
    h1.set_link(true);
    let add = browser.wait_for_line("ADD Late Link ", APPEAR_WINDOW);
    assert!(add.is_some(), "no ADD {:?} after the link came up\n{}\n{}", APPEAR_WINDOW, browser.describe(), reg.describe());
    let found_after = up.elapsed();
    let add = parse_browse_line(&add.unwrap()).unwrap();
    assert_eq!(add.ifindex, h2.ifindex_of("eth0"));
    let resolved = browser
        .wait_for_line(r"RESOLVED Late\032Link._linkup._tcp.local. ", secs(4))
        .and_then(|l| parse_resolved_line(&l))
        .unwrap_or_else(|| panic!("not resolved: {}", browser.describe()));
    assert_eq!((resolved.host.as_str(), resolved.port), ("ifh1.local.", 4101));
    assert_eq!(resolved.txt_value("k"), Some(&b"v"[..]));

    // On the wire: three probes for the instance and for the host name
    // after the link came up, and only then an announcement.
    let instance = dns_name("Late Link._linkup._tcp.local.");
    let host = dns_name("ifh1.local.");
    let packets = mdns_packets(&cap.stop());
    let v4: Vec<&Packet> = packets.iter().filter(|p| p.is_v4()).collect();
    let probes: Vec<f64> = v4.iter().filter(|p| p.is_probe_for(&instance)).map(|p| p.time).collect();
    let host_probes = v4.iter().filter(|p| p.is_probe_for(&host)).count();
    let announced = v4.iter().find(|p| p.announces(&instance)).map(|p| p.time);
    let trace = describe_packets(&v4);
    assert!(probes.len() >= 3, "three probes for the instance expected:\n{trace}");
    assert!(host_probes >= 3, "three probes for the host name expected:\n{trace}");
    assert!(probes[0] >= up_at - 0.01, "a probe before the link came up ({up_at:.3}):\n{trace}");
    let announced = announced.unwrap_or_else(|| panic!("no announcement:\n{trace}"));
    assert!(announced > probes[2], "announced before the third probe:\n{trace}");
    eprintln!("link up -> browser ADD: {found_after:?}");
}

/// NET-04 and RFC 6762 §10.2: registered while the interface has no
/// address, the service is announced once an address is added; replacing
/// that address probes the host name again, a running address query on
/// another host sees the new address added and the old one removed, and a
/// fresh query gets only the new one.
#[test]
fn address_added_and_then_replaced_at_run_time_is_probed_and_announced() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    sh_ok(h1, "ip addr flush dev eth0");
    assert_eq!(iface_addresses(h1, "eth0"), Vec::<IpAddr>::new(), "flush left addresses");
    let browser = spawn_named(h2, "ifh2", &example("browse_resolve"), &["-t", "40", "_addrup._tcp"], &[]);
    let reg = spawn_named(h1, "ifh1", &example("register"), &["No Address Yet", "_addrup._tcp", "4102"], &[]);
    thread::sleep(secs(3));
    assert!(browser.lines_matching("No Address Yet").is_empty(), "seen before the address existed: {:?}", browser.stdout_lines());

    let added = Instant::now();
    sh_ok(h1, "ip addr add 192.0.2.11/24 dev eth0");
    let add = browser.wait_for_line("ADD No Address Yet ", APPEAR_WINDOW);
    assert!(add.is_some(), "no ADD within {APPEAR_WINDOW:?} of the address appearing\n{}\n{}", browser.describe(), reg.describe());
    eprintln!("address added -> browser ADD: {:?}", added.elapsed());
    let resolved = browser
        .wait_for_line(r"RESOLVED No\032Address\032Yet._addrup._tcp.local. ", secs(4))
        .and_then(|l| parse_resolved_line(&l))
        .unwrap_or_else(|| panic!("not resolved: {}", browser.describe()));
    assert_eq!((resolved.host.as_str(), resolved.port), ("ifh1.local.", 4102));

    // A running query for the host name's address.
    let query = spawn_named(h2, "ifh2q", &tool(), &["-Q", "ifh1.local", "A"], &[]);
    let first = query.wait_for_line(|l: &str| parse_query_line(l) == Some((true, "192.0.2.11".parse().unwrap())), secs(5));
    assert!(first.is_some(), "address query: {}", query.describe());

    // The address changes: 192.0.2.11 is replaced by 192.0.2.21 (added
    // first as a secondary address, promoted when the first one goes).
    let cap = capture(h2, "eth0");
    sh_ok(h1, "echo 1 > /proc/sys/net/ipv4/conf/eth0/promote_secondaries");
    let changed_at = wall_clock();
    sh_ok(h1, "ip addr add 192.0.2.21/24 dev eth0 && ip addr del 192.0.2.11/24 dev eth0");
    assert_eq!(iface_addresses(h1, "eth0"), vec!["192.0.2.21".parse::<IpAddr>().unwrap()]);
    let new_seen = query.wait_for_line(|l: &str| parse_query_line(l) == Some((true, "192.0.2.21".parse().unwrap())), APPEAR_WINDOW);
    assert!(new_seen.is_some(), "new address not seen: {}", query.describe());
    // The announcement carries the cache-flush bit: the old address goes
    // about a second after it arrives (RFC 6762 §10.2).
    let old_gone = query.wait_for_line(|l: &str| parse_query_line(l) == Some((false, "192.0.2.11".parse().unwrap())), secs(4));
    assert!(old_gone.is_some(), "old address not removed: {}", query.describe());

    let host = dns_name("ifh1.local.");
    let new_address: IpAddr = "192.0.2.21".parse().unwrap();
    let old_address: IpAddr = "192.0.2.11".parse().unwrap();
    let packets = mdns_packets(&cap.stop());
    let mine: Vec<&Packet> = packets.iter().filter(|p| p.src == new_address || p.src == old_address).collect();
    let trace = describe_packets(&mine);
    // (The interface list may be read between the two commands: it may
    // catch both addresses for a moment and probe that set first.)
    let reprobes: Vec<&&Packet> =
        mine.iter().filter(|p| p.time >= changed_at - 0.01 && p.is_probe_for(&host) && p.addresses() == vec![new_address]).collect();
    assert!(reprobes.len() >= 3, "the host name is probed again after the change, proposing the new address:\n{trace}");
    assert!(
        mine.iter().filter(|p| p.time >= reprobes[2].time && !p.is_query()).any(|p| p.announces(&host) && p.addresses() == vec![new_address]),
        "the new address set is announced after probing:\n{trace}"
    );

    let fresh = run_named(h2, "ifh2f", &tool(), &["-t", "3", "-Q", "ifh1.local", "A"], secs(8));
    assert_eq!(query_addresses(&fresh.stdout_lines()), ips(&["192.0.2.21"]), "{}", fresh.stdout);
}

/// The interface list is read again when the kernel reports a change over
/// netlink, not just on the engine's safety-net timer ([`SAFETY_NET_POLL`],
/// 5 s): an IPv4 address and then, [`CHANGE_SPACING`] later, an IPv6
/// address are added to the link, and each must be on the wire (in a probe
/// of the host name, proposing it) within [`NOTICE_WINDOW`] of its
/// command. The timer alone cannot do that: one tick can serve only one of
/// the two changes (the spacing is longer than the window), and two ticks
/// 5 s apart cannot both fall between the first change and the second
/// one's deadline (spacing plus window is under 5 s). So this fails unless
/// the netlink wake-up works, for both address families, whatever the
/// timer's phase. Where netlink cannot be opened the engine polls every
/// 500 ms instead, which would pass the timing too: so the engine's process
/// must also hold an rtnetlink socket subscribed to the link and address
/// groups.
#[test]
fn address_changes_are_noticed_at_once_through_netlink() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Quick", "_quick._tcp", "4104"], &[]);
    wait_registered(&reg, "register");
    let groups = route_netlink_groups(reg.pid());
    assert!(
        groups.iter().any(|g| g & RTNETLINK_GROUPS == RTNETLINK_GROUPS),
        "the engine has no rtnetlink socket in the link and address groups (groups of its NETLINK_ROUTE sockets: {groups:x?})"
    );
    let cap = capture(h2, "eth0");
    // Let the registration's announcements pass.
    thread::sleep(secs(3));

    let changes = [
        ("192.0.2.41", "ip addr add 192.0.2.41/24 dev eth0"),
        ("2001:db8::41", "ip addr add 2001:db8::41/64 dev eth0 nodad"),
    ];
    let first = Instant::now();
    let mut made = Vec::new();
    for (i, (address, command)) in changes.iter().enumerate() {
        thread::sleep((CHANGE_SPACING * i as u32).saturating_sub(first.elapsed()));
        let at = wall_clock();
        sh_ok(h1, command);
        made.push((address.parse::<IpAddr>().unwrap(), at));
    }
    let spacing = made[1].1 - made[0].1;
    assert!(
        spacing > NOTICE_WINDOW.as_secs_f64() && spacing + NOTICE_WINDOW.as_secs_f64() < SAFETY_NET_POLL.as_secs_f64(),
        "the test's own timing slipped: the changes are {spacing:.3} s apart"
    );
    let seen_all = |packets: &[Packet]| made.iter().all(|(a, at)| packets.iter().any(|p| p.time >= *at && p.addresses().contains(a)));
    wait_for_packets(&cap, secs(5), seen_all);
    let packets = mdns_packets(&cap.stop());
    let trace = describe_packets(&packets.iter().filter(|p| p.time >= made[0].1).collect::<Vec<_>>());
    for (address, at) in &made {
        let seen = packets.iter().find(|p| p.time >= *at && p.addresses().contains(address)).map(|p| p.time - at);
        let seen = seen.unwrap_or_else(|| panic!("{address} (added at {at:.3}) never on the wire:\n{trace}"));
        eprintln!("{address} added -> on the wire: {seen:.3} s");
        assert!(
            seen < NOTICE_WINDOW.as_secs_f64(),
            "{address} (added at {at:.3}) first on the wire after {seen:.3} s, not within {NOTICE_WINDOW:?}:\n{trace}"
        );
    }
}

/// NET-04 and RFC 6762 §10.1: when an interface that stays up loses its
/// last IPv4 address, the A record is withdrawn: a goodbye (TTL 0) goes out
/// (over IPv6, the family still working there), so that a peer's running
/// query reports the address gone within a few seconds instead of keeping
/// it for the record's whole TTL (120 s). The service stays reachable over
/// IPv6.
#[test]
fn last_ipv4_address_leaving_an_interface_is_withdrawn_with_a_goodbye() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Four Gone", "_fourgone._tcp", "4103"], &[]);
    wait_registered(&reg, "register");
    let query = spawn_named(h2, "ifh2q", &tool(), &["-Q", "ifh1.local", "A"], &[]);
    let old: IpAddr = "192.0.2.11".parse().unwrap();
    assert!(query.wait_for_line(|l: &str| parse_query_line(l) == Some((true, old)), secs(5)).is_some(), "{}", query.describe());
    let cap = capture(h2, "eth0");

    let flushed_at = wall_clock();
    sh_ok(h1, "ip -4 addr flush dev eth0");
    // The change is seen at once (netlink), then the goodbye, which peers
    // keep for one more second (RFC 6762 §10.1).
    let gone = query.wait_for_line(|l: &str| parse_query_line(l) == Some((false, old)), VANISH_WINDOW + secs(1));
    let packets = mdns_packets(&cap.stop());
    let from_h1: Vec<&Packet> = packets
        .iter()
        .filter(|p| p.time >= flushed_at && !p.is_query() && p.records().any(|r| r.name == dns_name("ifh1.local.")))
        .collect();
    assert!(gone.is_some(), "the peer still has 192.0.2.11: {}\nhost 1 said:\n{}", query.describe(), describe_packets(&from_h1));
    let out = run_named(h2, "ifh2", &example("browse_resolve"), &["-t", "3", "_fourgone._tcp"], secs(8));
    assert!(out.stdout.contains("RESOLVED Four\\032Gone._fourgone._tcp.local. ifh1.local. 4103 "), "{}", out.stdout);
}

// ---------------------------------------------------------------------------
// A link goes down and comes back
// ---------------------------------------------------------------------------

/// PRB-12, NET-04 (BCT II.17, shortened): after the link was down, the
/// engine probes the very same names again (the instance and the host
/// name), announces them, keeps its name, and the service is visible to a
/// browser on the other host throughout and to a fresh one afterwards.
#[test]
fn link_down_and_up_reprobes_the_same_names_and_the_service_stays_visible() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Flappy", "_flap._tcp", "4201"], &[]);
    wait_registered(&reg, "register");
    let browser = spawn_named(h2, "ifh2", &example("browse_resolve"), &["-t", "40", "_flap._tcp"], &[]);
    browser.wait_for_line("ADD Flappy ", secs(5)).unwrap_or_else(|| panic!("{}", browser.describe()));
    let cap = capture(h2, "eth0");

    h1.set_link(false);
    thread::sleep(secs(3));
    let up_at = wall_clock();
    h1.set_link(true);

    let instance = dns_name("Flappy._flap._tcp.local.");
    let host = dns_name("ifh1.local.");
    let complete = |packets: &[Packet]| {
        let after: Vec<&Packet> = packets.iter().filter(|p| p.is_v4() && p.time >= up_at).collect();
        let probes = after.iter().filter(|p| p.is_probe_for(&instance)).count();
        let host_probes = after.iter().filter(|p| p.is_probe_for(&host)).count();
        probes >= 3 && host_probes >= 3 && after.iter().any(|p| p.announces(&instance))
    };
    let ok = wait_for_packets(&cap, APPEAR_WINDOW, complete);
    let packets = mdns_packets(&cap.stop());
    let after: Vec<&Packet> = packets.iter().filter(|p| p.is_v4() && p.time >= up_at).collect();
    let trace = describe_packets(&after);
    assert!(ok, "within {APPEAR_WINDOW:?} of the link coming up: three probes each for the instance and the host name, then an announcement expected:\n{trace}");
    let third_probe = after.iter().filter(|p| p.is_probe_for(&instance)).nth(2).unwrap().time;
    let announced = after.iter().find(|p| p.announces(&instance)).unwrap().time;
    assert!(announced > third_probe, "announced before probing ended:\n{trace}");
    // The same names: nothing was renamed.
    let renamed = dns_name("Flappy (2)._flap._tcp.local.");
    assert!(!after.iter().any(|p| p.is_probe_for(&renamed)), "{trace}");
    assert_eq!(reg.lines_matching("REGISTERED").len(), 1, "{}", reg.describe());

    // Still (or again) visible: the running browser's last word on it is
    // ADD, and a fresh browser on the other host resolves it.
    let last = browser.lines_matching("Flappy").last().cloned().unwrap_or_default();
    assert!(last.starts_with("ADD Flappy ") || last.starts_with("RESOLVED "), "{}", browser.describe());
    let out = run_named(h2, "ifh2f", &example("browse_resolve"), &["-t", "3", "_flap._tcp"], secs(8));
    let resolved: Vec<ResolvedLine> = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).collect();
    assert!(resolved.iter().any(|r| r.host == "ifh1.local." && r.port == 4201), "{:?}", out.stdout_lines());
}

/// PRB-12 (RFC 6762 §8: a link change event means probing again): a link
/// that goes down and comes back within a fraction of a second is a link
/// change too. Three 200 ms flaps, each must be followed by fresh probes of
/// the instance name. (A read of the interface list may come after the
/// flap is over; the link's carrier-change count still shows it. A missed
/// flap means a host that was not continuously connected goes on
/// announcing a name that another host may have taken meanwhile, as the
/// test above shows with a longer flap.)
#[test]
fn short_link_flaps_are_noticed_and_reprobed() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Blinky", "_blink._tcp", "4202"], &[]);
    wait_registered(&reg, "register");
    // The first flap also drops eth0's global IPv6 address: let that
    // change come and go before the flaps that count.
    h1.set_link(false);
    thread::sleep(secs(2));
    h1.set_link(true);
    thread::sleep(secs(4));
    let cap = capture(h2, "eth0");
    let instance = dns_name("Blinky._blink._tcp.local.");
    let mut ups = Vec::new();
    for _ in 0..3 {
        h1.set_link(false);
        thread::sleep(Duration::from_millis(200));
        ups.push(wall_clock());
        h1.set_link(true);
        thread::sleep(secs(3));
    }
    let packets = mdns_packets(&cap.stop());
    let trace = describe_packets(&packets.iter().filter(|p| p.is_v4()).collect::<Vec<_>>());
    for (i, up) in ups.iter().enumerate() {
        let probes = packets.iter().filter(|p| p.is_v4() && p.time >= *up && p.time < up + 2.9 && p.is_probe_for(&instance)).count();
        assert!(probes >= 3, "flap {} (up at {up:.3}): {probes} probes of the instance after it:\n{trace}", i + 1);
    }
}

/// PRB-12, second half: while our host was away, another host took the
/// instance name. Back on the link, we probe the same name first, the
/// other host defends it, and we rename; both services are then visible.
#[test]
fn link_back_up_after_a_peer_took_the_name_meanwhile_renames() {
    let lab = Lab::new(3);
    let (h1, h2, h3) = (lab.host(1), lab.host(2), lab.host(3));
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Roamer", "_roam._tcp", "4301"], &[]);
    wait_registered(&reg, "register on host 1");
    let cap = capture(h2, "eth0");
    let down_at = wall_clock();
    let down = Instant::now();
    h1.set_link(false);
    let rival = spawn_named(h3, "ifh3", &example("register"), &["Roamer", "_roam._tcp", "4303"], &[]);
    let line = wait_registered(&rival, "register on host 3");
    assert_eq!(parse_registered_line(&line).map(|r| r.1), Some("Roamer".to_string()), "host 3 got the free name: {line}");
    // Down long enough for the engine to see it, whatever wakes it.
    thread::sleep(secs(3).saturating_sub(down.elapsed()));

    let up_at = wall_clock();
    h1.set_link(true);
    let renamed = reg.wait_for_line("REGISTERED Roamer (2) ", APPEAR_WINDOW + secs(2));
    let packets = mdns_packets(&cap.stop());
    assert!(
        renamed.is_some(),
        "host 1 did not rename (link down at {down_at:.3}, up at {up_at:.3})\n{}\n{}\n{}",
        reg.describe(),
        rival.describe(),
        describe_packets(&packets.iter().filter(|p| p.is_v4()).collect::<Vec<_>>())
    );
    let from_h1: Vec<&Packet> = packets.iter().filter(|p| p.src == IpAddr::V4(h1.ipv4()) && p.time >= up_at).collect();
    let trace = describe_packets(&from_h1);
    let first_probe = from_h1.iter().find(|p| p.is_query() && !p.msg.authorities.is_empty() && p.msg.queries.iter().any(|q| q.name().to_ascii().contains("_roam")));
    assert!(
        first_probe.is_some_and(|p| p.is_probe_for(&dns_name("Roamer._roam._tcp.local."))),
        "the first probe after the link came up is for the old name:\n{trace}"
    );
    assert!(rival.lines_matching("REGISTERED").len() == 1 && rival.is_running(), "host 3 kept its name: {}", rival.describe());

    let out = run_named(h2, "ifh2", &example("browse_resolve"), &["-t", "4", "_roam._tcp"], secs(9));
    let resolved: Vec<ResolvedLine> = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).collect();
    let port_of = |prefix: &str| resolved.iter().find(|r| r.fullname.starts_with(prefix)).map(|r| (r.host.clone(), r.port));
    assert_eq!(port_of(r"Roamer._roam."), Some(("ifh3.local.".into(), 4303)), "{:?}", out.stdout_lines());
    assert_eq!(port_of(r"Roamer\032(2)._roam."), Some(("ifh1.local.".into(), 4301)), "{:?}", out.stdout_lines());
}

// ---------------------------------------------------------------------------
// A browser's interface goes away
// ---------------------------------------------------------------------------

/// CFB-04: a browser whose interface goes down, loses its addresses or is
/// deleted reports REMOVE (Rmv) within a couple of seconds for what it saw
/// there, because that interface's cache is dropped. A browser whose link
/// stays reports nothing (so no goodbye caused the others' REMOVE). The
/// browser whose link comes back finds the service again.
#[test]
fn browser_whose_interface_vanishes_reports_remove_and_finds_it_again_when_it_returns() {
    let lab = Lab::new(5);
    let reg = spawn_named(lab.host(1), "ifh1", &example("register"), &["Watched", "_watch._tcp", "4401"], &[]);
    wait_registered(&reg, "register");
    let link_down = spawn_named(lab.host(2), "ifh2", &example("browse_resolve"), &["-t", "40", "_watch._tcp"], &[]);
    let flushed = spawn_named(lab.host(3), "ifh3", &tool(), &["-B", "_watch._tcp"], &[]);
    let deleted = spawn_named(lab.host(4), "ifh4", &example("browse_resolve"), &["-t", "40", "_watch._tcp"], &[]);
    let control = spawn_named(lab.host(5), "ifh5", &example("browse_resolve"), &["-t", "40", "_watch._tcp"], &[]);
    let is_tool_add = |l: &str| l.contains(" Add ") && l.ends_with(" Watched");
    let is_tool_rmv = |l: &str| l.contains(" Rmv ") && l.ends_with(" Watched");
    for (what, p) in [("host 2", &link_down), ("host 4", &deleted), ("host 5", &control)] {
        assert!(p.wait_for_line("ADD Watched ", secs(5)).is_some(), "{what}: {}", p.describe());
    }
    assert!(flushed.wait_for_line(is_tool_add, secs(5)).is_some(), "host 3: {}", flushed.describe());

    let gone = Instant::now();
    lab.host(2).set_link(false);
    sh_ok(lab.host(3), "ip addr flush dev eth0");
    sh_ok(lab.host(4), "ip link del eth0");
    let removed_2 = link_down.wait_for_line("REMOVE Watched ", VANISH_WINDOW);
    let removed_3 = flushed.wait_for_line(is_tool_rmv, VANISH_WINDOW.saturating_sub(gone.elapsed()));
    let removed_4 = deleted.wait_for_line("REMOVE Watched ", VANISH_WINDOW.saturating_sub(gone.elapsed()));
    let waited = gone.elapsed();
    assert!(removed_2.is_some(), "link down: no REMOVE within {VANISH_WINDOW:?}: {}", link_down.describe());
    assert!(removed_3.is_some(), "addresses flushed: no Rmv within {VANISH_WINDOW:?}: {}", flushed.describe());
    assert!(removed_4.is_some(), "interface deleted: no REMOVE within {VANISH_WINDOW:?}: {}", deleted.describe());
    eprintln!("interfaces gone -> all REMOVEs: {waited:?}");
    // The REMOVE names the interface that went away.
    let ifindex_2 = lab.host(2).ifindex_of("eth0");
    assert_eq!(parse_browse_line(&removed_2.unwrap()).map(|b| b.ifindex), Some(ifindex_2));

    // The link comes back: the browser asks again there and finds it.
    let back = Instant::now();
    lab.host(2).set_link(true);
    let again = link_down.wait_for_lines("ADD Watched ", 2, APPEAR_WINDOW);
    assert_eq!(again.len(), 2, "no new ADD within {APPEAR_WINDOW:?} of the link returning: {}", link_down.describe());
    eprintln!("browser link back -> ADD: {:?}", back.elapsed());

    assert!(control.lines_matching("REMOVE").is_empty(), "the control browser saw a REMOVE: {}", control.describe());
    assert!(reg.is_running(), "{}", reg.describe());
}

// ---------------------------------------------------------------------------
// A host on two links
// ---------------------------------------------------------------------------

/// Makes a lab of three hosts on two links: host 1 on link A (`br0`,
/// eth0, 192.0.2.11) and, from [`plug_second_link`], link B (`br1`, eth1,
/// 198.51.100.11); host 2 on link A; host 3 moved to link B and
/// renumbered to 198.51.100.13 / 2001:db8:1::13.
fn two_links() -> Lab {
    let lab = Lab::new(3);
    lab.add_link("br1");
    lab.move_to_link(3, "br1");
    sh_ok(
        lab.host(3),
        "ip addr flush dev eth0 scope global && ip addr add 198.51.100.13/24 dev eth0 && ip addr add 2001:db8:1::13/64 dev eth0 nodad",
    );
    lab
}

fn plug_second_link(lab: &Lab) {
    lab.plug(1, "eth1", "br1", &["198.51.100.11/24", "2001:db8:1::11/64"]);
}

/// NET-04, RFC 6762 §6.2 and §14: an interface added at run time gets the
/// service probed and announced; each link then resolves the service and
/// the host name to that link's addresses only, and no packet on either
/// link carries the other link's addresses.
#[test]
fn host_on_two_links_answers_each_link_with_its_own_addresses() {
    let lab = two_links();
    let (h1, h2, h3) = (lab.host(1), lab.host(2), lab.host(3));
    let cap_a = capture(h2, "eth0");
    let cap_b = capture(h3, "eth0");
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Two Links", "_twolinks._tcp", "4501"], &[]);
    wait_registered(&reg, "register");
    let browser_b = spawn_named(h3, "ifh3", &example("browse_resolve"), &["-t", "40", "_twolinks._tcp"], &[]);
    thread::sleep(secs(2));
    assert!(browser_b.lines_matching("Two Links").is_empty(), "link B saw it before host 1 was on it: {}", browser_b.describe());

    // Host 1 gets a second interface, on link B, while it runs.
    let plugged = Instant::now();
    plug_second_link(&lab);
    let add = browser_b.wait_for_line("ADD Two Links ", APPEAR_WINDOW);
    assert!(add.is_some(), "link B: no ADD within {APPEAR_WINDOW:?} of eth1 appearing: {}", browser_b.describe());
    eprintln!("eth1 plugged -> link B browser ADD: {:?}", plugged.elapsed());
    let resolved_b = browser_b
        .wait_for_line(r"RESOLVED Two\032Links.", secs(4))
        .and_then(|l| parse_resolved_line(&l))
        .unwrap_or_else(|| panic!("link B: not resolved: {}", browser_b.describe()));
    assert_eq!((resolved_b.host.as_str(), resolved_b.port, resolved_b.ifindex), ("ifh1.local.", 4501, h3.ifindex_of("eth0")));

    // Both links: the service resolves, and the host name's addresses are
    // those of the link asked on.
    let queries: Vec<(&str, &str, Proc)> = [("A", h2, "A"), ("A", h2, "AAAA"), ("B", h3, "A"), ("B", h3, "AAAA")]
        .into_iter()
        .map(|(link, host, rtype)| {
            let label = format!("ifq{}{}", host.index(), rtype.len());
            (link, rtype, spawn_named(host, &label, &tool(), &["-t", "3", "-Q", "ifh1.local", rtype], &[]))
        })
        .collect();
    let browse_a = run_named(h2, "ifh2", &example("browse_resolve"), &["-t", "3", "_twolinks._tcp"], secs(8));
    let resolved_a = browse_a.stdout_lines().iter().find_map(|l| parse_resolved_line(l));
    let resolved_a = resolved_a.unwrap_or_else(|| panic!("link A: not resolved: {:?}", browse_a.stdout_lines()));
    assert_eq!((resolved_a.host.as_str(), resolved_a.port, resolved_a.ifindex), ("ifh1.local.", 4501, h2.ifindex_of("eth0")));
    let expected = |link: &str, rtype: &str| match (link, rtype) {
        ("A", "A") => ips(&["192.0.2.11"]),
        ("A", _) => ips(&["2001:db8::11"]),
        (_, "A") => ips(&["198.51.100.11"]),
        _ => ips(&["2001:db8:1::11"]),
    };
    for (link, rtype, proc) in queries {
        let out = proc.finish(secs(8));
        assert_eq!(query_addresses(&out.stdout_lines()), expected(link, rtype), "link {link}, {rtype} of ifh1.local:\n{}", out.stdout);
    }

    // The wire: on each link, host 1's records carry that link's addresses
    // (and reverse names) only.
    let host1_addresses: BTreeSet<IpAddr> = iface_addresses(h1, "eth0").into_iter().chain(iface_addresses(h1, "eth1")).collect();
    let link_a: BTreeSet<IpAddr> = ips(&["192.0.2.11", "2001:db8::11"]);
    let link_b: BTreeSet<IpAddr> = ips(&["198.51.100.11", "2001:db8:1::11"]);
    for (link, cap, own, other, other_reverse) in
        [("A", cap_a, &link_a, &link_b, "100.51.198.in-addr.arpa."), ("B", cap_b, &link_b, &link_a, "2.0.192.in-addr.arpa.")]
    {
        let packets = mdns_packets(&cap.stop());
        let host1: Vec<&Packet> = packets.iter().filter(|p| host1_addresses.contains(&p.src)).collect();
        let trace = describe_packets(&host1);
        assert!(host1.iter().any(|p| !p.is_query() && p.addresses().iter().any(|a| own.contains(a))), "link {link}: host 1 gave its address there:\n{trace}");
        let leaked: Vec<&Packet> = host1
            .iter()
            .copied()
            .filter(|p| {
                p.addresses().iter().any(|a| other.contains(a))
                    || p.records().any(|r| r.name.to_ascii().to_ascii_lowercase().ends_with(other_reverse))
            })
            .collect();
        assert!(leaked.is_empty(), "link {link} got the other link's addresses:\n{}", describe_packets(&leaked));
        assert!(host1.iter().all(|p| !other.contains(&p.src)), "link {link}: sent from the other link's address:\n{trace}");
    }
}

/// `DNSSD_INTERFACES=eth1`: the engine uses eth1 only. Nothing is sent on
/// eth0 (a capture there sees only the other host's questions), a browser
/// on eth0's link finds nothing, and one on eth1's link finds and resolves
/// the service.
#[test]
fn dnssd_interfaces_restricts_the_engine_to_the_named_interface() {
    let lab = two_links();
    let (h1, h2, h3) = (lab.host(1), lab.host(2), lab.host(3));
    plug_second_link(&lab);
    let eth0_addresses: BTreeSet<IpAddr> = iface_addresses(h1, "eth0").into_iter().collect();
    assert!(eth0_addresses.len() >= 3, "eth0 has IPv4, IPv6 and link-local: {eth0_addresses:?}");
    let cap_eth0 = capture(h1, "eth0");
    let cap_eth1 = capture(h1, "eth1");
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Only B", "_onlyb._tcp", "4601"], &[("DNSSD_INTERFACES", "eth1")]);
    wait_registered(&reg, "register");
    let browse_a = spawn_named(h2, "ifh2", &example("browse_resolve"), &["-t", "4", "_onlyb._tcp"], &[]);
    let browse_b = spawn_named(h3, "ifh3", &example("browse_resolve"), &["-t", "4", "_onlyb._tcp"], &[]);
    let query_a = spawn_named(h2, "ifh2q", &tool(), &["-t", "4", "-Q", "ifh1.local", "A"], &[]);
    let out_a = browse_a.finish(secs(9));
    let out_b = browse_b.finish(secs(9));
    let out_q = query_a.finish(secs(9));

    let resolved_b = out_b.stdout_lines().iter().find_map(|l| parse_resolved_line(l));
    assert!(
        resolved_b.is_some_and(|r| r.host == "ifh1.local." && r.port == 4601),
        "link B (eth1) resolves it: {:?}",
        out_b.stdout_lines()
    );
    assert!(!out_a.stdout.contains("Only B"), "link A (eth0) must not see it: {:?}", out_a.stdout_lines());
    assert_eq!(query_addresses(&out_q.stdout_lines()), BTreeSet::new(), "link A got host 1's address: {}", out_q.stdout);

    let on_eth0 = mdns_packets(&cap_eth0.stop());
    let ours: Vec<&Packet> = on_eth0.iter().filter(|p| eth0_addresses.contains(&p.src)).collect();
    assert!(ours.is_empty(), "sent on eth0 despite DNSSD_INTERFACES=eth1:\n{}", describe_packets(&ours));
    assert!(
        on_eth0.iter().any(|p| p.src == IpAddr::V4(h2.ipv4()) && p.is_query()),
        "the eth0 capture works (host 2's questions are in it):\n{}",
        describe_packets(&on_eth0.iter().collect::<Vec<_>>())
    );
    let on_eth1 = mdns_packets(&cap_eth1.stop());
    let instance = dns_name("Only B._onlyb._tcp.local.");
    assert!(
        on_eth1.iter().filter(|p| p.is_v4() && p.is_probe_for(&instance)).count() >= 3,
        "probed on eth1:\n{}",
        describe_packets(&on_eth1.iter().collect::<Vec<_>>())
    );
}

/// CNF-07 (RFC 6762 §14, §10.2): a host with two interfaces on the same
/// link (say Wi-Fi and Ethernet) hears its own probes and announcements on
/// the other interface. That is no conflict: neither the service nor the
/// host name is renamed, the announcements stop after three, and the peer
/// sees the host name with both addresses.
#[test]
fn two_interfaces_on_one_link_neither_rename_nor_keep_announcing() {
    let lab = Lab::new(2);
    let (h1, h2) = (lab.host(1), lab.host(2));
    lab.plug(1, "eth1", "br0", &["192.0.2.31/24", "2001:db8::31/64"]);
    let cap = capture(h2, "eth0");
    let reg = spawn_named(h1, "ifh1", &example("register"), &["Bridged", "_bridged._tcp", "4801"], &[]);
    let line = wait_registered(&reg, "register");
    assert_eq!(parse_registered_line(&line).map(|r| r.1), Some("Bridged".to_string()), "renamed: {line}");
    let registered_at = wall_clock();
    // Announcements take 1 + 2 s after probing; then, with nobody asking,
    // the link must go quiet.
    thread::sleep(secs(7));
    let packets = mdns_packets(&cap.stop());
    let instance = dns_name("Bridged._bridged._tcp.local.");
    let trace = describe_packets(&packets.iter().collect::<Vec<_>>());
    for source in ["192.0.2.11", "192.0.2.31"] {
        let source: IpAddr = source.parse().unwrap();
        let announcements = packets.iter().filter(|p| p.src == source && p.announces(&instance)).count();
        assert!((1..=3).contains(&announcements), "{announcements} announcements of the instance from {source}:\n{trace}");
    }
    let late: Vec<&Packet> = packets.iter().filter(|p| p.time > registered_at + 5.0).collect();
    assert!(late.is_empty(), "still sending 5 s after registering:\n{}", describe_packets(&late));
    assert!(
        !packets.iter().any(|p| p.records().any(|r| {
            let name = r.name.to_ascii().to_ascii_lowercase();
            name.starts_with("ifh1-2.") || name.contains("(2)")
        })),
        "something was renamed:\n{trace}"
    );
    assert_eq!(reg.lines_matching("REGISTERED").len(), 1, "{}", reg.describe());

    let query = spawn_named(h2, "ifh2q", &tool(), &["-t", "3", "-Q", "ifh1.local", "A"], &[]);
    let out = run_named(h2, "ifh2", &example("browse_resolve"), &["-t", "3", "_bridged._tcp"], secs(8));
    let resolved = out.stdout_lines().iter().find_map(|l| parse_resolved_line(l));
    assert!(resolved.is_some_and(|r| r.host == "ifh1.local." && r.port == 4801), "{}", out.stdout);
    let out = query.finish(secs(8));
    assert_eq!(query_addresses(&out.stdout_lines()), ips(&["192.0.2.11", "192.0.2.31"]), "{}", out.stdout);
}

//! Interop with avahi-daemon on virtual links: on another host and on the
//! same host (sharing port 5353 and the host name), and a name conflict
//! with it. avahi-browse resolves our services, avahi-resolve our host
//! name (both ways, IPv4 and IPv6). Needs root and the Debian packages avahi-daemon, avahi-utils
//! and dbus.
//!
//! avahi-daemon talks to a D-Bus system bus and keeps a machine-wide pid
//! file: each test gives it a private bus of its own and the tests take
//! turns (a file lock), so one avahi-daemon runs at a time.

mod support;

use std::path::PathBuf;
use std::time::Duration;
use support::*;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

struct Avahi {
    dir: PathBuf,
    bus_address: String,
    daemon: Option<Proc>,
    bus: Option<Proc>,
    _turn: FileLock,
}

impl Avahi {
    /// Starts a private bus and avahi-daemon in `host`'s namespace;
    /// `host_name` None means the system host name (as on a real machine).
    fn start(host: &Host, host_name: Option<&str>) -> Avahi {
        Avahi::start_with(host, host_name, true)
    }

    /// As [`Avahi::start`]; `ipv4` false makes avahi speak IPv6 only.
    fn start_with(host: &Host, host_name: Option<&str>, ipv4: bool) -> Avahi {
        for tool in ["avahi-daemon", "avahi-browse", "avahi-publish", "avahi-resolve", "dbus-daemon"] {
            assert!(find_tool(tool).is_some(), "{tool} is missing: apt-get install avahi-daemon avahi-utils dbus");
        }
        let turn = FileLock::acquire(&std::env::temp_dir().join("dsd-avahi-tests.lock"));
        let dir = std::env::temp_dir().join(format!("dsd-avahi-{}-{}", std::process::id(), host.name()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("bus");
        let bus_config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
</busconfig>"#,
            socket.display()
        );
        std::fs::write(dir.join("bus.conf"), bus_config).unwrap();
        let name_line = host_name.map(|n| format!("host-name={n}\n")).unwrap_or_default();
        let avahi_config = format!(
            "[server]\n{name_line}use-ipv4={}\nuse-ipv6=yes\nallow-interfaces=eth0\nenable-dbus=yes\nratelimit-interval-usec=0\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n",
            if ipv4 { "yes" } else { "no" }
        );
        std::fs::write(dir.join("avahi.conf"), avahi_config).unwrap();
        let bus_config_path = dir.join("bus.conf").display().to_string();
        let bus = host.spawn("dbus-daemon", &["--nofork", "--config-file", &bus_config_path], &[]);
        assert!(poll_until(secs(5), Duration::from_millis(20), || socket.exists()), "private bus did not start: {}", bus.stderr_text());
        let bus_address = format!("unix:path={}", socket.display());
        let avahi_config_path = dir.join("avahi.conf").display().to_string();
        let daemon = host.spawn(
            "avahi-daemon",
            &["-f", &avahi_config_path, "--no-drop-root", "--no-chroot", "--no-rlimits"],
            &[("DBUS_SYSTEM_BUS_ADDRESS", &bus_address)],
        );
        let started = poll_until(secs(10), Duration::from_millis(50), || daemon.stderr_text().contains("Server startup complete") || daemon.stdout_text().contains("Server startup complete"));
        assert!(started, "avahi-daemon did not start: {}{}", daemon.stdout_text(), daemon.stderr_text());
        Avahi { dir, bus_address, daemon: Some(daemon), bus: Some(bus), _turn: turn }
    }

    fn env(&self) -> [(&str, &str); 1] {
        [("DBUS_SYSTEM_BUS_ADDRESS", self.bus_address.as_str())]
    }

    fn log(&self) -> String {
        self.daemon.as_ref().map(|d| format!("{}{}", d.stdout_text(), d.stderr_text())).unwrap_or_default()
    }
}

impl Drop for Avahi {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.signal(libc::SIGTERM);
            let _ = daemon.wait_exit(secs(5));
        }
        drop(self.bus.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn example(name: &str) -> String {
    build_c_examples().join(name).display().to_string()
}

/// `avahi-browse -rpt TYPE` lines for resolved services: (name, host, address, port, txt).
fn avahi_resolved(host: &Host, avahi: &Avahi, service_type: &str) -> Vec<(String, String, String, u16, String)> {
    let out = host.run_env("avahi-browse", &["-rpt", service_type], &avahi.env(), secs(15));
    out.stdout_lines()
        .iter()
        .filter(|l| l.starts_with("=;"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            (f.len() >= 10).then(|| (f[3].replace(r"\032", " "), f[6].to_string(), f[7].to_string(), f[8].parse().unwrap_or(0), f[9].to_string()))
        })
        .collect()
}

/// `avahi-resolve ARGS` (`-n NAME` or `-a ADDRESS`, with `-4` or `-6`):
/// the one `first<TAB>second` line it prints, or a panic with its output.
fn avahi_resolve(host: &Host, avahi: &Avahi, args: &[&str]) -> (String, String) {
    let out = host.run_env("avahi-resolve", args, &avahi.env(), secs(15));
    let lines = out.stdout_lines();
    match (out.success(), lines.as_slice()) {
        (true, [line]) => match line.split_once('\t') {
            Some((first, second)) => (first.to_string(), second.to_string()),
            None => panic!("avahi-resolve {args:?}: {line:?}"),
        },
        _ => panic!("avahi-resolve {args:?} failed: {out:?}\navahi-daemon: {}", avahi.log()),
    }
}

/// A host name as avahi prints it, compared without case or final dot.
fn same_host_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// avahi-resolve turns our host name into our address on the link and the
/// address back into our host name (the reverse-mapping PTR), for each IP
/// version given.
fn check_avahi_resolves_our_host(host: &Host, avahi: &Avahi, our_host: &str, addresses: &[std::net::IpAddr]) {
    for address in addresses {
        let family = if address.is_ipv4() { "-4" } else { "-6" };
        let (name, found) = avahi_resolve(host, avahi, &[family, "-n", our_host]);
        assert!(same_host_name(&name, our_host), "avahi-resolve {family} -n {our_host} named {name}");
        assert_eq!(found.parse::<std::net::IpAddr>().ok(), Some(*address), "avahi-resolve {family} -n {our_host}");
        let text = address.to_string();
        let (back, name) = avahi_resolve(host, avahi, &["-a", &text]);
        assert_eq!(back.parse::<std::net::IpAddr>().ok(), Some(*address), "avahi-resolve -a {text}");
        assert!(same_host_name(&name, our_host), "avahi-resolve -a {text} gave {name}, not {our_host}");
    }
}

#[test]
fn avahi_on_another_host_finds_ours_and_we_find_avahis() {
    let lab = Lab::new(2);
    let avahi = Avahi::start(lab.host(2), Some("avahi-peer"));
    let publish = lab.host(2).spawn("avahi-publish", &["-s", "Avahi Svc", "_avtest._tcp", "6000", "from=avahi"], &avahi.env());
    publish.wait_for_stderr_line("Established", secs(10)).expect("avahi-publish establishes its service");
    let ours = lab.host(1).spawn(example("register"), &["Our Svc", "_avtest._tcp", "6001", "from=us"], &[]);
    ours.wait_for_line("REGISTERED ", secs(5)).expect("we register");

    let seen = avahi_resolved(lab.host(2), &avahi, "_avtest._tcp");
    let mine = seen.iter().find(|s| s.0 == "Our Svc").unwrap_or_else(|| panic!("avahi did not resolve ours: {seen:?}"));
    assert_eq!(mine.2, lab.host(1).ipv4().to_string(), "avahi resolved our host name to our address");
    assert_eq!(mine.3, 6001);
    assert_eq!(mine.4, "\"from=us\"");
    // avahi-resolve: our host name (as avahi-browse resolved it) to each of
    // our addresses, and each address back to our host name.
    let addresses = [lab.host(1).ipv4().into(), lab.host(1).ipv6().into()];
    check_avahi_resolves_our_host(lab.host(2), &avahi, &mine.1, &addresses);

    let out = lab.host(1).run(example("browse_resolve"), &["-t", "4", "_avtest._tcp"], secs(10));
    let theirs = out
        .stdout_lines()
        .iter()
        .filter_map(|l| parse_resolved_line(l))
        .find(|r| r.fullname.starts_with(r"Avahi\032Svc."))
        .unwrap_or_else(|| panic!("we did not resolve avahi's: {:?}", out.stdout_lines()));
    assert_eq!((theirs.host.as_str(), theirs.port), ("avahi-peer.local.", 6000));
    assert_eq!(theirs.txt_value("from"), Some(&b"avahi"[..]));
    drop(publish);
}

/// Every question in the captured queries: (lower-case name, QU bit).
fn questions_on_the_wire(pcap: &[u8]) -> Vec<(String, bool)> {
    pcap_udp_packets(pcap)
        .iter()
        .filter_map(|p| hickory_proto::op::Message::from_vec(&p.payload).ok())
        .filter(|m| m.metadata.message_type == hickory_proto::op::MessageType::Query)
        .flat_map(|m| m.queries.iter().map(|q| (q.name().to_ascii().to_lowercase(), q.mdns_unicast_response())).collect::<Vec<_>>())
        .collect()
}

#[test]
fn avahi_on_the_same_host_shares_the_port_and_the_host_name() {
    let lab = Lab::new(2);
    // The system host name, as on a real machine: both responders publish it.
    let avahi = Avahi::start(lab.host(1), None);
    let publish = lab.host(1).spawn("avahi-publish", &["-s", "Avahi Here", "_samehost._tcp", "6100"], &avahi.env());
    publish.wait_for_stderr_line("Established", secs(10)).expect("avahi-publish establishes its service");
    let cap = capture(lab.host(1), "eth0");
    let ours = lab.host(1).spawn(example("register"), &["Ours Here", "_samehost._tcp", "6101"], &[]);
    ours.wait_for_line("REGISTERED Ours Here ", secs(5)).expect("we register next to avahi-daemon");

    // Both are visible from the same host, through us and through avahi ...
    let out = lab.host(1).run(example("browse_resolve"), &["-t", "4", "_samehost._tcp"], secs(10));
    let ports: Vec<u16> = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).map(|r| r.port).collect();
    assert!(ports.contains(&6100) && ports.contains(&6101), "{:?}", out.stdout_lines());
    let seen = avahi_resolved(lab.host(1), &avahi, "_samehost._tcp");
    assert!(seen.iter().any(|s| s.0 == "Ours Here" && s.3 == 6101), "{seen:?}");
    // QRY-12: avahi-daemon holds port 5353 too, and a unicast reply would
    // reach only one of us: our probes and our browse never ask for one.
    let questions = questions_on_the_wire(&cap.stop());
    let probes: Vec<&(String, bool)> = questions.iter().filter(|(n, _)| n == "ours\\040here._samehost._tcp.local.").collect();
    let browses: Vec<&(String, bool)> = questions.iter().filter(|(n, _)| n == "_samehost._tcp.local.").collect();
    assert!(probes.len() >= 6 && !browses.is_empty(), "our probes and queries on the wire: {questions:?}");
    assert!(probes.iter().chain(&browses).all(|(_, qu)| !qu), "a QU question while sharing the port: {questions:?}");
    // ... and from the other host.
    let out = lab.host(2).run(example("browse_resolve"), &["-t", "4", "_samehost._tcp"], secs(10));
    let resolved: Vec<ResolvedLine> = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).collect();
    assert!(resolved.iter().any(|r| r.port == 6100) && resolved.iter().any(|r| r.port == 6101), "{:?}", out.stdout_lines());
    // Same host name on both, and nobody renamed it.
    assert!(!avahi.log().contains("conflict"), "avahi saw a host name conflict: {}", avahi.log());
    let hosts: Vec<&str> = resolved.iter().map(|r| r.host.as_str()).collect();
    assert!(hosts.windows(2).all(|w| w[0] == w[1]), "one host name for both: {hosts:?}");
    drop(publish);
}

#[test]
fn a_name_avahi_already_holds_makes_ours_rename() {
    let lab = Lab::new(2);
    let avahi = Avahi::start(lab.host(2), Some("avahi-peer"));
    let publish = lab.host(2).spawn("avahi-publish", &["-s", "Taken", "_clash._tcp", "6200"], &avahi.env());
    publish.wait_for_stderr_line("Established", secs(10)).expect("avahi-publish establishes its service");
    let ours = lab.host(1).spawn(example("register"), &["Taken", "_clash._tcp", "6201"], &[]);
    let line = ours.wait_for_line("REGISTERED ", secs(6)).expect("we register under another name");
    assert_eq!(parse_registered_line(&line).map(|r| r.1), Some("Taken (2)".to_string()), "{line}");
    let seen = avahi_resolved(lab.host(2), &avahi, "_clash._tcp");
    let mut ports: Vec<u16> = seen.iter().map(|s| s.3).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports, vec![6200, 6201], "both visible: {seen:?}");
    drop(publish);
}

/// Takes every IPv4 address off a host's link: mDNS there is IPv6 only.
fn make_ipv6_only(host: &Host) {
    host.sh("ip -4 addr flush dev eth0", secs(5)).assert_success("flush IPv4");
}

#[test]
fn ipv6_only_link_interoperates_with_avahi_and_python_zeroconf() {
    let lab = Lab::new(3);
    for i in 1..=3 {
        make_ipv6_only(lab.host(i));
    }
    let avahi = Avahi::start_with(lab.host(2), Some("avahi-six"), false);
    let publish = lab.host(2).spawn("avahi-publish", &["-s", "Avahi Six", "_six._tcp", "6600", "v=6"], &avahi.env());
    publish.wait_for_stderr_line("Established", secs(10)).expect("avahi-publish establishes its service");
    let ours = lab.host(1).spawn(example("register"), &["Ours Six", "_six._tcp", "6601", "v=6"], &[]);
    ours.wait_for_line("REGISTERED Ours Six ", secs(5)).expect("we register over IPv6 alone");
    let script = manifest_dir().join("tests/peers/zeroconf_peer.py").display().to_string();
    let zc_address = lab.host(3).ipv6().to_string();
    let zc = lab.host(3).spawn("python3", &[&script, "--ipv6", "25", "_six._tcp", "Zeroconf Six", "6602", &zc_address], &[]);
    zc.wait_for_line("REGISTERED", secs(10)).unwrap_or_else(|| panic!("zeroconf peer: {}", zc.stderr_text()));

    // avahi resolves ours, to our IPv6 address.
    let seen = avahi_resolved(lab.host(2), &avahi, "_six._tcp");
    let mine = seen.iter().find(|s| s.0 == "Ours Six").unwrap_or_else(|| panic!("avahi did not resolve ours: {seen:?}"));
    assert_eq!((mine.2.as_str(), mine.3), (lab.host(1).ipv6().to_string().as_str(), 6601), "{seen:?}");
    check_avahi_resolves_our_host(lab.host(2), &avahi, &mine.1, &[lab.host(1).ipv6().into()]);
    // python-zeroconf finds ours.
    let found = zc.wait_for_line("FOUND Ours Six ", secs(10));
    assert!(found.is_some_and(|l| l.contains(" 6601 ")), "zeroconf: {:?} {}", zc.stdout_lines(), zc.stderr_text());
    // We find and resolve both of theirs.
    let out = lab.host(1).run(example("browse_resolve"), &["-t", "5", "_six._tcp"], secs(10));
    let resolved: Vec<ResolvedLine> = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).collect();
    let port_of = |prefix: &str| resolved.iter().find(|r| r.fullname.starts_with(prefix)).map(|r| r.port);
    assert_eq!(port_of(r"Avahi\032Six."), Some(6600), "{:?}", out.stdout_lines());
    assert_eq!(port_of(r"Zeroconf\032Six."), Some(6602), "{:?}", out.stdout_lines());
    drop(publish);
}

//! Ring 2: real sockets on virtual links built by the tests themselves.
//! The C examples, the `dns-sd` tool and python-zeroconf publish, browse and
//! resolve across network namespaces and inside one. Needs root.

mod support;

use std::time::{Duration, Instant};
use support::*;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A registration is reported within this long (probing takes 0.75-1 s).
const REGISTER_WINDOW: Duration = secs(5);

fn example(name: &str) -> String {
    build_c_examples().join(name).display().to_string()
}

fn tool() -> String {
    dns_sd_tool().display().to_string()
}

fn wait_registered(proc: &Proc, name: &str) -> String {
    proc.wait_for_line(|l: &str| l.starts_with("REGISTERED ") || l.starts_with("ERROR"), REGISTER_WINDOW)
        .unwrap_or_else(|| panic!("{name}: no register callback; stdout {:?} stderr {}", proc.stdout_lines(), proc.stderr_text()))
}

#[test]
fn c_example_registers_and_c_example_and_tool_find_it_from_another_namespace() {
    let lab = Lab::new(2);
    let register = lab.host(1).spawn(example("register"), &["Slice Test", "_slicetest._tcp", "4242", "k=v", "path=/a"], &[]);
    let line = wait_registered(&register, "register");
    let (registered, name, regtype, domain) = parse_registered_line(&line).expect("REGISTERED line");
    assert!(registered);
    assert_eq!((name.as_str(), regtype.as_str(), domain.as_str()), ("Slice Test", "_slicetest._tcp.", "local."));

    // The C browser finds and resolves it.
    let out = lab.host(2).run(example("browse_resolve"), &["-t", "4", "_slicetest._tcp"], secs(10));
    let lines = out.stdout_lines();
    let add = lines.iter().filter_map(|l| parse_browse_line(l)).find(|b| b.add).expect("ADD line");
    assert_eq!((add.name.as_str(), add.regtype.as_str(), add.domain.as_str()), ("Slice Test", "_slicetest._tcp.", "local."));
    assert_eq!(add.ifindex, lab.host(2).ifindex_of("eth0"));
    let resolved = lines.iter().find_map(|l| parse_resolved_line(l)).expect("RESOLVED line");
    assert_eq!(resolved.fullname, r"Slice\032Test._slicetest._tcp.local.");
    assert!(resolved.host.ends_with(".local."), "host {}", resolved.host);
    assert_eq!(resolved.port, 4242);
    assert_eq!(resolved.txt_value("k"), Some(&b"v"[..]));
    assert_eq!(resolved.txt_value("path"), Some(&b"/a"[..]));

    // So does the dns-sd tool, in Apple's format.
    let browse = lab.host(2).run(tool(), &["-t", "3", "-B", "_slicetest._tcp"], secs(8));
    let text = browse.stdout_lines().join("\n");
    assert!(text.contains("Browsing for _slicetest._tcp"), "{text}");
    assert!(
        browse.stdout_lines().iter().any(|l| l.contains("  Add        2 ") && l.ends_with(" local.               _slicetest._tcp.     Slice Test")),
        "{text}"
    );
    let lookup = lab.host(2).run(tool(), &["-t", "3", "-L", "Slice Test", "_slicetest._tcp"], secs(8));
    let text = lookup.stdout_lines().join("\n");
    assert!(text.contains("Lookup Slice Test._slicetest._tcp.local"), "{text}");
    assert!(text.contains(r"Slice\032Test._slicetest._tcp.local. can be reached at "), "{text}");
    assert!(text.contains(":4242 (interface "), "{text}");
    assert!(text.contains(" k=v path=/a"), "{text}");

    // Ending the registration (SIGINT → DNSServiceRefDeallocate) sends
    // goodbyes: a running browser sees the instance go within about a second.
    let watcher = lab.host(2).spawn(example("browse_resolve"), &["-t", "20", "_slicetest._tcp"], &[]);
    watcher.wait_for_line("ADD Slice Test", secs(5)).expect("watcher sees the service");
    register.signal(libc::SIGINT);
    assert!(register.wait_exit(secs(5)).is_some_and(|s| s.success()), "register exits cleanly");
    assert_eq!(register.stderr_text(), "", "the library prints nothing unless DNSSD_DEBUG asks");
    let gone = watcher.wait_for_line("REMOVE Slice Test", secs(4));
    assert!(gone.is_some(), "goodbye seen; watcher said {:?}", watcher.stdout_lines());
}

#[test]
fn tool_registers_and_tool_browses_and_resolves_then_goodbye_on_ctrl_c() {
    let lab = Lab::new(2);
    let register = lab.host(1).spawn(tool(), &["-R", "Tool Svc", "_tooltest._tcp", ".", "5151", "a=1", "b=two words"], &[]);
    let line = register
        .wait_for_line("Name now registered and active", REGISTER_WINDOW)
        .unwrap_or_else(|| panic!("no registration: {:?} {}", register.stdout_lines(), register.stderr_text()));
    assert!(line.contains("Got a reply for service Tool Svc._tooltest._tcp.local.: Name now registered and active"), "{line}");
    let lines = register.stdout_lines();
    assert_eq!(lines[0], r"Registering Service Tool Svc._tooltest._tcp port 5151 TXT a=1 b=two\ words");
    assert!(lines[1].starts_with("DATE: ---"), "{lines:?}");
    assert!(lines[2].ends_with("  ...STARTING..."), "{lines:?}");

    let browse = lab.host(2).spawn(tool(), &["-B", "_tooltest._tcp", "local"], &[]);
    browse.wait_for_line(|l: &str| l.contains(" Add ") && l.ends_with("Tool Svc"), secs(5)).expect("browse Add line");
    let out = lab.host(2).run(tool(), &["-t", "3", "-L", "Tool Svc", "_tooltest._tcp", "local"], secs(8));
    let text = out.stdout_lines().join("\n");
    assert!(text.contains(":5151 (interface "), "{text}");
    assert!(text.contains(r" a=1 b=two\ words"), "{text}");

    // Service-type enumeration, in Apple's format: instance `_tooltest`, type `_tcp.local.`, domain `.`.
    let types = lab.host(2).run(tool(), &["-t", "2", "-B", "_services._dns-sd._udp"], secs(8));
    assert!(
        types.stdout_lines().iter().any(|l| l.contains(" Add ") && l.contains(" .                    _tcp.local.          _tooltest")),
        "{:?}",
        types.stdout_lines()
    );

    register.signal(libc::SIGINT);
    assert!(register.wait_exit(secs(5)).is_some(), "dns-sd -R exits on Ctrl-C");
    let removed = browse.wait_for_line(|l: &str| l.contains(" Rmv ") && l.ends_with("Tool Svc"), secs(4));
    assert!(removed.is_some(), "Rmv after Ctrl-C: {:?}", browse.stdout_lines());
}

#[test]
fn python_zeroconf_sees_ours_and_we_see_theirs() {
    let lab = Lab::new(3);
    let ours = lab.host(1).spawn(example("register"), &["Our Service", "_interop._tcp", "7001", "from=dns-sd"], &[]);
    wait_registered(&ours, "register");
    let script = manifest_dir().join("tests/peers/zeroconf_peer.py").display().to_string();
    let address = lab.host(3).ipv4().to_string();
    let peer = lab.host(3).spawn("python3", &[&script, "25", "_interop._tcp", "Zeroconf Peer", "7002", &address], &[]);
    peer.wait_for_line("REGISTERED", secs(10))
        .unwrap_or_else(|| panic!("zeroconf peer did not start: {}", peer.stderr_text()));
    let found = peer.wait_for_line("FOUND Our Service ", secs(10));
    let found = found.unwrap_or_else(|| panic!("zeroconf did not find ours: {:?} {}", peer.stdout_lines(), peer.stderr_text()));
    let fields: Vec<&str> = found.split(' ').collect();
    assert_eq!(fields[3], "7001", "{found}");
    assert!(found.ends_with(" from=dns-sd"), "{found}");

    // Ours, from the third host: browse, then resolve the zeroconf service.
    let out = lab.host(2).run(example("browse_resolve"), &["-t", "5", "_interop._tcp"], secs(10));
    let lines = out.stdout_lines();
    let names: Vec<String> = lines.iter().filter_map(|l| parse_browse_line(l)).filter(|b| b.add).map(|b| b.name).collect();
    assert!(names.contains(&"Zeroconf Peer".to_string()), "{lines:?}");
    assert!(names.contains(&"Our Service".to_string()), "{lines:?}");
    let theirs = lines
        .iter()
        .filter_map(|l| parse_resolved_line(l))
        .find(|r| r.fullname.starts_with(r"Zeroconf\032Peer."))
        .unwrap_or_else(|| panic!("zeroconf service not resolved: {lines:?}"));
    assert_eq!(theirs.port, 7002);
    assert_eq!(theirs.host, "zeroconf-peer.local.");
    assert_eq!(theirs.txt_value("peer"), Some(&b"zeroconf"[..]));
}

#[test]
fn two_programs_in_one_namespace_see_each_other() {
    let lab = Lab::new(1);
    let host = lab.host(1);
    let first = host.spawn(example("register"), &["First", "_samehost._tcp", "1111"], &[]);
    let second = host.spawn(tool(), &["-R", "Second", "_samehost._tcp", ".", "2222"], &[]);
    wait_registered(&first, "first");
    second.wait_for_line("Name now registered and active", REGISTER_WINDOW).expect("second registers");

    // A third program on the same host finds both, and each resolves.
    let out = host.run(example("browse_resolve"), &["-t", "4", "_samehost._tcp"], secs(10));
    let lines = out.stdout_lines();
    let resolved: Vec<ResolvedLine> = lines.iter().filter_map(|l| parse_resolved_line(l)).collect();
    let port_of = |n: &str| resolved.iter().find(|r| r.fullname.starts_with(n)).map(|r| r.port);
    assert_eq!(port_of("First."), Some(1111), "{lines:?}");
    assert_eq!(port_of("Second."), Some(2222), "{lines:?}");

    // And the Python ctypes example, through the same library.
    let lib = library_dir().join("libdns_sd.so.1").display().to_string();
    let script = c_examples_src_dir().join("browse.py").display().to_string();
    let py = host.run_env("python3", &[&script, "-t", "3", "_samehost._tcp"], &[("DNS_SD_LIB", &lib)], secs(10));
    let names: Vec<String> = py.stdout_lines().iter().filter_map(|l| parse_browse_line(l)).map(|b| b.name).collect();
    assert!(names.contains(&"First".to_string()) && names.contains(&"Second".to_string()), "{:?}", py.stdout_lines());
}

#[test]
fn same_name_in_two_namespaces_ends_with_one_renamed_and_both_visible() {
    let lab = Lab::new(3);
    let a = lab.host(1).spawn(example("register"), &["Clash", "_clash._tcp", "1001"], &[]);
    wait_registered(&a, "a");
    let b = lab.host(2).spawn(example("register"), &["Clash", "_clash._tcp", "1002"], &[]);
    let line = wait_registered(&b, "b");
    assert_eq!(parse_registered_line(&line).map(|r| r.1), Some("Clash (2)".to_string()), "{line}");
    let out = lab.host(3).run(example("browse_resolve"), &["-t", "4", "_clash._tcp"], secs(10));
    let mut ports: Vec<u16> = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).map(|r| r.port).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports, vec![1001, 1002], "{:?}", out.stdout_lines());
}

#[test]
fn callbacks_arrive_quickly_on_the_fd() {
    // Not a benchmark: a generous bound that only catches a broken wake-up
    // (a callback that waits for an unrelated event or a timer).
    let lab = Lab::new(2);
    let reg = lab.host(1).spawn(example("register"), &["Quick", "_quick._tcp", "9"], &[]);
    wait_registered(&reg, "quick");
    std::thread::sleep(secs(4)); // announcements over: answers are not rate-limited
    let start = Instant::now();
    let out = lab.host(2).run(example("browse_resolve"), &["-t", "2", "_quick._tcp"], secs(6));
    assert!(out.stdout_lines().iter().any(|l| l.starts_with("RESOLVED ")), "{:?}", out.stdout_lines());
    assert!(start.elapsed() < secs(5));
}

#[test]
fn utf8_instance_names_travel_unchanged() {
    let lab = Lab::new(2);
    let name = "Café ☕ Büro";
    let reg = lab.host(1).spawn(example("register"), &[name, "_utf8._tcp", "8088"], &[]);
    let line = wait_registered(&reg, "utf8");
    assert_eq!(parse_registered_line(&line).map(|r| r.1), Some(name.to_string()));
    let out = lab.host(2).run(example("browse_resolve"), &["-t", "3", "_utf8._tcp"], secs(8));
    let add = out.stdout_lines().iter().filter_map(|l| parse_browse_line(l)).find(|b| b.add).expect("ADD line");
    assert_eq!(add.name, name, "exact UTF-8 bytes, no punycode or escaping");
    let resolved = out.stdout_lines().iter().find_map(|l| parse_resolved_line(l)).expect("RESOLVED");
    assert_eq!(resolved.fullname, r"Café\032☕\032Büro._utf8._tcp.local.", "full name escapes only spaces and dots");
}

#[test]
fn a_name_python_zeroconf_holds_makes_ours_rename_and_both_stay_visible() {
    let lab = Lab::new(3);
    let script = manifest_dir().join("tests/peers/zeroconf_peer.py").display().to_string();
    let address = lab.host(2).ipv4().to_string();
    let peer = lab.host(2).spawn("python3", &[&script, "20", "_zcclash._tcp", "Shared Name", "7100", &address], &[]);
    peer.wait_for_line("REGISTERED", secs(10)).unwrap_or_else(|| panic!("zeroconf peer: {}", peer.stderr_text()));
    let ours = lab.host(1).spawn(example("register"), &["Shared Name", "_zcclash._tcp", "7101"], &[]);
    let line = wait_registered(&ours, "ours");
    assert_eq!(parse_registered_line(&line).map(|r| r.1), Some("Shared Name (2)".to_string()), "{line}");
    let out = lab.host(3).run(example("browse_resolve"), &["-t", "4", "_zcclash._tcp"], secs(10));
    let mut ports: Vec<u16> = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).map(|r| r.port).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports, vec![7100, 7101], "{:?}", out.stdout_lines());
}

#[test]
fn python_zeroconf_on_the_same_host_and_we_see_each_other() {
    let lab = Lab::new(1);
    let host = lab.host(1);
    let ours = host.spawn(example("register"), &["Ours Local", "_zclocal._tcp", "7201"], &[]);
    wait_registered(&ours, "ours");
    let script = manifest_dir().join("tests/peers/zeroconf_peer.py").display().to_string();
    let address = host.ipv4().to_string();
    let peer = host.spawn("python3", &[&script, "15", "_zclocal._tcp", "Zeroconf Local", "7202", &address], &[]);
    peer.wait_for_line("REGISTERED", secs(10)).unwrap_or_else(|| panic!("zeroconf peer: {}", peer.stderr_text()));
    let found = peer.wait_for_line("FOUND Ours Local ", secs(10));
    assert!(found.is_some_and(|l| l.contains(" 7201 ")), "zeroconf on our host finds ours: {:?} {}", peer.stdout_lines(), peer.stderr_text());
    let out = host.run(example("browse_resolve"), &["-t", "4", "_zclocal._tcp"], secs(10));
    let theirs = out.stdout_lines().iter().filter_map(|l| parse_resolved_line(l)).find(|r| r.port == 7202);
    assert!(theirs.is_some(), "we find zeroconf's on the same host: {:?}", out.stdout_lines());
}

#[test]
fn a_program_that_exits_without_deallocating_still_says_goodbye() {
    let lab = Lab::new(2);
    let watcher = lab.host(2).spawn(example("browse_resolve"), &["-t", "20", "_exitcheck._tcp"], &[]);
    let binary = compile_c_test("exit_without_dealloc", &[]);
    let program = lab.host(1).spawn(&binary, &[], &[]);
    program.wait_for_line("REGISTERED Leaves Early", secs(5)).expect("registered");
    watcher.wait_for_line("ADD Leaves Early", secs(5)).expect("seen by the watcher");
    // The program returns from main by itself once registered.
    assert!(program.wait_exit(secs(5)).is_some_and(|s| s.success()));
    let _ = std::fs::remove_file(&binary);
    let gone = watcher.wait_for_line("REMOVE Leaves Early", secs(4));
    assert!(gone.is_some(), "goodbye at exit: {:?}", watcher.stdout_lines());
}

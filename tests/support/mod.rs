//! Shared helpers for the integration tests (`mod support;`).
//!
//! * [`Lab`]: virtual links made of network namespaces. Every program that
//!   could send mDNS must run inside one of them, never in the machine's own
//!   namespace: [`Host::spawn`] and [`Host::run`] always wrap the program in
//!   `ip netns exec`.
//! * [`Proc`]: a program running in a namespace, with its output collected
//!   line by line so tests can wait for what it prints.
//! * [`capture`] / [`pcap_udp_payloads`]: tcpdump inside a namespace and a
//!   small reader for the files it writes.
//! * [`target_dir`], [`profile_dir`], [`library_dir`], [`build_c_examples`]:
//!   where cargo put the library, and the C examples compiled against it.
//!
//! Only std and libc are used. Labs and captures need root; the pcap
//! reader, the line parsers and the path helpers do not.
//!
//! A typical ring-2 test:
//!
//! ```ignore
//! mod support;
//! use std::time::Duration;
//! use support::*;
//!
//! #[test]
//! fn browse_sees_a_registration() {
//!     let bin = build_c_examples();
//!     let lab = Lab::new(2); // host(1) = 192.0.2.11, host(2) = 192.0.2.12
//!     let cap = capture(lab.host(2), "eth0");
//!     let reg = lab.host(1).spawn(bin.join("register"), &["Web", "_http._tcp", "8080", "a=1"], &[]);
//!     let ok = reg.wait_for_line("REGISTERED", Duration::from_secs(10));
//!     assert!(ok.is_some(), "{}", reg.describe());
//!     let out = lab.host(2).run(bin.join("browse_resolve"), &["-t", "3", "_http._tcp"], Duration::from_secs(10));
//!     let resolved = out.stdout_lines().into_iter().find_map(parse_resolved_line).unwrap();
//!     assert_eq!(resolved.txt_value("a"), Some(&b"1"[..]));
//!     let packets = pcap_udp_packets(&cap.stop());
//!     assert!(!packets.is_empty());
//! } // the lab, its processes and namespaces are gone here, even after a panic
//! ```
//!
//! Set `DSD_LAB_ECHO=1` to see every line the programs print, as it comes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Small process helpers
// ---------------------------------------------------------------------------

/// Finds an executable by name in PATH, then in the sbin/bin directories that
/// a non-login root shell may not have in its PATH.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        dirs.push(PathBuf::from(extra));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| {
        fs::metadata(p)
            .map(|m| m.is_file() && m.mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

fn ip_tool() -> &'static Path {
    static IP: OnceLock<PathBuf> = OnceLock::new();
    IP.get_or_init(|| {
        find_tool("ip").unwrap_or_else(|| {
            panic!("the `ip` tool is missing: these tests need iproute2 (apt-get install iproute2)")
        })
    })
}

/// Runs `ip ARGS...` and returns (success, stdout, stderr).
fn ip_quiet(args: &[&str]) -> (bool, String, String) {
    match Command::new(ip_tool())
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Err(e) => (false, String::new(), e.to_string()),
    }
}

/// Runs `ip ARGS...`, panicking with its stderr when it fails.
fn ip(args: &[&str]) -> String {
    let (ok, out, err) = ip_quiet(args);
    if !ok {
        panic!("`ip {}` failed: {}", args.join(" "), err.trim());
    }
    out
}

/// Polls `f` every `every` until it returns true or `timeout` passes.
/// Returns whether it became true.
pub fn poll_until(timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(every);
    }
}

/// An exclusive advisory lock on a file, released on drop. Used to keep
/// parallel test processes from stepping on each other.
pub struct FileLock {
    _file: fs::File,
}

impl FileLock {
    pub fn acquire(path: &Path) -> FileLock {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("cannot open lock file {}: {e}", path.display()));
        loop {
            // SAFETY: flock on a file descriptor we own.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                panic!("flock({}) failed: {err}", path.display());
            }
        }
        FileLock { _file: file }
    }
}

// ---------------------------------------------------------------------------
// Namespace names
// ---------------------------------------------------------------------------

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Serialises `ip netns add` within this process (the file lock does it
/// across processes).
static NETNS_ADD: Mutex<()> = Mutex::new(());

fn netns_lock_path() -> PathBuf {
    std::env::temp_dir().join("dsd-lab-netns.lock")
}

/// Parses a name made by this module: `dsd{pid}x{n}` followed by `s`, `o`
/// or `h{i}`. Returns the pid of the process that made it.
fn parse_lab_name(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("dsd")?;
    let (pid, rest) = rest.split_once('x')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let tail = &rest[digits..];
    let tail_ok = tail == "s"
        || tail == "o"
        || (tail.len() > 1
            && tail.starts_with('h')
            && tail[1..].bytes().all(|b| b.is_ascii_digit()));
    if !tail_ok {
        return None;
    }
    pid.parse().ok()
}

/// All network namespace names that `ip netns list` shows.
pub fn netns_list() -> Vec<String> {
    let (_, out, _) = ip_quiet(&["netns", "list"]);
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Kills every process in a namespace and deletes it. Never panics.
fn destroy_netns(names: &[String]) {
    let kill_all = |ns: &str| -> usize {
        let (_, out, _) = ip_quiet(&["netns", "pids", ns]);
        let mut n = 0;
        for pid in out
            .split_whitespace()
            .filter_map(|p| p.parse::<libc::pid_t>().ok())
        {
            // SAFETY: plain kill(2); these processes live in a namespace we made.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            n += 1;
        }
        n
    };
    for ns in names {
        kill_all(ns);
    }
    // Wait (briefly) until the killed processes are really gone, re-killing
    // anything that was forked in between.
    poll_until(Duration::from_secs(5), Duration::from_millis(20), || {
        names.iter().map(|ns| kill_all(ns)).sum::<usize>() == 0
    });
    for ns in names {
        for _ in 0..5 {
            let (ok, _, err) = ip_quiet(&["netns", "del", ns]);
            if ok || err.contains("No such file") {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Once per process: removes namespaces left by test processes that died
/// without running their destructors (killed by a signal, say), and any with
/// this process's own pid, which can only be stale.
fn sweep_stale_namespaces() {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| {
        let me = std::process::id();
        let stale: Vec<String> = netns_list()
            .into_iter()
            .filter(|n| match parse_lab_name(n) {
                Some(pid) => pid == me || !Path::new(&format!("/proc/{pid}")).exists(),
                None => false,
            })
            .collect();
        if !stale.is_empty() {
            destroy_netns(&stale);
        }
    });
}

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!(
            "these tests need root and network namespaces (they build virtual links with \
             `ip netns`); run them as root, e.g. `sudo -E cargo test`"
        );
    }
}

fn netns_add(name: &str) {
    let _guard = NETNS_ADD.lock().unwrap_or_else(|p| p.into_inner());
    let _flock = FileLock::acquire(&netns_lock_path());
    let (ok, _, err) = ip_quiet(&["netns", "add", name]);
    if !ok {
        panic!(
            "`ip netns add {name}` failed: {}\nthese tests need root and network namespaces \
             (CAP_SYS_ADMIN and a writable /run/netns)",
            err.trim()
        );
    }
}

/// Writes a sysctl inside a namespace (`sh` and /proc only; no procps).
fn ns_sysctl(ns: &str, settings: &[(&str, &str)]) {
    let script: String = settings
        .iter()
        .map(|(k, v)| format!("echo {v} > /proc/sys/{} && ", k.replace('.', "/")))
        .collect::<String>()
        + "true";
    ip(&["netns", "exec", ns, "sh", "-c", &script]);
}

// ---------------------------------------------------------------------------
// Lab and Host
// ---------------------------------------------------------------------------

/// A virtual link: a "switch" namespace holding a bridge, and host
/// namespaces each plugged into it with a veth called `eth0`; or, from
/// [`Lab::solo`], one namespace with only `lo`.
///
/// Dropping it (also while unwinding from a panic) kills every process left
/// in its namespaces and deletes them.
pub struct Lab {
    /// Every namespace created so far, in creation order.
    namespaces: Vec<String>,
    switch: Option<Host>,
    hosts: Vec<Host>,
}

/// One namespace of a [`Lab`].
pub struct Host {
    name: String,
    index: usize,
    iface: String,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
}

impl Lab {
    fn empty() -> Lab {
        require_root();
        sweep_stale_namespaces();
        Lab {
            namespaces: Vec::new(),
            switch: None,
            hosts: Vec::new(),
        }
    }

    fn next_prefix() -> String {
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        format!("dsd{}x{}", std::process::id(), n)
    }

    fn add_ns(&mut self, name: String) {
        netns_add(&name);
        self.namespaces.push(name);
    }

    /// A link with `hosts` hosts (1..=200). Host `i` (1-based) has `eth0`
    /// with 192.0.2.(10+i)/24, 2001:db8::(10+i)/64 and a link-local address,
    /// DAD off, `lo` up with multicast on, and `224.0.0.0/4 dev eth0`.
    ///
    /// Panics with a clear message when not root or when namespaces cannot
    /// be made; whatever was already made is removed again.
    pub fn new(hosts: usize) -> Lab {
        assert!(
            (1..=200).contains(&hosts),
            "Lab::new: 1..=200 hosts, not {hosts}"
        );
        let mut lab = Lab::empty();
        let prefix = Lab::next_prefix();

        let sw = format!("{prefix}s");
        lab.add_ns(sw.clone());
        // The switch only bridges frames: no IPv6 of its own (no RS/MLD noise),
        // and no multicast snooping, so every multicast frame reaches every port.
        ns_sysctl(
            &sw,
            &[
                ("net.ipv6.conf.all.disable_ipv6", "1"),
                ("net.ipv6.conf.default.disable_ipv6", "1"),
            ],
        );
        ip(&["-n", &sw, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        lab.switch = Some(Host {
            name: sw.clone(),
            index: 0,
            iface: "br0".into(),
            ipv4: None,
            ipv6: None,
        });

        for i in 1..=hosts {
            let h = format!("{prefix}h{i}");
            lab.add_ns(h.clone());
            let k = 10 + i;
            let v4 = Ipv4Addr::new(192, 0, 2, k as u8);
            let v6: Ipv6Addr = format!("2001:db8::{k}").parse().unwrap();
            ns_sysctl(
                &h,
                &[
                    ("net.ipv6.conf.all.accept_dad", "0"),
                    ("net.ipv6.conf.default.accept_dad", "0"),
                ],
            );
            ip(&["-n", &h, "link", "set", "lo", "up"]);
            ip(&["-n", &h, "link", "set", "lo", "multicast", "on"]);
            let port = format!("p{i}");
            // Created directly inside the two namespaces: nothing appears in
            // the machine's own namespace.
            ip(&[
                "-n", &h, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns",
                &sw,
            ]);
            ip(&["-n", &sw, "link", "set", &port, "master", "br0"]);
            ip(&["-n", &sw, "link", "set", &port, "up"]);
            ip(&["-n", &h, "addr", "add", &format!("{v4}/24"), "dev", "eth0"]);
            ip(&[
                "-n",
                &h,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                "eth0",
                "nodad",
            ]);
            ip(&["-n", &h, "link", "set", "eth0", "up"]);
            ip(&["-n", &h, "route", "add", "224.0.0.0/4", "dev", "eth0"]);
            lab.hosts.push(Host {
                name: h,
                index: i,
                iface: "eth0".into(),
                ipv4: Some(v4),
                ipv6: Some(v6),
            });
        }
        // Link-local addresses appear when the links come up; with DAD off
        // they are usable at once, but wait until the kernel has added them.
        for h in &lab.hosts {
            let ok = poll_until(Duration::from_secs(5), Duration::from_millis(10), || {
                h.ipv6_link_local().is_some()
            });
            assert!(ok, "no IPv6 link-local address on eth0 in {}", h.name);
        }
        lab
    }

    /// A single namespace with only `lo` (up, multicast on, a route
    /// `224.0.0.0/4 dev lo`, and `ff00::/8` multicast on lo). Its host is
    /// `host(1)`, with addresses 127.0.0.1 and ::1.
    pub fn solo() -> Lab {
        let mut lab = Lab::empty();
        let name = format!("{}o", Lab::next_prefix());
        lab.add_ns(name.clone());
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        ip(&["-n", &name, "link", "set", "lo", "multicast", "on"]);
        ip(&["-n", &name, "route", "add", "224.0.0.0/4", "dev", "lo"]);
        // Best effort: lets IPv6 multicast be sent on lo too.
        let _ = ip_quiet(&[
            "-n",
            &name,
            "-6",
            "route",
            "add",
            "multicast",
            "ff00::/8",
            "dev",
            "lo",
            "table",
            "local",
        ]);
        lab.hosts.push(Host {
            name,
            index: 1,
            iface: "lo".into(),
            ipv4: Some(Ipv4Addr::LOCALHOST),
            ipv6: Some(Ipv6Addr::LOCALHOST),
        });
        lab
    }

    /// Host `i`, 1-based (host 1 is 192.0.2.11).
    pub fn host(&self, i: usize) -> &Host {
        assert!(i >= 1, "hosts are numbered from 1 (host 1 = 192.0.2.11)");
        self.hosts
            .get(i - 1)
            .unwrap_or_else(|| panic!("this lab has {} host(s), no host {i}", self.hosts.len()))
    }

    /// All hosts, host 1 first.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The switch namespace (bridge `br0`), e.g. for capturing everything
    /// on the link. `None` for a solo lab.
    pub fn switch(&self) -> Option<&Host> {
        self.switch.as_ref()
    }

    /// The names of every namespace of this lab.
    pub fn namespace_names(&self) -> Vec<String> {
        self.namespaces.clone()
    }

    fn switch_name(&self) -> &str {
        &self
            .switch
            .as_ref()
            .expect("a solo lab has no switch, so no links to add")
            .name
    }

    /// Adds another link to the lab: a bridge called `bridge` (say `br1`)
    /// in the switch namespace, separate from `br0`, with multicast
    /// snooping off like `br0`. Hosts join it with [`Lab::plug`] or
    /// [`Lab::move_to_link`]; it goes away with the lab.
    pub fn add_link(&self, bridge: &str) {
        let sw = self.switch_name();
        ip(&["-n", sw, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0"]);
        ip(&["-n", sw, "link", "set", bridge, "up"]);
    }

    /// Gives host `i` a further interface `iface` (say `eth1`) plugged into
    /// the link `bridge`, with the addresses `addrs` (`"198.51.100.11/24"`,
    /// `"2001:db8:1::11/64"`; IPv6 ones without DAD), and brings it up.
    /// Its port on the bridge is `p{i}{iface}`. The host's own
    /// [`Host::iface`] stays `eth0`. Works while programs run in the host:
    /// they see an interface appear.
    pub fn plug(&self, i: usize, iface: &str, bridge: &str, addrs: &[&str]) {
        let sw = self.switch_name().to_owned();
        let h = self.host(i).name.clone();
        let port = format!("p{i}{iface}");
        assert!(port.len() <= 15, "interface name {port} is too long");
        ip(&["-n", &h, "link", "add", iface, "type", "veth", "peer", "name", &port, "netns", &sw]);
        ip(&["-n", &sw, "link", "set", &port, "master", bridge]);
        ip(&["-n", &sw, "link", "set", &port, "up"]);
        for a in addrs {
            if a.contains(':') {
                ip(&["-n", &h, "addr", "add", a, "dev", iface, "nodad"]);
            } else {
                ip(&["-n", &h, "addr", "add", a, "dev", iface]);
            }
        }
        ip(&["-n", &h, "link", "set", iface, "up"]);
    }

    /// Moves host `i`'s `eth0` from `br0` to the link `bridge` (made by
    /// [`Lab::add_link`]). Its addresses stay as they are.
    pub fn move_to_link(&self, i: usize, bridge: &str) {
        let sw = self.switch_name().to_owned();
        ip(&["-n", &sw, "link", "set", &format!("p{i}"), "master", bridge]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        destroy_netns(&self.namespaces);
    }
}

impl Host {
    /// The namespace name (for `ip netns exec NAME`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// 1-based position in the lab (0 for the switch).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The interface that joins the link: `eth0` (`lo` in a solo lab, `br0`
    /// for the switch).
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// 192.0.2.(10+i); 127.0.0.1 in a solo lab.
    pub fn ipv4(&self) -> Ipv4Addr {
        self.ipv4
            .unwrap_or_else(|| panic!("{} has no IPv4 address (it is the switch)", self.name))
    }

    /// 2001:db8::(10+i); ::1 in a solo lab.
    pub fn ipv6(&self) -> Ipv6Addr {
        self.ipv6
            .unwrap_or_else(|| panic!("{} has no IPv6 address (it is the switch)", self.name))
    }

    /// The fe80:: address of the link interface, if it has one yet.
    pub fn ipv6_link_local(&self) -> Option<Ipv6Addr> {
        let (ok, out, _) = ip_quiet(&[
            "-n",
            &self.name,
            "-6",
            "-o",
            "addr",
            "show",
            "dev",
            &self.iface,
            "scope",
            "link",
        ]);
        if !ok {
            return None;
        }
        out.split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .and_then(|a| a.parse().ok())
    }

    /// The interface index of `iface` inside this namespace.
    pub fn ifindex_of(&self, iface: &str) -> u32 {
        let out = ip(&["-n", &self.name, "-o", "link", "show", "dev", iface]);
        out.split(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "cannot read the ifindex of {iface} in {}: {out:?}",
                    self.name
                )
            })
    }

    /// The MAC address of `iface` inside this namespace.
    pub fn mac_of(&self, iface: &str) -> String {
        let out = ip(&["-n", &self.name, "-o", "link", "show", "dev", iface]);
        out.split_whitespace()
            .skip_while(|w| !w.starts_with("link/"))
            .nth(1)
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no MAC for {iface} in {}: {out:?}", self.name))
    }

    /// Takes the link interface down or up (a host leaving or rejoining
    /// the link without its processes noticing).
    pub fn set_link(&self, up: bool) {
        ip(&[
            "-n",
            &self.name,
            "link",
            "set",
            "dev",
            &self.iface,
            if up { "up" } else { "down" },
        ]);
    }

    /// A `Command` that runs `program args...` inside this namespace, for
    /// callers that need more control (stdin, OsStr arguments, cwd); start
    /// it with [`Proc::start`].
    pub fn command(&self, program: impl AsRef<OsStr>, args: &[&str]) -> Command {
        let mut cmd = Command::new(ip_tool());
        cmd.arg("netns")
            .arg("exec")
            .arg(&self.name)
            .arg(program.as_ref())
            .args(args);
        cmd
    }

    /// Starts `program args...` inside this namespace with extra
    /// environment variables (on top of the test's own environment, plus
    /// `PYTHONUNBUFFERED=1`). stdin is /dev/null; stdout and stderr are
    /// collected by the returned [`Proc`].
    pub fn spawn(&self, program: impl AsRef<OsStr>, args: &[&str], envs: &[(&str, &str)]) -> Proc {
        let mut cmd = self.command(program.as_ref(), args);
        cmd.stdin(Stdio::null()).env("PYTHONUNBUFFERED", "1");
        cmd.envs(envs.iter().copied());
        let label = format!("{}:{}", self.name, Path::new(program.as_ref()).display());
        Proc::start_labelled(cmd, label)
    }

    /// Runs `program args...` to completion, killing it after `timeout`.
    pub fn run(&self, program: impl AsRef<OsStr>, args: &[&str], timeout: Duration) -> Output {
        self.run_env(program, args, &[], timeout)
    }

    /// [`Host::run`] with extra environment variables.
    pub fn run_env(
        &self,
        program: impl AsRef<OsStr>,
        args: &[&str],
        envs: &[(&str, &str)],
        timeout: Duration,
    ) -> Output {
        self.spawn(program, args, envs).finish(timeout)
    }

    /// Runs `sh -c SCRIPT` inside this namespace to completion.
    pub fn sh(&self, script: &str, timeout: Duration) -> Output {
        self.run("sh", &["-c", script], timeout)
    }

    /// Pids of every process currently inside this namespace.
    pub fn pids(&self) -> Vec<i32> {
        let (_, out, _) = ip_quiet(&["netns", "pids", &self.name]);
        out.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Proc: a running program and its output
// ---------------------------------------------------------------------------

/// What [`Host::run`] returns.
#[derive(Debug)]
pub struct Output {
    /// The exit status; after a timeout, the status of the killed process.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// The program did not exit by itself within the timeout and was killed.
    pub timed_out: bool,
}

impl Output {
    /// Exited by itself with status 0.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.map(|s| s.success()).unwrap_or(false)
    }

    /// Panics (showing everything captured) unless [`Output::success`].
    pub fn assert_success(&self, what: &str) -> &Self {
        if !self.success() {
            panic!(
                "{what} failed: status {:?}, timed out {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.status, self.timed_out, self.stdout, self.stderr
            );
        }
        self
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Something a line can be matched with: a substring (`&str`, `String`) or
/// a predicate `Fn(&str) -> bool`.
pub trait LineMatch {
    fn matches(&self, line: &str) -> bool;
}

impl LineMatch for &str {
    fn matches(&self, line: &str) -> bool {
        line.contains(*self)
    }
}

impl LineMatch for String {
    fn matches(&self, line: &str) -> bool {
        line.contains(self.as_str())
    }
}

impl LineMatch for &String {
    fn matches(&self, line: &str) -> bool {
        line.contains(self.as_str())
    }
}

impl<F: Fn(&str) -> bool> LineMatch for F {
    fn matches(&self, line: &str) -> bool {
        self(line)
    }
}

#[derive(Default)]
struct StreamState {
    lines: Vec<String>,
    eof: bool,
}

/// The lines read so far from one pipe, with a condvar signalled on every
/// new line and at end of file.
#[derive(Default)]
struct Stream {
    state: Mutex<StreamState>,
    changed: Condvar,
}

impl Stream {
    fn lock(&self) -> std::sync::MutexGuard<'_, StreamState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pump(
        self: Arc<Self>,
        pipe: impl Read + Send + 'static,
        echo: Option<String>,
    ) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        while matches!(buf.last(), Some(b'\n' | b'\r')) {
                            buf.pop();
                        }
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        if let Some(tag) = &echo {
                            eprintln!("[{tag}] {line}");
                        }
                        self.lock().lines.push(line);
                        self.changed.notify_all();
                    }
                }
            }
            self.lock().eof = true;
            self.changed.notify_all();
        })
    }

    /// The first line (from the start) matching `m`, waiting up to
    /// `timeout`; None at the deadline or when the pipe closed without one.
    fn wait_for(&self, m: &dyn LineMatch, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        let mut st = self.lock();
        loop {
            if let Some(l) = st.lines[seen..].iter().find(|l| m.matches(l)) {
                return Some(l.clone());
            }
            seen = st.lines.len();
            if st.eof {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits until at least `count` lines match; returns the matches so far.
    fn wait_for_count(&self, m: &dyn LineMatch, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            let found: Vec<String> = st.lines.iter().filter(|l| m.matches(l)).cloned().collect();
            let now = Instant::now();
            if found.len() >= count || st.eof || now >= deadline {
                return found;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn wait_eof(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while !st.eof {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}

struct ProcState {
    child: Child,
    status: Option<ExitStatus>,
}

/// A running program. Its stdout and stderr are read by background threads
/// into buffers that the methods below look at. The program is the leader
/// of its own process group; dropping the `Proc` kills that group and reaps
/// the program.
pub struct Proc {
    pid: i32,
    label: String,
    state: Mutex<ProcState>,
    out: Arc<Stream>,
    err: Arc<Stream>,
}

impl Proc {
    /// Starts `cmd` (usually from [`Host::command`]) in its own process
    /// group with stdout/stderr captured. stdin is left as the caller set it
    /// (std's default is to inherit); use `Stdio::piped()` with
    /// [`Proc::take_stdin`] to write to the program.
    pub fn start(cmd: Command) -> Proc {
        let label = format!("{:?}", cmd.get_program());
        Proc::start_labelled(cmd, label)
    }

    fn start_labelled(mut cmd: Command, label: String) -> Proc {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // A test run started in the background by a non-interactive shell
        // inherits SIGINT/SIGQUIT ignored, and exec keeps "ignored": give
        // the program default dispositions so signal() means the same
        // everywhere. (std already resets SIGPIPE and the signal mask.)
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                for sig in [
                    libc::SIGINT,
                    libc::SIGQUIT,
                    libc::SIGTERM,
                    libc::SIGHUP,
                    libc::SIGUSR1,
                    libc::SIGUSR2,
                ] {
                    libc::signal(sig, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let echo = std::env::var_os("DSD_LAB_ECHO").is_some();
        let out = Arc::new(Stream::default());
        let err = Arc::new(Stream::default());
        out.clone().pump(
            child.stdout.take().unwrap(),
            echo.then(|| format!("{label} out")),
        );
        err.clone().pump(
            child.stderr.take().unwrap(),
            echo.then(|| format!("{label} err")),
        );
        Proc {
            pid: child.id() as i32,
            label,
            state: Mutex::new(ProcState {
                child,
                status: None,
            }),
            out,
            err,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProcState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The program's stdin, if it was started with `Stdio::piped()`.
    pub fn take_stdin(&self) -> Option<std::process::ChildStdin> {
        self.lock().child.stdin.take()
    }

    /// The first stdout line (including lines printed before this call)
    /// that matches a substring or predicate, waiting up to `timeout`.
    /// Returns None at the deadline, or early if stdout closed without one.
    pub fn wait_for_line(&self, m: impl LineMatch, timeout: Duration) -> Option<String> {
        self.out.wait_for(&m, timeout)
    }

    /// Like [`Proc::wait_for_line`], for stderr.
    pub fn wait_for_stderr_line(&self, m: impl LineMatch, timeout: Duration) -> Option<String> {
        self.err.wait_for(&m, timeout)
    }

    /// Waits until `count` stdout lines match (or the deadline, or the end
    /// of stdout) and returns all matching lines seen.
    pub fn wait_for_lines(
        &self,
        m: impl LineMatch,
        count: usize,
        timeout: Duration,
    ) -> Vec<String> {
        self.out.wait_for_count(&m, count, timeout)
    }

    /// Every stdout line read so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.out.lock().lines.clone()
    }

    /// The stdout lines read so far that match.
    pub fn lines_matching(&self, m: impl LineMatch) -> Vec<String> {
        self.out
            .lock()
            .lines
            .iter()
            .filter(|l| m.matches(l))
            .cloned()
            .collect()
    }

    /// Everything read from stdout so far, one line per line.
    pub fn stdout_text(&self) -> String {
        join_lines(&self.out.lock().lines)
    }

    /// Everything read from stderr so far.
    pub fn stderr_text(&self) -> String {
        join_lines(&self.err.lock().lines)
    }

    /// Sends `sig` (e.g. `libc::SIGINT`) to the program itself, if it has
    /// not been reaped yet.
    pub fn signal(&self, sig: i32) {
        let st = self.lock();
        if st.status.is_none() {
            // SAFETY: kill(2) on our own, not yet reaped, child.
            unsafe { libc::kill(self.pid, sig) };
        }
    }

    /// Whether the program is still running.
    pub fn is_running(&self) -> bool {
        self.try_reap().is_none()
    }

    fn try_reap(&self) -> Option<ExitStatus> {
        let mut st = self.lock();
        if st.status.is_none() {
            if let Ok(Some(s)) = st.child.try_wait() {
                st.status = Some(s);
            }
        }
        st.status
    }

    /// Waits up to `timeout` for the program to exit. Returns its status,
    /// or None if it is still running. Once it has exited, also waits
    /// (briefly) until its output has been read to the end.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let mut nap = Duration::from_millis(2);
        loop {
            if let Some(s) = self.try_reap() {
                self.out.wait_eof(Duration::from_secs(2));
                self.err.wait_eof(Duration::from_secs(2));
                return Some(s);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            thread::sleep(nap.min(deadline - now));
            nap = (nap * 2).min(Duration::from_millis(25));
        }
    }

    /// SIGKILLs the program's process group and reaps the program.
    /// Returns its exit status.
    pub fn kill(&self) -> Option<ExitStatus> {
        {
            let mut st = self.lock();
            if st.status.is_none() {
                // SAFETY: the group was made for this child (process_group(0));
                // the leader is not reaped yet, so the id is still ours.
                unsafe {
                    libc::kill(-self.pid, libc::SIGKILL);
                    libc::kill(self.pid, libc::SIGKILL);
                }
                st.status = st.child.wait().ok();
            }
        }
        self.out.wait_eof(Duration::from_millis(500));
        self.err.wait_eof(Duration::from_millis(500));
        self.lock().status
    }

    /// Waits up to `timeout` for the program to exit by itself, killing it
    /// otherwise, and returns everything it printed.
    pub fn finish(self, timeout: Duration) -> Output {
        let (status, timed_out) = match self.wait_exit(timeout) {
            Some(s) => (Some(s), false),
            None => (self.kill(), true),
        };
        Output {
            status,
            stdout: self.stdout_text(),
            stderr: self.stderr_text(),
            timed_out,
        }
    }

    /// A description for assertion messages: label, status and output.
    pub fn describe(&self) -> String {
        format!(
            "{} (pid {}, status {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.label,
            self.pid,
            self.lock().status,
            self.stdout_text(),
            self.stderr_text()
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if st.status.is_none() {
            // SAFETY: as in kill(); the leader is not reaped yet.
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
                libc::kill(self.pid, libc::SIGKILL);
            }
            let _ = st.child.wait();
        }
    }
}

fn join_lines(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Exit status as a short text, e.g. "exit 0" or "signal 9".
pub fn status_text(s: &ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => format!("{s:?}"),
    }
}

// ---------------------------------------------------------------------------
// Packet capture
// ---------------------------------------------------------------------------

static CAPTURE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// tcpdump running inside a namespace, writing UDP port 5353 traffic to a
/// temporary pcap file.
pub struct Capture {
    proc: Option<Proc>,
    file: PathBuf,
}

/// Starts `tcpdump -i IFACE -w FILE -U udp port 5353` inside `host`'s
/// namespace and waits until it is capturing. Panics if tcpdump is missing.
pub fn capture(host: &Host, iface: &str) -> Capture {
    let tcpdump = find_tool("tcpdump")
        .unwrap_or_else(|| panic!("tcpdump is missing: apt-get install tcpdump"));
    let n = CAPTURE_COUNTER.fetch_add(1, Ordering::SeqCst);
    let file = std::env::temp_dir().join(format!("dsd-cap-{}-{n}.pcap", std::process::id()));
    let _ = fs::remove_file(&file);
    let file_s = file.to_str().expect("temp dir path is UTF-8").to_owned();
    // -Z root: keep the privileges needed to write the file; --immediate-mode:
    // hand packets over at once so that stop() soon after traffic sees them.
    let proc = host.spawn(
        &tcpdump,
        &[
            "-n",
            "-Z",
            "root",
            "--immediate-mode",
            "-U",
            "-i",
            iface,
            "-w",
            &file_s,
            "udp",
            "port",
            "5353",
        ],
        &[],
    );
    if proc
        .wait_for_stderr_line("listening on", Duration::from_secs(10))
        .is_none()
    {
        panic!(
            "tcpdump did not start in {} on {iface}:\n{}",
            host.name(),
            proc.describe()
        );
    }
    Capture {
        proc: Some(proc),
        file,
    }
}

impl Capture {
    /// The pcap bytes written so far, without stopping the capture
    /// (tcpdump writes each packet as it comes; the reader stops at a
    /// packet still being written). For polling until something was seen.
    pub fn snapshot(&self) -> Vec<u8> {
        fs::read(&self.file).unwrap_or_default()
    }

    /// Stops tcpdump (after a short grace period for packets in flight) and
    /// returns the pcap file's bytes.
    pub fn stop(mut self) -> Vec<u8> {
        let proc = self.proc.take().expect("capture already stopped");
        thread::sleep(Duration::from_millis(300));
        proc.signal(libc::SIGINT);
        if proc.wait_exit(Duration::from_secs(5)).is_none() {
            proc.kill();
        }
        let bytes = fs::read(&self.file).unwrap_or_default();
        let _ = fs::remove_file(&self.file);
        bytes
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
        }
        let _ = fs::remove_file(&self.file);
    }
}

// ---------------------------------------------------------------------------
// pcap reader
// ---------------------------------------------------------------------------

/// One UDP datagram found in a capture (reassembled if it was fragmented).
#[derive(Debug, Clone, PartialEq)]
pub struct UdpPacket {
    /// Seconds since the epoch.
    pub time: f64,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub payload: Vec<u8>,
    /// The IPv4 TTL or IPv6 hop limit (for a fragmented datagram, that of
    /// the fragment that completed it).
    pub ttl: u8,
}

/// The UDP payloads in a pcap file: (timestamp s, payload, source address,
/// source port), in file order.
pub fn pcap_udp_payloads(pcap: &[u8]) -> Vec<(f64, Vec<u8>, IpAddr, u16)> {
    pcap_udp_packets(pcap)
        .into_iter()
        .map(|p| (p.time, p.payload, p.src, p.src_port))
        .collect()
}

const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_LINUX_SLL2: u32 = 276;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Like [`pcap_udp_payloads`], with destinations too. Understands classic
/// pcap files (either byte order, µs or ns timestamps) with Ethernet
/// (optionally VLAN-tagged), Linux cooked (v1/v2) or raw IP link layers;
/// IPv4 and IPv6 (with extension headers), reassembling fragments. Stops at
/// a truncated record; returns nothing for a file it does not understand.
pub fn pcap_udp_packets(pcap: &[u8]) -> Vec<UdpPacket> {
    let mut out = Vec::new();
    if pcap.len() < 24 {
        return out;
    }
    let magic_le = u32::from_le_bytes(pcap[0..4].try_into().unwrap());
    let (big_endian, nanos) = match magic_le {
        0xa1b2_c3d4 => (false, false),
        0xa1b2_3c4d => (false, true),
        0xd4c3_b2a1 => (true, false),
        0x4d3c_b2a1 => (true, true),
        _ => return out,
    };
    let rd32 = |b: &[u8], at: usize| -> u32 {
        let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    let linktype = rd32(pcap, 20) & 0x0fff_ffff;
    let mut frags = Reassembly::default();
    let mut pos = 24;
    while pos + 16 <= pcap.len() {
        let sec = rd32(pcap, pos) as f64;
        let frac = rd32(pcap, pos + 4) as f64;
        let incl = rd32(pcap, pos + 8) as usize;
        let start = pos + 16;
        let Some(frame) = pcap.get(start..start + incl) else {
            break;
        };
        pos = start + incl;
        let time = sec + if nanos { frac / 1e9 } else { frac / 1e6 };
        let ip_packet = match linktype {
            LINKTYPE_ETHERNET => ethernet_payload(frame),
            LINKTYPE_LINUX_SLL => frame.get(16..).map(|p| (be16(frame, 14).unwrap_or(0), p)),
            LINKTYPE_LINUX_SLL2 => frame.get(20..).map(|p| (be16(frame, 0).unwrap_or(0), p)),
            LINKTYPE_RAW => frame
                .first()
                .map(|v| (if v >> 4 == 6 { 0x86dd } else { 0x0800 }, frame)),
            _ => None,
        };
        let Some((ethertype, packet)) = ip_packet else {
            continue;
        };
        let l4 = match ethertype {
            0x0800 => ipv4_l4(packet, &mut frags),
            0x86dd => ipv6_l4(packet, &mut frags),
            _ => None,
        };
        let ttl = match ethertype {
            0x0800 => packet.get(8).copied(),
            _ => packet.get(7).copied(),
        };
        if let Some((src, dst, udp)) = l4 {
            if let Some(mut p) = udp_packet(time, src, dst, &udp) {
                p.ttl = ttl.unwrap_or(0);
                out.push(p);
            }
        }
    }
    out
}

fn ethernet_payload(frame: &[u8]) -> Option<(u16, &[u8])> {
    let mut at = 12;
    let mut ethertype = be16(frame, at)?;
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        at += 4;
        ethertype = be16(frame, at)?;
    }
    Some((ethertype, frame.get(at + 2..)?))
}

/// (source, destination, identification) of a fragmented datagram.
type FragKey = (IpAddr, IpAddr, u32);
/// One fragment: byte offset, more-fragments flag, data.
type Fragment = (usize, bool, Vec<u8>);

/// IP fragments waiting for the rest of their datagram.
#[derive(Default)]
struct Reassembly {
    pending: HashMap<FragKey, Vec<Fragment>>,
}

impl Reassembly {
    /// Adds a fragment (offset in bytes, more-fragments flag, data) of the
    /// UDP datagram; returns the whole datagram once every piece is here.
    fn add(&mut self, key: FragKey, offset: usize, more: bool, data: &[u8]) -> Option<Vec<u8>> {
        let parts = self.pending.entry(key).or_default();
        parts.retain(|(o, _, _)| *o != offset);
        parts.push((offset, more, data.to_vec()));
        parts.sort_by_key(|(o, _, _)| *o);
        let mut next = 0;
        let mut complete = false;
        for (o, m, d) in parts.iter() {
            if *o > next {
                return None;
            }
            next = next.max(o + d.len());
            if !m {
                complete = true;
                break;
            }
        }
        if !complete {
            return None;
        }
        let parts = self.pending.remove(&key)?;
        let mut whole = vec![0u8; next];
        for (o, _, d) in parts {
            let end = (o + d.len()).min(next);
            whole[o..end].copy_from_slice(&d[..end - o]);
        }
        Some(whole)
    }
}

fn ipv4_l4(p: &[u8], frags: &mut Reassembly) -> Option<(IpAddr, IpAddr, Vec<u8>)> {
    if p.first()? >> 4 != 4 {
        return None;
    }
    let ihl = ((p[0] & 0x0f) as usize) * 4;
    let total = (be16(p, 2)? as usize).min(p.len());
    if ihl < 20 || total < ihl || p[9] != 17 {
        return None;
    }
    let src = IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19]));
    let body = &p[ihl..total];
    let flags_off = be16(p, 6)?;
    let more = flags_off & 0x2000 != 0;
    let offset = ((flags_off & 0x1fff) as usize) * 8;
    if !more && offset == 0 {
        return Some((src, dst, body.to_vec()));
    }
    let id = be16(p, 4)? as u32;
    frags
        .add((src, dst, id), offset, more, body)
        .map(|d| (src, dst, d))
}

fn ipv6_l4(p: &[u8], frags: &mut Reassembly) -> Option<(IpAddr, IpAddr, Vec<u8>)> {
    if p.len() < 40 || p[0] >> 4 != 6 {
        return None;
    }
    let plen = be16(p, 4)? as usize;
    let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&p[8..24]).ok()?));
    let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&p[24..40]).ok()?));
    let end = (40 + plen).min(p.len());
    let mut next = p[6];
    let mut at = 40;
    let mut fragment: Option<(usize, bool, u32)> = None;
    loop {
        match next {
            17 => break,
            // hop-by-hop, routing, destination options
            0 | 43 | 60 => {
                let len = (*p.get(at + 1)? as usize + 1) * 8;
                next = *p.get(at)?;
                at += len;
            }
            44 => {
                let off_m = be16(p, at + 2)?;
                fragment = Some((
                    ((off_m >> 3) as usize) * 8,
                    off_m & 1 != 0,
                    be32(p, at + 4)?,
                ));
                next = *p.get(at)?;
                at += 8;
            }
            _ => return None,
        }
    }
    let body = p.get(at..end)?;
    match fragment {
        None | Some((0, false, _)) => Some((src, dst, body.to_vec())),
        Some((offset, more, id)) => frags
            .add((src, dst, id), offset, more, body)
            .map(|d| (src, dst, d)),
    }
}

fn udp_packet(time: f64, src: IpAddr, dst: IpAddr, udp: &[u8]) -> Option<UdpPacket> {
    let src_port = be16(udp, 0)?;
    let dst_port = be16(udp, 2)?;
    let len = be16(udp, 4)? as usize;
    // A length of 0 (jumbograms) or one past the data: take what is there.
    let end = if len >= 8 && len <= udp.len() {
        len
    } else {
        udp.len()
    };
    Some(UdpPacket {
        time,
        src,
        src_port,
        dst,
        dst_port,
        payload: udp.get(8..end)?.to_vec(),
        ttl: 0,
    })
}

// ---------------------------------------------------------------------------
// Build outputs
// ---------------------------------------------------------------------------

/// The package root (where Cargo.toml is).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$CARGO_TARGET_DIR` (relative to the package root if relative), else
/// `<package root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                manifest_dir().join(d)
            }
        }
        _ => manifest_dir().join("target"),
    }
}

/// The profile directory holding the library (`target/debug`,
/// `target/release`, ...): the parent of the `deps/` directory that the
/// running test binary lives in. Falls back to `target_dir()/debug`.
pub fn profile_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(deps) = exe.parent() {
            if deps.file_name() == Some(OsStr::new("deps")) {
                if let Some(profile) = deps.parent() {
                    return profile.to_path_buf();
                }
            }
        }
    }
    target_dir().join("debug")
}

/// The profile directory, after making sure it holds an up-to-date
/// `libdns_sd.so` and a `libdns_sd.so.1` (a symlink to it, made here if
/// missing).
///
/// `cargo test` compiles the cdylib into `<profile>/deps/` but, unlike
/// `cargo build`, does not copy it up to `<profile>/`, which would leave a
/// missing or stale library there. So when `deps/libdns_sd.so` is not the
/// same file as `<profile>/libdns_sd.so`, it is hard-linked (or copied) into
/// place first, as `cargo build` would have done.
pub fn library_dir() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = profile_dir();
            let lib = dir.join("libdns_sd.so");
            let fresh = dir.join("deps").join("libdns_sd.so");
            let same = |a: &Path, b: &Path| match (fs::metadata(a), fs::metadata(b)) {
                (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
                _ => false,
            };
            if fresh.is_file() && !same(&fresh, &lib) {
                let tmp = dir.join(format!(".libdns_sd.so.{}.tmp", std::process::id()));
                let _ = fs::remove_file(&tmp);
                if fs::hard_link(&fresh, &tmp).is_err() {
                    fs::copy(&fresh, &tmp).unwrap_or_else(|e| {
                        panic!("cannot copy {} to {}: {e}", fresh.display(), tmp.display())
                    });
                }
                // rename() replaces the old file atomically; programs that
                // still have it mapped keep their copy.
                fs::rename(&tmp, &lib)
                    .unwrap_or_else(|e| panic!("cannot update {}: {e}", lib.display()));
            }
            if !lib.is_file() {
                panic!(
                    "{} does not exist: build the library first (`cargo build`)",
                    lib.display()
                );
            }
            let versioned = dir.join("libdns_sd.so.1");
            if fs::symlink_metadata(&versioned).is_err() {
                // Made under a unique name and renamed into place, so parallel
                // test processes never see a half-made link.
                let tmp = dir.join(format!(".libdns_sd.so.1.{}.tmp", std::process::id()));
                let _ = fs::remove_file(&tmp);
                std::os::unix::fs::symlink("libdns_sd.so", &tmp)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", tmp.display()));
                if fs::symlink_metadata(&versioned).is_err() {
                    fs::rename(&tmp, &versioned)
                        .unwrap_or_else(|e| panic!("cannot create {}: {e}", versioned.display()));
                } else {
                    let _ = fs::remove_file(&tmp);
                }
            }
            dir
        })
        .clone()
}

/// Path of the crate's `dns-sd` tool, built by cargo for integration tests.
pub fn dns_sd_tool() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_dns-sd") {
        Some(p) => PathBuf::from(p),
        None => panic!("cargo did not provide CARGO_BIN_EXE_dns-sd (is the dns-sd binary still in Cargo.toml?)"),
    }
}

/// The `c-examples/` source directory (register.c, browse.py, ...).
pub fn c_examples_src_dir() -> PathBuf {
    manifest_dir().join("c-examples")
}

/// Compiles `c-examples/*.c` and `*.cpp` against `<package>/include` and
/// the library in the profile directory, into `<target>/c-examples/`, once
/// per process (and only when a source, the header or the library is newer
/// than the program). `foo.c` becomes `foo`, `foo.cpp` becomes `foo_cpp`.
/// Returns the output directory. Panics with the compiler's stderr if a
/// compilation fails.
pub fn build_c_examples() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let include = manifest_dir().join("include");
            if !include.join("dns_sd.h").is_file() {
                panic!(
                    "{} is missing: it is generated by the library build (`cargo build`)",
                    include.join("dns_sd.h").display()
                );
            }
            compile_c_examples(
                &c_examples_src_dir(),
                &include,
                &library_dir(),
                &target_dir().join("c-examples"),
            )
        })
        .clone()
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The machinery behind [`build_c_examples`], with every directory given:
/// compiles each `*.c` (C11) and `*.cpp` (C++17) in `src` with
/// `-I<include> -L<libdir> -ldns_sd -Wl,-rpath,<libdir>` (as DT_RPATH,
/// which beats LD_LIBRARY_PATH) into `out`.
/// `$CC` and `$CXX` override `cc` and `c++`. Holds a file lock in `out`
/// while compiling, and writes each program under a temporary name first.
pub fn compile_c_examples(src: &Path, include: &Path, libdir: &Path, out: &Path) -> PathBuf {
    fs::create_dir_all(out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let _lock = FileLock::acquire(&out.join(".build.lock"));
    let mut sources: Vec<PathBuf> = fs::read_dir(src)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(OsStr::to_str), Some("c" | "cpp")))
        .collect();
    sources.sort();
    assert!(
        !sources.is_empty(),
        "no C or C++ sources in {}",
        src.display()
    );

    // The header, the library, and this file (which holds the flags).
    let newest_dep = [
        include.join("dns_sd.h"),
        libdir.join("libdns_sd.so"),
        manifest_dir().join(file!()),
    ]
    .iter()
    .filter_map(|p| mtime(p))
    .max();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    for source in &sources {
        let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
        let is_cpp = source.extension() == Some(OsStr::new("cpp"));
        let name = if is_cpp { format!("{stem}_cpp") } else { stem };
        let program = out.join(&name);
        if let (Some(built), Some(src_time)) = (mtime(&program), mtime(source)) {
            if built >= src_time && newest_dep.map(|d| built >= d).unwrap_or(true) {
                continue;
            }
        }
        let tmp = out.join(format!(".{name}.{}.tmp", std::process::id()));
        let (compiler, std_flag) = if is_cpp {
            (&cxx, "-std=c++17")
        } else {
            (&cc, "-std=c11")
        };
        let mut cmd = Command::new(compiler);
        cmd.arg(std_flag)
            .args(["-Wall", "-Wextra", "-g", "-O1"])
            .arg(format!("-I{}", include.display()))
            .arg(source)
            .arg("-o")
            .arg(&tmp)
            .arg(format!("-L{}", libdir.display()))
            .arg("-ldns_sd")
            .arg(format!("-Wl,-rpath,{}", libdir.display()))
            // DT_RPATH rather than DT_RUNPATH: it is searched before
            // LD_LIBRARY_PATH, so the programs load the library in `libdir`
            // even if the environment points somewhere else (Avahi's
            // libdns_sd.so.1, say).
            .arg("-Wl,--disable-new-dtags");
        let result = cmd.output().unwrap_or_else(|e| {
            panic!("cannot run {compiler} (apt-get install build-essential): {e}")
        });
        if !result.status.success() {
            let _ = fs::remove_file(&tmp);
            panic!(
                "compiling {} failed ({cmd:?}):\n{}{}",
                source.display(),
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            );
        }
        fs::rename(&tmp, &program).unwrap_or_else(|e| {
            panic!(
                "cannot move {} to {}: {e}",
                tmp.display(),
                program.display()
            )
        });
    }
    out.to_path_buf()
}

// ---------------------------------------------------------------------------
// Parsing what the example programs print (see c-examples/README.md)
// ---------------------------------------------------------------------------

/// An `ADD`/`REMOVE` line of browse_resolve or browse.py.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowseLine {
    pub add: bool,
    pub name: String,
    pub regtype: String,
    pub domain: String,
    pub ifindex: u32,
}

/// Parses `ADD|REMOVE <name> <regtype> <domain> <ifindex>`; the name may
/// contain spaces, so the other fields are taken from the right.
pub fn parse_browse_line(line: &str) -> Option<BrowseLine> {
    let (add, rest) = if let Some(r) = line.strip_prefix("ADD ") {
        (true, r)
    } else {
        (false, line.strip_prefix("REMOVE ")?)
    };
    let mut it = rest.rsplitn(4, ' ');
    let ifindex = it.next()?.parse().ok()?;
    let domain = it.next()?.to_owned();
    let regtype = it.next()?.to_owned();
    let name = it.next()?.to_owned();
    Some(BrowseLine {
        add,
        name,
        regtype,
        domain,
        ifindex,
    })
}

/// Parses `REGISTERED <name> <regtype> <domain>` (or `REMOVED ...`) into
/// (registered, name, regtype, domain).
pub fn parse_registered_line(line: &str) -> Option<(bool, String, String, String)> {
    let (registered, rest) = if let Some(r) = line.strip_prefix("REGISTERED ") {
        (true, r)
    } else {
        (false, line.strip_prefix("REMOVED ")?)
    };
    let mut it = rest.rsplitn(3, ' ');
    let domain = it.next()?.to_owned();
    let regtype = it.next()?.to_owned();
    let name = it.next()?.to_owned();
    Some((registered, name, regtype, domain))
}

/// A `RESOLVED` line of browse_resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLine {
    /// Escaped, as the library gave it (e.g. `My\032Web._http._tcp.local.`).
    pub fullname: String,
    pub host: String,
    pub port: u16,
    pub ifindex: u32,
    /// TXT items in order, `\xHH` escapes decoded: (key, value), value None
    /// for a key without `=`.
    pub txt: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl ResolvedLine {
    /// The value of `key` (first match, exact bytes), if present with a value.
    pub fn txt_value(&self, key: &str) -> Option<&[u8]> {
        self.txt
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .and_then(|(_, v)| v.as_deref())
    }
}

fn unescape_hex(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Parses `RESOLVED <fullname> <hosttarget> <port> <ifindex>[ item...]`.
pub fn parse_resolved_line(line: &str) -> Option<ResolvedLine> {
    let mut it = line.strip_prefix("RESOLVED ")?.split(' ');
    let fullname = it.next()?.to_owned();
    let host = it.next()?.to_owned();
    let port = it.next()?.parse().ok()?;
    let ifindex = it.next()?.parse().ok()?;
    let txt = it
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) => (unescape_hex(k), Some(unescape_hex(v))),
            None => (unescape_hex(item), None),
        })
        .collect();
    Some(ResolvedLine {
        fullname,
        host,
        port,
        ifindex,
        txt,
    })
}

/// Compiles `tests/c/<name>.c` against the generated header and the
/// library (strict warnings, plus `extra` flags) into a binary unique to
/// this process; the caller removes it when done.
pub fn compile_c_test(name: &str, extra: &[&str]) -> PathBuf {
    let out_dir = target_dir().join("c-tests");
    fs::create_dir_all(&out_dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", out_dir.display()));
    let binary = out_dir.join(format!("{name}_{}", std::process::id()));
    let libdir = library_dir();
    let output = Command::new("cc")
        .args(["-std=gnu11", "-Wall", "-Wextra", "-Werror"])
        .args(extra)
        .arg("-o")
        .arg(&binary)
        .arg(manifest_dir().join(format!("tests/c/{name}.c")))
        .arg(format!("-I{}", manifest_dir().join("include").display()))
        .arg(format!("-L{}", libdir.display()))
        .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", libdir.display()))
        .arg("-ldns_sd")
        .output()
        .expect("cc runs");
    assert!(output.status.success(), "tests/c/{name}.c does not compile:\n{}", String::from_utf8_lossy(&output.stderr));
    binary
}

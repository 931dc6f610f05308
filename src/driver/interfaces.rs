//! Which interfaces the engine uses, read with getifaddrs(3).
//!
//! By default: every interface that is up, running, multicast-capable and
//! has an address of a family in use (IPv4, IPv6 or both: see
//! `DNSSD_FAMILY` in the driver); the loopback interface only when it is the only one.
//! `DNSSD_INTERFACES=eth0,eth1` restricts the engine to the named
//! interfaces (loopback included when named).
//!
//! The driver reads the list again as soon as the kernel reports a link or
//! address change over netlink (`netlink.rs`), and every five seconds as a
//! safety net (every half second where netlink is unavailable), so
//! interfaces and addresses that appear, change or vanish are picked up
//! within a second. The carrier-change count read with each interface
//! makes a flap that is over by the time of the read still count.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::core::InterfaceInfo;

/// The environment variable that restricts the engine to named interfaces.
pub const INTERFACES_ENV: &str = "DNSSD_INTERFACES";

struct Raw {
    info: InterfaceInfo,
    flags: u32,
}

fn read_system() -> Vec<Raw> {
    let mut found: BTreeMap<String, Raw> = BTreeMap::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list we free below with freeifaddrs; we
    // only read entries while it is alive, checking every pointer for NULL.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return Vec::new();
        }
        let mut entry = list;
        while !entry.is_null() {
            let e = &*entry;
            entry = e.ifa_next;
            if e.ifa_name.is_null() {
                continue;
            }
            let name = CStr::from_ptr(e.ifa_name).to_string_lossy().into_owned();
            let index = libc::if_nametoindex(e.ifa_name);
            if index == 0 {
                continue;
            }
            let raw = found.entry(name.clone()).or_insert_with(|| Raw {
                info: InterfaceInfo { index, name, ipv4: Vec::new(), ipv6: Vec::new(), subnets: Vec::new(), link_changes: 0 },
                flags: e.ifa_flags,
            });
            if e.ifa_addr.is_null() {
                continue;
            }
            let has_mask = !e.ifa_netmask.is_null();
            match i32::from((*e.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(e.ifa_addr as *const libc::sockaddr_in);
                    let address = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                    raw.info.ipv4.push(address);
                    if has_mask {
                        let mask = &*(e.ifa_netmask as *const libc::sockaddr_in);
                        let prefix = u32::from_be(mask.sin_addr.s_addr).leading_ones() as u8;
                        raw.info.subnets.push((IpAddr::V4(address), prefix));
                    }
                }
                libc::AF_INET6 => {
                    let sin6 = &*(e.ifa_addr as *const libc::sockaddr_in6);
                    let address = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                    raw.info.ipv6.push(address);
                    if has_mask {
                        let mask = &*(e.ifa_netmask as *const libc::sockaddr_in6);
                        let prefix = u128::from_be_bytes(mask.sin6_addr.s6_addr).leading_ones() as u8;
                        raw.info.subnets.push((IpAddr::V6(address), prefix));
                    }
                }
                _ => {}
            }
        }
        libc::freeifaddrs(list);
    }
    found.into_values().collect()
}

/// The kernel's count of carrier changes on an interface: a flap between
/// two reads of the list still shows as a new count. 0 where unknown.
fn carrier_changes(name: &str) -> u64 {
    if name.contains('/') || name.starts_with('.') {
        return 0;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/carrier_changes"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The interfaces to use now, for the address families in use.
pub fn current(ipv4: bool, ipv6: bool) -> Vec<InterfaceInfo> {
    let wanted: Option<Vec<String>> =
        std::env::var(INTERFACES_ENV).ok().map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    let usable = |r: &Raw| {
        let up = libc::IFF_UP as u32 | libc::IFF_RUNNING as u32;
        r.flags & up == up && ((ipv4 && !r.info.ipv4.is_empty()) || (ipv6 && !r.info.ipv6.is_empty()))
    };
    let is_loopback = |r: &Raw| r.flags & libc::IFF_LOOPBACK as u32 != 0;
    let all: Vec<Raw> = read_system().into_iter().filter(usable).collect();
    let mut chosen: Vec<InterfaceInfo> = match &wanted {
        Some(names) => all.into_iter().filter(|r| names.contains(&r.info.name)).map(|r| r.info).collect(),
        None => {
            let multicast: Vec<&Raw> =
                all.iter().filter(|r| !is_loopback(r) && r.flags & libc::IFF_MULTICAST as u32 != 0).collect();
            if multicast.is_empty() {
                all.iter().filter(|r| is_loopback(r)).map(|r| r.info.clone()).collect()
            } else {
                multicast.into_iter().map(|r| r.info.clone()).collect()
            }
        }
    };
    for info in &mut chosen {
        info.ipv4.sort();
        info.ipv6.sort();
        info.subnets.sort();
        info.link_changes = carrier_changes(&info.name);
    }
    chosen.sort_by_key(|i| i.index);
    chosen
}

//! Whether another socket on this host shares our mDNS port.
//!
//! Several sockets may bind port 5353 at once (SO_REUSEADDR/SO_REUSEPORT):
//! avahi-daemon, other programs using this library, another engine in this
//! process. Multicast datagrams reach all of them, but the kernel hands a
//! unicast datagram to only one (RFC 6762 §15.1). So we ask peers for
//! unicast replies (the QU bit) only while our sockets are the only ones on
//! the port, which the kernel's socket tables in /proc tell: each UDP socket
//! of the network namespace, with its local port and inode.

use std::collections::BTreeSet;
use std::os::fd::RawFd;

use crate::core::constants::MDNS_PORT;

/// The socket tables of the calling thread's network namespace (the engine
/// thread may have entered another namespace than the process's).
const UDP_TABLES: [&str; 2] = ["/proc/thread-self/net/udp", "/proc/thread-self/net/udp6"];

/// The inode of a socket descriptor, read from its /proc/self/fd link
/// (`socket:[12345]`).
pub fn socket_inode(fd: RawFd) -> Option<u64> {
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let text = target.to_str()?;
    text.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// Inodes of the sockets in one /proc/net/udp-style table bound to `port`.
fn inodes_on_port(table: &str, port: u16) -> BTreeSet<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit(':').next()?;
            let inode = fields.get(9)?.parse().ok()?;
            (u16::from_str_radix(local_port, 16).ok()? == port).then_some(inode)
        })
        .collect()
}

/// Whether every socket bound to port 5353 in this network namespace is one
/// of `ours`. Unknown (the tables cannot be read) counts as shared.
pub fn port_is_ours_alone(ours: &BTreeSet<u64>) -> bool {
    let mut found_any = false;
    for path in UDP_TABLES {
        let Ok(table) = std::fs::read_to_string(path) else { return false };
        for inode in inodes_on_port(&table, MDNS_PORT) {
            if !ours.contains(&inode) {
                return false;
            }
            found_any = true;
        }
    }
    found_any
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0
  124: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0000000000000000 0
";
    const TABLE6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  9: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   107        0 9191 2 0000000000000000 0
";

    #[test]
    fn finds_the_sockets_bound_to_the_mdns_port() {
        assert_eq!(inodes_on_port(TABLE, MDNS_PORT), BTreeSet::from([4242]));
        assert_eq!(inodes_on_port(TABLE6, MDNS_PORT), BTreeSet::from([9191]));
        assert_eq!(inodes_on_port(TABLE, 53), BTreeSet::from([777]));
        assert!(inodes_on_port("header only\n", MDNS_PORT).is_empty());
    }

    #[test]
    fn a_socket_of_ours_is_found_by_its_inode() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let inode = socket_inode(std::os::fd::AsRawFd::as_raw_fd(&socket)).unwrap();
        let port = socket.local_addr().unwrap().port();
        let table = std::fs::read_to_string("/proc/thread-self/net/udp").unwrap();
        assert!(inodes_on_port(&table, port).contains(&inode));
    }
}

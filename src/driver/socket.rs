//! The mDNS socket: socket2 set-up, and datagrams in and out with their
//! interface (IP_PKTINFO). With `driver/interfaces.rs`, `driver/netlink.rs`
//! and `driver/localtime.rs`, the only driver code that calls the operating
//! system directly.

use std::io;
use std::mem::{size_of, zeroed, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::core::constants::{MDNS_GROUP_V4, MDNS_GROUP_V6, MDNS_PORT};
use crate::core::IfIndex;

/// One received datagram with where it came in.
pub struct Received {
    pub ifindex: IfIndex,
    pub source: SocketAddr,
    /// The destination address in the IP header was a multicast group.
    pub multicast: bool,
    pub payload: Vec<u8>,
}

/// Opens the shared IPv4 mDNS socket: bound to 0.0.0.0:5353 with
/// SO_REUSEADDR and SO_REUSEPORT (other processes and avahi-daemon share the
/// port), multicast loopback on (programs on one host see each other), TTL
/// 255 (RFC 6762 §11), packet info on, non-blocking.
pub fn open_v4() -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_multicast_loop_v4(true)?;
    socket.set_multicast_ttl_v4(255)?;
    socket.set_ttl_v4(255)?;
    set_int_option(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, MDNS_PORT)).into())?;
    Ok(socket)
}

/// Opens the shared IPv6 mDNS socket, like [`open_v4`]: [::]:5353, IPv6
/// only, hop limit 255, loopback on, packet info on, non-blocking.
pub fn open_v6() -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_only_v6(true)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_multicast_loop_v6(true)?;
    socket.set_multicast_hops_v6(255)?;
    socket.set_unicast_hops_v6(255)?;
    set_int_option(socket.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, MDNS_PORT, 0, 0)).into())?;
    Ok(socket)
}

fn set_int_option(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `value` lives across the call and its size is passed with it;
    // setsockopt does not keep the pointer.
    let rc = unsafe {
        libc::setsockopt(fd, level, name, (&value as *const libc::c_int).cast(), size_of::<libc::c_int>() as libc::socklen_t)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Joins the socket's mDNS group (by its family) on one interface.
pub fn join(socket: &Socket, ifindex: IfIndex) -> io::Result<()> {
    if is_v6(socket) {
        socket.join_multicast_v6(&MDNS_GROUP_V6, ifindex)
    } else {
        socket.join_multicast_v4_n(&MDNS_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))
    }
}

/// Leaves the socket's mDNS group on one interface (it may already be gone).
pub fn leave(socket: &Socket, ifindex: IfIndex) {
    if is_v6(socket) {
        let _ = socket.leave_multicast_v6(&MDNS_GROUP_V6, ifindex);
    } else {
        let _ = socket.leave_multicast_v4_n(&MDNS_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex));
    }
}

fn is_v6(socket: &Socket) -> bool {
    socket.local_addr().ok().and_then(|a| a.as_socket()).is_some_and(|a| a.is_ipv6())
}

/// Control-message space for one `in_pktinfo`, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuffer([u8; 64]);

/// Receives one datagram (either family), or `WouldBlock`.
pub fn receive(socket: &Socket) -> io::Result<Received> {
    let mut payload = vec![0u8; 9000];
    let mut iov = libc::iovec { iov_base: payload.as_mut_ptr().cast(), iov_len: payload.len() };
    // Room for either family's address.
    let mut source = MaybeUninit::<libc::sockaddr_in6>::zeroed();
    let mut control = ControlBuffer([0; 64]);
    // SAFETY: an all-zero msghdr is a valid empty header; the pointers set
    // below refer to buffers that outlive the recvmsg call, with their sizes.
    let mut header: libc::msghdr = unsafe { zeroed() };
    header.msg_name = source.as_mut_ptr().cast();
    header.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.0.as_mut_ptr().cast();
    header.msg_controllen = control.0.len();
    // SAFETY: `header` describes valid, writable buffers (see above).
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut header, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    payload.truncate(n as usize);
    let source_ptr = source.as_ptr();
    // SAFETY: recvmsg wrote a sockaddr of the socket's family into the
    // zeroed buffer, which is large and aligned enough for either.
    let source = unsafe {
        if i32::from((*source_ptr).sin6_family) == libc::AF_INET6 {
            let sin6 = &*source_ptr;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                0,
                sin6.sin6_scope_id,
            ))
        } else {
            let sin = &*(source_ptr as *const libc::sockaddr_in);
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)), u16::from_be(sin.sin_port)))
        }
    };
    let mut ifindex = 0;
    let mut multicast = false;
    // SAFETY: the CMSG_* macros walk the control buffer recvmsg filled, within
    // msg_controllen; the pktinfo payloads are read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&header);
        while !cmsg.is_null() {
            let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
            if level == libc::IPPROTO_IP && kind == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                ifindex = info.ipi_ifindex as IfIndex;
                multicast = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)).is_multicast();
            } else if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                ifindex = info.ipi6_ifindex as IfIndex;
                multicast = Ipv6Addr::from(info.ipi6_addr.s6_addr).is_multicast();
            }
            cmsg = libc::CMSG_NXTHDR(&header, cmsg);
        }
    }
    Ok(Received { ifindex, source, multicast, payload })
}

/// Sends one datagram out of interface `ifindex` (the socket's family
/// must match the destination's).
pub fn send(socket: &Socket, ifindex: IfIndex, destination: SocketAddr, payload: &[u8]) -> io::Result<()> {
    let mut control = ControlBuffer([0; 64]);
    let mut iov = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() };
    // SAFETY: all-zero sockaddr and pktinfo structures are valid values.
    let (mut v4, mut v6): (libc::sockaddr_in, libc::sockaddr_in6) = unsafe { (zeroed(), zeroed()) };
    // SAFETY: as in `receive`: every pointer refers to a live buffer with its size.
    let mut header: libc::msghdr = unsafe { zeroed() };
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.0.as_mut_ptr().cast();
    match destination {
        SocketAddr::V4(d) => {
            v4.sin_family = libc::AF_INET as libc::sa_family_t;
            v4.sin_port = d.port().to_be();
            v4.sin_addr.s_addr = u32::from(*d.ip()).to_be();
            header.msg_name = (&mut v4 as *mut libc::sockaddr_in).cast();
            header.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // SAFETY: the control buffer holds CMSG_SPACE(in_pktinfo) bytes
            // (64 ≥ 32); the first header and its data are written inside it.
            unsafe {
                header.msg_controllen = libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize;
                let mut info: libc::in_pktinfo = zeroed();
                info.ipi_ifindex = ifindex as libc::c_int;
                let cmsg = libc::CMSG_FIRSTHDR(&header);
                (*cmsg).cmsg_level = libc::IPPROTO_IP;
                (*cmsg).cmsg_type = libc::IP_PKTINFO;
                (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
            }
        }
        SocketAddr::V6(d) => {
            v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            v6.sin6_port = d.port().to_be();
            v6.sin6_addr.s6_addr = d.ip().octets();
            v6.sin6_scope_id = if d.scope_id() != 0 { d.scope_id() } else { ifindex };
            header.msg_name = (&mut v6 as *mut libc::sockaddr_in6).cast();
            header.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            // SAFETY: the control buffer holds CMSG_SPACE(in6_pktinfo) bytes
            // (64 ≥ 40); the first header and its data are written inside it.
            unsafe {
                header.msg_controllen = libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) as usize;
                let mut info: libc::in6_pktinfo = zeroed();
                info.ipi6_ifindex = ifindex as _;
                let cmsg = libc::CMSG_FIRSTHDR(&header);
                (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
                (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
                (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in6_pktinfo>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
            }
        }
    }
    // SAFETY: `header` is fully set up above, its buffers alive for the call.
    let n = unsafe { libc::sendmsg(socket.as_raw_fd(), &header, 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Moves the calling thread into the network namespace at `path` (used by
/// tests that run several engines in one process, each on its own link).
pub fn enter_network_namespace(path: &std::path::Path) -> io::Result<()> {
    let file = std::fs::File::open(path)?;
    // SAFETY: setns takes a valid open fd (kept open for the call) and only
    // changes the calling thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Hands the socket to tokio's reactor.
pub fn into_async(socket: Socket) -> io::Result<tokio::io::unix::AsyncFd<Socket>> {
    // SAFETY: the AsyncFd takes ownership of the socket, so the descriptor
    // stays open (and is not reused) for as long as it is registered.
    unsafe { Ok(tokio::io::unix::AsyncFd::register(socket)?) }
}

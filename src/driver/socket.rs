//! The mDNS socket: socket2 set-up, and datagrams in and out with their
//! interface (IP_PKTINFO). With `driver/interfaces.rs`, the only driver code
//! that calls the operating system directly.

use std::io;
use std::mem::{size_of, zeroed, MaybeUninit};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::core::constants::{MDNS_GROUP_V4, MDNS_PORT};
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

/// Joins the mDNS group on one interface.
pub fn join(socket: &Socket, ifindex: IfIndex) -> io::Result<()> {
    socket.join_multicast_v4_n(&MDNS_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))
}

/// Leaves the mDNS group on one interface (it may already be gone).
pub fn leave(socket: &Socket, ifindex: IfIndex) {
    let _ = socket.leave_multicast_v4_n(&MDNS_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex));
}

/// Control-message space for one `in_pktinfo`, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuffer([u8; 64]);

/// Receives one datagram, or `WouldBlock`.
pub fn receive(socket: &Socket) -> io::Result<Received> {
    let mut payload = vec![0u8; 9000];
    let mut iov = libc::iovec { iov_base: payload.as_mut_ptr().cast(), iov_len: payload.len() };
    let mut source = MaybeUninit::<libc::sockaddr_in>::zeroed();
    let mut control = ControlBuffer([0; 64]);
    // SAFETY: an all-zero msghdr is a valid empty header; the pointers set
    // below refer to buffers that outlive the recvmsg call, with their sizes.
    let mut header: libc::msghdr = unsafe { zeroed() };
    header.msg_name = source.as_mut_ptr().cast();
    header.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
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
    // SAFETY: recvmsg filled at most msg_namelen bytes of the zeroed sockaddr_in.
    let source = unsafe { source.assume_init() };
    let source = SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(source.sin_addr.s_addr)),
        u16::from_be(source.sin_port),
    ));
    let mut ifindex = 0;
    let mut multicast = false;
    // SAFETY: the CMSG_* macros walk the control buffer recvmsg filled, within
    // msg_controllen; the pktinfo payload is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::IPPROTO_IP && (*cmsg).cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                ifindex = info.ipi_ifindex as IfIndex;
                multicast = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)).is_multicast();
            }
            cmsg = libc::CMSG_NXTHDR(&header, cmsg);
        }
    }
    Ok(Received { ifindex, source, multicast, payload })
}

/// Sends one datagram out of interface `ifindex`.
pub fn send(socket: &Socket, ifindex: IfIndex, destination: SocketAddr, payload: &[u8]) -> io::Result<()> {
    let SocketAddr::V4(destination) = destination else {
        return Err(io::Error::new(io::ErrorKind::Unsupported, "IPv6 destination on the IPv4 socket"));
    };
    // SAFETY: all-zero sockaddr_in and in_pktinfo are valid values.
    let mut address: libc::sockaddr_in = unsafe { zeroed() };
    address.sin_family = libc::AF_INET as libc::sa_family_t;
    address.sin_port = destination.port().to_be();
    address.sin_addr.s_addr = u32::from(*destination.ip()).to_be();
    let mut info: libc::in_pktinfo = unsafe { zeroed() };
    info.ipi_ifindex = ifindex as libc::c_int;
    let mut control = ControlBuffer([0; 64]);
    let mut iov = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() };
    // SAFETY: as in `receive`: every pointer refers to a live buffer with its size.
    let mut header: libc::msghdr = unsafe { zeroed() };
    header.msg_name = (&mut address as *mut libc::sockaddr_in).cast();
    header.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure size computations.
    header.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) } as usize;
    // SAFETY: the control buffer holds CMSG_SPACE(in_pktinfo) bytes (64 ≥ 32);
    // the first header and its data are written inside it.
    let n = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&header);
        (*cmsg).cmsg_level = libc::IPPROTO_IP;
        (*cmsg).cmsg_type = libc::IP_PKTINFO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
        libc::sendmsg(socket.as_raw_fd(), &header, 0)
    };
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

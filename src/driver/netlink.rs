//! Kernel notifications of link and address changes (rtnetlink), used as a
//! wake-up only.
//!
//! A `NETLINK_ROUTE` socket subscribed to the link, IPv4 address and IPv6
//! address multicast groups becomes readable whenever an interface appears,
//! vanishes or changes state (up, down, carrier) or an address is added or
//! removed. The messages are not parsed: the driver drains them all and
//! then reads the whole interface list again with getifaddrs
//! (`interfaces.rs`), which stays the single source of truth. Draining
//! before reading means a burst (an interface losing several addresses at
//! once) costs one read, not one per message.
//!
//! The socket watches the network namespace of the thread that opens it,
//! so the driver opens it on the engine thread after any `setns`.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The rtnetlink groups that announce what the interface list is made of:
/// links (flags, carrier, new and deleted interfaces) and IPv4 and IPv6
/// addresses.
const GROUPS: u32 = (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32;

/// Room for one notification. Larger ones are cut short, which is fine:
/// only their arrival matters.
const RECEIVE_BUFFER: usize = 8192;

/// A subscription to the kernel's link and address change notifications.
pub struct LinkWatch {
    fd: AsyncFd<OwnedFd>,
}

impl LinkWatch {
    /// Opens and subscribes the socket. Must be called inside the engine's
    /// tokio runtime, on the engine thread. Fails where netlink is not
    /// available (a seccomp sandbox, say); the driver then polls faster.
    pub fn open() -> io::Result<LinkWatch> {
        // SAFETY: socket(2) takes no pointers; a negative result is an
        // error and is checked before the descriptor is used.
        let raw = unsafe {
            libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, libc::NETLINK_ROUTE)
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor socket(2) just returned to us, open
        // and owned by nobody else; the OwnedFd closes it exactly once.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        // SAFETY: sockaddr_nl is plain integers (family, padding, port id,
        // groups), for which all zero bytes are a valid value.
        let mut address: libc::sockaddr_nl = unsafe { MaybeUninit::zeroed().assume_init() };
        address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // Port id 0: the kernel assigns one.
        address.nl_pid = 0;
        address.nl_groups = GROUPS;
        // SAFETY: the pointer and length describe `address`, a live,
        // initialised sockaddr_nl; bind(2) only reads it during the call.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_nl).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the AsyncFd takes ownership of the OwnedFd, so the
        // descriptor stays open, and is the same one, for as long as it is
        // registered.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE)? };
        Ok(LinkWatch { fd })
    }

    /// Waits until the kernel reports a change (or that it dropped reports
    /// because the socket's buffer was full, which may have hidden one),
    /// having drained every pending message. Cancel-safe: the only await
    /// is the readiness wait, and messages are read only after it.
    ///
    /// An error means the socket is no longer usable.
    pub async fn changed(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let changed = drain(guard.get_inner().as_raw_fd())?;
            // `drain` stopped at EAGAIN: nothing is left, so the readiness
            // tokio saw has been used up.
            guard.clear_ready();
            if changed {
                return Ok(());
            }
        }
    }
}

/// Reads every pending message until the socket would block. True when at
/// least one came from the kernel or some were lost to an overflow
/// (ENOBUFS); messages from other processes are ignored.
fn drain(fd: RawFd) -> io::Result<bool> {
    let mut buffer = [0u8; RECEIVE_BUFFER];
    let mut changed = false;
    loop {
        // SAFETY: sockaddr_nl is plain integers, valid when all zero.
        let mut sender: libc::sockaddr_nl = unsafe { MaybeUninit::zeroed().assume_init() };
        let mut sender_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `buffer` is writable for its whole length, and `sender`
        // with `sender_len` (its size) is writable storage for the sender
        // address; recvfrom(2) writes at most those lengths and keeps no
        // pointer after it returns.
        let n = unsafe {
            libc::recvfrom(
                fd,
                buffer.as_mut_ptr().cast::<libc::c_void>(),
                buffer.len(),
                libc::MSG_DONTWAIT,
                (&mut sender as *mut libc::sockaddr_nl).cast::<libc::sockaddr>(),
                &mut sender_len,
            )
        };
        if n >= 0 {
            // Port id 0 is the kernel; nobody else speaks for the interfaces.
            if sender.nl_pid == 0 {
                changed = true;
            }
            continue;
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            // The kernel dropped notifications: something changed.
            Some(libc::ENOBUFS) => changed = true,
            _ if error.kind() == io::ErrorKind::WouldBlock => return Ok(changed),
            _ => return Err(error),
        }
    }
}

//! The per-connection event queue and its file descriptor.
//!
//! The engine thread pushes replies; the C program waits on the fd (poll,
//! select, epoll, a GLib or Qt loop) and calls `DNSServiceProcessResult`,
//! which pops them and runs the callbacks on the caller's thread. The fd is
//! an eventfd that is readable exactly while the queue holds something: the
//! push into an empty queue sets it, the pop that empties the queue clears
//! it, both under the queue's lock.

use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// A client that never reads cannot grow our memory without bound: past
/// this many waiting replies, new ones are dropped.
const MAX_QUEUED: usize = 65_536;

/// One callback waiting to run, with everything it passes, owned.
#[derive(Debug)]
pub(crate) enum Reply {
    Register { flags: u32, error: i32, name: CString, regtype: CString, domain: CString },
    Browse { flags: u32, ifindex: u32, error: i32, name: CString, regtype: CString, domain: CString },
    Resolve { flags: u32, ifindex: u32, error: i32, fullname: CString, host: CString, port: u16, txt: Vec<u8> },
    Query { flags: u32, ifindex: u32, error: i32, fullname: CString, rrtype: u16, rrclass: u16, rdata: Vec<u8>, ttl: u32 },
}

pub(crate) struct Queue {
    replies: Mutex<VecDeque<Reply>>,
    fd: OwnedFd,
}

impl Queue {
    pub fn new() -> io::Result<Queue> {
        // SAFETY: eventfd has no pointer arguments; a non-negative result is
        // a fresh descriptor that we own from here on.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Queue { replies: Mutex::new(VecDeque::new()), fd })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn clear(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    /// Adds a reply (called on the engine thread).
    pub fn push(&self, reply: Reply) {
        let Ok(mut replies) = self.replies.lock() else { return };
        if replies.len() >= MAX_QUEUED {
            return;
        }
        if replies.is_empty() {
            self.signal();
        }
        replies.push_back(reply);
    }

    /// Takes the oldest reply, and whether more are waiting.
    pub fn pop(&self) -> Option<(Reply, bool)> {
        let mut replies = self.replies.lock().ok()?;
        let reply = replies.pop_front()?;
        let more = !replies.is_empty();
        if !more {
            self.clear();
        }
        Some((reply, more))
    }

    pub fn is_empty(&self) -> bool {
        self.replies.lock().map(|r| r.is_empty()).unwrap_or(true)
    }

    /// Blocks until a reply is waiting (what ProcessResult does on an idle ref).
    pub fn wait(&self) {
        while self.is_empty() {
            let mut pollfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd, count 1, no timeout.
            unsafe { libc::poll(&mut pollfd, 1, -1) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(queue: &Queue) -> bool {
        let mut pollfd = libc::pollfd { fd: queue.fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut pollfd, 1, 0) == 1 }
    }

    fn reply(n: u32) -> Reply {
        Reply::Register { flags: n, error: 0, name: CString::default(), regtype: CString::default(), domain: CString::default() }
    }

    #[test]
    fn fd_is_readable_exactly_while_replies_wait() {
        let queue = Queue::new().unwrap();
        assert!(!readable(&queue));
        queue.push(reply(1));
        queue.push(reply(2));
        assert!(readable(&queue));
        let (_, more) = queue.pop().unwrap();
        assert!(more && readable(&queue));
        let (_, more) = queue.pop().unwrap();
        assert!(!more && !readable(&queue));
        assert!(queue.pop().is_none());
    }
}

//! The table of live `DNSServiceRef`s.
//!
//! A `DNSServiceRef` handed to C is a key into this table, never a pointer
//! we dereference: a stale or foreign ref is looked up, not trusted, and
//! yields `kDNSServiceErr_BadReference` instead of undefined behaviour. Keys
//! are never reused. A ref's state is shared (`Arc`) so that a callback may
//! deallocate its own ref while `DNSServiceProcessResult` is running it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;

use super::queue::Queue;
use super::types::*;
use crate::api::Active;

/// The C callback of a ref, with its kind.
#[derive(Clone, Copy)]
pub(crate) enum Callback {
    Register(DNSServiceRegisterReply),
    Browse(DNSServiceBrowseReply),
    Resolve(DNSServiceResolveReply),
    Query(DNSServiceQueryRecordReply),
}

pub(crate) struct RefState {
    pub queue: Arc<Queue>,
    pub callback: Callback,
    /// The caller's context pointer, kept as an integer (we never touch it).
    pub context: usize,
    /// The engine handle; dropping it ends the operation.
    pub active: Mutex<Option<Active>>,
    /// Set once the ref is deallocated; no callback runs after that.
    pub closed: AtomicBool,
    /// The process that made the ref (refs do not survive fork()).
    pub pid: u32,
}

static TABLE: Lazy<Mutex<HashMap<usize, Arc<RefState>>>> = Lazy::new(|| Mutex::new(HashMap::new()));
/// Keys look like aligned pointers and are never reused.
static NEXT_KEY: AtomicUsize = AtomicUsize::new(0x1000);

pub(crate) fn insert(state: Arc<RefState>) -> DNSServiceRef {
    let key = NEXT_KEY.fetch_add(16, Ordering::Relaxed);
    if let Ok(mut table) = TABLE.lock() {
        table.insert(key, state);
    }
    key as DNSServiceRef
}

pub(crate) fn get(sd_ref: DNSServiceRef) -> Option<Arc<RefState>> {
    TABLE.lock().ok()?.get(&(sd_ref as usize)).cloned()
}

pub(crate) fn remove(sd_ref: DNSServiceRef) -> Option<Arc<RefState>> {
    TABLE.lock().ok()?.remove(&(sd_ref as usize))
}

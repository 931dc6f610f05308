//! The `DNSService*` calls: arguments checked and converted, the safe API
//! called, replies queued for `DNSServiceProcessResult`.

use std::ffi::{CStr, CString};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use libc::{c_char, c_void};
use once_cell::sync::Lazy;

use super::queue::{Queue, Reply};
use super::refs::{self, Callback, RefState};
use super::types::*;
use super::guard;
use crate::api::{Active, ApiError, BrowseEvent, Engine, EngineConfig, EngineError, RegisterEvent, Service};

/// The engine of this process, started on first use. A child after fork()
/// gets a fresh one: the parent's engine thread does not exist there.
static DEFAULT_ENGINE: Lazy<Mutex<Option<(u32, Engine)>>> = Lazy::new(|| Mutex::new(None));

fn default_engine() -> Result<Engine, DNSServiceErrorType> {
    let pid = std::process::id();
    let mut slot = DEFAULT_ENGINE.lock().map_err(|_| kDNSServiceErr_Unknown)?;
    match slot.take() {
        Some((owner, engine)) if owner == pid => {
            *slot = Some((owner, engine.clone()));
            return Ok(engine);
        }
        // Inherited across fork(): its thread is gone, so it must not be
        // dropped (that would wait for the thread).
        Some((_, stale)) => std::mem::forget(stale),
        None => {}
    }
    let engine = Engine::start(EngineConfig::default()).map_err(|_| kDNSServiceErr_ServiceNotRunning)?;
    *slot = Some((pid, engine.clone()));
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain extern "C" function with no arguments;
        // atexit keeps only the function pointer.
        unsafe { libc::atexit(stop_default_engine_at_exit) };
    });
    Ok(engine)
}

/// At a normal process exit, registrations the program did not deallocate
/// still say goodbye (as Apple's daemon does for a client that goes away):
/// stopping the engine cancels them and sends their goodbyes first.
extern "C" fn stop_default_engine_at_exit() {
    guard((), || {
        let Ok(mut slot) = DEFAULT_ENGINE.try_lock() else { return };
        match slot.take() {
            Some((owner, engine)) if owner == std::process::id() => engine.shutdown(),
            // Inherited across fork(): the thread is not in this process.
            Some((_, stale)) => std::mem::forget(stale),
            None => {}
        }
    })
}

fn error_code(error: &ApiError) -> DNSServiceErrorType {
    match error {
        ApiError::Name(_) | ApiError::BadParam(_) => kDNSServiceErr_BadParam,
        ApiError::Unsupported(_) => kDNSServiceErr_Unsupported,
        ApiError::Engine(EngineError::NotRunning | EngineError::Io(_)) => kDNSServiceErr_ServiceNotRunning,
        ApiError::Engine(EngineError::Core(_)) => kDNSServiceErr_BadParam,
    }
}

/// A C string argument: `Ok(None)` for NULL, an error for invalid UTF-8.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn optional_str(ptr: *const c_char) -> Result<Option<String>, DNSServiceErrorType> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller passes a NUL-terminated string (dns_sd.h contract).
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map(|s| Some(s.to_string())).map_err(|_| kDNSServiceErr_BadParam)
}

unsafe fn required_str(ptr: *const c_char) -> Result<String, DNSServiceErrorType> {
    // SAFETY: same contract as `optional_str`.
    unsafe { optional_str(ptr) }?.ok_or(kDNSServiceErr_BadParam)
}

fn cstring(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// The checks every operation shares: shared connections are not supported
/// yet; the interface index as the engine takes it (LocalOnly is not
/// supported yet, P2P means "any" on Linux).
fn operation_interface(flags: DNSServiceFlags, index: u32) -> Result<u32, DNSServiceErrorType> {
    if flags & kDNSServiceFlagsShareConnection != 0 {
        return Err(kDNSServiceErr_Unsupported);
    }
    match index {
        kDNSServiceInterfaceIndexLocalOnly => Err(kDNSServiceErr_Unsupported),
        kDNSServiceInterfaceIndexP2P => Ok(0),
        kDNSServiceInterfaceIndexUnicast | kDNSServiceInterfaceIndexBLE => Err(kDNSServiceErr_Unsupported),
        other => Ok(other),
    }
}

/// Makes the ref: a queue, the state, and then the operation `start`, which
/// gets the queue to push replies into.
///
/// # Safety
/// `sd_ref` is NULL or writable.
unsafe fn create_ref(
    sd_ref: *mut DNSServiceRef,
    callback: Callback,
    context: *mut c_void,
    start: impl FnOnce(&Engine, Arc<Queue>) -> Result<Active, ApiError>,
) -> DNSServiceErrorType {
    if sd_ref.is_null() {
        return kDNSServiceErr_BadParam;
    }
    // SAFETY: checked non-NULL; the caller gives us a DNSServiceRef to fill.
    unsafe { *sd_ref = std::ptr::null_mut() };
    let engine = match default_engine() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let queue = match Queue::new() {
        Ok(queue) => Arc::new(queue),
        Err(_) => return kDNSServiceErr_NoMemory,
    };
    let active = match start(&engine, queue.clone()) {
        Ok(active) => active,
        Err(error) => return error_code(&error),
    };
    let state = Arc::new(RefState {
        queue,
        callback,
        context: context as usize,
        active: Mutex::new(Some(active)),
        closed: Default::default(),
        pid: std::process::id(),
    });
    // SAFETY: as above.
    unsafe { *sd_ref = refs::insert(state) };
    kDNSServiceErr_NoError
}

/// Registers a service (`dns_sd.h`).
///
/// # Safety
/// Pointer arguments follow the dns_sd.h contract: strings NUL-terminated or
/// NULL where allowed, `txtRecord` readable for `txtLen` bytes.
#[no_mangle]
pub unsafe extern "C" fn DNSServiceRegister(
    sdRef: *mut DNSServiceRef,
    flags: DNSServiceFlags,
    interfaceIndex: u32,
    name: *const c_char,
    regtype: *const c_char,
    domain: *const c_char,
    host: *const c_char,
    port: u16,
    txtLen: u16,
    txtRecord: *const c_void,
    callBack: DNSServiceRegisterReply,
    context: *mut c_void,
) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        let no_auto_rename = flags & kDNSServiceFlagsNoAutoRename != 0;
        if no_auto_rename && callBack.is_none() {
            return kDNSServiceErr_BadParam;
        }
        // SAFETY: dns_sd.h string contract (see above).
        let parsed = unsafe { (optional_str(name), required_str(regtype), optional_str(domain), optional_str(host)) };
        let (Ok(name), Ok(regtype), Ok(domain), Ok(host)) = parsed else { return kDNSServiceErr_BadParam };
        let interface = match operation_interface(flags, interfaceIndex) {
            Ok(i) => i,
            Err(code) => return code,
        };
        let txt = if txtRecord.is_null() || txtLen == 0 {
            Vec::new()
        } else {
            // SAFETY: the caller guarantees txtLen readable bytes at txtRecord.
            unsafe { std::slice::from_raw_parts(txtRecord.cast::<u8>(), usize::from(txtLen)) }.to_vec()
        };
        let service = Service {
            name,
            service_type: regtype,
            domain,
            host,
            port: u16::from_be(port),
            txt,
            no_auto_rename,
            interface,
        };
        // SAFETY: sdRef is NULL or writable (dns_sd.h contract).
        unsafe {
            create_ref(sdRef, Callback::Register(callBack), context, |engine, queue| {
                engine.register_service(&service, move |event| {
                    queue.push(match event {
                        RegisterEvent::Registered { name, service_type, domain } => Reply::Register {
                            flags: kDNSServiceFlagsAdd,
                            error: kDNSServiceErr_NoError,
                            name: cstring(&name),
                            regtype: cstring(&service_type),
                            domain: cstring(&domain),
                        },
                        RegisterEvent::NameConflict => Reply::Register {
                            flags: 0,
                            error: kDNSServiceErr_NameConflict,
                            name: CString::default(),
                            regtype: CString::default(),
                            domain: CString::default(),
                        },
                    })
                })
            })
        }
    })
}

/// Browses for instances of a service type (`dns_sd.h`).
///
/// # Safety
/// As for [`DNSServiceRegister`].
#[no_mangle]
pub unsafe extern "C" fn DNSServiceBrowse(
    sdRef: *mut DNSServiceRef,
    flags: DNSServiceFlags,
    interfaceIndex: u32,
    regtype: *const c_char,
    domain: *const c_char,
    callBack: DNSServiceBrowseReply,
    context: *mut c_void,
) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        if callBack.is_none() {
            return kDNSServiceErr_BadParam;
        }
        // SAFETY: dns_sd.h string contract.
        let parsed = unsafe { (required_str(regtype), optional_str(domain)) };
        let (Ok(regtype), Ok(domain)) = parsed else { return kDNSServiceErr_BadParam };
        let interface = match operation_interface(flags, interfaceIndex) {
            Ok(i) => i,
            Err(code) => return code,
        };
        // SAFETY: sdRef is NULL or writable.
        unsafe {
            create_ref(sdRef, Callback::Browse(callBack), context, |engine, queue| {
                engine.browse_services(&regtype, domain.as_deref(), interface, move |event| {
                    let (add, result) = match event {
                        BrowseEvent::Added(r) => (true, r),
                        BrowseEvent::Removed(r) => (false, r),
                    };
                    queue.push(Reply::Browse {
                        flags: if add { kDNSServiceFlagsAdd } else { 0 },
                        ifindex: result.interface,
                        error: kDNSServiceErr_NoError,
                        name: cstring(&result.name),
                        regtype: cstring(&result.service_type),
                        domain: cstring(&result.domain),
                    })
                })
            })
        }
    })
}

/// Resolves a service instance to host, port and TXT (`dns_sd.h`).
///
/// # Safety
/// As for [`DNSServiceRegister`].
#[no_mangle]
pub unsafe extern "C" fn DNSServiceResolve(
    sdRef: *mut DNSServiceRef,
    flags: DNSServiceFlags,
    interfaceIndex: u32,
    name: *const c_char,
    regtype: *const c_char,
    domain: *const c_char,
    callBack: DNSServiceResolveReply,
    context: *mut c_void,
) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        if callBack.is_none() {
            return kDNSServiceErr_BadParam;
        }
        // SAFETY: dns_sd.h string contract.
        let parsed = unsafe { (required_str(name), required_str(regtype), required_str(domain)) };
        let (Ok(name), Ok(regtype), Ok(domain)) = parsed else { return kDNSServiceErr_BadParam };
        let interface = match operation_interface(flags, interfaceIndex) {
            Ok(i) => i,
            Err(code) => return code,
        };
        // SAFETY: sdRef is NULL or writable.
        unsafe {
            create_ref(sdRef, Callback::Resolve(callBack), context, |engine, queue| {
                engine.resolve_service(&name, &regtype, Some(&domain), interface, move |resolved| {
                    queue.push(Reply::Resolve {
                        flags: 0,
                        ifindex: resolved.interface,
                        error: kDNSServiceErr_NoError,
                        fullname: cstring(&resolved.fullname),
                        host: cstring(&resolved.host),
                        port: resolved.port.to_be(),
                        txt: resolved.txt,
                    })
                })
            })
        }
    })
}

/// Asks for records of a name and type (`dns_sd.h`).
///
/// # Safety
/// As for [`DNSServiceRegister`].
#[no_mangle]
pub unsafe extern "C" fn DNSServiceQueryRecord(
    sdRef: *mut DNSServiceRef,
    flags: DNSServiceFlags,
    interfaceIndex: u32,
    fullname: *const c_char,
    rrtype: u16,
    rrclass: u16,
    callBack: DNSServiceQueryRecordReply,
    context: *mut c_void,
) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        if callBack.is_none() || (rrclass != kDNSServiceClass_IN && rrclass != 255) {
            return kDNSServiceErr_BadParam;
        }
        // SAFETY: dns_sd.h string contract.
        let Ok(fullname) = (unsafe { required_str(fullname) }) else { return kDNSServiceErr_BadParam };
        let interface = match operation_interface(flags, interfaceIndex) {
            Ok(i) => i,
            Err(code) => return code,
        };
        // SAFETY: sdRef is NULL or writable.
        unsafe {
            create_ref(sdRef, Callback::Query(callBack), context, |engine, queue| {
                engine.query_record(&fullname, rrtype, interface, move |answer| {
                    queue.push(Reply::Query {
                        flags: if answer.add { kDNSServiceFlagsAdd } else { 0 },
                        ifindex: answer.interface,
                        error: kDNSServiceErr_NoError,
                        fullname: cstring(&answer.name),
                        rrtype: answer.rtype,
                        rrclass: answer.rclass,
                        rdata: answer.rdata,
                        ttl: answer.ttl,
                    })
                })
            })
        }
    })
}

/// The fd to wait on: readable while callbacks are waiting; -1 for a bad ref.
#[no_mangle]
pub extern "C" fn DNSServiceRefSockFD(sdRef: DNSServiceRef) -> dnssd_sock_t {
    guard(-1, || refs::get(sdRef).map(|state| state.queue.fd()).unwrap_or(-1))
}

/// Runs the callbacks that are waiting, on the caller's thread; blocks while
/// none is.
// The ref is a key into the ref table, handed back to the callback as it
// came; it is never dereferenced, so this function need not be `unsafe`.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
#[no_mangle]
pub extern "C" fn DNSServiceProcessResult(sdRef: DNSServiceRef) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        if sdRef.is_null() {
            return kDNSServiceErr_BadParam;
        }
        let Some(state) = refs::get(sdRef) else { return kDNSServiceErr_BadReference };
        if state.pid != std::process::id() {
            return kDNSServiceErr_ServiceNotRunning;
        }
        state.queue.wait();
        while let Some((reply, more)) = state.queue.pop() {
            if state.closed.load(Ordering::Acquire) {
                break;
            }
            let more_flag = if more { kDNSServiceFlagsMoreComing } else { 0 };
            // SAFETY: the callback and context are what the caller registered
            // for this ref; every pointer passed lives until the call returns.
            unsafe { run_callback(sdRef, state.callback, state.context as *mut c_void, reply, more_flag) };
            // The callback may have deallocated this ref: touch only `state`.
            if !more || state.closed.load(Ordering::Acquire) {
                break;
            }
        }
        kDNSServiceErr_NoError
    })
}

unsafe fn run_callback(sd_ref: DNSServiceRef, callback: Callback, context: *mut c_void, reply: Reply, more: u32) {
    // SAFETY (for each arm): the function pointer came from the caller with
    // this ref; strings are NUL-terminated CStrings and buffers Vecs owned by
    // `reply`, alive for the duration of the call.
    unsafe {
        match (callback, reply) {
            (Callback::Register(Some(f)), Reply::Register { flags, error, name, regtype, domain }) => {
                f(sd_ref, flags | more, error, name.as_ptr(), regtype.as_ptr(), domain.as_ptr(), context)
            }
            (Callback::Browse(Some(f)), Reply::Browse { flags, ifindex, error, name, regtype, domain }) => {
                f(sd_ref, flags | more, ifindex, error, name.as_ptr(), regtype.as_ptr(), domain.as_ptr(), context)
            }
            (Callback::Resolve(Some(f)), Reply::Resolve { flags, ifindex, error, fullname, host, port, txt }) => f(
                sd_ref,
                flags | more,
                ifindex,
                error,
                fullname.as_ptr(),
                host.as_ptr(),
                port,
                txt.len().min(usize::from(u16::MAX)) as u16,
                txt.as_ptr(),
                context,
            ),
            (Callback::Query(Some(f)), Reply::Query { flags, ifindex, error, fullname, rrtype, rrclass, rdata, ttl }) => f(
                sd_ref,
                flags | more,
                ifindex,
                error,
                fullname.as_ptr(),
                rrtype,
                rrclass,
                rdata.len().min(usize::from(u16::MAX)) as u16,
                rdata.as_ptr().cast(),
                ttl,
                context,
            ),
            _ => {}
        }
    }
}

/// Ends the operation of a ref and frees it. Safe inside the ref's own callback.
#[no_mangle]
pub extern "C" fn DNSServiceRefDeallocate(sdRef: DNSServiceRef) {
    guard((), || {
        let Some(state) = refs::remove(sdRef) else { return };
        state.closed.store(true, Ordering::Release);
        let active = state.active.lock().ok().and_then(|mut a| a.take());
        if state.pid == std::process::id() {
            // A registration waits here until its goodbyes are sent.
            drop(active);
        } else {
            // After fork() the engine thread is not in this process.
            std::mem::forget(active);
        }
    })
}

//! The ten `TXTRecord*` functions of `dns_sd.h`.
//!
//! Four of them build a record inside a caller-owned, 16-byte
//! `TXTRecordRef`; six read raw TXT rdata that the caller hands in. The
//! record rules themselves live in [`crate::wire::txt`]; this file only moves
//! bytes between C memory and that codec.
//!
//! The bytes of a record being built live either in the buffer the caller
//! gave to `TXTRecordCreate` or, once they no longer fit (or when there was
//! no buffer), in memory from `libc::malloc`: C code reads them through
//! `TXTRecordGetBytesPtr` after our call returns, so they must be plain C
//! memory, and `TXTRecordDeallocate` releases exactly that.
#![allow(non_snake_case)]

use std::ffi::CStr;
use std::mem::{align_of, size_of};
use std::ptr;
use std::slice;

use libc::{c_char, c_int, c_void};

use super::guard;
use super::types::{
    kDNSServiceErr_BadParam, kDNSServiceErr_Invalid, kDNSServiceErr_NoError,
    kDNSServiceErr_NoMemory, kDNSServiceErr_NoSuchKey, kDNSServiceErr_Unknown, DNSServiceErrorType,
    TXTRecordRef,
};
use crate::wire::txt::{self, TxtError, TxtValue};

/// What we keep inside a caller's `TXTRecordRef`.
#[repr(C)]
struct TxtState {
    /// Where the record's bytes are: the caller's buffer, our malloc'd
    /// block, or NULL when there is no storage yet.
    buffer: *mut u8,
    /// Usable size of `buffer`.
    buflen: u16,
    /// Bytes of record data at the start of `buffer`.
    datalen: u16,
    /// Non-zero when `buffer` came from `libc::malloc` and is ours to free.
    malloced: u8,
}

const _: () = assert!(
    size_of::<TxtState>() <= size_of::<TXTRecordRef>()
        && align_of::<TxtState>() <= align_of::<TXTRecordRef>()
);

/// Maps a codec error to the code `dns_sd.h` documents for it. Apple's
/// library reports a record that would pass 64 KiB as `Invalid`.
fn error_code(e: TxtError) -> DNSServiceErrorType {
    match e {
        TxtError::Invalid | TxtError::TooLong => kDNSServiceErr_Invalid,
        TxtError::NoSuchKey => kDNSServiceErr_NoSuchKey,
        TxtError::NoMemory => kDNSServiceErr_NoMemory,
    }
}

impl TxtState {
    /// The record bytes held so far.
    ///
    /// # Safety
    /// `self` must describe a live storage: `buffer` valid for reads of
    /// `datalen` bytes whenever it is non-NULL, as `TXTRecordCreate` and
    /// [`TxtState::store`] leave it.
    unsafe fn data(&self) -> &[u8] {
        if self.buffer.is_null() || self.datalen == 0 {
            return &[];
        }
        // SAFETY: per this function's contract, `buffer` points at
        // `datalen` initialized bytes that stay untouched while the
        // returned borrow (tied to `&self`) is alive.
        unsafe { slice::from_raw_parts(self.buffer, usize::from(self.datalen)) }
    }

    /// Replaces the record bytes with `data`, moving to (a larger) malloc'd
    /// block when the current storage is too small. On failure to allocate
    /// the record is left as it was.
    ///
    /// # Safety
    /// As for [`TxtState::data`]; additionally `buffer` must be writable for
    /// `buflen` bytes and, when `malloced` is set, come from `libc::malloc`.
    /// `data` must not point into `buffer`.
    unsafe fn store(&mut self, data: &[u8]) -> DNSServiceErrorType {
        let Ok(len) = u16::try_from(data.len()) else {
            return kDNSServiceErr_Invalid;
        };
        if len == 0 {
            self.datalen = 0;
            return kDNSServiceErr_NoError;
        }
        if self.buffer.is_null() || len > self.buflen {
            // Leave some headroom so that a run of SetValue calls does not
            // reallocate every time, but never beyond what a u16 describes.
            let cap = len.max(self.buflen.saturating_mul(2));
            let grown = if self.malloced != 0 && !self.buffer.is_null() {
                // SAFETY: `buffer` came from `libc::malloc`/`realloc` (our
                // `malloced` flag) and has not been freed.
                unsafe { libc::realloc(self.buffer.cast(), usize::from(cap)) }
            } else {
                // SAFETY: plain allocation of a non-zero size.
                unsafe { libc::malloc(usize::from(cap)) }
            };
            if grown.is_null() {
                return kDNSServiceErr_NoMemory;
            }
            // The caller's own buffer, if any, is simply no longer used.
            self.buffer = grown.cast();
            self.buflen = cap;
            self.malloced = 1;
        }
        // SAFETY: `buffer` is writable for `buflen >= len` bytes (ours or
        // the caller's, as promised to TXTRecordCreate), and `data` is a
        // separate Rust allocation, so the ranges do not overlap.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), self.buffer, data.len()) };
        self.datalen = len;
        kDNSServiceErr_NoError
    }
}

/// The state inside `txtRecord`, or `None` for NULL.
///
/// # Safety
/// A non-NULL `txtRecord` must point at a `TXTRecordRef` initialized by
/// `TXTRecordCreate` and not accessed elsewhere for the returned lifetime.
unsafe fn state_mut<'a>(txtRecord: *mut TXTRecordRef) -> Option<&'a mut TxtState> {
    // SAFETY: `TxtState` fits in and is no more aligned than `TXTRecordRef`
    // (checked at compile time), and the caller promises the bytes were
    // written as a `TxtState` by `TXTRecordCreate`.
    unsafe { txtRecord.cast::<TxtState>().as_mut() }
}

/// Shared-access variant of [`state_mut`], same contract.
unsafe fn state_ref<'a>(txtRecord: *const TXTRecordRef) -> Option<&'a TxtState> {
    // SAFETY: as in `state_mut`.
    unsafe { txtRecord.cast::<TxtState>().as_ref() }
}

/// Caller-supplied raw rdata as a slice; NULL reads as empty.
///
/// # Safety
/// A non-NULL `txtRecord` must be readable for `txtLen` bytes that nobody
/// writes while the slice is in use.
unsafe fn rdata<'a>(txtLen: u16, txtRecord: *const c_void) -> &'a [u8] {
    if txtRecord.is_null() || txtLen == 0 {
        return &[];
    }
    // SAFETY: per this function's contract (the dns_sd.h contract of every
    // function taking `txtLen, txtRecord`).
    unsafe { slice::from_raw_parts(txtRecord.cast::<u8>(), usize::from(txtLen)) }
}

/// A C string's bytes without the NUL.
///
/// # Safety
/// `s` must be non-NULL and point at a NUL-terminated string.
unsafe fn c_bytes<'a>(s: *const c_char) -> &'a [u8] {
    // SAFETY: per this function's contract.
    unsafe { CStr::from_ptr(s) }.to_bytes()
}

/// `void TXTRecordCreate(TXTRecordRef *txtRecord, uint16_t bufferLen, void *buffer)`
///
/// Starts an empty record in `*txtRecord`. With a non-NULL `buffer` the
/// record is built in it (it must stay valid until `TXTRecordDeallocate`);
/// when that is NULL or becomes too small the library allocates its own.
///
/// # Safety
/// `txtRecord` is NULL or points at writable `TXTRecordRef` storage; a
/// non-NULL `buffer` is writable for `bufferLen` bytes and outlives the ref.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordCreate(
    txtRecord: *mut TXTRecordRef,
    bufferLen: u16,
    buffer: *mut c_void,
) {
    guard((), || {
        if txtRecord.is_null() {
            return;
        }
        let state = TxtState {
            buffer: buffer.cast(),
            buflen: if buffer.is_null() { 0 } else { bufferLen },
            datalen: 0,
            malloced: 0,
        };
        // SAFETY: `txtRecord` is non-NULL and points at caller storage of
        // `TXTRecordRef` size and alignment, which can hold a `TxtState`
        // (compile-time check). `write` does not read the old, possibly
        // uninitialized, contents.
        unsafe { txtRecord.cast::<TxtState>().write(state) };
    })
}

/// `void TXTRecordDeallocate(TXTRecordRef *txtRecord)`
///
/// Frees the memory the library allocated for the record (never the
/// caller's buffer) and leaves the ref empty, so a second call is harmless.
///
/// # Safety
/// `txtRecord` is NULL or points at a `TXTRecordRef` set up by
/// `TXTRecordCreate` and not used concurrently from another thread.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordDeallocate(txtRecord: *mut TXTRecordRef) {
    guard((), || {
        // SAFETY: dns_sd.h requires a ref set up by TXTRecordCreate.
        let Some(st) = (unsafe { state_mut(txtRecord) }) else {
            return;
        };
        if st.malloced != 0 && !st.buffer.is_null() {
            // SAFETY: `malloced` means `buffer` came from libc::malloc or
            // realloc in `store` and was not freed since (we clear it below).
            unsafe { libc::free(st.buffer.cast()) };
        }
        *st = TxtState {
            buffer: ptr::null_mut(),
            buflen: 0,
            datalen: 0,
            malloced: 0,
        };
    })
}

/// `DNSServiceErrorType TXTRecordSetValue(TXTRecordRef *txtRecord, const char *key, uint8_t valueSize, const void *value)`
///
/// `value` NULL sets `key` with no value; non-NULL with `valueSize` 0 sets
/// `key=`. A key already present (in any letter case) is replaced and moves
/// to the end. Errors: `Invalid` (bad key, string over 255 bytes, record over
/// 64 KiB), `NoMemory`, `BadParam` (NULL ref or key).
///
/// # Safety
/// `txtRecord` is NULL or points at a `TXTRecordRef` set up by
/// `TXTRecordCreate` and not used concurrently from another thread.
/// `key` is NULL or a NUL-terminated string; a non-NULL `value` is readable
/// for `valueSize` bytes.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordSetValue(
    txtRecord: *mut TXTRecordRef,
    key: *const c_char,
    valueSize: u8,
    value: *const c_void,
) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        // SAFETY: the caller keeps the dns_sd.h contract (see above).
        unsafe {
            edit_record(txtRecord, key, |data, key| {
                let value = if value.is_null() {
                    None
                } else {
                    // SAFETY: dns_sd.h requires `value` to be readable for
                    // `valueSize` bytes; it is non-NULL (also for size 0). The
                    // record is not written until `edit_record` stores `data`.
                    Some(slice::from_raw_parts(value.cast::<u8>(), usize::from(valueSize)))
                };
                txt::set_value(data, key, value)
            })
        }
    })
}

/// `DNSServiceErrorType TXTRecordRemoveValue(TXTRecordRef *txtRecord, const char *key)`
///
/// Removes `key` (any letter case). Errors: `NoSuchKey`, `BadParam` (NULL
/// ref or key).
///
/// # Safety
/// `txtRecord` is NULL or points at a `TXTRecordRef` set up by
/// `TXTRecordCreate` and not used concurrently from another thread.
/// `key` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordRemoveValue(
    txtRecord: *mut TXTRecordRef,
    key: *const c_char,
) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        // SAFETY: the caller keeps the dns_sd.h contract (see above).
        unsafe { edit_record(txtRecord, key, txt::remove_value) }
    })
}

/// The body of TXTRecordSetValue and TXTRecordRemoveValue: checks the ref
/// and the key, applies `edit` to a copy of the record's bytes (`key`, or a
/// value, may point into the record itself) and stores the result.
///
/// # Safety
/// `txtRecord` is NULL or a ref set up by TXTRecordCreate; `key` is NULL or
/// a NUL-terminated string.
unsafe fn edit_record(
    txtRecord: *mut TXTRecordRef,
    key: *const c_char,
    edit: impl FnOnce(&mut Vec<u8>, &[u8]) -> Result<(), TxtError>,
) -> DNSServiceErrorType {
    if key.is_null() {
        return kDNSServiceErr_BadParam;
    }
    // SAFETY: the caller passes NULL or a ref set up by TXTRecordCreate.
    let Some(st) = (unsafe { state_mut(txtRecord) }) else {
        return kDNSServiceErr_BadParam;
    };
    // SAFETY: `key` is non-NULL and the caller passes a C string.
    let key = unsafe { c_bytes(key) };
    // SAFETY: `st` was set up by TXTRecordCreate/store.
    let mut data = unsafe { st.data() }.to_vec();
    if let Err(e) = edit(&mut data, key) {
        return error_code(e);
    }
    // SAFETY: `st` was set up by TXTRecordCreate/store; `data` is our own
    // Vec, and `key` (and any value) are not used past this point.
    unsafe { st.store(&data) }
}

/// `uint16_t TXTRecordGetLength(const TXTRecordRef *txtRecord)`
///
/// Length of the record built so far: 0 for an empty ref (DNSServiceRegister
/// then publishes a single empty string) or a NULL pointer.
///
/// # Safety
/// `txtRecord` is NULL or points at a `TXTRecordRef` set up by
/// `TXTRecordCreate` and not used concurrently from another thread.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordGetLength(txtRecord: *const TXTRecordRef) -> u16 {
    guard(0, || {
        // SAFETY: dns_sd.h requires a ref set up by TXTRecordCreate.
        unsafe { state_ref(txtRecord) }.map_or(0, |st| st.datalen)
    })
}

/// `const void *TXTRecordGetBytesPtr(const TXTRecordRef *txtRecord)`
///
/// Where the record's bytes are: the caller's buffer, or the library's copy
/// once the record outgrew it. Valid until the next change to the record or
/// `TXTRecordDeallocate`. NULL when no storage exists yet or for NULL.
///
/// # Safety
/// `txtRecord` is NULL or points at a `TXTRecordRef` set up by
/// `TXTRecordCreate` and not used concurrently from another thread.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordGetBytesPtr(txtRecord: *const TXTRecordRef) -> *const c_void {
    guard(ptr::null(), || {
        // SAFETY: dns_sd.h requires a ref set up by TXTRecordCreate.
        unsafe { state_ref(txtRecord) }.map_or(ptr::null(), |st| st.buffer.cast_const().cast())
    })
}

/// `int TXTRecordContainsKey(uint16_t txtLen, const void *txtRecord, const char *key)`
///
/// 1 if `key` occurs (with or without a value, any letter case), else 0.
///
/// # Safety
/// A non-NULL `txtRecord` is readable for `txtLen` bytes; `key` is NULL or
/// a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordContainsKey(
    txtLen: u16,
    txtRecord: *const c_void,
    key: *const c_char,
) -> c_int {
    guard(0, || {
        if key.is_null() {
            return 0;
        }
        // SAFETY: dns_sd.h requires `txtLen` readable bytes at a non-NULL
        // `txtRecord`.
        let record = unsafe { rdata(txtLen, txtRecord) };
        // SAFETY: `key` is non-NULL (checked above) and dns_sd.h requires a
        // C string.
        let key = unsafe { c_bytes(key) };
        c_int::from(txt::contains_key(record, key))
    })
}

/// `const void *TXTRecordGetValuePtr(uint16_t txtLen, const void *txtRecord, const char *key, uint8_t *valueLen)`
///
/// For `key=value` returns a pointer to the value inside `txtRecord` and
/// stores its length (an empty value gives a non-NULL pointer and 0). For a
/// key without value, or a missing key, returns NULL and leaves `*valueLen`
/// untouched. NULL `key` or `valueLen` gives NULL.
///
/// # Safety
/// A non-NULL `txtRecord` is readable for `txtLen` bytes; `key` is NULL or
/// a NUL-terminated string.
/// `valueLen` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordGetValuePtr(
    txtLen: u16,
    txtRecord: *const c_void,
    key: *const c_char,
    valueLen: *mut u8,
) -> *const c_void {
    guard(ptr::null(), || {
        if key.is_null() || valueLen.is_null() {
            return ptr::null();
        }
        // SAFETY: dns_sd.h requires `txtLen` readable bytes at a non-NULL
        // `txtRecord`.
        let record = unsafe { rdata(txtLen, txtRecord) };
        // SAFETY: `key` is non-NULL (checked above) and dns_sd.h requires a
        // C string.
        let key = unsafe { c_bytes(key) };
        match txt::get(record, key) {
            TxtValue::Value(v) => {
                // SAFETY: `valueLen` is non-NULL and dns_sd.h makes it a
                // writable uint8_t. A value is at most 254 bytes.
                unsafe { valueLen.write(v.len() as u8) };
                v.as_ptr().cast()
            }
            TxtValue::NoValue | TxtValue::Absent => ptr::null(),
        }
    })
}

/// `uint16_t TXTRecordGetCount(uint16_t txtLen, const void *txtRecord)`
///
/// Number of strings, including empty and `=xx` ones; 0 when the data is
/// malformed.
///
/// # Safety
/// A non-NULL `txtRecord` is readable for `txtLen` bytes.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordGetCount(txtLen: u16, txtRecord: *const c_void) -> u16 {
    guard(0, || {
        // SAFETY: dns_sd.h requires `txtLen` readable bytes at a non-NULL
        // `txtRecord`.
        let record = unsafe { rdata(txtLen, txtRecord) };
        // At most one string per byte, so the count fits.
        txt::count(record) as u16
    })
}

/// `DNSServiceErrorType TXTRecordGetItemAtIndex(uint16_t txtLen, const void *txtRecord, uint16_t itemIndex, uint16_t keyBufLen, char *key, uint8_t *valueLen, const void **value)`
///
/// Copies the key of string number `itemIndex` (the bytes before its first
/// `=`) as a C string into `key` and points `*value` at its value inside
/// `txtRecord`; a string without `=` gives `*value` NULL and `*valueLen` 0.
/// Errors: `NoMemory` when the key and its NUL do not fit in `keyBufLen`
/// (256 always suffices), `Invalid` when there is no such item, `BadParam`
/// for a NULL `key`, `valueLen` or `value`.
///
/// # Safety
/// A non-NULL `txtRecord` is readable for `txtLen` bytes; a non-NULL `key`
/// is writable for `keyBufLen` bytes and does not overlap the record;
/// `valueLen` and `value` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn TXTRecordGetItemAtIndex(
    txtLen: u16,
    txtRecord: *const c_void,
    itemIndex: u16,
    keyBufLen: u16,
    key: *mut c_char,
    valueLen: *mut u8,
    value: *mut *const c_void,
) -> DNSServiceErrorType {
    guard(kDNSServiceErr_Unknown, || {
        if key.is_null() || valueLen.is_null() || value.is_null() {
            return kDNSServiceErr_BadParam;
        }
        // SAFETY: dns_sd.h requires `txtLen` readable bytes at a non-NULL
        // `txtRecord`.
        let record = unsafe { rdata(txtLen, txtRecord) };
        let Some((item_key, item_value)) = txt::item_at(record, usize::from(itemIndex)) else {
            return kDNSServiceErr_Invalid;
        };
        if item_key.len() >= usize::from(keyBufLen) {
            return kDNSServiceErr_NoMemory;
        }
        let (ptr_out, len_out) = match item_value {
            TxtValue::Value(v) => (v.as_ptr().cast::<c_void>(), v.len() as u8),
            TxtValue::NoValue | TxtValue::Absent => (ptr::null(), 0),
        };
        // SAFETY: `key` is non-NULL and writable for `keyBufLen` bytes, more
        // than `item_key.len()` (checked above); `item_key` lies in the
        // caller's record, which the key buffer must not overlap.
        unsafe { ptr::copy_nonoverlapping(item_key.as_ptr(), key.cast::<u8>(), item_key.len()) };
        // SAFETY: index `item_key.len()` < `keyBufLen`, so inside the buffer.
        unsafe { key.add(item_key.len()).write(0) };
        // SAFETY: `valueLen` is a non-NULL, writable out-parameter.
        unsafe { valueLen.write(len_out) };
        // SAFETY: `value` is a non-NULL, writable out-parameter.
        unsafe { value.write(ptr_out) };
        kDNSServiceErr_NoError
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::MaybeUninit;

    /// A fresh, uninitialized ref, as C code would have on its stack.
    fn new_ref() -> TXTRecordRef {
        // SAFETY: TXTRecordRef is a union of a char array and a raw pointer;
        // all-zero bytes are a valid value of either member.
        unsafe { MaybeUninit::zeroed().assume_init() }
    }

    /// Sets `key` (a Rust string) to `value` through the C function.
    fn set(r: &mut TXTRecordRef, key: &str, value: Option<&[u8]>) -> DNSServiceErrorType {
        let key = std::ffi::CString::new(key).unwrap();
        let (size, ptr) = match value {
            Some(v) => (u8::try_from(v.len()).unwrap(), v.as_ptr().cast()),
            None => (0, ptr::null()),
        };
        // SAFETY: `r` was set up by TXTRecordCreate in every test; the key
        // is a C string and the value readable for `size` bytes.
        unsafe { TXTRecordSetValue(r, key.as_ptr(), size, ptr) }
    }

    /// Removes `key` through the C function.
    fn remove(r: &mut TXTRecordRef, key: &str) -> DNSServiceErrorType {
        let key = std::ffi::CString::new(key).unwrap();
        // SAFETY: `r` was set up by TXTRecordCreate; the key is a C string.
        unsafe { TXTRecordRemoveValue(r, key.as_ptr()) }
    }

    /// `TXTRecordGetLength` on a ref set up by `TXTRecordCreate`.
    fn len_of(r: &TXTRecordRef) -> u16 {
        // SAFETY: every test creates `r` with TXTRecordCreate first.
        unsafe { TXTRecordGetLength(r) }
    }

    /// `TXTRecordGetBytesPtr` on a ref set up by `TXTRecordCreate`.
    fn ptr_of(r: &TXTRecordRef) -> *const c_void {
        // SAFETY: every test creates `r` with TXTRecordCreate first.
        unsafe { TXTRecordGetBytesPtr(r) }
    }

    /// The record's current bytes, read the way C code would.
    fn bytes(r: &TXTRecordRef) -> Vec<u8> {
        let len = usize::from(len_of(r));
        if len == 0 {
            return Vec::new();
        }
        // SAFETY: the pointer/length pair describes the record's storage,
        // which stays untouched while we copy it.
        unsafe { slice::from_raw_parts(ptr_of(r).cast::<u8>(), len) }.to_vec()
    }

    /// `TXTRecordContainsKey` on a byte slice.
    fn contains(rec: &[u8], key: &str) -> c_int {
        let key = std::ffi::CString::new(key).unwrap();
        // SAFETY: valid slice and C string.
        unsafe { TXTRecordContainsKey(rec.len() as u16, rec.as_ptr().cast(), key.as_ptr()) }
    }

    /// `TXTRecordGetValuePtr` on a byte slice; returns (pointer, *valueLen)
    /// with `*valueLen` starting at the sentinel 77.
    fn value_ptr(rec: &[u8], key: &str) -> (*const c_void, u8) {
        let key = std::ffi::CString::new(key).unwrap();
        let mut len = 77u8;
        // SAFETY: valid slice, C string and out-parameter.
        let p = unsafe {
            TXTRecordGetValuePtr(
                rec.len() as u16,
                rec.as_ptr().cast(),
                key.as_ptr(),
                &mut len,
            )
        };
        (p, len)
    }

    /// `TXTRecordGetCount` on a byte slice.
    fn count(rec: &[u8]) -> u16 {
        // SAFETY: valid slice.
        unsafe { TXTRecordGetCount(rec.len() as u16, rec.as_ptr().cast()) }
    }

    /// `TXTRecordGetItemAtIndex` on a byte slice with a key buffer of
    /// `keybuf` bytes: (error, key, value pointer, value length).
    fn item(
        rec: &[u8],
        index: u16,
        keybuf: u16,
    ) -> (DNSServiceErrorType, Vec<u8>, *const c_void, u8) {
        let mut key = vec![0x55 as c_char; usize::from(keybuf).max(1)];
        let mut len = 77u8;
        let mut value: *const c_void = ptr::dangling();
        // SAFETY: valid slice; `key` is writable for `keybuf` bytes and the
        // out-parameters are valid.
        let err = unsafe {
            TXTRecordGetItemAtIndex(
                rec.len() as u16,
                rec.as_ptr().cast(),
                index,
                keybuf,
                key.as_mut_ptr(),
                &mut len,
                &mut value,
            )
        };
        let key = if err == kDNSServiceErr_NoError {
            // SAFETY: on success the buffer holds a NUL-terminated string.
            unsafe { CStr::from_ptr(key.as_ptr()) }.to_bytes().to_vec()
        } else {
            Vec::new()
        };
        (err, key, value, len)
    }

    #[test]
    fn state_fits_in_the_ref() {
        assert_eq!(size_of::<TXTRecordRef>(), 16);
        assert!(size_of::<TxtState>() <= 16);
        assert_eq!(align_of::<TXTRecordRef>(), align_of::<*mut c_char>());
    }

    #[test]
    fn caller_buffer_observed_example() {
        let mut buf = [0u8; 256];
        let mut r = new_ref();
        // SAFETY: `buf` outlives every use of `r` below.
        unsafe { TXTRecordCreate(&mut r, buf.len() as u16, buf.as_mut_ptr().cast()) };
        assert_eq!(len_of(&r), 0);
        assert_eq!(set(&mut r, "flag", None), kDNSServiceErr_NoError);
        assert_eq!(set(&mut r, "empty", Some(b"")), kDNSServiceErr_NoError);
        assert_eq!(set(&mut r, "a", Some(b"1")), kDNSServiceErr_NoError);
        assert_eq!(set(&mut r, "A", Some(b"22")), kDNSServiceErr_NoError);
        let want = b"\x04flag\x06empty=\x04A=22";
        assert_eq!(bytes(&r), want.to_vec());
        // The bytes are in the caller's buffer.
        assert_eq!(ptr_of(&r), buf.as_ptr().cast());
        // SAFETY: `r` is a live ref; it frees nothing of the caller's.
        unsafe { TXTRecordDeallocate(&mut r) };
        assert_eq!(&buf[..want.len()], want);
    }

    #[test]
    fn null_buffer_uses_the_heap() {
        let mut r = new_ref();
        // SAFETY: NULL buffer is allowed.
        unsafe { TXTRecordCreate(&mut r, 100, ptr::null_mut()) };
        assert_eq!(len_of(&r), 0);
        assert!(ptr_of(&r).is_null());
        assert_eq!(set(&mut r, "txtvers", Some(b"1")), kDNSServiceErr_NoError);
        assert!(!ptr_of(&r).is_null());
        assert_eq!(bytes(&r), b"\x09txtvers=1".to_vec());
        // Many growing sets go through realloc and keep the contents.
        for i in 0..200 {
            assert_eq!(
                set(&mut r, &format!("key{i}"), Some(&[b'v'; 100])),
                kDNSServiceErr_NoError
            );
        }
        let data = bytes(&r);
        let want: usize = 10
            + (0..200)
                .map(|i| 2 + format!("key{i}").len() + 100)
                .sum::<usize>();
        assert_eq!(data.len(), want);
        assert_eq!(txt::count(&data), 201);
        assert_eq!(txt::get(&data, b"KEY199"), TxtValue::Value(&[b'v'; 100]));
        // SAFETY: `r` is live; deallocating twice is tolerated by our reset.
        unsafe {
            TXTRecordDeallocate(&mut r);
            TXTRecordDeallocate(&mut r);
        }
        assert_eq!(len_of(&r), 0);
    }

    #[test]
    fn too_small_buffer_moves_to_the_heap() {
        let mut buf = [0xAAu8; 4];
        let mut r = new_ref();
        // SAFETY: `buf` outlives every use of `r`.
        unsafe { TXTRecordCreate(&mut r, buf.len() as u16, buf.as_mut_ptr().cast()) };
        assert_eq!(set(&mut r, "ab", None), kDNSServiceErr_NoError);
        assert_eq!(ptr_of(&r), buf.as_ptr().cast());
        assert_eq!(set(&mut r, "key", Some(b"value")), kDNSServiceErr_NoError);
        let p = ptr_of(&r);
        assert_ne!(p, buf.as_ptr().cast());
        assert_eq!(bytes(&r), b"\x02ab\x09key=value".to_vec());
        // Shrinking again stays on the heap.
        assert_eq!(remove(&mut r, "KEY"), kDNSServiceErr_NoError);
        assert_eq!(ptr_of(&r), p);
        assert_eq!(bytes(&r), b"\x02ab".to_vec());
        // SAFETY: frees the heap copy only.
        unsafe { TXTRecordDeallocate(&mut r) };
        assert_eq!(&buf[..3], b"\x02ab");
    }

    #[test]
    fn set_value_states_and_errors() {
        let mut r = new_ref();
        // SAFETY: heap-only ref.
        unsafe { TXTRecordCreate(&mut r, 0, ptr::null_mut()) };
        // A NULL value with a size is still "no value".
        // SAFETY: `r` was created above and the key is a C string.
        let err = unsafe { TXTRecordSetValue(&mut r, c"nv".as_ptr(), 5, ptr::null()) };
        assert_eq!(err, kDNSServiceErr_NoError);
        assert_eq!(bytes(&r), b"\x02nv".to_vec());
        for bad in ["a=b", "", "k\x7f", "tab\t"] {
            assert_eq!(
                set(&mut r, bad, Some(b"x")),
                kDNSServiceErr_Invalid,
                "{bad:?}"
            );
        }
        // key "=" value: 255 bytes allowed, 256 not.
        assert_eq!(set(&mut r, "k", Some(&[b'v'; 253])), kDNSServiceErr_NoError);
        assert_eq!(set(&mut r, "k", Some(&[b'v'; 254])), kDNSServiceErr_Invalid);
        assert_eq!(
            set(&mut r, "kk", Some(&[b'v'; 253])),
            kDNSServiceErr_Invalid
        );
        assert_eq!(bytes(&r).len(), 3 + 256);
        // Case-insensitive replace and remove.
        assert_eq!(set(&mut r, "K", Some(b"1")), kDNSServiceErr_NoError);
        assert_eq!(bytes(&r), b"\x02nv\x03K=1".to_vec());
        assert_eq!(remove(&mut r, "missing"), kDNSServiceErr_NoSuchKey);
        assert_eq!(remove(&mut r, "NV"), kDNSServiceErr_NoError);
        assert_eq!(remove(&mut r, "k"), kDNSServiceErr_NoError);
        assert_eq!(len_of(&r), 0);
        assert_eq!(remove(&mut r, "k"), kDNSServiceErr_NoSuchKey);
        // SAFETY: live ref.
        unsafe { TXTRecordDeallocate(&mut r) };
    }

    #[test]
    fn record_limit_is_64k() {
        let mut r = new_ref();
        // SAFETY: heap-only ref.
        unsafe { TXTRecordCreate(&mut r, 0, ptr::null_mut()) };
        for i in 0..255 {
            assert_eq!(
                set(&mut r, &format!("k{i:03}"), Some(&[b'v'; 250])),
                kDNSServiceErr_NoError
            );
        }
        assert_eq!(len_of(&r), 65280);
        assert_eq!(
            set(&mut r, "big", Some(&[b'v'; 251])),
            kDNSServiceErr_Invalid
        );
        assert_eq!(len_of(&r), 65280);
        assert_eq!(
            set(&mut r, "end", Some(&[b'v'; 250])),
            kDNSServiceErr_NoError
        );
        assert_eq!(len_of(&r), 65535);
        let data = bytes(&r);
        assert!(txt::is_well_formed(&data));
        assert_eq!(txt::count(&data), 256);
        // SAFETY: live ref.
        unsafe { TXTRecordDeallocate(&mut r) };
    }

    #[test]
    fn value_may_point_into_the_record() {
        let mut buf = [0u8; 64];
        let mut r = new_ref();
        // SAFETY: `buf` outlives `r`.
        unsafe { TXTRecordCreate(&mut r, buf.len() as u16, buf.as_mut_ptr().cast()) };
        assert_eq!(set(&mut r, "a", Some(b"hello")), kDNSServiceErr_NoError);
        assert_eq!(set(&mut r, "b", Some(b"x")), kDNSServiceErr_NoError);
        let mut len = 0u8;
        // SAFETY: reads the record's own bytes, then passes the value
        // pointer back in while replacing the key it came from.
        unsafe {
            let p = TXTRecordGetBytesPtr(&r);
            let l = TXTRecordGetLength(&r);
            let v = TXTRecordGetValuePtr(l, p, c"a".as_ptr(), &mut len);
            assert_eq!(
                TXTRecordSetValue(&mut r, c"A".as_ptr(), len, v),
                kDNSServiceErr_NoError
            );
        }
        assert_eq!(bytes(&r), b"\x03b=x\x07A=hello".to_vec());
        // SAFETY: live ref.
        unsafe { TXTRecordDeallocate(&mut r) };
    }

    #[test]
    fn null_arguments_do_not_crash() {
        let mut r = new_ref();
        // SAFETY: every call below passes NULL where a pointer is expected,
        // which the functions must tolerate.
        unsafe {
            TXTRecordCreate(ptr::null_mut(), 10, ptr::null_mut());
            TXTRecordDeallocate(ptr::null_mut());
            assert_eq!(
                TXTRecordSetValue(ptr::null_mut(), c"k".as_ptr(), 0, ptr::null()),
                kDNSServiceErr_BadParam
            );
            assert_eq!(
                TXTRecordRemoveValue(ptr::null_mut(), c"k".as_ptr()),
                kDNSServiceErr_BadParam
            );
            assert_eq!(TXTRecordGetLength(ptr::null()), 0);
            assert!(TXTRecordGetBytesPtr(ptr::null()).is_null());
            TXTRecordCreate(&mut r, 0, ptr::null_mut());
            assert_eq!(
                TXTRecordSetValue(&mut r, ptr::null(), 0, ptr::null()),
                kDNSServiceErr_BadParam
            );
            assert_eq!(
                TXTRecordRemoveValue(&mut r, ptr::null()),
                kDNSServiceErr_BadParam
            );
            TXTRecordDeallocate(&mut r);

            let rec = b"\x03a=1";
            assert_eq!(TXTRecordContainsKey(4, rec.as_ptr().cast(), ptr::null()), 0);
            assert_eq!(TXTRecordContainsKey(4, ptr::null(), c"a".as_ptr()), 0);
            assert_eq!(
                TXTRecordContainsKey(0, rec.as_ptr().cast(), c"a".as_ptr()),
                0
            );
            let mut len = 9u8;
            assert!(TXTRecordGetValuePtr(4, rec.as_ptr().cast(), ptr::null(), &mut len).is_null());
            assert!(
                TXTRecordGetValuePtr(4, rec.as_ptr().cast(), c"a".as_ptr(), ptr::null_mut())
                    .is_null()
            );
            assert!(TXTRecordGetValuePtr(4, ptr::null(), c"a".as_ptr(), &mut len).is_null());
            assert_eq!(len, 9);
            assert_eq!(TXTRecordGetCount(4, ptr::null()), 0);
            let mut key = [0 as c_char; 8];
            let mut value: *const c_void = ptr::null();
            assert_eq!(
                TXTRecordGetItemAtIndex(
                    4,
                    rec.as_ptr().cast(),
                    0,
                    8,
                    ptr::null_mut(),
                    &mut len,
                    &mut value
                ),
                kDNSServiceErr_BadParam
            );
            assert_eq!(
                TXTRecordGetItemAtIndex(
                    4,
                    rec.as_ptr().cast(),
                    0,
                    8,
                    key.as_mut_ptr(),
                    ptr::null_mut(),
                    &mut value
                ),
                kDNSServiceErr_BadParam
            );
            assert_eq!(
                TXTRecordGetItemAtIndex(
                    4,
                    rec.as_ptr().cast(),
                    0,
                    8,
                    key.as_mut_ptr(),
                    &mut len,
                    ptr::null_mut()
                ),
                kDNSServiceErr_BadParam
            );
            assert_eq!(
                TXTRecordGetItemAtIndex(
                    4,
                    ptr::null(),
                    0,
                    8,
                    key.as_mut_ptr(),
                    &mut len,
                    &mut value
                ),
                kDNSServiceErr_Invalid
            );
        }
    }

    #[test]
    fn contains_key_and_value_ptr() {
        let rec = b"\x04flag\x06empty=\x04A=22";
        assert_eq!(contains(rec, "FLAG"), 1);
        assert_eq!(contains(rec, "empty"), 1);
        assert_eq!(contains(rec, "a"), 1);
        assert_eq!(contains(rec, "nope"), 0);
        assert_eq!(contains(rec, ""), 0);
        // No-value key: NULL and *valueLen untouched.
        assert_eq!(value_ptr(rec, "flag"), (ptr::null(), 77));
        // Missing key: the same.
        assert_eq!(value_ptr(rec, "nope"), (ptr::null(), 77));
        // Empty value: non-NULL, length 0, right after the '='.
        let (p, len) = value_ptr(rec, "Empty");
        assert_eq!((p, len), (rec[12..].as_ptr().cast(), 0));
        // key=value: points into the caller's data.
        let (p, len) = value_ptr(rec, "a");
        assert_eq!((p, len), (rec[15..].as_ptr().cast(), 2));
        // Truncated data: the key in the broken string is not found.
        assert_eq!(contains(b"\x09b=2", "b"), 0);
    }

    #[test]
    fn count_and_items_observed() {
        let rec = b"\x03a=1\x00\x04flag\x03=xx";
        assert_eq!(count(rec), 4);
        assert_eq!(count(b""), 0);
        assert_eq!(count(b"\x03a=1\x09b"), 0);

        let (err, key, v, len) = item(rec, 0, 256);
        assert_eq!(
            (err, key.as_slice(), v, len),
            (
                kDNSServiceErr_NoError,
                &b"a"[..],
                rec[3..].as_ptr().cast(),
                1
            )
        );
        let (err, key, v, len) = item(rec, 1, 256);
        assert_eq!(
            (err, key.as_slice(), v, len),
            (kDNSServiceErr_NoError, &b""[..], ptr::null(), 0)
        );
        let (err, key, v, len) = item(rec, 2, 256);
        assert_eq!(
            (err, key.as_slice(), v, len),
            (kDNSServiceErr_NoError, &b"flag"[..], ptr::null(), 0)
        );
        let (err, key, v, len) = item(rec, 3, 256);
        assert_eq!(
            (err, key.as_slice(), v, len),
            (
                kDNSServiceErr_NoError,
                &b""[..],
                rec[12..].as_ptr().cast(),
                2
            )
        );
        assert_eq!(item(rec, 4, 256).0, kDNSServiceErr_Invalid);
        assert_eq!(item(rec, 65535, 256).0, kDNSServiceErr_Invalid);
        // "flag" needs 5 bytes with its NUL.
        assert_eq!(item(rec, 2, 4).0, kDNSServiceErr_NoMemory);
        assert_eq!(item(rec, 2, 5).0, kDNSServiceErr_NoError);
        assert_eq!(item(rec, 1, 0).0, kDNSServiceErr_NoMemory);
        assert_eq!(item(rec, 1, 1).0, kDNSServiceErr_NoError);
        // Empty value: non-NULL pointer, length 0.
        let e = b"\x02k=";
        let (err, key, v, len) = item(e, 0, 256);
        assert_eq!(
            (err, key.as_slice(), v, len),
            (kDNSServiceErr_NoError, &b"k"[..], e[3..].as_ptr().cast(), 0)
        );
    }
}

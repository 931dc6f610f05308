//! TXT record data (RFC 6763 §6) as plain byte slices.
//!
//! A TXT rdata is a sequence of strings, each one length byte followed by
//! that many bytes. DNS-SD gives the strings the shape `key`, `key=` or
//! `key=value`. Everything here is pure and safe: the engine, the `dns-sd`
//! tool and the `TXTRecord*` C functions all build on it, so the rules of
//! `dns_sd.h` (as observed against Apple's library) live in one place:
//!
//! - keys compare ASCII case-insensitively and the first occurrence wins;
//! - a string that begins with `=` has no key and is never found by a lookup;
//! - a key that is set again moves to the end of the record;
//! - one string holds at most 255 bytes and a record at most 65535.

use std::fmt;

/// Longest string inside a TXT record: its length must fit in one byte.
pub const MAX_STRING_LEN: usize = 255;

/// Longest TXT record the `TXTRecord*` builder accepts (a `uint16_t` length).
pub const MAX_RECORD_LEN: usize = 0xFFFF;

/// Practical upper bound of a TXT record in mDNS (RFC 6763 §6.2): a record
/// must fit in one 9000-byte jumbo packet together with its headers. This
/// bounds the TXT data alone; the engine also counts the record's name and
/// refuses TXT data that does not fit with it (RFC 6762 §17), so near this
/// bound a long (or renamable) service name lowers the limit a little.
pub const MDNS_MAX_TXT_LEN: usize = 8900;

/// Why a TXT operation failed. The C layer maps each to a `kDNSServiceErr_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxtError {
    /// A bad key (empty, non-printable, contains `=`), a string over 255
    /// bytes, or record data that is not well formed.
    Invalid,
    /// The key to remove is not in the record.
    NoSuchKey,
    /// A caller's buffer is too small (or an allocation failed).
    NoMemory,
    /// The record would be longer than the limit that applies to it.
    TooLong,
}

impl fmt::Display for TxtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TxtError::Invalid => "invalid TXT key, string or record",
            TxtError::NoSuchKey => "no such key in the TXT record",
            TxtError::NoMemory => "buffer too small for the TXT data",
            TxtError::TooLong => "TXT record too long",
        })
    }
}

impl std::error::Error for TxtError {}

/// What a key maps to in a TXT record (RFC 6763 §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxtValue<'a> {
    /// The key does not occur.
    Absent,
    /// The key occurs alone, without `=`: a boolean attribute that is true.
    NoValue,
    /// The key occurs as `key=value`; the value may be empty (`key=`).
    /// The slice always points into the record it was taken from.
    Value(&'a [u8]),
}

impl<'a> TxtValue<'a> {
    /// True unless the key is [`TxtValue::Absent`].
    pub fn is_present(&self) -> bool {
        !matches!(self, TxtValue::Absent)
    }

    /// The value bytes, if the key has a value (possibly empty).
    pub fn value(&self) -> Option<&'a [u8]> {
        match *self {
            TxtValue::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Iterator over the strings of a TXT rdata; see [`strings`].
#[derive(Debug, Clone)]
pub struct Strings<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Strings<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        let len = usize::from(len);
        if tail.len() < len {
            // The length byte claims more than is left: stop for good.
            self.rest = &[];
            return None;
        }
        let (item, rest) = tail.split_at(len);
        self.rest = rest;
        Some(item)
    }
}

impl std::iter::FusedIterator for Strings<'_> {}

/// The strings of `rdata`, each without its length byte, in order.
///
/// The iteration stops before the first string whose length byte runs past
/// the end of the data, so on malformed data it yields the well-formed
/// prefix. Every yielded slice points into `rdata`.
pub fn strings(rdata: &[u8]) -> Strings<'_> {
    Strings { rest: rdata }
}

/// True when the length bytes tile `rdata` exactly (no string runs past the
/// end). The empty slice is well formed: it holds no strings.
pub fn is_well_formed(rdata: &[u8]) -> bool {
    let mut at = 0usize;
    while at < rdata.len() {
        at += 1 + usize::from(rdata[at]);
    }
    at == rdata.len()
}

/// The rdata to put on the wire for `rdata`: an empty record becomes a single
/// empty string (`[0]`), because a DNS-SD TXT record is never empty
/// (RFC 6763 §6.1). Anything else is returned unchanged.
pub fn for_wire(rdata: &[u8]) -> Vec<u8> {
    if rdata.is_empty() {
        vec![0]
    } else {
        rdata.to_vec()
    }
}

/// True for the two encodings of "no TXT data": zero-length rdata and a
/// single empty string. Clients must treat them alike (RFC 6763 §6.1).
pub fn is_empty_txt(rdata: &[u8]) -> bool {
    rdata.is_empty() || rdata == [0]
}

/// True for a key `TXTRecordSetValue` accepts: 1 to 255 bytes of printable
/// ASCII (0x20–0x7E), without `=` (RFC 6763 §6.4).
pub fn is_valid_key(key: &[u8]) -> bool {
    !key.is_empty()
        && key.len() <= MAX_STRING_LEN
        && key.iter().all(|&b| (0x20..=0x7E).contains(&b) && b != b'=')
}

/// A key that can ever match a string: non-empty and without `=`. Lookups
/// accept any other byte so that records from sloppy publishers can still
/// be read.
fn is_lookup_key(key: &[u8]) -> bool {
    !key.is_empty() && !key.contains(&b'=')
}

/// Splits one string at its first `=` into the key and what follows.
/// A string without `=` is a key with no value; `=xx` has an empty key.
pub fn split_item(item: &[u8]) -> (&[u8], TxtValue<'_>) {
    match item.iter().position(|&b| b == b'=') {
        Some(eq) => (&item[..eq], TxtValue::Value(&item[eq + 1..])),
        None => (item, TxtValue::NoValue),
    }
}

/// True when the string `item` carries the key `key` (already known to be a
/// lookup key), compared ASCII case-insensitively.
fn item_has_key(item: &[u8], key: &[u8]) -> bool {
    split_item(item).0.eq_ignore_ascii_case(key)
}

/// Looks `key` up in `rdata` (RFC 6763 §6.3–6.5, dns_sd.h): keys compare
/// ASCII case-insensitively, the first occurrence wins, and strings that
/// begin with `=` are never matched. An empty key or one containing `=` is
/// always [`TxtValue::Absent`]. Only the well-formed prefix of malformed
/// data is searched.
pub fn get<'a>(rdata: &'a [u8], key: &[u8]) -> TxtValue<'a> {
    if !is_lookup_key(key) {
        return TxtValue::Absent;
    }
    strings(rdata)
        .map(split_item)
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map_or(TxtValue::Absent, |(_, v)| v)
}

/// True when `key` occurs in `rdata`, with or without a value; see [`get`].
pub fn contains_key(rdata: &[u8], key: &[u8]) -> bool {
    get(rdata, key).is_present()
}

/// Number of strings in `rdata`, the way `TXTRecordGetCount` counts them:
/// empty strings and `=xx` strings count too, and malformed data counts 0.
pub fn count(rdata: &[u8]) -> usize {
    if is_well_formed(rdata) {
        strings(rdata).count()
    } else {
        0
    }
}

/// The string at `index` split into key and value, the way
/// `TXTRecordGetItemAtIndex` reads it: the key is everything before the
/// first `=` (empty for `=xx` and for an empty string) and a string without
/// `=` has [`TxtValue::NoValue`]. `None` when there are not that many
/// well-formed strings before the end or before malformed data.
pub fn item_at(rdata: &[u8], index: usize) -> Option<(&[u8], TxtValue<'_>)> {
    strings(rdata).nth(index).map(split_item)
}

/// Appends one string (length byte and bytes) to `out`.
fn push_string(out: &mut Vec<u8>, bytes: &[u8]) {
    debug_assert!(bytes.len() <= MAX_STRING_LEN);
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// `data` without every string carrying `key`, and how many were dropped.
fn without_key(data: &[u8], key: &[u8]) -> (Vec<u8>, usize) {
    let mut kept = Vec::with_capacity(data.len());
    let mut dropped = 0;
    for item in strings(data) {
        if item_has_key(item, key) {
            dropped += 1;
        } else {
            push_string(&mut kept, item);
        }
    }
    (kept, dropped)
}

/// Sets `key` in the record `data`, with `TXTRecordSetValue` semantics:
/// `value` `None` gives `key` alone, `Some(b"")` gives `key=`, otherwise
/// `key=value`. Any string already carrying the key (compared ASCII
/// case-insensitively) is removed and the new one is appended at the end.
///
/// Errors: [`TxtError::Invalid`] for a key that fails [`is_valid_key`], a
/// string `key=value` longer than 255 bytes, or malformed `data`;
/// [`TxtError::TooLong`] when the record would exceed [`MAX_RECORD_LEN`].
/// On error `data` is unchanged.
pub fn set_value(data: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) -> Result<(), TxtError> {
    if !is_valid_key(key) {
        return Err(TxtError::Invalid);
    }
    let item_len = key.len() + value.map_or(0, |v| 1 + v.len());
    if item_len > MAX_STRING_LEN || !is_well_formed(data) {
        return Err(TxtError::Invalid);
    }
    let (mut out, _) = without_key(data, key);
    if out.len() + 1 + item_len > MAX_RECORD_LEN {
        return Err(TxtError::TooLong);
    }
    out.push(item_len as u8);
    out.extend_from_slice(key);
    if let Some(v) = value {
        out.push(b'=');
        out.extend_from_slice(v);
    }
    *data = out;
    Ok(())
}

/// Removes `key` from the record `data` (every string carrying it, compared
/// ASCII case-insensitively), with `TXTRecordRemoveValue` semantics.
///
/// Errors: [`TxtError::NoSuchKey`] when the key does not occur (this
/// includes keys that can never occur: empty or containing `=`);
/// [`TxtError::Invalid`] for malformed `data`. On error `data` is unchanged.
pub fn remove_value(data: &mut Vec<u8>, key: &[u8]) -> Result<(), TxtError> {
    if !is_well_formed(data) {
        return Err(TxtError::Invalid);
    }
    if !is_lookup_key(key) {
        return Err(TxtError::NoSuchKey);
    }
    let (out, dropped) = without_key(data, key);
    if dropped == 0 {
        return Err(TxtError::NoSuchKey);
    }
    *data = out;
    Ok(())
}

/// Encodes ready-made strings (such as `"key=value"`) as TXT rdata, in
/// order and without interpretation. Errors: [`TxtError::Invalid`] for a
/// string over 255 bytes, [`TxtError::TooLong`] above [`MAX_RECORD_LEN`].
/// No strings give the empty record; see [`for_wire`].
pub fn from_strings<I, S>(items: I) -> Result<Vec<u8>, TxtError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for item in items {
        let item = item.as_ref();
        if item.len() > MAX_STRING_LEN {
            return Err(TxtError::Invalid);
        }
        push_string(&mut out, item);
        if out.len() > MAX_RECORD_LEN {
            return Err(TxtError::TooLong);
        }
    }
    Ok(out)
}

/// Value of an ASCII hex digit.
fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Builds TXT rdata from the `[<TXT>...]` arguments of `dns-sd -R`.
///
/// Each argument becomes one string. Inside it a backslash escapes: `\xHH`
/// (two hex digits, either case) is the byte 0xHH, and `\c` for any other
/// byte `c` is `c` itself (so `\\` is a backslash and `\ ` a space); a lone
/// backslash at the end of an argument stays a backslash. A string is
/// silently cut after 255 bytes. An empty argument gives an empty string;
/// no arguments give the empty record.
///
/// Error: [`TxtError::TooLong`] when the record exceeds [`MDNS_MAX_TXT_LEN`].
pub fn from_dns_sd_args<S: AsRef<[u8]>>(args: &[S]) -> Result<Vec<u8>, TxtError> {
    let mut out = Vec::new();
    for arg in args {
        let src = arg.as_ref();
        let mut string = Vec::with_capacity(src.len().min(MAX_STRING_LEN));
        let mut at = 0;
        while at < src.len() && string.len() < MAX_STRING_LEN {
            if src[at] != b'\\' || at + 1 == src.len() {
                string.push(src[at]);
                at += 1;
                continue;
            }
            let hex = match (src[at + 1], src.get(at + 2), src.get(at + 3)) {
                (b'x', Some(&hi), Some(&lo)) => hex_digit(hi).zip(hex_digit(lo)),
                _ => None,
            };
            match hex {
                Some((hi, lo)) => {
                    string.push(hi << 4 | lo);
                    at += 4;
                }
                None => {
                    string.push(src[at + 1]);
                    at += 2;
                }
            }
        }
        push_string(&mut out, &string);
        if out.len() > MDNS_MAX_TXT_LEN {
            return Err(TxtError::TooLong);
        }
    }
    Ok(out)
}

/// Bytes that `dns-sd` prefixes with a backslash so that its output can be
/// pasted back into a shell command line.
const SHELL_SPECIAL: &[u8] = b" &;`'\"|*?~<>^()[]{}$";

/// The bytes `dns-sd -L` prints for a TXT record (after "can be reached
/// at", on the next line); see [`display_like_dns_sd`]. Bytes are kept raw,
/// as the tool writes them.
pub fn display_bytes_like_dns_sd(rdata: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rdata.len() * 2);
    let mut at = 0usize;
    while at < rdata.len() {
        let len = usize::from(rdata[at]);
        let end = at + 1 + len;
        if end > rdata.len() {
            out.extend_from_slice(b"<< invalid data >>");
            break;
        }
        if len > 0 {
            out.push(b' ');
        }
        for &b in &rdata[at + 1..end] {
            // The tool tests membership with C's strchr, which also finds
            // the terminating NUL, so a zero byte gets the prefix as well.
            if b == 0 || SHELL_SPECIAL.contains(&b) {
                out.push(b'\\');
            }
            if b == b'\\' {
                out.extend_from_slice(b"\\\\\\\\");
            } else if b >= 0x20 {
                out.push(b);
            } else {
                out.extend_from_slice(format!("\\\\x{b:02X}").as_bytes());
            }
        }
        at = end;
    }
    out
}

/// A TXT record formatted the way Apple's `dns-sd -L` prints it: each
/// non-empty string is preceded by one space; ` &;`'"|*?~<>^()[]{}$` get a
/// backslash in front; a backslash prints as four backslashes; a byte below
/// 0x20 prints as `\\xHH` (two backslashes, uppercase hex) — a zero byte
/// additionally gets the one-backslash prefix, as in the tool; other bytes
/// print as themselves. A length byte that runs past the end appends
/// `<< invalid data >>` and ends the output. Bytes that are not UTF-8 are
/// replaced (U+FFFD); use [`display_bytes_like_dns_sd`] for the raw bytes.
pub fn display_like_dns_sd(rdata: &[u8]) -> String {
    String::from_utf8_lossy(&display_bytes_like_dns_sd(rdata)).into_owned()
}

/// An owned TXT record built key by key with [`set_value`] and
/// [`remove_value`] semantics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxtBuilder {
    data: Vec<u8>,
}

impl TxtBuilder {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (see [`set_value`]).
    pub fn set(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<&mut Self, TxtError> {
        set_value(&mut self.data, key, value)?;
        Ok(self)
    }

    /// Removes `key` (see [`remove_value`]).
    pub fn remove(&mut self, key: &[u8]) -> Result<&mut Self, TxtError> {
        remove_value(&mut self.data, key)?;
        Ok(self)
    }

    /// Looks `key` up (see [`get`]).
    pub fn get(&self, key: &[u8]) -> TxtValue<'_> {
        get(&self.data, key)
    }

    /// The rdata built so far (empty if nothing was set).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Length of the rdata built so far.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The rdata, consuming the builder.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes the given strings; a test helper that trusts its input.
    fn rec(items: &[&[u8]]) -> Vec<u8> {
        from_strings(items.iter().copied()).unwrap()
    }

    #[test]
    fn well_formed_and_strings() {
        assert!(is_well_formed(b""));
        assert!(is_well_formed(b"\0"));
        assert!(is_well_formed(b"\x03a=1\x00\x04flag"));
        assert!(!is_well_formed(b"\x04abc"));
        assert!(!is_well_formed(b"\x03a=1\x05"));
        let good: Vec<&[u8]> = strings(b"\x03a=1\x00\x04flag").collect();
        assert_eq!(good, vec![&b"a=1"[..], b"", b"flag"]);
        // Stops before the first string that runs past the end, for good.
        let mut it = strings(b"\x01x\x09short");
        assert_eq!(it.next(), Some(&b"x"[..]));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
        assert_eq!(strings(b"").count(), 0);
        // A 255-byte string is fine.
        let mut big = vec![255u8];
        big.extend(std::iter::repeat_n(b'v', 255));
        assert!(is_well_formed(&big));
        assert_eq!(strings(&big).next().unwrap().len(), 255);
    }

    #[test]
    fn wire_form_and_emptiness() {
        assert_eq!(for_wire(b""), vec![0]);
        assert_eq!(for_wire(b"\0"), vec![0]);
        assert_eq!(for_wire(b"\x03a=1"), b"\x03a=1".to_vec());
        assert!(is_empty_txt(b""));
        assert!(is_empty_txt(b"\0"));
        assert!(!is_empty_txt(b"\0\0"));
        assert!(!is_empty_txt(b"\x01a"));
    }

    #[test]
    fn key_validity() {
        assert!(is_valid_key(b"a"));
        assert!(is_valid_key(b"txtvers"));
        assert!(is_valid_key(b"with space ~"));
        assert!(!is_valid_key(b""));
        assert!(!is_valid_key(b"a=b"));
        assert!(!is_valid_key(b"="));
        assert!(!is_valid_key(b"k\x7f"));
        assert!(!is_valid_key(b"k\x1f"));
        assert!(!is_valid_key("caf\u{e9}".as_bytes()));
        assert!(is_valid_key(&[b'k'; 255]));
        assert!(!is_valid_key(&[b'k'; 256]));
    }

    #[test]
    fn lookup_four_states() {
        let r = rec(&[b"flag", b"empty=", b"a=1", b"bin=\x00\xff="]);
        assert_eq!(get(&r, b"missing"), TxtValue::Absent);
        assert_eq!(get(&r, b"flag"), TxtValue::NoValue);
        assert_eq!(get(&r, b"empty"), TxtValue::Value(b""));
        assert_eq!(get(&r, b"a"), TxtValue::Value(b"1"));
        // The value is opaque and split at the first '=' only.
        assert_eq!(get(&r, b"bin"), TxtValue::Value(b"\x00\xff="));
        assert!(contains_key(&r, b"flag"));
        assert!(contains_key(&r, b"empty"));
        assert!(!contains_key(&r, b"fla"));
        assert!(!contains_key(&r, b"flags"));
        assert_eq!(get(&r, b"a").value(), Some(&b"1"[..]));
        assert_eq!(get(&r, b"flag").value(), None);
        assert!(!TxtValue::Absent.is_present());
    }

    #[test]
    fn empty_value_points_into_the_record() {
        let r = rec(&[b"empty="]);
        match get(&r, b"empty") {
            TxtValue::Value(v) => {
                assert!(v.is_empty());
                assert_eq!(v.as_ptr(), r[r.len()..].as_ptr());
            }
            other => panic!("unexpected {other:?}"),
        }
        let r = rec(&[b"e=", b"x"]);
        match get(&r, b"E") {
            TxtValue::Value(v) => assert_eq!((v.as_ptr(), v.len()), (r[3..].as_ptr(), 0)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_first_wins() {
        let r = rec(&[b"Key=first", b"KEY=second", b"key"]);
        assert_eq!(get(&r, b"key"), TxtValue::Value(b"first"));
        assert_eq!(get(&r, b"kEy"), TxtValue::Value(b"first"));
        let r = rec(&[b"dup", b"dup=later"]);
        assert_eq!(get(&r, b"DUP"), TxtValue::NoValue);
    }

    #[test]
    fn lookup_ignores_keyless_strings_and_bad_keys() {
        let r = rec(&[b"=xx", b"", b"a=1"]);
        assert_eq!(get(&r, b""), TxtValue::Absent);
        assert_eq!(get(&r, b"=xx"), TxtValue::Absent);
        assert_eq!(get(&r, b"a=1"), TxtValue::Absent);
        assert_eq!(get(&r, b"xx"), TxtValue::Absent);
        assert_eq!(get(&r, b"a"), TxtValue::Value(b"1"));
        // Keys outside printable ASCII are still found when they occur.
        let r = rec(&["caf\u{e9}=1".as_bytes()]);
        assert_eq!(get(&r, "caf\u{e9}".as_bytes()), TxtValue::Value(b"1"));
    }

    #[test]
    fn lookup_in_malformed_data_uses_the_good_prefix() {
        let r = b"\x03a=1\x09b=2";
        assert_eq!(get(r, b"a"), TxtValue::Value(b"1"));
        assert_eq!(get(r, b"b"), TxtValue::Absent);
        assert!(!contains_key(b"\x09b=2", b"b"));
    }

    #[test]
    fn count_and_items_like_apple() {
        // Observed: raw 03 a=1 00 04 flag 03 =xx counts 4.
        let r = b"\x03a=1\x00\x04flag\x03=xx";
        assert_eq!(count(r), 4);
        assert_eq!(item_at(r, 0), Some((&b"a"[..], TxtValue::Value(b"1"))));
        assert_eq!(item_at(r, 1), Some((&b""[..], TxtValue::NoValue)));
        assert_eq!(item_at(r, 2), Some((&b"flag"[..], TxtValue::NoValue)));
        assert_eq!(item_at(r, 3), Some((&b""[..], TxtValue::Value(b"xx"))));
        assert_eq!(item_at(r, 4), None);
        assert_eq!(count(b""), 0);
        assert_eq!(count(b"\0"), 1);
        assert_eq!(item_at(b"", 0), None);
        // A truncated record counts 0, but its good prefix is still readable.
        let t = b"\x03a=1\x09b";
        assert_eq!(count(t), 0);
        assert_eq!(item_at(t, 0), Some((&b"a"[..], TxtValue::Value(b"1"))));
        assert_eq!(item_at(t, 1), None);
        assert_eq!(item_at(b"\x05ab", 0), None);
    }

    #[test]
    fn split_item_shapes() {
        assert_eq!(split_item(b"k"), (&b"k"[..], TxtValue::NoValue));
        assert_eq!(split_item(b"k="), (&b"k"[..], TxtValue::Value(b"")));
        assert_eq!(split_item(b"k=a=b"), (&b"k"[..], TxtValue::Value(b"a=b")));
        assert_eq!(split_item(b"=v"), (&b""[..], TxtValue::Value(b"v")));
        assert_eq!(split_item(b""), (&b""[..], TxtValue::NoValue));
    }

    #[test]
    fn set_observed_example() {
        // Observed: set flag, empty=, a=1, then A=22 → 04 flag 06 empty= 04 A=22.
        let mut d = Vec::new();
        set_value(&mut d, b"flag", None).unwrap();
        set_value(&mut d, b"empty", Some(b"")).unwrap();
        set_value(&mut d, b"a", Some(b"1")).unwrap();
        assert_eq!(d, b"\x04flag\x06empty=\x03a=1".to_vec());
        set_value(&mut d, b"A", Some(b"22")).unwrap();
        assert_eq!(d, b"\x04flag\x06empty=\x04A=22".to_vec());
        assert_eq!(get(&d, b"a"), TxtValue::Value(b"22"));
    }

    #[test]
    fn set_moves_replaced_key_to_the_end() {
        let mut d = rec(&[b"x=1", b"y=2", b"z=3"]);
        set_value(&mut d, b"X", Some(b"9")).unwrap();
        assert_eq!(d, rec(&[b"y=2", b"z=3", b"X=9"]));
        set_value(&mut d, b"y", None).unwrap();
        assert_eq!(d, rec(&[b"z=3", b"X=9", b"y"]));
        // Duplicates left by a raw record all go, so the new value is seen.
        let mut d = rec(&[b"k=1", b"o", b"K=2"]);
        set_value(&mut d, b"k", Some(b"3")).unwrap();
        assert_eq!(d, rec(&[b"o", b"k=3"]));
    }

    #[test]
    fn set_rejects_bad_keys_and_long_strings() {
        let mut d = rec(&[b"keep=1"]);
        let before = d.clone();
        for key in [&b"a=b"[..], b"", b"k\x7f", b"tab\there"] {
            assert_eq!(set_value(&mut d, key, Some(b"v")), Err(TxtError::Invalid));
        }
        // key + "=" + value may be 255 bytes, not 256.
        let v253 = vec![b'v'; 253];
        let v254 = vec![b'v'; 254];
        assert_eq!(set_value(&mut d, b"k", Some(&v254)), Err(TxtError::Invalid));
        assert_eq!(d, before);
        set_value(&mut d, b"k", Some(&v253)).unwrap();
        assert_eq!(get(&d, b"k"), TxtValue::Value(&v253));
        assert_eq!(d.len(), before.len() + 256);
        // A key alone may be 255 bytes.
        let k255 = vec![b'k'; 255];
        set_value(&mut d, &k255, None).unwrap();
        assert_eq!(set_value(&mut d, &k255, Some(b"")), Err(TxtError::Invalid));
        // Malformed data is refused.
        let mut bad = b"\x05ab".to_vec();
        assert_eq!(set_value(&mut bad, b"a", None), Err(TxtError::Invalid));
        assert_eq!(bad, b"\x05ab".to_vec());
    }

    #[test]
    fn set_enforces_the_record_limit() {
        let mut d = Vec::new();
        // 255 strings of 256 bytes on the wire: 65280 bytes.
        for i in 0..255 {
            let key = format!("k{i:03}");
            set_value(&mut d, key.as_bytes(), Some(&[b'v'; 250])).unwrap();
        }
        assert_eq!(d.len(), 65280);
        let before = d.clone();
        assert_eq!(
            set_value(&mut d, b"big", Some(&[b'v'; 251])),
            Err(TxtError::TooLong)
        );
        assert_eq!(d, before);
        // Exactly 65535 is still allowed.
        set_value(&mut d, b"end", Some(&[b'v'; 250])).unwrap();
        assert_eq!(d.len(), 65535);
        // Replacing a key frees its room first.
        set_value(&mut d, b"k000", Some(&[b'w'; 250])).unwrap();
        assert_eq!(d.len(), 65535);
    }

    #[test]
    fn remove_semantics() {
        let mut d = rec(&[b"flag", b"A=22", b"z"]);
        remove_value(&mut d, b"a").unwrap();
        assert_eq!(d, rec(&[b"flag", b"z"]));
        assert_eq!(remove_value(&mut d, b"a"), Err(TxtError::NoSuchKey));
        assert_eq!(remove_value(&mut d, b"fla"), Err(TxtError::NoSuchKey));
        assert_eq!(remove_value(&mut d, b""), Err(TxtError::NoSuchKey));
        assert_eq!(remove_value(&mut d, b"flag="), Err(TxtError::NoSuchKey));
        remove_value(&mut d, b"FLAG").unwrap();
        remove_value(&mut d, b"z").unwrap();
        assert!(d.is_empty());
        let mut keyless = rec(&[b"=xx", b""]);
        assert_eq!(remove_value(&mut keyless, b"xx"), Err(TxtError::NoSuchKey));
        let mut bad = b"\x05ab".to_vec();
        assert_eq!(remove_value(&mut bad, b"ab"), Err(TxtError::Invalid));
    }

    #[test]
    fn builder_wraps_the_free_functions() {
        let mut b = TxtBuilder::new();
        assert!(b.is_empty());
        b.set(b"txtvers", Some(b"1"))
            .unwrap()
            .set(b"flag", None)
            .unwrap();
        assert_eq!(b.get(b"TXTVERS"), TxtValue::Value(b"1"));
        assert_eq!(b.set(b"", None), Err(TxtError::Invalid));
        b.remove(b"flag").unwrap();
        assert_eq!(b.remove(b"flag").unwrap_err(), TxtError::NoSuchKey);
        assert_eq!(b.len(), 10);
        assert_eq!(b.as_bytes(), b"\x09txtvers=1");
        assert_eq!(b.into_bytes(), b"\x09txtvers=1".to_vec());
    }

    #[test]
    fn from_strings_limits() {
        assert_eq!(from_strings(Vec::<&[u8]>::new()), Ok(Vec::new()));
        assert_eq!(from_strings(["a=1", ""]), Ok(b"\x03a=1\x00".to_vec()));
        assert_eq!(from_strings([vec![b'x'; 256]]), Err(TxtError::Invalid));
        let many = vec![vec![b'x'; 255]; 256];
        assert_eq!(from_strings(&many), Err(TxtError::TooLong));
    }

    #[test]
    fn dns_sd_args_escapes() {
        assert_eq!(from_dns_sd_args::<&str>(&[]), Ok(Vec::new()));
        assert_eq!(
            from_dns_sd_args(&["a=1", "b=hello"]).unwrap(),
            b"\x03a=1\x07b=hello".to_vec()
        );
        assert_eq!(from_dns_sd_args(&[""]).unwrap(), vec![0]);
        assert_eq!(
            from_dns_sd_args(&[r"\x41\x6a\x6A"]).unwrap(),
            b"\x03Ajj".to_vec()
        );
        assert_eq!(
            from_dns_sd_args(&[r"\x00\xff"]).unwrap(),
            b"\x02\x00\xff".to_vec()
        );
        assert_eq!(from_dns_sd_args(&[r"a\\b"]).unwrap(), b"\x03a\\b".to_vec());
        assert_eq!(from_dns_sd_args(&[r"a\ b"]).unwrap(), b"\x03a b".to_vec());
        assert_eq!(from_dns_sd_args(&[r"\=\q"]).unwrap(), b"\x02=q".to_vec());
        // A trailing lone backslash stays.
        assert_eq!(from_dns_sd_args(&[r"end\"]).unwrap(), b"\x04end\\".to_vec());
        // \x without two hex digits is just a literal x.
        assert_eq!(from_dns_sd_args(&[r"\x4"]).unwrap(), b"\x02x4".to_vec());
        assert_eq!(from_dns_sd_args(&[r"\xg1"]).unwrap(), b"\x03xg1".to_vec());
        assert_eq!(from_dns_sd_args(&[r"\x"]).unwrap(), b"\x01x".to_vec());
        // An escaped multi-byte character keeps all of its bytes.
        assert_eq!(
            from_dns_sd_args(&["\\\u{e9}"]).unwrap(),
            b"\x02\xc3\xa9".to_vec()
        );
        // Owned strings work too.
        let owned = vec![String::from("k=v")];
        assert_eq!(from_dns_sd_args(&owned).unwrap(), b"\x03k=v".to_vec());
    }

    #[test]
    fn dns_sd_args_caps_and_limit() {
        let long = "y".repeat(300);
        let r = from_dns_sd_args(&[long.as_str(), "z"]).unwrap();
        assert_eq!(r.len(), 256 + 2);
        assert_eq!(r[0], 255);
        assert_eq!(&r[256..], b"\x01z");
        // Escapes count as one output byte each towards the cap.
        let esc = r"\x41".repeat(300);
        let r = from_dns_sd_args(&[esc.as_str()]).unwrap();
        assert_eq!(r.len(), 256);
        // 8900 bytes are fine: 34 strings of 256 + one of 196.
        let full = "f".repeat(255);
        let mut args = vec![full.as_str(); 34];
        let tail = "t".repeat(195);
        args.push(tail.as_str());
        assert_eq!(from_dns_sd_args(&args).unwrap().len(), 8900);
        let tail = "t".repeat(196);
        args.pop();
        args.push(tail.as_str());
        assert_eq!(from_dns_sd_args(&args), Err(TxtError::TooLong));
    }

    #[test]
    fn display_plain_and_spacing() {
        assert_eq!(display_like_dns_sd(b"\x03a=1\x07b=hello"), " a=1 b=hello");
        // An empty string prints nothing, not even the space.
        assert_eq!(display_like_dns_sd(b"\0"), "");
        assert_eq!(display_like_dns_sd(b""), "");
        assert_eq!(display_like_dns_sd(b"\x01a\x00\x01b"), " a b");
    }

    #[test]
    fn display_escapes() {
        assert_eq!(display_like_dns_sd(b"\x03a b"), r" a\ b");
        assert_eq!(
            display_like_dns_sd(b"\x14 &;`'\"|*?~<>^()[]{}$"),
            r#" \ \&\;\`\'\"\|\*\?\~\<\>\^\(\)\[\]\{\}\$"#
        );
        assert_eq!(display_like_dns_sd(b"\x03a\\b"), r" a\\\\b");
        assert_eq!(display_like_dns_sd(b"\x03k=\x01"), r" k=\\x01");
        assert_eq!(display_like_dns_sd(b"\x02\x1f\x0a"), r" \\x1F\\x0A");
        // A zero byte: C's strchr matches the terminator, so one more backslash.
        assert_eq!(display_like_dns_sd(b"\x01\x00"), r" \\\x00");
        // 0x7F and high bytes print raw; invalid UTF-8 is replaced here.
        assert_eq!(
            display_bytes_like_dns_sd(b"\x02\x7f\xff"),
            b" \x7f\xff".to_vec()
        );
        assert_eq!(display_like_dns_sd("\x02\u{e9}".as_bytes()), " \u{e9}");
        assert_eq!(display_like_dns_sd(b"\x01\xff"), " \u{fffd}");
        // Printable characters that are not special stay as they are.
        assert_eq!(display_like_dns_sd(b"\x09!#%+,-./:"), " !#%+,-./:");
    }

    #[test]
    fn display_invalid_data() {
        assert_eq!(
            display_like_dns_sd(b"\x03a=1\x09b"),
            " a=1<< invalid data >>"
        );
        assert_eq!(display_like_dns_sd(b"\x05"), "<< invalid data >>");
    }

    #[test]
    fn error_display() {
        assert_eq!(
            TxtError::NoSuchKey.to_string(),
            "no such key in the TXT record"
        );
        assert!(!TxtError::Invalid.to_string().is_empty());
        assert!(!TxtError::NoMemory.to_string().is_empty());
        assert!(!TxtError::TooLong.to_string().is_empty());
    }
}

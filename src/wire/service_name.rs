//! DNS-SD names: service types and subtypes, instance and host labels,
//! domains, the `dns_sd.h` escaping conventions and the automatic rename
//! sequences.
//!
//! Everything here works on raw label bytes. Instance names are UTF-8 text
//! that goes onto the wire byte for byte (RFC 6762 §16): no IDNA, no
//! punycode. Labels are therefore always built with
//! [`Label::from_raw_bytes`], never with hickory's UTF-8 constructors.
//!
//! Two textual forms exist in `dns_sd.h`:
//! - *unescaped* instance names (the `name` argument of `DNSServiceRegister`,
//!   the `serviceName` given to browse callbacks): plain UTF-8, where a `.`
//!   is just a character of the label;
//! - *escaped* names (domains, full names, `DNSServiceConstructFullName`
//!   output): labels separated by `.`, with `\.` for a literal dot, `\\` for a
//!   backslash, `\DDD` (three decimal digits) for any byte and `\x` for a
//!   literal `x`.

use std::fmt;

use hickory_proto::rr::domain::{Label, Name};

/// Longest label allowed in a DNS name, in bytes.
pub const MAX_LABEL: usize = 63;

/// Longest DNS name in wire format (length bytes and the root byte
/// included).
pub const MAX_NAME_WIRE: usize = 255;

/// Size of the output buffer, NUL included, that
/// [`construct_full_name`] keeps its result within.
///
/// `dns_sd.h` tells callers to supply `kDNSServiceMaxDomainName` (1009)
/// bytes, but Apple's client library stops at 1005 so that programs built
/// against old headers (where the constant was 1005) cannot overflow. The
/// smaller figure is used here for the same reason.
pub const CONSTRUCT_FULL_NAME_BUFFER: usize = 1005;

/// Name used for the host when the system host name has nothing usable.
const FALLBACK_HOST_LABEL: &[u8] = b"linux";

/// Why a DNS-SD name could not be parsed or built.
///
/// The C API reports every one of these as `kDNSServiceErr_BadParam`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameError {
    /// The registration type is not `_service._tcp` / `_service._udp` with a
    /// valid service name, or (for [`construct_full_name`]) does not end in
    /// `_tcp` / `_udp`.
    BadServiceType,
    /// A subtype is empty, or is not a single label.
    BadSubtype,
    /// A browse type names more than one subtype.
    TooManySubtypes,
    /// A label is longer than 63 bytes.
    LabelTooLong,
    /// A name is longer than 255 bytes in wire format, or a constructed
    /// full name does not fit its buffer.
    NameTooLong,
    /// A backslash escape is malformed (`\DDD` needs exactly three digits
    /// with a value of at most 255).
    BadEscape,
    /// A label is empty (e.g. `a..b`, a leading dot, an empty instance
    /// name).
    EmptyLabel,
    /// An instance name contains a control character (0x00–0x1F or 0x7F).
    BadCharacter,
    /// A domain is required but none (or an empty one) was given.
    MissingDomain,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            NameError::BadServiceType => {
                "bad service type (expected _name._tcp or _name._udp, name of letters, digits or hyphens)"
            }
            NameError::BadSubtype => "bad subtype (must be a single non-empty label)",
            NameError::TooManySubtypes => "at most one subtype may be given here",
            NameError::LabelTooLong => "label longer than 63 bytes",
            NameError::NameTooLong => "name too long",
            NameError::BadEscape => "bad backslash escape (\\DDD needs three digits, at most 255)",
            NameError::EmptyLabel => "empty label",
            NameError::BadCharacter => "control character in name",
            NameError::MissingDomain => "missing or empty domain",
        };
        f.write_str(text)
    }
}

impl std::error::Error for NameError {}

// ---------------------------------------------------------------------------
// Low-level helpers
// ---------------------------------------------------------------------------

/// Cuts `bytes` to at most `max` bytes without splitting a UTF-8 sequence:
/// if the cut would land on a continuation byte, it moves back to the start
/// of that character.
fn truncate_utf8(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut end = max;
    while end > 0 && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

/// Wire length of a name made of `labels` (each label's length byte, its
/// bytes, and the final root byte).
fn wire_len<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> usize {
    labels.into_iter().map(|l| l.len() + 1).sum::<usize>() + 1
}

/// Builds a fully-qualified name from raw labels followed by the labels of
/// `domain`, checking every label and the total length.
fn build_name(prefix: &[&[u8]], domain: &Name) -> Result<Name, NameError> {
    let mut labels: Vec<Label> = Vec::with_capacity(prefix.len() + domain.iter().len());
    for raw in prefix.iter().copied().chain(domain.iter()) {
        if raw.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if raw.len() > MAX_LABEL {
            return Err(NameError::LabelTooLong);
        }
        labels.push(Label::from_raw_bytes(raw).map_err(|_| NameError::LabelTooLong)?);
    }
    let total = wire_len(labels.iter().map(Label::as_bytes));
    if total > MAX_NAME_WIRE {
        return Err(NameError::NameTooLong);
    }
    Name::from_labels(labels).map_err(|_| NameError::NameTooLong)
}

/// Like [`build_name`], but never fails: when the result would be too long
/// for `domain`, the prefix is placed under the root domain instead (and if
/// even that fails, the root name is returned). Only reachable with
/// domains of well over 150 bytes, far longer than any real one.
fn build_name_or_root(prefix: &[&[u8]], domain: &Name) -> Name {
    build_name(prefix, domain)
        .or_else(|_| build_name(prefix, &Name::root()))
        .unwrap_or_else(|_| Name::root())
}

/// The `local.` domain.
pub fn local_domain() -> Name {
    build_name(&[b"local"], &Name::root()).unwrap_or_else(|_| Name::root())
}

/// Parses `dns_sd.h` escaped text into raw labels.
///
/// `\DDD` is the byte DDD (000–255, exactly three digits), `\x` is a literal
/// `x` for any other character, and a lone backslash at the very end is
/// ignored. An unescaped `.` separates labels; one trailing dot is allowed.
/// `""` and `"."` give no labels (the root).
fn parse_escaped_labels(text: &str) -> Result<Vec<Vec<u8>>, NameError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes == b"." {
        return Ok(Vec::new());
    }
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => {
                match bytes.get(i + 1) {
                    None => {
                        // Trailing lone backslash: ignored.
                        i += 1;
                    }
                    Some(d) if d.is_ascii_digit() => {
                        let digits = bytes.get(i + 1..i + 4).ok_or(NameError::BadEscape)?;
                        if !digits.iter().all(u8::is_ascii_digit) {
                            return Err(NameError::BadEscape);
                        }
                        let value = digits
                            .iter()
                            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                        let byte = u8::try_from(value).map_err(|_| NameError::BadEscape)?;
                        current.push(byte);
                        i += 4;
                    }
                    Some(&c) => {
                        current.push(c);
                        i += 2;
                    }
                }
            }
            b'.' => {
                if current.is_empty() {
                    return Err(NameError::EmptyLabel);
                }
                if current.len() > MAX_LABEL {
                    return Err(NameError::LabelTooLong);
                }
                labels.push(std::mem::take(&mut current));
                i += 1;
            }
            _ => {
                current.push(b);
                i += 1;
            }
        }
    }
    // An empty `current` here means the text ended with the optional
    // trailing dot (or with an ignored lone backslash).
    if !current.is_empty() {
        if current.len() > MAX_LABEL {
            return Err(NameError::LabelTooLong);
        }
        labels.push(current);
    }
    if wire_len(labels.iter().map(Vec::as_slice)) > MAX_NAME_WIRE {
        return Err(NameError::NameTooLong);
    }
    Ok(labels)
}

/// Whether escaped `text` ends with a dot that is not itself escaped
/// (`"a."` yes, `"a\."` no, `"a\\."` yes).
fn ends_in_unescaped_dot(text: &[u8]) -> bool {
    let mut i = 0;
    while i + 1 < text.len() {
        if text[i] == b'\\' {
            let three_digits =
                text.len() >= i + 4 && text[i + 1..i + 4].iter().all(u8::is_ascii_digit);
            i += if three_digits { 4 } else { 2 };
        } else {
            i += 1;
        }
    }
    i < text.len() && text[i] == b'.'
}

/// Splits `text` at commas that are not escaped by a backslash. The escapes
/// themselves are left in the pieces.
fn split_unescaped_commas(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // The byte after a backslash is literal, so it is skipped
            // (the digits of `\DDD` are never commas anyway). Commas are
            // ASCII, so every slice taken here is on a char boundary.
            b'\\' => i += 2,
            b',' => {
                pieces.push(&text[start..i]);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    pieces.push(&text[start..]);
    pieces
}

// ---------------------------------------------------------------------------
// Service types
// ---------------------------------------------------------------------------

/// Transport protocol label of a service type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `_tcp`: services running over TCP.
    Tcp,
    /// `_udp`: every other service (RFC 6763 §7).
    Udp,
}

impl Protocol {
    /// The label as it appears in names: `b"_tcp"` or `b"_udp"`.
    pub fn label(self) -> &'static [u8] {
        match self {
            Protocol::Tcp => b"_tcp",
            Protocol::Udp => b"_udp",
        }
    }

    /// Recognises `_tcp` / `_udp` in any ASCII case.
    pub fn from_label(label: &[u8]) -> Option<Protocol> {
        if label.eq_ignore_ascii_case(b"_tcp") {
            Some(Protocol::Tcp)
        } else if label.eq_ignore_ascii_case(b"_udp") {
            Some(Protocol::Udp)
        } else {
            None
        }
    }
}

/// A parsed registration or browse type such as `_http._tcp,_printer`.
///
/// Equality is byte-exact; compare type *names* with [`name_eq`] when case
/// should not matter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceType {
    /// The service label with its underscore, e.g. `b"_http"`, case as given.
    pub service: Vec<u8>,
    /// `_tcp` or `_udp`.
    pub protocol: Protocol,
    /// Raw subtype labels (escapes already decoded), e.g. `b"_printer"`.
    /// Duplicates (ignoring ASCII case) are removed, first one kept.
    pub subtypes: Vec<Vec<u8>>,
}

/// Checks a service label: `_` + a name of letters, digits or hyphens,
/// beginning and ending with a letter or digit, no `--`, at least one
/// letter. RFC 6763 §7 (via RFC 6335) limits the name to 15 characters; like
/// Apple's library we accept up to the 62 a label allows, because types such
/// as `_androidtvremote2._tcp` are in use, and underscores inside it too.
fn valid_service_label(label: &[u8]) -> bool {
    let Some((&b'_', name)) = label.split_first() else {
        return false;
    };
    if name.is_empty() || name.len() > MAX_LABEL - 1 {
        return false;
    }
    if !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_') {
        return false;
    }
    let first = name[0];
    let last = name[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return false;
    }
    if name.windows(2).any(|w| w == b"--") {
        return false;
    }
    name.iter().any(u8::is_ascii_alphabetic)
}

/// Decodes one subtype from its escaped text: exactly one label of 1–63
/// bytes.
fn parse_subtype(text: &str) -> Result<Vec<u8>, NameError> {
    let mut labels = match parse_escaped_labels(text) {
        Ok(labels) => labels,
        Err(NameError::EmptyLabel | NameError::NameTooLong) => return Err(NameError::BadSubtype),
        Err(e) => return Err(e),
    };
    if labels.len() != 1 {
        return Err(NameError::BadSubtype);
    }
    Ok(labels.pop().unwrap_or_default())
}

impl ServiceType {
    /// Parses the `regtype` argument of `DNSServiceRegister`:
    /// `_service._tcp` or `_service._udp` (protocol in any case, one optional
    /// trailing dot), then any number of comma-separated subtypes, e.g.
    /// `"_http._tcp,_printer,_sub2"`.
    ///
    /// Subtype text uses the `dns_sd.h` escapes (`\.`, `\,`, `\\`, `\DDD`);
    /// each subtype must decode to a single label of 1–63 bytes.
    pub fn parse_for_register(regtype: &str) -> Result<ServiceType, NameError> {
        let mut pieces = split_unescaped_commas(regtype).into_iter();
        let base = pieces.next().unwrap_or("");
        let (service, protocol) = parse_base_type(base)?;
        let mut subtypes: Vec<Vec<u8>> = Vec::new();
        for piece in pieces {
            let sub = parse_subtype(piece)?;
            if !subtypes.iter().any(|s| s.eq_ignore_ascii_case(&sub)) {
                subtypes.push(sub);
            }
        }
        Ok(ServiceType {
            service,
            protocol,
            subtypes,
        })
    }

    /// Parses the `regtype` argument of `DNSServiceBrowse`: like
    /// [`parse_for_register`](Self::parse_for_register) but with at most one
    /// subtype (`"_http._tcp,_printer"`).
    pub fn parse_for_browse(regtype: &str) -> Result<ServiceType, NameError> {
        let pieces = split_unescaped_commas(regtype);
        if pieces.len() > 2 {
            // Report a malformed base type before the subtype count.
            parse_base_type(pieces[0])?;
            return Err(NameError::TooManySubtypes);
        }
        ServiceType::parse_for_register(regtype)
    }

    /// The type name under `domain`, e.g. `_http._tcp.local.`.
    ///
    /// Falls back to the type under the root domain if `domain` is so long
    /// (> 233 bytes) that the result would not fit 255 bytes; use
    /// [`try_type_name`](Self::try_type_name) to get an error instead.
    pub fn type_name(&self, domain: &Name) -> Name {
        build_name_or_root(&[&self.service, self.protocol.label()], domain)
    }

    /// The type name under `domain`, or [`NameError::NameTooLong`].
    pub fn try_type_name(&self, domain: &Name) -> Result<Name, NameError> {
        build_name(&[&self.service, self.protocol.label()], domain)
    }

    /// One name per subtype, e.g. `_printer._sub._http._tcp.local.`.
    ///
    /// A subtype whose name would not fit 255 bytes is left out; use
    /// [`try_subtype_names`](Self::try_subtype_names) to get an error
    /// instead.
    pub fn subtype_names(&self, domain: &Name) -> Vec<Name> {
        self.subtypes
            .iter()
            .filter_map(|sub| self.subtype_name(sub, domain).ok())
            .collect()
    }

    /// One name per subtype, or [`NameError::NameTooLong`] if any of them
    /// does not fit.
    pub fn try_subtype_names(&self, domain: &Name) -> Result<Vec<Name>, NameError> {
        self.subtypes
            .iter()
            .map(|sub| self.subtype_name(sub, domain))
            .collect()
    }

    fn subtype_name(&self, sub: &[u8], domain: &Name) -> Result<Name, NameError> {
        build_name(
            &[sub, b"_sub", &self.service, self.protocol.label()],
            domain,
        )
    }

    /// The name to send PTR queries for when browsing: the subtype name if
    /// exactly one subtype was given, otherwise the type name.
    ///
    /// Falls back like [`type_name`](Self::type_name) on absurdly long
    /// domains; see [`try_browse_name`](Self::try_browse_name).
    pub fn browse_name(&self, domain: &Name) -> Name {
        self.try_browse_name(domain).unwrap_or_else(|_| {
            build_name_or_root(&[&self.service, self.protocol.label()], &Name::root())
        })
    }

    /// The browse name, or [`NameError::NameTooLong`].
    pub fn try_browse_name(&self, domain: &Name) -> Result<Name, NameError> {
        match self.subtypes.as_slice() {
            [only] => self.subtype_name(only, domain),
            _ => self.try_type_name(domain),
        }
    }

    /// The regtype as browse callbacks report it: the base type with a
    /// trailing dot and no subtypes, e.g. `"_http._tcp."`.
    pub fn to_callback_string(&self) -> String {
        // The service label was validated as ASCII, so nothing needs escaping.
        let mut out = String::with_capacity(self.service.len() + 6);
        out.push_str(&String::from_utf8_lossy(&self.service));
        out.push('.');
        out.push_str(match self.protocol {
            Protocol::Tcp => "_tcp",
            Protocol::Udp => "_udp",
        });
        out.push('.');
        out
    }
}

/// Parses the `_service._proto` part of a regtype (one optional trailing
/// dot, no escapes).
fn parse_base_type(text: &str) -> Result<(Vec<u8>, Protocol), NameError> {
    let text = text.strip_suffix('.').unwrap_or(text);
    let mut parts = text.as_bytes().split(|&b| b == b'.');
    let (Some(service), Some(proto), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NameError::BadServiceType);
    };
    if !valid_service_label(service) {
        return Err(NameError::BadServiceType);
    }
    let protocol = Protocol::from_label(proto).ok_or(NameError::BadServiceType)?;
    Ok((service.to_vec(), protocol))
}

// ---------------------------------------------------------------------------
// Domains and escaping
// ---------------------------------------------------------------------------

/// Parses the `domain` argument of the `dns_sd.h` calls. `None` or `""`
/// mean `local.`; anything else is escaped text (see
/// [`parse_escaped_name`]), with the trailing dot optional.
pub fn parse_domain(domain: Option<&str>) -> Result<Name, NameError> {
    match domain {
        None | Some("") => Ok(local_domain()),
        Some(text) => parse_escaped_name(text),
    }
}

/// Formats a domain the way callbacks report it: escaped, with a trailing
/// dot (`"local."`).
pub fn domain_to_string(name: &Name) -> String {
    name_to_escaped_string(name)
}

/// Escapes one label for use in `dns_sd.h` text: `.` → `\.`, `\` → `\\`,
/// bytes up to 0x20 → `\DDD` (space is `\032`), everything else unchanged,
/// including UTF-8 text.
///
/// Bytes that are not part of valid UTF-8 cannot be carried by a `String`,
/// so they are written as `\DDD` too; [`parse_escaped_name`] turns them back
/// into the same bytes.
pub fn escape_label(label: &[u8]) -> String {
    let mut out = String::with_capacity(label.len() + 8);
    for chunk in label.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '.' => out.push_str("\\."),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) <= 0x20 => push_decimal_escape(&mut out, c as u8),
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            push_decimal_escape(&mut out, b);
        }
    }
    out
}

fn push_decimal_escape(out: &mut String, b: u8) {
    out.push('\\');
    out.push(char::from(b'0' + b / 100));
    out.push(char::from(b'0' + (b / 10) % 10));
    out.push(char::from(b'0' + b % 10));
}

/// Writes a whole name as escaped text: every label escaped with
/// [`escape_label`], joined by `.`, with a trailing dot. The root is `"."`.
pub fn name_to_escaped_string(name: &Name) -> String {
    if name.iter().len() == 0 {
        return ".".to_string();
    }
    let mut out = String::new();
    for label in name.iter() {
        out.push_str(&escape_label(label));
        out.push('.');
    }
    out
}

/// Parses escaped text (the inverse of [`name_to_escaped_string`]) into a
/// fully-qualified name: `\DDD` is byte DDD, `\x` is a literal `x`, a lone
/// trailing backslash is ignored, the trailing dot is optional. `""` and
/// `"."` are the root.
pub fn parse_escaped_name(text: &str) -> Result<Name, NameError> {
    let labels = parse_escaped_labels(text)?;
    let refs: Vec<&[u8]> = labels.iter().map(Vec::as_slice).collect();
    build_name(&refs, &Name::root())
}

/// `DNSServiceConstructFullName`: builds the escaped full name of a service
/// instance (or, with no `service`, of its type).
///
/// - `service` is *unescaped*: it is escaped with [`escape_label`]. `None`
///   and an empty name both leave the instance label out (a PTR name such
///   as `_ftp._tcp.apple.com.`).
/// - `regtype` and `domain` are copied as already-escaped text, each
///   followed by a dot unless it already ends in an unescaped one.
/// - Errors: `regtype` shorter than 6 characters or not ending in `_tcp` /
///   `_udp` (ignoring one trailing dot, any case) gives
///   [`NameError::BadServiceType`]; an empty `domain` gives
///   [`NameError::MissingDomain`]; a result that would not fit
///   [`CONSTRUCT_FULL_NAME_BUFFER`] bytes with its NUL gives
///   [`NameError::NameTooLong`].
pub fn construct_full_name(
    service: Option<&[u8]>,
    regtype: &str,
    domain: &str,
) -> Result<String, NameError> {
    let reg = regtype.as_bytes();
    let reg_len = reg.len() - usize::from(ends_in_unescaped_dot(reg));
    if reg_len < 6 {
        return Err(NameError::BadServiceType);
    }
    if domain.is_empty() {
        return Err(NameError::MissingDomain);
    }
    let proto = &reg[reg_len - 4..reg_len];
    if Protocol::from_label(proto).is_none() {
        return Err(NameError::BadServiceType);
    }
    let mut out = String::new();
    if let Some(service) = service.filter(|s| !s.is_empty()) {
        out.push_str(&escape_label(service));
        out.push('.');
    }
    out.push_str(regtype);
    if !ends_in_unescaped_dot(reg) {
        out.push('.');
    }
    out.push_str(domain);
    if !ends_in_unescaped_dot(domain.as_bytes()) {
        out.push('.');
    }
    if out.len() + 1 > CONSTRUCT_FULL_NAME_BUFFER {
        return Err(NameError::NameTooLong);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Instance and host labels, renaming
// ---------------------------------------------------------------------------

/// Turns the (unescaped) instance name given to `DNSServiceRegister` into
/// its label bytes: the UTF-8 bytes exactly as given.
///
/// - empty → [`NameError::EmptyLabel`] (substitute the default name first);
/// - a control character (0x00–0x1F or 0x7F) → [`NameError::BadCharacter`];
/// - longer than 63 bytes → cut at a character boundary if
///   `allow_truncate`, else [`NameError::LabelTooLong`] (Apple returns
///   BadParam for long names only with `kDNSServiceFlagsNoAutoRename`).
pub fn instance_label(name: &str, allow_truncate: bool) -> Result<Vec<u8>, NameError> {
    if name.is_empty() {
        return Err(NameError::EmptyLabel);
    }
    if name.bytes().any(|b| b < 0x20 || b == 0x7F) {
        return Err(NameError::BadCharacter);
    }
    if name.len() > MAX_LABEL {
        if !allow_truncate {
            return Err(NameError::LabelTooLong);
        }
        return Ok(truncate_utf8(name.as_bytes(), MAX_LABEL).to_vec());
    }
    Ok(name.as_bytes().to_vec())
}

/// Parses a decimal number of at most nine digits (so it cannot overflow).
fn parse_small_decimal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
    )
}

/// Splits `"Base (N)"` into `("Base", N)`.
fn split_paren_suffix(label: &[u8]) -> Option<(&[u8], u32)> {
    let inner = label.strip_suffix(b")")?;
    let open = inner.iter().rposition(|&b| b == b'(')?;
    let number = parse_small_decimal(&inner[open + 1..])?;
    let base = inner[..open].strip_suffix(b" ")?;
    Some((base, number))
}

/// Splits `"base-N"` into `("base", N)`; the base must not be empty.
fn split_hyphen_suffix(label: &[u8]) -> Option<(&[u8], u32)> {
    let dash = label.iter().rposition(|&b| b == b'-')?;
    if dash == 0 {
        return None;
    }
    let number = parse_small_decimal(&label[dash + 1..])?;
    Some((&label[..dash], number))
}

/// The number following `current`'s suffix number (none, 0 and 1 all
/// start the sequence at 2).
fn next_suffix_number(current: Option<u32>) -> u64 {
    match current {
        Some(n) if n >= 2 => u64::from(n) + 1,
        _ => 2,
    }
}

/// The next name to try after a service name conflict, Apple style:
/// `"Name"` → `"Name (2)"` → `"Name (3)"` … A name already ending in
/// `" (N)"` gets N+1 (N of 0 or 1 restarts at 2). Trailing spaces of the
/// base are dropped, and the base is cut at a UTF-8 character boundary so
/// the result stays within 63 bytes.
///
/// Unlike mDNSResponder, which jumps to random numbers after `(9)`, the
/// sequence here simply keeps counting.
pub fn next_instance_name(current: &[u8]) -> Vec<u8> {
    let (base, number) = match split_paren_suffix(current) {
        Some((base, n)) => (base, Some(n)),
        None => (current, None),
    };
    let suffix = format!(" ({})", next_suffix_number(number));
    let base = trim_trailing_spaces(base);
    let base = trim_trailing_spaces(truncate_utf8(base, MAX_LABEL - suffix.len()));
    let mut out = base.to_vec();
    out.extend_from_slice(suffix.as_bytes());
    out
}

fn trim_trailing_spaces(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    &bytes[..end]
}

/// The next host label to try after a host name conflict:
/// `"host"` → `"host-2"` → `"host-3"` … (a label ending in `-N` gets N+1),
/// cut so the result stays within 63 bytes.
pub fn next_host_label(current: &[u8]) -> Vec<u8> {
    let (base, number) = match split_hyphen_suffix(current) {
        Some((base, n)) => (base, Some(n)),
        None => (current, None),
    };
    let suffix = format!("-{}", next_suffix_number(number));
    let base = truncate_utf8(base, MAX_LABEL - suffix.len());
    let mut out = base.to_vec();
    out.extend_from_slice(suffix.as_bytes());
    out
}

/// Derives the mDNS host label from the system host name: its first label,
/// with apostrophes (`'` and `’`) dropped, every other character that is
/// not an ASCII letter, digit or hyphen turned into `-` (a run of them
/// gives one `-`), no leading or trailing `-`, at most 63 bytes. Falls back
/// to `"linux"` when nothing is left.
pub fn default_host_label(system_hostname: &str) -> Vec<u8> {
    let first = system_hostname.split('.').next().unwrap_or("");
    let mut out: Vec<u8> = Vec::with_capacity(first.len());
    for c in first.chars() {
        match c {
            '\'' | '\u{2019}' => {}
            c if c.is_ascii_alphanumeric() || c == '-' => out.push(c as u8),
            _ => {
                if out.last() != Some(&b'-') {
                    out.push(b'-');
                }
            }
        }
    }
    let start = out.iter().position(|&b| b != b'-').unwrap_or(out.len());
    out.drain(..start);
    out.truncate(MAX_LABEL);
    while out.last() == Some(&b'-') {
        out.pop();
    }
    if out.is_empty() {
        FALLBACK_HOST_LABEL.to_vec()
    } else {
        out
    }
}

// ---------------------------------------------------------------------------
// Building and splitting names
// ---------------------------------------------------------------------------

/// The full name of a service instance: `instance` + `_http._tcp` +
/// `domain`, e.g. `My Printer._ipp._tcp.local.` (the instance label is raw
/// bytes, spaces and dots included). Fails if the instance label is empty
/// or over 63 bytes, or the whole name exceeds 255 bytes.
pub fn service_instance_name(
    instance: &[u8],
    ty: &ServiceType,
    domain: &Name,
) -> Result<Name, NameError> {
    build_name(&[instance, &ty.service, ty.protocol.label()], domain)
}

/// The host name `label` + `domain`, e.g. `myhost.local.`.
///
/// Never fails: a label over 63 bytes is cut at a character boundary, an
/// empty one becomes `linux`, and a domain too long to hold it is replaced
/// by the root.
pub fn host_name(label: &[u8], domain: &Name) -> Name {
    let mut label = truncate_utf8(label, MAX_LABEL);
    if label.is_empty() {
        label = FALLBACK_HOST_LABEL;
    }
    build_name_or_root(&[label], domain)
}

/// Splits a service instance name into its instance label and its type
/// name: `My Printer._ipp._tcp.local.` → (`b"My Printer"`,
/// `_ipp._tcp.local.`).
///
/// Returns `None` unless the second label starts with `_` and the third is
/// `_tcp` or `_udp` (any case). The domain may be any (even empty) list of
/// labels.
pub fn split_instance_name(name: &Name) -> Option<(Vec<u8>, Name)> {
    let labels: Vec<&[u8]> = name.iter().collect();
    if labels.len() < 3 {
        return None;
    }
    if labels[1].len() < 2 || labels[1][0] != b'_' {
        return None;
    }
    Protocol::from_label(labels[2])?;
    let ty = build_name(&labels[1..], &Name::root()).ok()?;
    Some((labels[0].to_vec(), ty))
}

/// The service type enumeration name for `domain`:
/// `_services._dns-sd._udp.local.` (RFC 6763 §9).
pub fn services_enumeration_name(domain: &Name) -> Name {
    build_name_or_root(&[b"_services", b"_dns-sd", b"_udp"], domain)
}

/// Whether `name` is in one of the domains that are resolved with
/// multicast DNS: `local.`, `254.169.in-addr.arpa.` and `8.e.f.ip6.arpa.`
/// to `b.e.f.ip6.arpa.`, or any name below them (ASCII case ignored).
pub fn is_local_domain(name: &Name) -> bool {
    let rev: Vec<&[u8]> = name.iter().rev().collect();
    let is = |i: usize, want: &[u8]| rev.get(i).is_some_and(|l| l.eq_ignore_ascii_case(want));
    if is(0, b"local") {
        return true;
    }
    if is(0, b"arpa") && is(1, b"in-addr") && is(2, b"169") && is(3, b"254") {
        return true;
    }
    is(0, b"arpa")
        && is(1, b"ip6")
        && is(2, b"f")
        && is(3, b"e")
        && [b"8", b"9", b"a", b"b"].iter().any(|n| is(4, *n))
}

/// Compares two names label by label, ignoring the case of ASCII letters
/// only; bytes ≥ 0x80 must match exactly (RFC 6762 §16). The
/// fully-qualified flag is not looked at.
pub fn name_eq(a: &Name, b: &Name) -> bool {
    let (mut ia, mut ib) = (a.iter(), b.iter());
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => continue,
            _ => return false,
        }
    }
}

/// A byte key for `name` that is equal for exactly the names [`name_eq`]
/// considers equal: the wire form (length-prefixed labels and a final zero)
/// with ASCII letters lowercased.
pub fn name_key(name: &Name) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        key.push(label.len() as u8);
        key.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    key.push(0);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_of(name: &Name) -> Vec<Vec<u8>> {
        name.iter().map(<[u8]>::to_vec).collect()
    }

    fn name(text: &str) -> Name {
        parse_escaped_name(text).expect("test name parses")
    }

    fn local() -> Name {
        local_domain()
    }

    // ----- service types -----

    #[test]
    fn register_type_basic() {
        let t = ServiceType::parse_for_register("_http._tcp").unwrap();
        assert_eq!(t.service, b"_http");
        assert_eq!(t.protocol, Protocol::Tcp);
        assert!(t.subtypes.is_empty());
        let t = ServiceType::parse_for_register("_http._tcp.").unwrap();
        assert_eq!(t.service, b"_http");
        let t = ServiceType::parse_for_register("_sleep-proxy._UDP").unwrap();
        assert_eq!(t.service, b"_sleep-proxy");
        assert_eq!(t.protocol, Protocol::Udp);
        let t = ServiceType::parse_for_register("_Http._Tcp.").unwrap();
        assert_eq!(t.service, b"_Http");
        assert_eq!(t.protocol, Protocol::Tcp);
    }

    #[test]
    fn register_type_rejects_bad_types() {
        for bad in [
            "",
            ".",
            "probe",
            "_http",
            "_http.",
            "_http._xyz",
            "_http._tcp.local",
            "_http._tcp.local.",
            "_http._tcp..",
            "http._tcp",
            "_._tcp",
            "__http._tcp",
            "_-http._tcp",
            "_http-._tcp",
            "_ht--tp._tcp",
            "_123._tcp",
            "_ht tp._tcp",
            "_http._tc",
            "_http.tcp",
            "._http._tcp",
            "_ht\\.tp._tcp",
            ",_sub",
        ] {
            assert_eq!(
                ServiceType::parse_for_register(bad),
                Err(NameError::BadServiceType),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn register_type_service_name_limits() {
        // Exactly 15 characters is fine, and so is a single letter or a
        // digit-led name with one letter.
        assert!(ServiceType::parse_for_register("_abcdefghijklmno._tcp").is_ok());
        assert!(ServiceType::parse_for_register("_x._udp").is_ok());
        assert!(ServiceType::parse_for_register("_9p._tcp").is_ok());
        assert!(ServiceType::parse_for_register("_a-b-c._tcp").is_ok());
        // Longer than RFC 6335's 15, as real devices use and Apple accepts.
        assert!(ServiceType::parse_for_browse("_androidtvremote2._tcp").is_ok());
        assert!(ServiceType::parse_for_register(&format!("_{}._tcp", "a".repeat(62))).is_ok());
        assert!(ServiceType::parse_for_register(&format!("_{}._tcp", "a".repeat(63))).is_err());
    }

    #[test]
    fn register_type_subtypes() {
        let t = ServiceType::parse_for_register("_http._tcp,_printer,_sub2").unwrap();
        assert_eq!(t.subtypes, vec![b"_printer".to_vec(), b"_sub2".to_vec()]);
        let t = ServiceType::parse_for_register("_http._tcp.,_printer").unwrap();
        assert_eq!(t.subtypes, vec![b"_printer".to_vec()]);
        // Subtypes need no underscore (the header's own examples).
        let t = ServiceType::parse_for_register("_test._tcp,HasFeatureA").unwrap();
        assert_eq!(t.subtypes, vec![b"HasFeatureA".to_vec()]);
        // A trailing dot on a subtype is accepted.
        let t = ServiceType::parse_for_register("_test._tcp,a.").unwrap();
        assert_eq!(t.subtypes, vec![b"a".to_vec()]);
    }

    #[test]
    fn register_type_subtype_escapes() {
        let t = ServiceType::parse_for_register(r"_test._tcp,s\.one,s\,two,s\\three,s\000four")
            .unwrap();
        assert_eq!(t.service, b"_test");
        assert_eq!(
            t.subtypes,
            vec![
                b"s.one".to_vec(),
                b"s,two".to_vec(),
                b"s\\three".to_vec(),
                b"s\0four".to_vec()
            ]
        );
        let t = ServiceType::parse_for_register(r"_test._tcp,a\032b,\255,caf\195\169").unwrap();
        assert_eq!(
            t.subtypes,
            vec![b"a b".to_vec(), vec![255], "café".as_bytes().to_vec()]
        );
        // `\x` is a literal x; a trailing lone backslash is dropped.
        let t = ServiceType::parse_for_register(r"_test._tcp,\q\-x\").unwrap();
        assert_eq!(t.subtypes, vec![b"q-x".to_vec()]);
    }

    #[test]
    fn register_type_subtype_errors() {
        let bad_sub = |s: &str| ServiceType::parse_for_register(s).unwrap_err();
        assert_eq!(bad_sub("_http._tcp,"), NameError::BadSubtype);
        assert_eq!(bad_sub("_http._tcp,,_a"), NameError::BadSubtype);
        assert_eq!(bad_sub("_http._tcp,_a,"), NameError::BadSubtype);
        assert_eq!(bad_sub("_http._tcp,a.b"), NameError::BadSubtype);
        assert_eq!(bad_sub("_http._tcp,."), NameError::BadSubtype);
        assert_eq!(bad_sub(r"_http._tcp,\"), NameError::BadSubtype);
        assert_eq!(bad_sub(r"_http._tcp,a\256"), NameError::BadEscape);
        assert_eq!(bad_sub(r"_http._tcp,a\12"), NameError::BadEscape);
        assert_eq!(bad_sub(r"_http._tcp,a\1x3"), NameError::BadEscape);
        let long = "s".repeat(64);
        assert_eq!(
            bad_sub(&format!("_http._tcp,{long}")),
            NameError::LabelTooLong
        );
        let max = "s".repeat(63);
        let t = ServiceType::parse_for_register(&format!("_http._tcp,{max}")).unwrap();
        assert_eq!(t.subtypes[0].len(), 63);
        // 63 bytes reached through escapes.
        let escaped = r"\000".repeat(63);
        let t = ServiceType::parse_for_register(&format!("_http._tcp,{escaped}")).unwrap();
        assert_eq!(t.subtypes[0], vec![0u8; 63]);
        let escaped = r"\000".repeat(64);
        assert_eq!(
            bad_sub(&format!("_http._tcp,{escaped}")),
            NameError::LabelTooLong
        );
    }

    #[test]
    fn register_type_dedups_subtypes() {
        let t = ServiceType::parse_for_register("_http._tcp,_a,_B,_A,_b,_c").unwrap();
        assert_eq!(
            t.subtypes,
            vec![b"_a".to_vec(), b"_B".to_vec(), b"_c".to_vec()]
        );
    }

    #[test]
    fn browse_type() {
        let t = ServiceType::parse_for_browse("_http._tcp").unwrap();
        assert!(t.subtypes.is_empty());
        let t = ServiceType::parse_for_browse("_http._tcp,_printer").unwrap();
        assert_eq!(t.subtypes, vec![b"_printer".to_vec()]);
        let t = ServiceType::parse_for_browse(r"_http._tcp,a\,b").unwrap();
        assert_eq!(t.subtypes, vec![b"a,b".to_vec()]);
        assert_eq!(
            ServiceType::parse_for_browse("_http._tcp,_a,_b"),
            Err(NameError::TooManySubtypes)
        );
        assert_eq!(
            ServiceType::parse_for_browse("probe,_a,_b"),
            Err(NameError::BadServiceType)
        );
        assert_eq!(
            ServiceType::parse_for_browse("probe"),
            Err(NameError::BadServiceType)
        );
        assert_eq!(
            ServiceType::parse_for_browse("_http._tcp,"),
            Err(NameError::BadSubtype)
        );
    }

    #[test]
    fn type_names() {
        let t = ServiceType::parse_for_register("_http._tcp,_printer,_sub2").unwrap();
        assert_eq!(
            name_to_escaped_string(&t.type_name(&local())),
            "_http._tcp.local."
        );
        let subs: Vec<String> = t
            .subtype_names(&local())
            .iter()
            .map(name_to_escaped_string)
            .collect();
        assert_eq!(
            subs,
            vec![
                "_printer._sub._http._tcp.local.",
                "_sub2._sub._http._tcp.local."
            ]
        );
        assert_eq!(t.try_subtype_names(&local()).unwrap().len(), 2);
        // Two subtypes: browsing that type means browsing the base type.
        assert_eq!(
            name_to_escaped_string(&t.browse_name(&local())),
            "_http._tcp.local."
        );
        assert_eq!(t.to_callback_string(), "_http._tcp.");

        let b = ServiceType::parse_for_browse("_ipp._udp,_color").unwrap();
        assert_eq!(
            name_to_escaped_string(&b.browse_name(&local())),
            "_color._sub._ipp._udp.local."
        );
        assert_eq!(b.to_callback_string(), "_ipp._udp.");

        let s = ServiceType::parse_for_register(r"_test._tcp,s\.one").unwrap();
        let n = &s.subtype_names(&local())[0];
        assert_eq!(labels_of(n)[0], b"s.one");
        assert_eq!(name_to_escaped_string(n), r"s\.one._sub._test._tcp.local.");

        let other = parse_domain(Some("example.com")).unwrap();
        assert_eq!(
            name_to_escaped_string(&t.type_name(&other)),
            "_http._tcp.example.com."
        );
        assert!(t.type_name(&local()).is_fqdn());
    }

    #[test]
    fn type_names_with_overlong_domain() {
        // 3 × 64 + 61 + 1 = 254 wire bytes: not even `_http._tcp` (11) fits.
        let long = format!("{a}.{a}.{a}.{b}.", a = "d".repeat(63), b = "e".repeat(60));
        let domain = parse_escaped_name(&long).unwrap();
        let t = ServiceType::parse_for_register("_http._tcp,_printer").unwrap();
        assert!(t.try_type_name(&domain).is_err());
        assert_eq!(t.try_subtype_names(&domain), Err(NameError::NameTooLong));
        assert!(t.subtype_names(&domain).is_empty());
        assert_eq!(name_to_escaped_string(&t.type_name(&domain)), "_http._tcp.");

        // 3 × 64 + 46 + 1 = 239: the type name (+11) fits, the subtype
        // name (+25) does not.
        let mid = format!("{a}.{a}.{a}.{b}.", a = "d".repeat(63), b = "e".repeat(45));
        let domain = parse_escaped_name(&mid).unwrap();
        assert!(t.try_type_name(&domain).is_ok());
        assert_eq!(t.try_subtype_names(&domain), Err(NameError::NameTooLong));
        let b = ServiceType::parse_for_browse("_http._tcp,_printer").unwrap();
        assert_eq!(b.try_browse_name(&domain), Err(NameError::NameTooLong));
        assert_eq!(
            name_to_escaped_string(&b.browse_name(&domain)),
            "_http._tcp."
        );
    }

    // ----- escaping -----

    #[test]
    fn escape_label_rules() {
        assert_eq!(escape_label(b"plain"), "plain");
        assert_eq!(escape_label(b"a.b"), r"a\.b");
        assert_eq!(escape_label(b"a\\b"), r"a\\b");
        assert_eq!(escape_label(b"My Printer"), r"My\032Printer");
        assert_eq!(escape_label(b"tab\there"), r"tab\009here");
        assert_eq!(escape_label(b"\0\x1f "), r"\000\031\032");
        assert_eq!(escape_label(b"\x7f!~,"), "\x7f!~,");
        assert_eq!(escape_label("Café ☕".as_bytes()), r"Café\032☕");
        // Invalid UTF-8 is written byte by byte.
        assert_eq!(escape_label(&[b'a', 0xFF, 0xC3]), r"a\255\195");
    }

    #[test]
    fn name_to_string_and_back() {
        let n = build_name(&[b"My Printer", b"_ipp", b"_tcp"], &local()).unwrap();
        let text = name_to_escaped_string(&n);
        assert_eq!(text, r"My\032Printer._ipp._tcp.local.");
        let back = parse_escaped_name(&text).unwrap();
        assert!(back.eq_case(&n));
        assert_eq!(name_to_escaped_string(&Name::root()), ".");
        assert_eq!(domain_to_string(&local()), "local.");
        assert_eq!(
            domain_to_string(&name(r"4th\.\032Floor.apple.com")),
            r"4th\.\032Floor.apple.com."
        );
    }

    #[test]
    fn escape_round_trips() {
        let samples: Vec<Vec<u8>> = vec![
            b"Dr. Smith\\Dr. Johnson".to_vec(),
            "Café ☕".as_bytes().to_vec(),
            b"a.b.c".to_vec(),
            b"\\".to_vec(),
            b"\\.".to_vec(),
            b" lead and trail ".to_vec(),
            (0u8..=62).collect(),
            (193u8..=255).collect(),
            vec![0xE2, 0x98], // cut UTF-8 sequence
            b"\\123 not an escape".to_vec(),
            b"x,y".to_vec(),
        ];
        for label in samples {
            let text = escape_label(&label);
            let n = parse_escaped_name(&text).unwrap();
            assert_eq!(
                labels_of(&n),
                vec![label.clone()],
                "round trip of {label:?} via {text:?}"
            );
            let full = build_name(&[&label, b"_http", b"_tcp"], &local()).unwrap();
            let back = parse_escaped_name(&name_to_escaped_string(&full)).unwrap();
            assert!(back.eq_case(&full));
        }
    }

    #[test]
    fn parse_escaped_name_rules() {
        assert_eq!(labels_of(&name("a.b")), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(labels_of(&name("a.b.")), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(labels_of(&name(r"a\.b")), vec![b"a.b".to_vec()]);
        assert_eq!(
            labels_of(&name(r"a\\.b")),
            vec![b"a\\".to_vec(), b"b".to_vec()]
        );
        assert_eq!(labels_of(&name(r"\065\066c")), vec![b"ABc".to_vec()]);
        assert_eq!(labels_of(&name(r"\q")), vec![b"q".to_vec()]);
        assert_eq!(labels_of(&name(r"ab\")), vec![b"ab".to_vec()]);
        assert_eq!(labels_of(&name(r"ab.\")), vec![b"ab".to_vec()]);
        assert_eq!(
            labels_of(&name("Building 2.local")),
            vec![b"Building 2".to_vec(), b"local".to_vec()]
        );
        assert_eq!(
            labels_of(&name("café.local")),
            vec!["café".as_bytes().to_vec(), b"local".to_vec()]
        );
        assert!(name("").is_root());
        assert!(name(".").is_root());
        assert!(name("a").is_fqdn());

        assert_eq!(parse_escaped_name("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(parse_escaped_name(".a"), Err(NameError::EmptyLabel));
        assert_eq!(parse_escaped_name("a.."), Err(NameError::EmptyLabel));
        assert_eq!(parse_escaped_name(".."), Err(NameError::EmptyLabel));
        assert_eq!(parse_escaped_name(r"\256"), Err(NameError::BadEscape));
        assert_eq!(parse_escaped_name(r"\99"), Err(NameError::BadEscape));
        assert_eq!(parse_escaped_name(r"a\1"), Err(NameError::BadEscape));
        assert_eq!(parse_escaped_name(r"\12a"), Err(NameError::BadEscape));
        assert_eq!(
            parse_escaped_name(&"x".repeat(64)),
            Err(NameError::LabelTooLong)
        );
        assert_eq!(
            parse_escaped_name(&format!("{}.", "x".repeat(64))),
            Err(NameError::LabelTooLong)
        );
        assert!(parse_escaped_name(&"x".repeat(63)).is_ok());
    }

    #[test]
    fn name_length_limit() {
        // 4 labels of 63 bytes: 4 × 64 + 1 = 257 wire bytes.
        let l = "x".repeat(63);
        let too_long = format!("{l}.{l}.{l}.{l}");
        assert_eq!(parse_escaped_name(&too_long), Err(NameError::NameTooLong));
        // 3 × 64 + 62 + 1 = 255: the largest legal name.
        let max = format!("{l}.{l}.{l}.{}", "x".repeat(61));
        let n = parse_escaped_name(&max).unwrap();
        assert_eq!(name_key(&n).len(), 255);
        let over = format!("{l}.{l}.{l}.{}", "x".repeat(62));
        assert_eq!(parse_escaped_name(&over), Err(NameError::NameTooLong));
    }

    // ----- domains -----

    #[test]
    fn domains() {
        assert_eq!(domain_to_string(&parse_domain(None).unwrap()), "local.");
        assert_eq!(domain_to_string(&parse_domain(Some("")).unwrap()), "local.");
        assert_eq!(
            domain_to_string(&parse_domain(Some("local")).unwrap()),
            "local."
        );
        assert_eq!(
            domain_to_string(&parse_domain(Some("local.")).unwrap()),
            "local."
        );
        assert_eq!(
            domain_to_string(&parse_domain(Some("Example.COM")).unwrap()),
            "Example.COM."
        );
        let d = parse_domain(Some(r"4th\. Floor.Building 2.apple.com.")).unwrap();
        assert_eq!(
            labels_of(&d),
            vec![
                b"4th. Floor".to_vec(),
                b"Building 2".to_vec(),
                b"apple".to_vec(),
                b"com".to_vec()
            ]
        );
        assert_eq!(
            domain_to_string(&d),
            r"4th\.\032Floor.Building\0322.apple.com."
        );
        let d = parse_domain(Some(r"\077y.local\")).unwrap();
        assert_eq!(labels_of(&d), vec![b"My".to_vec(), b"local".to_vec()]);
        assert_eq!(parse_domain(Some("a..b")), Err(NameError::EmptyLabel));
        assert_eq!(parse_domain(Some(r"\300.local")), Err(NameError::BadEscape));
        // No IDNA: UTF-8 stays as raw bytes.
        let d = parse_domain(Some("bücher.local")).unwrap();
        assert_eq!(labels_of(&d)[0], "bücher".as_bytes());
    }

    // ----- DNSServiceConstructFullName -----

    #[test]
    fn construct_full_name_observed() {
        let c = |s: Option<&str>, r: &str, d: &str| construct_full_name(s.map(str::as_bytes), r, d);
        assert_eq!(
            c(
                Some("Dr. Smith\\Dr. Johnson"),
                "_ftp._tcp",
                r"4th\. Floor.Building 2.apple.com."
            )
            .unwrap(),
            r"Dr\.\032Smith\\Dr\.\032Johnson._ftp._tcp.4th\. Floor.Building 2.apple.com."
        );
        assert_eq!(
            c(None, "_ftp._tcp", "apple.com.").unwrap(),
            "_ftp._tcp.apple.com."
        );
        assert_eq!(
            c(Some("My Printer"), "_ipp._tcp", "local").unwrap(),
            r"My\032Printer._ipp._tcp.local."
        );
        assert_eq!(
            c(Some("a.b"), "_http._tcp.", "local.").unwrap(),
            r"a\.b._http._tcp.local."
        );
        assert_eq!(
            c(Some("tab\there"), "_http._tcp", "local.").unwrap(),
            r"tab\009here._http._tcp.local."
        );
        assert_eq!(
            c(Some("café"), "_http._tcp", "local.").unwrap(),
            "café._http._tcp.local."
        );
        assert_eq!(
            c(Some("x"), "_http._tcp", ""),
            Err(NameError::MissingDomain)
        );
    }

    #[test]
    fn construct_full_name_edges() {
        let c = |s: Option<&[u8]>, r: &str, d: &str| construct_full_name(s, r, d);
        // Empty service behaves like NULL.
        assert_eq!(
            c(Some(b""), "_ftp._tcp", "local").unwrap(),
            "_ftp._tcp.local."
        );
        // Regtype checks: length ≥ 6 without the trailing dot, ends in
        // _tcp/_udp in any case; nothing else is validated.
        assert_eq!(c(None, "x._udp", "local").unwrap(), "x._udp.local.");
        assert_eq!(c(None, "x._UDP.", "local").unwrap(), "x._UDP.local.");
        assert_eq!(c(None, "_a._Tcp", "local").unwrap(), "_a._Tcp.local.");
        assert_eq!(c(None, "._tcp", "local"), Err(NameError::BadServiceType));
        assert_eq!(c(None, "._tcp.", "local"), Err(NameError::BadServiceType));
        assert_eq!(c(None, "", "local"), Err(NameError::BadServiceType));
        assert_eq!(
            c(None, "_http._sctp", "local"),
            Err(NameError::BadServiceType)
        );
        assert_eq!(
            c(None, "_http._tcp,_sub", "local"),
            Err(NameError::BadServiceType)
        );
        assert_eq!(c(None, "probe", "local"), Err(NameError::BadServiceType));
        // A domain ending in an escaped dot still gets a dot appended.
        assert_eq!(c(Some(b"s"), "_x._tcp", r"a\.").unwrap(), r"s._x._tcp.a\..");
        assert_eq!(
            c(Some(b"s"), "_x._tcp", r"a\\.").unwrap(),
            r"s._x._tcp.a\\."
        );
        assert_eq!(
            c(Some(b"s"), "_x._tcp", r"a\046").unwrap(),
            r"s._x._tcp.a\046."
        );
        // The service bytes are escaped; non-UTF-8 bytes become \DDD.
        assert_eq!(
            c(Some(b"a\\b\x01"), "_x._tcp", "local").unwrap(),
            r"a\\b\001._x._tcp.local."
        );
        assert_eq!(
            c(Some(&[0xFF]), "_x._tcp", "local").unwrap(),
            r"\255._x._tcp.local."
        );
        assert_eq!(
            c(Some("Café ☕".as_bytes()), "_x._tcp", "local").unwrap(),
            r"Café\032☕._x._tcp.local."
        );
    }

    #[test]
    fn construct_full_name_length_limit() {
        // "_x._tcp." is 8 characters; the domain fills the rest.
        let fits = format!("{}.", "d".repeat(CONSTRUCT_FULL_NAME_BUFFER - 1 - 8 - 1));
        let out = construct_full_name(None, "_x._tcp", &fits).unwrap();
        assert_eq!(out.len(), CONSTRUCT_FULL_NAME_BUFFER - 1);
        let over = format!("{}.", "d".repeat(CONSTRUCT_FULL_NAME_BUFFER - 8 - 1));
        assert_eq!(
            construct_full_name(None, "_x._tcp", &over),
            Err(NameError::NameTooLong)
        );
        // Escaping counts: 63 spaces become 252 characters.
        let spaces = [b' '; 63];
        let out = construct_full_name(Some(&spaces), "_x._tcp", "local").unwrap();
        assert_eq!(out.len(), 63 * 4 + 1 + 8 + 6);
    }

    // ----- instance labels -----

    #[test]
    fn instance_labels() {
        assert_eq!(instance_label("My Printer", false).unwrap(), b"My Printer");
        assert_eq!(
            instance_label("Dr. Smith\\x", false).unwrap(),
            b"Dr. Smith\\x"
        );
        assert_eq!(
            instance_label("Café ☕", false).unwrap(),
            "Café ☕".as_bytes()
        );
        assert_eq!(instance_label("", true), Err(NameError::EmptyLabel));
        assert_eq!(instance_label("a\tb", true), Err(NameError::BadCharacter));
        assert_eq!(
            instance_label("a\u{7f}", true),
            Err(NameError::BadCharacter)
        );
        assert_eq!(instance_label("a\0", true), Err(NameError::BadCharacter));
        assert_eq!(instance_label("\u{1f}", true), Err(NameError::BadCharacter));
        // 0x80–0x9F as UTF-8 bytes are continuation bytes, not controls.
        assert_eq!(
            instance_label("\u{85}", false).unwrap(),
            "\u{85}".as_bytes()
        );

        let exact = "a".repeat(63);
        assert_eq!(instance_label(&exact, false).unwrap().len(), 63);
        let long = "a".repeat(70);
        assert_eq!(instance_label(&long, false), Err(NameError::LabelTooLong));
        assert_eq!(
            instance_label(&long, true).unwrap(),
            "a".repeat(63).as_bytes()
        );
    }

    #[test]
    fn instance_label_truncates_at_utf8_boundary() {
        // 62 ASCII bytes then a 2-byte 'é': byte 63 would split it.
        let s = format!("{}é", "a".repeat(62));
        assert_eq!(s.len(), 64);
        assert_eq!(instance_label(&s, true).unwrap(), "a".repeat(62).as_bytes());
        // 61 bytes then a 4-byte emoji.
        let s = format!("{}😀", "a".repeat(61));
        assert_eq!(instance_label(&s, true).unwrap(), "a".repeat(61).as_bytes());
        // 60 bytes then a 3-byte '☕' fits exactly.
        let s = format!("{}☕x", "a".repeat(60));
        assert_eq!(
            instance_label(&s, true).unwrap(),
            format!("{}☕", "a".repeat(60)).as_bytes()
        );
        // All multi-byte.
        let s = "☕".repeat(30);
        let l = instance_label(&s, true).unwrap();
        assert_eq!(l.len(), 63);
        assert!(std::str::from_utf8(&l).is_ok());
    }

    #[test]
    fn instance_rename_sequence() {
        let mut n = b"Clash".to_vec();
        let mut seen = Vec::new();
        for _ in 0..11 {
            n = next_instance_name(&n);
            seen.push(String::from_utf8(n.clone()).unwrap());
        }
        assert_eq!(seen[0], "Clash (2)");
        assert_eq!(seen[1], "Clash (3)");
        assert_eq!(seen[7], "Clash (9)");
        assert_eq!(seen[8], "Clash (10)");
        assert_eq!(seen[10], "Clash (12)");
        assert_eq!(next_instance_name(b"Printer (2)"), b"Printer (3)");
        assert_eq!(next_instance_name(b"Printer (1)"), b"Printer (2)");
        assert_eq!(next_instance_name(b"Printer (0)"), b"Printer (2)");
        assert_eq!(next_instance_name(b"Printer (007)"), b"Printer (8)");
        assert_eq!(next_instance_name(b"Printer (99)"), b"Printer (100)");
        // Not a suffix: missing space, letters, no digits, unbalanced.
        assert_eq!(next_instance_name(b"Printer(2)"), b"Printer(2) (2)");
        assert_eq!(next_instance_name(b"Printer (2a)"), b"Printer (2a) (2)");
        assert_eq!(next_instance_name(b"Printer ()"), b"Printer () (2)");
        assert_eq!(next_instance_name(b"Printer 2)"), b"Printer 2) (2)");
        // Trailing spaces of the base are dropped.
        assert_eq!(next_instance_name(b"Name  "), b"Name (2)");
        assert_eq!(
            next_instance_name("Café ☕".as_bytes()),
            "Café ☕ (2)".as_bytes()
        );
        assert_eq!(next_instance_name(b"a.b"), b"a.b (2)");
        // Absurd numbers do not overflow.
        let big = next_instance_name(b"X (4294967295)");
        assert_eq!(big, b"X (4294967295) (2)");
        assert_eq!(next_instance_name(b"X (999999999)"), b"X (1000000000)");
    }

    #[test]
    fn instance_rename_stays_within_63_bytes() {
        let full = "a".repeat(63);
        let next = next_instance_name(full.as_bytes());
        assert_eq!(next, format!("{} (2)", "a".repeat(59)).as_bytes());
        assert_eq!(next.len(), 63);
        let nine = format!("{} (9)", "a".repeat(59));
        let ten = next_instance_name(nine.as_bytes());
        assert_eq!(ten, format!("{} (10)", "a".repeat(58)).as_bytes());
        // The cut moves back to a character boundary.
        let s = "☕".repeat(21); // 63 bytes
        let next = next_instance_name(s.as_bytes());
        assert_eq!(next, format!("{} (2)", "☕".repeat(19)).as_bytes());
        assert!(next.len() <= 63);
        // A cut that leaves a trailing space drops it.
        let s = format!("{} bb", "a".repeat(58)); // 61 bytes, cut to 59 = "aaa… "
        let next = next_instance_name(s.as_bytes());
        assert_eq!(next, format!("{} (2)", "a".repeat(58)).as_bytes());
        // Every step stays valid UTF-8 within 63 bytes.
        let mut n = "é".repeat(31).into_bytes();
        for _ in 0..120 {
            n = next_instance_name(&n);
            assert!(n.len() <= MAX_LABEL);
            assert!(std::str::from_utf8(&n).is_ok());
        }
        assert!(n.ends_with(b" (121)"));
    }

    // ----- host labels -----

    #[test]
    fn host_rename_sequence() {
        assert_eq!(next_host_label(b"host"), b"host-2");
        assert_eq!(next_host_label(b"host-2"), b"host-3");
        assert_eq!(next_host_label(b"host-9"), b"host-10");
        assert_eq!(next_host_label(b"host-1"), b"host-2");
        assert_eq!(next_host_label(b"my-host"), b"my-host-2");
        assert_eq!(next_host_label(b"-2"), b"-2-2");
        assert_eq!(next_host_label(b"host-"), b"host--2");
        let full = "h".repeat(63);
        assert_eq!(
            next_host_label(full.as_bytes()),
            format!("{}-2", "h".repeat(61)).as_bytes()
        );
        let nine = format!("{}-9", "h".repeat(61));
        assert_eq!(
            next_host_label(nine.as_bytes()),
            format!("{}-10", "h".repeat(60)).as_bytes()
        );
        let mut n = b"vm".to_vec();
        for _ in 0..50 {
            n = next_host_label(&n);
        }
        assert_eq!(n, b"vm-51");
    }

    #[test]
    fn default_host_labels() {
        assert_eq!(default_host_label("vm"), b"vm");
        assert_eq!(default_host_label("myhost.example.com"), b"myhost");
        assert_eq!(default_host_label("My_Host"), b"My-Host");
        assert_eq!(default_host_label("Bob's MacBook Pro"), b"Bobs-MacBook-Pro");
        assert_eq!(default_host_label("Bob\u{2019}s Mac"), b"Bobs-Mac");
        assert_eq!(default_host_label("  -weird--name- "), b"weird--name");
        assert_eq!(default_host_label("Café ☕"), b"Caf");
        assert_eq!(default_host_label("a   b"), b"a-b");
        assert_eq!(default_host_label(""), b"linux");
        assert_eq!(default_host_label("---"), b"linux");
        assert_eq!(default_host_label(".example.com"), b"linux");
        assert_eq!(default_host_label("☕"), b"linux");
        let long = "x".repeat(80);
        assert_eq!(default_host_label(&long), "x".repeat(63).as_bytes());
        let long = format!("{}-y", "x".repeat(62));
        assert_eq!(default_host_label(&long), "x".repeat(62).as_bytes());
    }

    // ----- building and splitting -----

    #[test]
    fn instance_names() {
        let t = ServiceType::parse_for_register("_http._tcp,_printer").unwrap();
        let n = service_instance_name("Café ☕".as_bytes(), &t, &local()).unwrap();
        assert_eq!(
            labels_of(&n),
            vec![
                "Café ☕".as_bytes().to_vec(),
                b"_http".to_vec(),
                b"_tcp".to_vec(),
                b"local".to_vec()
            ]
        );
        assert_eq!(name_to_escaped_string(&n), r"Café\032☕._http._tcp.local.");
        assert!(n.is_fqdn());

        let n = service_instance_name(b"Dr. Smith", &t, &local()).unwrap();
        assert_eq!(n.iter().len(), 4);
        assert_eq!(
            name_to_escaped_string(&n),
            r"Dr\.\032Smith._http._tcp.local."
        );

        assert_eq!(
            service_instance_name(b"", &t, &local()),
            Err(NameError::EmptyLabel)
        );
        assert_eq!(
            service_instance_name(&[b'a'; 64], &t, &local()),
            Err(NameError::LabelTooLong)
        );
        assert!(service_instance_name(&[b'a'; 63], &t, &local()).is_ok());
        // Whole-name limit: 64 + 6 + 5 + domain (64 + 64 + 51 + 1) = 255.
        let d =
            parse_escaped_name(&format!("{a}.{a}.{}", "e".repeat(50), a = "d".repeat(63))).unwrap();
        let n = service_instance_name(&[b'a'; 63], &t, &d).unwrap();
        assert_eq!(name_key(&n).len(), 255);
        let d =
            parse_escaped_name(&format!("{a}.{a}.{}", "e".repeat(51), a = "d".repeat(63))).unwrap();
        assert_eq!(
            service_instance_name(&[b'a'; 63], &t, &d),
            Err(NameError::NameTooLong)
        );
    }

    #[test]
    fn host_names() {
        let h = host_name(b"vm", &local());
        assert_eq!(name_to_escaped_string(&h), "vm.local.");
        assert!(h.is_fqdn());
        assert_eq!(
            name_to_escaped_string(&host_name(b"", &local())),
            "linux.local."
        );
        let long = host_name(&[b'h'; 70], &local());
        assert_eq!(labels_of(&long)[0].len(), 63);
    }

    #[test]
    fn split_instance_names() {
        let n = name(r"My\032Printer._ipp._tcp.local.");
        let (inst, ty) = split_instance_name(&n).unwrap();
        assert_eq!(inst, b"My Printer");
        assert_eq!(name_to_escaped_string(&ty), "_ipp._tcp.local.");

        let n = name(r"a\.b._http._UDP.example.com.");
        let (inst, ty) = split_instance_name(&n).unwrap();
        assert_eq!(inst, b"a.b");
        assert_eq!(name_to_escaped_string(&ty), "_http._UDP.example.com.");

        let t = ServiceType::parse_for_register("_http._tcp").unwrap();
        let built = service_instance_name("Café ☕".as_bytes(), &t, &local()).unwrap();
        let (inst, ty) = split_instance_name(&built).unwrap();
        assert_eq!(inst, "Café ☕".as_bytes());
        assert!(name_eq(&ty, &t.type_name(&local())));

        assert!(split_instance_name(&name("_http._tcp.local.")).is_none());
        assert!(split_instance_name(&name("_printer._sub._http._tcp.local.")).is_none());
        assert!(split_instance_name(&name("host.local.")).is_none());
        assert!(split_instance_name(&name("a.http._tcp.local.")).is_none());
        assert!(split_instance_name(&name("a._http._xyz.local.")).is_none());
        assert!(split_instance_name(&Name::root()).is_none());
        // No domain labels at all is still a split.
        let (inst, ty) = split_instance_name(&name("x._http._tcp.")).unwrap();
        assert_eq!(inst, b"x");
        assert_eq!(name_to_escaped_string(&ty), "_http._tcp.");
    }

    #[test]
    fn enumeration_name() {
        assert_eq!(
            name_to_escaped_string(&services_enumeration_name(&local())),
            "_services._dns-sd._udp.local."
        );
        let d = parse_domain(Some("example.com")).unwrap();
        assert_eq!(
            name_to_escaped_string(&services_enumeration_name(&d)),
            "_services._dns-sd._udp.example.com."
        );
    }

    #[test]
    fn local_domains() {
        for yes in [
            "local.",
            "LOCAL",
            "x.local.",
            "My\\032Printer._ipp._tcp.local.",
            "254.169.in-addr.arpa.",
            "1.2.254.169.in-addr.arpa.",
            "8.e.f.ip6.arpa.",
            "9.E.F.ip6.arpa.",
            "a.e.f.ip6.arpa.",
            "B.e.f.IP6.ARPA.",
            "1.0.0.0.8.e.f.ip6.arpa.",
        ] {
            assert!(is_local_domain(&name(yes)), "{yes} should be local");
        }
        for no in [
            ".",
            "example.com.",
            "local.com.",
            "localx.",
            "in-addr.arpa.",
            "169.in-addr.arpa.",
            "253.169.in-addr.arpa.",
            "254.168.in-addr.arpa.",
            "c.e.f.ip6.arpa.",
            "7.e.f.ip6.arpa.",
            "e.f.ip6.arpa.",
            "8.e.f.ip6.arpa.com.",
        ] {
            assert!(!is_local_domain(&name(no)), "{no} should not be local");
        }
    }

    #[test]
    fn names_compare_ascii_case_only() {
        let a = name("MyPrinter._HTTP._tcp.LOCAL.");
        let b = name("myprinter._http._TCP.local");
        assert!(name_eq(&a, &b));
        assert_eq!(name_key(&a), name_key(&b));

        // Non-ASCII letters are compared as bytes: É and é differ.
        let c = name("CAFÉ.local");
        let d = name("café.local");
        let e = name("cafÉ.local");
        assert!(!name_eq(&c, &d));
        assert!(name_eq(&c, &e));
        assert_ne!(name_key(&c), name_key(&d));
        assert_eq!(name_key(&c), name_key(&e));

        // Label boundaries matter: "a.b" as one label is not "a"."b".
        let one = name(r"a\.b.local");
        let two = name("a.b.local");
        assert!(!name_eq(&one, &two));
        assert_ne!(name_key(&one), name_key(&two));

        assert!(!name_eq(&name("a.local"), &name("a.local.x")));
        assert!(!name_eq(&name("a.local"), &name("x.a.local")));
        assert!(name_eq(&Name::root(), &name(".")));
        assert_eq!(name_key(&Name::root()), vec![0]);
        assert_eq!(name_key(&name("Ab.c")), b"\x02ab\x01c\x00");

        use std::collections::HashMap;
        let mut map = HashMap::new();
        map.insert(name_key(&a), 1);
        assert_eq!(map.get(&name_key(&b)), Some(&1));
    }

    #[test]
    fn error_display() {
        for e in [
            NameError::BadServiceType,
            NameError::BadSubtype,
            NameError::TooManySubtypes,
            NameError::LabelTooLong,
            NameError::NameTooLong,
            NameError::BadEscape,
            NameError::EmptyLabel,
            NameError::BadCharacter,
            NameError::MissingDomain,
        ] {
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(NameError::EmptyLabel.to_string(), "empty label");
    }

    #[test]
    fn ends_in_dot_detection() {
        assert!(ends_in_unescaped_dot(b"a."));
        assert!(ends_in_unescaped_dot(b"."));
        assert!(!ends_in_unescaped_dot(b""));
        assert!(!ends_in_unescaped_dot(b"a"));
        assert!(!ends_in_unescaped_dot(br"a\."));
        assert!(ends_in_unescaped_dot(br"a\\."));
        assert!(!ends_in_unescaped_dot(br"a\046"));
        assert!(ends_in_unescaped_dot(br"a\046."));
        assert!(ends_in_unescaped_dot(br"\..."));
    }

    #[test]
    fn comma_splitting() {
        assert_eq!(split_unescaped_commas("a,b"), vec!["a", "b"]);
        assert_eq!(split_unescaped_commas(r"a\,b,c"), vec![r"a\,b", "c"]);
        assert_eq!(split_unescaped_commas(r"a\\,b"), vec![r"a\\", "b"]);
        assert_eq!(split_unescaped_commas(r"a\"), vec![r"a\"]);
        assert_eq!(split_unescaped_commas(","), vec!["", ""]);
        assert_eq!(split_unescaped_commas(""), vec![""]);
        assert_eq!(split_unescaped_commas("é,☕"), vec!["é", "☕"]);
    }
}

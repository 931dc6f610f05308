//! DNS messages for mDNS, on hickory-proto: decoding, encoding with size
//! limits, and the byte keys that identify names and records.
//!
//! Size limits (RFC 6762 §17): the splitting encoders keep packets within
//! the limit they are given (the interface MTU) where records allow, and
//! never return a payload larger than 9000 bytes with IP and UDP headers
//! ([`ABSOLUTE_MAX_PAYLOAD`]): a record that cannot fit such a packet is
//! dropped. Replies to legacy resolvers are trimmed to one datagram, with
//! the TC bit when answers had to go ([`truncate_to_fit`]).

use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use crate::core::constants::ABSOLUTE_MAX_PAYLOAD;

/// Decodes a datagram; anything hickory cannot parse is `None` (dropped).
pub fn decode(payload: &[u8]) -> Option<Message> {
    Message::from_vec(payload).ok()
}

/// Encodes a message; `None` only if hickory refuses it (a bug of ours).
pub fn encode(message: &Message) -> Option<Vec<u8>> {
    message.to_vec().ok()
}

/// A fresh mDNS query (ID 0, RFC 6762 §18.1).
pub fn new_query() -> Message {
    Message::new(0, MessageType::Query, OpCode::Query)
}

/// A fresh authoritative mDNS response (ID 0, AA set, RFC 6762 §18).
pub fn new_response(id: u16) -> Message {
    let mut message = Message::new(id, MessageType::Response, OpCode::Query);
    message.metadata.authoritative = true;
    message
}

/// The rdata of a record as uncompressed wire bytes (for comparison, RFC 6762 §8.2).
pub fn rdata_bytes(rdata: &RData) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_canonical_form(true);
    if rdata.emit(&mut encoder).is_err() {
        out.clear();
    }
    out
}

/// A name as lowercase (ASCII only, RFC 6762 §16) wire bytes: a map key.
pub fn name_key(name: &Name) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    for label in name.iter() {
        key.push(label.len() as u8);
        key.extend(label.iter().map(|b| b.to_ascii_lowercase()));
    }
    key.push(0);
    key
}

/// What identifies one record: name (case-insensitive), type and rdata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    pub name: Vec<u8>,
    pub rtype: u16,
    pub rdata: Vec<u8>,
}

impl RecordKey {
    pub fn of(record: &Record) -> RecordKey {
        RecordKey {
            name: name_key(&record.name),
            rtype: u16::from(record.record_type()),
            rdata: rdata_bytes(&record.data),
        }
    }
}

/// A record with the given fields.
pub fn make_record(name: Name, ttl: u32, rdata: RData, cache_flush: bool) -> Record {
    let mut record = Record::from_rdata(name, ttl, rdata);
    record.mdns_cache_flush = cache_flush;
    record
}

/// The length of a name on the wire, uncompressed: each label with its
/// length byte, then the root's zero byte.
pub fn name_wire_len(name: &Name) -> usize {
    name.iter().map(|label| label.len() + 1).sum::<usize>() + 1
}

fn fits(message: &Message, limit: usize) -> bool {
    encode(message).is_some_and(|bytes| bytes.len() <= limit)
}

/// The largest `n` in `0..=len` with `fits(n)`, where `fits(0)` holds and
/// `fits` turns false at most once (a message only grows with its records).
fn largest_fitting(len: usize, fits: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low).div_ceil(2);
        if fits(middle) {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    low
}

/// Trims a reply to a conventional (legacy) resolver so that it encodes in
/// one datagram of at most `limit` bytes (RFC 6762 §6.7, §18.5; RFC 1035
/// §4.2.1): additional records go first, from the end; if the answers still
/// do not fit, as many as fit are kept and the TC bit is set, which tells
/// the resolver to ask again over TCP. `None` when not even the header and
/// questions fit.
pub fn truncate_to_fit(mut message: Message, limit: usize) -> Option<Message> {
    if fits(&message, limit) {
        return Some(message);
    }
    let additionals = std::mem::take(&mut message.additionals);
    if fits(&message, limit) {
        put_back_what_fits(&mut message, additionals, limit, |m| &mut m.additionals);
        return Some(message);
    }
    let answers = std::mem::take(&mut message.answers);
    message.metadata.truncation = true;
    if !fits(&message, limit) {
        return None;
    }
    put_back_what_fits(&mut message, answers, limit, |m| &mut m.answers);
    Some(message)
}

/// Puts as many of `records` (from the front) into the `section` of a
/// `message` that fits `limit` without them as keep it within `limit`.
fn put_back_what_fits(message: &mut Message, records: Vec<Record>, limit: usize, section: fn(&mut Message) -> &mut Vec<Record>) {
    let keep = largest_fitting(records.len(), |n| {
        let mut trial = message.clone();
        *section(&mut trial) = records[..n].to_vec();
        fits(&trial, limit)
    });
    *section(message) = records[..keep].to_vec();
}

/// Encodes a query whose known answers may not fit in one packet (RFC 6762
/// §7.2): the first packet carries the questions, the authority records
/// (a probe's proposed records) and as many known answers as fit; the rest
/// follow in packets without questions; every packet but the last has the
/// TC bit set.
///
/// No packet is larger than [`ABSOLUTE_MAX_PAYLOAD`] (RFC 6762 §17): a known
/// answer too big for `limit` goes alone in a packet if it fits that bound
/// and is dropped if it does not; authority records that would take the
/// first packet beyond it are dropped too, from the end.
pub fn encode_query_split(message: Message, limit: usize) -> Vec<Vec<u8>> {
    let limit = limit.min(ABSOLUTE_MAX_PAYLOAD);
    if fits(&message, limit) {
        return encode(&message).into_iter().collect();
    }
    let mut known = message.answers.clone().into_iter().peekable();
    let mut packets: Vec<Message> = Vec::new();
    let mut current = message;
    current.answers.clear();
    while !fits(&current, ABSOLUTE_MAX_PAYLOAD) {
        if current.authorities.pop().is_none() {
            return Vec::new();
        }
    }
    loop {
        // Fill the current packet with known answers while they fit; one
        // that needs a packet of its own may take up to the absolute bound.
        while let Some(record) = known.peek() {
            current.answers.push(record.clone());
            let alone = current.answers.len() == 1;
            if fits(&current, limit) || (alone && fits(&current, ABSOLUTE_MAX_PAYLOAD)) {
                known.next();
                continue;
            }
            current.answers.pop();
            let empty = current.answers.is_empty() && current.queries.is_empty() && current.authorities.is_empty();
            if empty {
                // Too big for any packet: never sent.
                known.next();
                continue;
            }
            break;
        }
        let done = known.peek().is_none();
        current.metadata.truncation = !done;
        let empty_continuation = current.queries.is_empty() && current.answers.is_empty() && !packets.is_empty();
        if empty_continuation {
            // Only dropped records were left: the previous packet was the last.
            if let Some(last) = packets.last_mut() {
                last.metadata.truncation = false;
            }
        } else {
            packets.push(current);
        }
        if done {
            break;
        }
        current = new_query();
    }
    packets.iter().filter_map(encode).collect()
}

/// Encodes `message`, moving answer records that do not fit in `limit`
/// bytes into further messages (RFC 6762 §17). Questions, authority and
/// additional records stay with the first message; additional records that
/// do not fit are dropped, since they are optional.
///
/// One answer too big for `limit` is sent alone (the kernel fragments it,
/// as RFC 6762 §17 allows for a single record) while it fits in
/// [`ABSOLUTE_MAX_PAYLOAD`]; beyond that it is dropped, so no payload
/// returned is ever larger.
pub fn encode_split(message: Message, limit: usize) -> Vec<Vec<u8>> {
    let limit = limit.min(ABSOLUTE_MAX_PAYLOAD);
    let mut out = Vec::new();
    let mut pending = message;
    loop {
        match encode(&pending) {
            Some(bytes) if bytes.len() <= limit => {
                out.push(bytes);
                return out;
            }
            None => return out,
            Some(_) => {}
        }
        if !pending.additionals.is_empty() {
            pending.additionals.pop();
            continue;
        }
        if pending.answers.len() <= 1 {
            if let Some(bytes) = encode(&pending).filter(|b| b.len() <= ABSOLUTE_MAX_PAYLOAD) {
                out.push(bytes);
                return out;
            }
            // Too big even for a fragmented packet: the record is dropped,
            // and what else the message holds goes if it fits.
            if pending.answers.pop().is_some() {
                let rest = !pending.queries.is_empty() || !pending.authorities.is_empty();
                if rest {
                    continue;
                }
            }
            return out;
        }
        // Split the answers in two: the first half goes in this packet.
        let keep = pending.answers.len() / 2;
        let rest = pending.answers.split_off(keep);
        let mut tail = Message::new(pending.metadata.id, pending.metadata.message_type, OpCode::Query);
        tail.metadata.authoritative = pending.metadata.authoritative;
        tail.answers = rest;
        out.extend(encode_split(pending, limit));
        pending = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::rdata::{NULL, PTR};
    use hickory_proto::rr::RecordType;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    /// A record under `owner` with `len` bytes of opaque rdata.
    fn blob(owner: &str, len: usize) -> Record {
        let rdata = RData::Unknown { code: RecordType::Unknown(65280), rdata: NULL::with(vec![0xab; len]) };
        make_record(name(owner), 120, rdata, true)
    }

    fn ptr(owner: &str, target: &str) -> Record {
        make_record(name(owner), 4500, RData::PTR(PTR(name(target))), false)
    }

    fn sizes(packets: &[Vec<u8>]) -> Vec<usize> {
        packets.iter().map(Vec::len).collect()
    }

    #[test]
    fn name_wire_len_counts_length_bytes_and_the_root() {
        assert_eq!(name_wire_len(&name("a.local.")), 1 + 1 + 1 + 5 + 1);
        assert_eq!(name_wire_len(&Name::root()), 1);
    }

    #[test]
    fn a_response_record_too_big_for_any_packet_is_dropped_and_the_rest_sent() {
        let mut message = new_response(0);
        message.answers.push(blob("small.local.", 100));
        message.answers.push(blob("huge.local.", ABSOLUTE_MAX_PAYLOAD));
        message.answers.push(blob("big.local.", 5000));
        let packets = encode_split(message, 1452);
        assert!(packets.iter().all(|p| p.len() <= ABSOLUTE_MAX_PAYLOAD), "sizes {:?}", sizes(&packets));
        let sent: Vec<Record> = packets.iter().flat_map(|p| decode(p).unwrap().answers).collect();
        let names: Vec<String> = sent.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(names, ["small.local.", "big.local."], "the huge record is never sent");
        // A record over the MTU but within 9000 bytes goes alone (fragmented).
        assert!(packets.iter().any(|p| p.len() > 5000 && decode(p).unwrap().answers.len() == 1));
    }

    #[test]
    fn a_response_whose_only_record_is_too_big_gives_no_packet() {
        let mut message = new_response(0);
        message.answers.push(blob("huge.local.", ABSOLUTE_MAX_PAYLOAD - 20));
        message.additionals.push(blob("extra.local.", 10));
        assert_eq!(encode_split(message, 1452), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn a_limit_beyond_9000_bytes_is_capped() {
        let mut message = new_response(0);
        for i in 0..4 {
            message.answers.push(blob(&format!("r{i}.local."), 4000));
        }
        let packets = encode_split(message, 65535);
        assert!(packets.len() >= 2, "sizes {:?}", sizes(&packets));
        assert!(packets.iter().all(|p| p.len() <= ABSOLUTE_MAX_PAYLOAD), "sizes {:?}", sizes(&packets));
    }

    #[test]
    fn a_known_answer_too_big_for_any_packet_is_dropped_from_a_query() {
        let mut query = new_query();
        query.queries.push(Query::query(name("_x._tcp.local."), RecordType::PTR));
        query.answers.push(ptr("_x._tcp.local.", "a._x._tcp.local."));
        query.answers.push(blob("huge.local.", ABSOLUTE_MAX_PAYLOAD));
        query.answers.push(blob("big.local.", 3000));
        query.answers.push(ptr("_x._tcp.local.", "b._x._tcp.local."));
        let packets = encode_query_split(query, 1452);
        assert!(packets.iter().all(|p| p.len() <= ABSOLUTE_MAX_PAYLOAD), "sizes {:?}", sizes(&packets));
        let messages: Vec<Message> = packets.iter().map(|p| decode(p).unwrap()).collect();
        assert_eq!(messages[0].queries.len(), 1);
        let known: Vec<String> = messages.iter().flat_map(|m| m.answers.iter().map(|r| r.name.to_string())).collect();
        assert_eq!(known, ["_x._tcp.local.", "big.local.", "_x._tcp.local."]);
        let tc: Vec<bool> = messages.iter().map(|m| m.metadata.truncation).collect();
        assert!(tc[..tc.len() - 1].iter().all(|t| *t) && !tc[tc.len() - 1], "TC on all but the last: {tc:?}");
    }

    #[test]
    fn a_last_known_answer_that_is_dropped_leaves_no_empty_continuation() {
        let mut query = new_query();
        query.queries.push(Query::query(name("_x._tcp.local."), RecordType::PTR));
        query.answers.push(blob("big.local.", 2000));
        query.answers.push(blob("huge.local.", ABSOLUTE_MAX_PAYLOAD));
        let messages: Vec<Message> = encode_query_split(query, 1452).iter().map(|p| decode(p).unwrap()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(!messages[0].metadata.truncation);
        assert_eq!(messages[0].answers.len(), 1);
    }

    #[test]
    fn probe_authority_records_beyond_9000_bytes_are_dropped() {
        let mut probe = new_query();
        probe.queries.push(Query::query(name("svc.local."), RecordType::ANY));
        probe.authorities.push(blob("svc.local.", 6000));
        probe.authorities.push(blob("svc.local.", 6000));
        let packets = encode_query_split(probe, 1452);
        assert_eq!(packets.len(), 1);
        assert!(packets[0].len() <= ABSOLUTE_MAX_PAYLOAD);
        let sent = decode(&packets[0]).unwrap();
        assert_eq!((sent.queries.len(), sent.authorities.len()), (1, 1));
    }

    fn legacy_reply(instances: usize, with_additionals: bool) -> Message {
        let mut reply = new_response(0x1234);
        reply.queries.push(Query::query(name("_x._tcp.local."), RecordType::PTR));
        for i in 0..instances {
            let instance = format!("instance-number-{i:02}._x._tcp.local.");
            reply.answers.push(ptr("_x._tcp.local.", &instance));
            if with_additionals {
                reply.additionals.push(blob(&instance, 40));
            }
        }
        reply
    }

    #[test]
    fn a_reply_that_fits_is_left_alone() {
        let reply = legacy_reply(2, true);
        assert_eq!(truncate_to_fit(reply.clone(), 512), Some(reply));
    }

    #[test]
    fn additional_records_go_first_without_the_tc_bit() {
        let reply = legacy_reply(6, true);
        assert!(encode(&reply).unwrap().len() > 512);
        assert!(encode(&legacy_reply(6, false)).unwrap().len() <= 512);
        let fitted = truncate_to_fit(reply, 512).unwrap();
        let bytes = encode(&fitted).unwrap();
        assert!(bytes.len() <= 512, "{} bytes", bytes.len());
        assert_eq!(fitted.answers.len(), 6);
        assert!(!fitted.additionals.is_empty() && fitted.additionals.len() < 6, "as many additionals as fit: {}", fitted.additionals.len());
        assert!(!fitted.metadata.truncation);
        // One more additional record would not have fitted.
        let mut more = fitted.clone();
        more.additionals.push(legacy_reply(6, true).additionals[fitted.additionals.len()].clone());
        assert!(encode(&more).unwrap().len() > 512);
    }

    #[test]
    fn answers_that_do_not_fit_are_cut_with_the_tc_bit() {
        let fitted = truncate_to_fit(legacy_reply(40, true), 512).unwrap();
        let bytes = encode(&fitted).unwrap();
        assert!(bytes.len() <= 512 && bytes.len() > 400, "{} bytes", bytes.len());
        assert!(fitted.metadata.truncation);
        assert!(fitted.additionals.is_empty());
        assert!(!fitted.answers.is_empty() && fitted.answers.len() < 40);
        assert_eq!(fitted.metadata.id, 0x1234);
        assert_eq!(fitted.queries.len(), 1, "the question stays");
        let decoded = decode(&bytes).unwrap();
        assert!(decoded.metadata.truncation, "the TC bit is on the wire");
        // A larger limit keeps more.
        let roomy = truncate_to_fit(legacy_reply(40, true), 1400).unwrap();
        assert!(roomy.answers.len() > fitted.answers.len());
        assert!(encode(&roomy).unwrap().len() <= 1400);
    }

    #[test]
    fn a_reply_whose_questions_alone_do_not_fit_is_not_sent() {
        let mut reply = new_response(7);
        for i in 0..40 {
            reply.queries.push(Query::query(name(&format!("question-number-{i}.example-service.local.")), RecordType::A));
        }
        reply.answers.push(ptr("_x._tcp.local.", "a._x._tcp.local."));
        assert_eq!(truncate_to_fit(reply, 512), None);
    }
}

//! DNS messages for mDNS, on hickory-proto: decoding, encoding with size
//! limits, and the byte keys that identify names and records.

use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

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

/// Encodes a query whose known answers may not fit in one packet (RFC 6762
/// §7.2): the first packet carries the questions and as many known answers
/// as fit; the rest follow in packets without questions; every packet but
/// the last has the TC bit set.
pub fn encode_query_split(message: Message, limit: usize) -> Vec<Vec<u8>> {
    if encode(&message).is_some_and(|b| b.len() <= limit) {
        return encode(&message).into_iter().collect();
    }
    let mut known = message.answers.clone().into_iter().peekable();
    let mut packets: Vec<Message> = Vec::new();
    let mut current = message;
    current.answers.clear();
    loop {
        // Fill the current packet with known answers while they fit.
        while let Some(record) = known.peek() {
            current.answers.push(record.clone());
            if encode(&current).is_some_and(|b| b.len() <= limit) || current.answers.len() == 1 {
                known.next();
            } else {
                current.answers.pop();
                break;
            }
        }
        let done = known.peek().is_none();
        current.metadata.truncation = !done;
        packets.push(current);
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
pub fn encode_split(message: Message, limit: usize) -> Vec<Vec<u8>> {
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
            // One record alone that does not fit: send it anyway (the kernel
            // fragments it); RFC 6762 §17 allows this for a single record.
            if let Some(bytes) = encode(&pending) {
                out.push(bytes);
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

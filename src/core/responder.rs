//! Answering queries (RFC 6762 §6, §7, §5.4, §6.7).
//!
//! - Only records whose group has finished probing on the arrival interface
//!   are given, with that interface's addresses only (§6.2, §14).
//! - A record listed in the query's known answers with at least half its
//!   TTL left is not given (§7.1).
//! - A single question answered only with unique records, and any probe we
//!   defend against, is answered at once; everything else after a random
//!   20-120 ms, aggregated with other answers due on that interface (§6, §6.4).
//! - Multicast answers go back on the IP version the question came in on
//!   (each is a link of its own, §20).
//! - A record is multicast on an interface at most once a second, or every
//!   250 ms when defending against a probe (§6); a record another host
//!   multicast while ours waited is not sent again (§7.4).
//! - A question with the unicast-response bit is answered by unicast when the
//!   record was multicast within a quarter of its TTL, else by multicast (§5.4);
//!   a probe asking so gets its defence by unicast in any case, and by
//!   multicast too when the record was not multicast lately (§8.1). Unicast
//!   answers wait like multicast ones: shared records 20-120 ms (§6).
//! - A query from a port other than 5353 is a legacy query: answered at once
//!   by unicast, with its ID and question, TTLs of at most ten seconds and no
//!   cache-flush bit (§6.7). The reply is one datagram of at most 512 bytes,
//!   or the payload size the query's EDNS0 OPT record advertises (up to
//!   1452; an OPT comes back then, RFC 6891 §7): additional records that do
//!   not fit are left out, and if answers do not fit either, those that fit
//!   go with the TC bit set (§18.5, RFC 1035 §4.2.1).
//! - A query with the TC bit continues in packets without questions from
//!   the same source: it is answered 400-500 ms after its last packet, with
//!   the known answers of all of them (§7.2).
//! - Another host giving one of our records with less than half our TTL
//!   (a goodbye included, e.g. avahi-daemon on this host going away while
//!   we still publish the same host records) makes us multicast it again
//!   with the full TTL, so that caches keep it (§6.6).
//! - Unicast replies go only to sources on the interface's link: a legacy
//!   or unicast-addressed query from off link is ignored (no amplification),
//!   and a unicast-response question from off link is answered by multicast
//!   (§5.5, §11).
//! - Additional records follow RFC 6763 §12: PTR → SRV, TXT and addresses;
//!   SRV → addresses; an address answer brings the host's other addresses
//!   (§6.2). Records multicast as additional records count for the rate
//!   limit like answers.
//! - A question for a name we own outright (the host name, a service
//!   instance) with no record of the asked type gets an NSEC listing the
//!   types the name has (§6.1).

use std::collections::HashMap;
use std::time::Instant;

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};

use super::constants::*;
use super::records::Addresses;
use super::{Core, Datagram, Family, IfIndex};
use crate::wire::message::{new_response, truncate_to_fit, RecordKey};

#[derive(Debug)]
struct Pending {
    ifindex: IfIndex,
    family: Family,
    created: Instant,
    due: Instant,
    answers: Vec<Record>,
}

/// Shared records to send by unicast to a querier that asked so (§5.4),
/// after the same 20-120 ms as multicast ones (§6).
#[derive(Debug)]
struct PendingUnicast {
    ifindex: IfIndex,
    destination: std::net::SocketAddr,
    due: Instant,
    answers: Vec<Record>,
}

/// A query whose known answers continue in further packets (§7.2).
#[derive(Debug)]
struct Truncated {
    datagram: Datagram,
    message: Message,
    due: Instant,
}

/// Bound on truncated queries waiting for their continuation packets.
const MAX_TRUNCATED_QUERIES: usize = 64;
/// Bound on the known answers gathered for one of them.
const MAX_GATHERED_KNOWN_ANSWERS: usize = 2048;

#[derive(Debug, Default)]
pub(crate) struct Responder {
    last_multicast: HashMap<(IfIndex, Family, RecordKey), Instant>,
    seen_from_others: HashMap<(IfIndex, Family, RecordKey), (Instant, u32)>,
    pending: Vec<Pending>,
    pending_unicast: Vec<PendingUnicast>,
    truncated: Vec<Truncated>,
}

impl Responder {
    pub fn forget_interface(&mut self, ifindex: IfIndex) {
        self.last_multicast.retain(|(i, _, _), _| *i != ifindex);
        self.seen_from_others.retain(|(i, _, _), _| *i != ifindex);
        self.pending.retain(|p| p.ifindex != ifindex);
        self.pending_unicast.retain(|p| p.ifindex != ifindex);
        self.truncated.retain(|t| t.datagram.ifindex != ifindex);
    }
}

fn answers_question(record: &Record, qname: &hickory_proto::rr::Name, qtype: RecordType) -> bool {
    record.name == *qname && (qtype == RecordType::ANY || qtype == record.record_type())
}

fn is_known(known: &[Record], record: &Record) -> bool {
    let key = RecordKey::of(record);
    known.iter().any(|k| RecordKey::of(k) == key && k.ttl >= record.ttl / KNOWN_ANSWER_TTL_FRACTION)
}

impl Core {
    /// Every record we may give in answers on `ifindex`.
    fn answerable_records(&self, ifindex: IfIndex, addresses: &Addresses) -> Vec<Record> {
        self.groups
            .ids()
            .into_iter()
            .filter(|id| self.groups.get(*id).is_some_and(|g| g.answers_on(ifindex)))
            .flat_map(|id| self.groups.all_records(id, addresses))
            .collect()
    }

    /// The additional records RFC 6763 §12 asks for, minus what `answers` has.
    pub(crate) fn additional_records(&self, answers: &[Record], addresses: &Addresses) -> Vec<Record> {
        let mut extra: Vec<Record> = Vec::new();
        let host_answers = self.groups.host.answers_on_any();
        let add_host = |target: &hickory_proto::rr::Name, extra: &mut Vec<Record>| {
            if *target == self.groups.host.name && host_answers {
                extra.extend(self.groups.host_records(addresses));
            }
        };
        for answer in answers {
            match &answer.data {
                RData::PTR(ptr) => {
                    for service in self.groups.services.values() {
                        if service.group.name == ptr.0 && !service.group.failed {
                            let unique = self.groups.service_unique_records(service);
                            extra.extend(unique);
                            add_host(&self.groups.target_of(&service.spec), &mut extra);
                        }
                    }
                }
                RData::SRV(srv) => add_host(&srv.target, &mut extra),
                // RFC 6762 §6.2: an address answer brings the other family's addresses.
                RData::A(_) | RData::AAAA(_) => add_host(&answer.name, &mut extra),
                _ => {}
            }
        }
        let mut seen: Vec<RecordKey> = answers.iter().map(RecordKey::of).collect();
        extra.retain(|r| {
            let key = RecordKey::of(r);
            if seen.contains(&key) {
                false
            } else {
                seen.push(key);
                true
            }
        });
        extra
    }

    pub(crate) fn handle_query(&mut self, now: Instant, datagram: &Datagram, message: &Message, from_self: bool) {
        let same_source = |t: &Truncated| t.datagram.ifindex == datagram.ifindex && t.datagram.source == datagram.source;
        if message.queries.is_empty() {
            // A continuation of a truncated query: more known answers.
            if let Some(t) = self.responder.truncated.iter_mut().find(|t| same_source(t)) {
                let room = MAX_GATHERED_KNOWN_ANSWERS.saturating_sub(t.message.answers.len());
                t.message.answers.extend(message.answers.iter().take(room).cloned());
                t.due = now + self.rng.millis(TRUNCATED_QUERY_WAIT_MIN_MS, TRUNCATED_QUERY_WAIT_MAX_MS);
            }
            return;
        }
        if message.metadata.truncation && self.responder.truncated.len() < MAX_TRUNCATED_QUERIES {
            self.responder.truncated.retain(|t| !same_source(t));
            let due = now + self.rng.millis(TRUNCATED_QUERY_WAIT_MIN_MS, TRUNCATED_QUERY_WAIT_MAX_MS);
            let mut message = message.clone();
            message.metadata.truncation = false;
            self.responder.truncated.push(Truncated { datagram: datagram.clone(), message, due });
            return;
        }
        self.answer_query(now, datagram, message, from_self, true);
    }

    /// Answers a complete query; `delay_shared` false when the query already
    /// waited (a truncated one).
    fn answer_query(&mut self, now: Instant, datagram: &Datagram, message: &Message, from_self: bool, delay_shared: bool) {
        let ifindex = datagram.ifindex;
        let family = Family::of(&datagram.source);
        let is_probe = !message.authorities.is_empty();
        if is_probe && !from_self {
            self.check_simultaneous_probe(now, ifindex, message);
        }
        let Some(interface) = self.interfaces.get(&ifindex) else { return };
        let on_link = interface.info.is_on_link(datagram.source.ip());
        let legacy = datagram.source.port() != MDNS_PORT;
        if !on_link && (legacy || !datagram.multicast) {
            return;
        }
        let addresses = self.published(ifindex);
        let ours = self.answerable_records(ifindex, &addresses);
        if ours.is_empty() {
            return;
        }
        let mut multicast = Vec::new();
        let mut unicast = Vec::new();
        let mut all_unique = true;
        for question in &message.queries {
            if question.query_class() != DNSClass::IN && question.query_class() != DNSClass::ANY {
                continue;
            }
            let mut matching: Vec<Record> =
                ours.iter().filter(|r| answers_question(r, question.name(), question.query_type())).cloned().collect();
            if matching.is_empty() {
                matching.extend(self.negative_answer(ifindex, question.name(), &ours));
            }
            for record in matching.iter() {
                if is_known(&message.answers, record) {
                    continue;
                }
                all_unique &= record.mdns_cache_flush;
                let recently = self
                    .responder
                    .last_multicast
                    .get(&(ifindex, family, RecordKey::of(record)))
                    .is_some_and(|t| now.saturating_duration_since(*t).as_secs() * 4 < u64::from(record.ttl));
                // RFC 6762 §5.4: a QU question is answered by unicast, unless
                // the record was not multicast within a quarter of its TTL
                // (then by multicast, to refresh every cache); a prober
                // asking QU gets its defence by unicast either way (§8.1).
                let asks_unicast = question.mdns_unicast_response() && on_link;
                let unicast_only = legacy || (asks_unicast && recently);
                if unicast_only || (asks_unicast && is_probe) {
                    unicast.push(record.clone());
                }
                if !unicast_only {
                    multicast.push(record.clone());
                }
            }
        }
        let at_once = is_probe || !delay_shared || (message.queries.len() == 1 && all_unique);
        if !unicast.is_empty() {
            if legacy {
                self.send_legacy_answers(now, datagram, message, unicast, &addresses);
            } else if at_once {
                self.send_unicast_answers(now, datagram.ifindex, datagram.source, unicast);
            } else {
                let due = now + self.rng.millis(SHARED_ANSWER_DELAY_MIN_MS, SHARED_ANSWER_DELAY_MAX_MS);
                let pending = PendingUnicast { ifindex: datagram.ifindex, destination: datagram.source, due, answers: unicast };
                self.responder.pending_unicast.push(pending);
            }
        }
        if multicast.is_empty() {
            return;
        }
        if at_once {
            self.send_multicast_answers(now, ifindex, family, now, multicast, is_probe);
            return;
        }
        let due = now + self.rng.millis(SHARED_ANSWER_DELAY_MIN_MS, SHARED_ANSWER_DELAY_MAX_MS);
        match self.responder.pending.iter_mut().find(|p| p.ifindex == ifindex && p.family == family) {
            Some(pending) => {
                pending.due = pending.due.min(due);
                for record in multicast {
                    if !pending.answers.contains(&record) {
                        pending.answers.push(record);
                    }
                }
            }
            None => self.responder.pending.push(Pending { ifindex, family, created: now, due, answers: multicast }),
        }
    }

    /// A legacy query's reply (§6.7): its ID and question, TTLs of at most
    /// ten seconds, no cache-flush bit, in one datagram the resolver accepts.
    fn send_legacy_answers(&mut self, now: Instant, datagram: &Datagram, query: &Message, answers: Vec<Record>, addresses: &Addresses) {
        let additionals = self.additional_records(&answers, addresses);
        let mut message = new_response(query.metadata.id);
        let legacy_form = |mut r: Record| {
            r.ttl = r.ttl.min(LEGACY_MAX_TTL);
            r.mdns_cache_flush = false;
            r
        };
        message.queries = query.queries.clone();
        message.answers = answers.into_iter().map(legacy_form).collect();
        message.additionals = additionals.into_iter().map(legacy_form).collect();
        if query.edns.is_some() {
            // RFC 6891 §7: a query with an OPT record gets one back.
            let mut edns = Edns::new();
            edns.set_max_payload(MAX_PACKET_PAYLOAD as u16);
            message.set_edns(edns);
        }
        // One datagram the resolver accepts (§6.7, §18.5): `send` does
        // not split a message that already fits the packet limit.
        let limit = usize::from(query.max_payload()).clamp(LEGACY_UNICAST_MAX_PAYLOAD, MAX_PACKET_PAYLOAD);
        if let Some(fitted) = truncate_to_fit(message, limit) {
            self.send(now, datagram.ifindex, datagram.source, fitted);
        }
    }

    /// An mDNS answer by unicast to a querier that asked for one (§5.4).
    fn send_unicast_answers(&mut self, now: Instant, ifindex: IfIndex, destination: std::net::SocketAddr, answers: Vec<Record>) {
        let addresses = self.published(ifindex);
        let mut message = new_response(0);
        message.additionals = self.additional_records(&answers, &addresses);
        message.answers = answers;
        self.send(now, ifindex, destination, message);
    }

    fn send_multicast_answers(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        family: Family,
        since: Instant,
        answers: Vec<Record>,
        probe_defence: bool,
    ) {
        let limit = if probe_defence { PROBE_DEFENCE_RATE_LIMIT } else { MULTICAST_RATE_LIMIT };
        let answers: Vec<Record> = answers
            .into_iter()
            .filter(|r| {
                let key = (ifindex, family, RecordKey::of(r));
                let rate_ok = self.responder.last_multicast.get(&key).is_none_or(|t| now.saturating_duration_since(*t) >= limit);
                let duplicate = self
                    .responder
                    .seen_from_others
                    .get(&key)
                    .is_some_and(|(at, ttl)| *at >= since && *ttl >= r.ttl / KNOWN_ANSWER_TTL_FRACTION);
                rate_ok && !duplicate
            })
            .collect();
        if answers.is_empty() {
            return;
        }
        let addresses = self.published(ifindex);
        let mut message = new_response(0);
        message.additionals = self.additional_records(&answers, &addresses);
        message.answers = answers;
        self.responder_note_multicast(now, ifindex, &[family], &message);
        self.send_multicast_on(now, ifindex, family, message);
    }

    /// An NSEC for a name we own outright on `ifindex` that has none of the
    /// asked type; `None` for names we do not own.
    fn negative_answer(&self, ifindex: IfIndex, qname: &hickory_proto::rr::Name, ours: &[Record]) -> Option<Record> {
        let owned = self.groups.ids().into_iter().filter_map(|id| self.groups.get(id)).any(|g| g.name == *qname && g.answers_on(ifindex));
        if !owned {
            return None;
        }
        let mut present: Vec<_> = ours.iter().filter(|r| r.name == *qname).map(|r| r.record_type()).collect();
        present.sort();
        present.dedup();
        let ttl = ours.iter().filter(|r| r.name == *qname).map(|r| r.ttl).min().unwrap_or(HOST_RECORD_TTL);
        Some(super::host::nsec_record(qname, &present, ttl))
    }

    /// RFC 6762 §6.6: our records given by another host with a TTL below
    /// half of ours are multicast again (within the one-second limit).
    pub(crate) fn defend_understated_records(&mut self, now: Instant, ifindex: IfIndex, family: Family, message: &Message) {
        let addresses = self.published(ifindex);
        let ours = self.answerable_records(ifindex, &addresses);
        let keys: Vec<RecordKey> = message
            .answers
            .iter()
            .chain(message.additionals.iter())
            .filter(|r| r.record_type() != RecordType::OPT)
            .map(|r| (RecordKey::of(r), r.ttl))
            .filter_map(|(key, ttl)| ours.iter().find(|o| RecordKey::of(o) == key && ttl < o.ttl / 2).map(|_| key))
            .collect();
        if keys.is_empty() {
            return;
        }
        let records: Vec<Record> = ours.into_iter().filter(|o| keys.contains(&RecordKey::of(o))).collect();
        self.send_multicast_answers(now, ifindex, family, now, records, false);
    }

    /// Remembers when each record was multicast (as an answer or as an
    /// additional record), for the rate limit.
    pub(crate) fn responder_note_multicast(&mut self, now: Instant, ifindex: IfIndex, families: &[Family], message: &Message) {
        for record in message.answers.iter().chain(message.additionals.iter()) {
            for family in families {
                self.responder.last_multicast.insert((ifindex, *family, RecordKey::of(record)), now);
            }
        }
    }

    /// Another host multicast these answers (RFC 6762 §7.4).
    pub(crate) fn note_duplicate_answers(&mut self, now: Instant, ifindex: IfIndex, family: Family, message: &Message) {
        if self.responder.pending.iter().all(|p| p.ifindex != ifindex || p.family != family) {
            return;
        }
        if self.responder.seen_from_others.len() > 1024 {
            self.responder.seen_from_others.retain(|_, (at, _)| now.saturating_duration_since(*at) < MULTICAST_RATE_LIMIT);
        }
        for record in &message.answers {
            self.responder.seen_from_others.insert((ifindex, family, RecordKey::of(record)), (now, record.ttl));
        }
    }

    pub(crate) fn responder_timeout(&mut self, now: Instant) {
        let (complete, waiting): (Vec<Truncated>, Vec<Truncated>) =
            std::mem::take(&mut self.responder.truncated).into_iter().partition(|t| t.due <= now);
        self.responder.truncated = waiting;
        for t in complete {
            self.answer_query(now, &t.datagram, &t.message, false, false);
        }
        let (due, later): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut self.responder.pending).into_iter().partition(|p| p.due <= now);
        self.responder.pending = later;
        for pending in due {
            self.send_multicast_answers(now, pending.ifindex, pending.family, pending.created, pending.answers, false);
        }
        let (due, later): (Vec<PendingUnicast>, Vec<PendingUnicast>) =
            std::mem::take(&mut self.responder.pending_unicast).into_iter().partition(|p| p.due <= now);
        self.responder.pending_unicast = later;
        for pending in due {
            self.send_unicast_answers(now, pending.ifindex, pending.destination, pending.answers);
        }
    }

    pub(crate) fn responder_deadline(&self) -> Option<Instant> {
        let pending = self.responder.pending.iter().map(|p| p.due);
        let pending_unicast = self.responder.pending_unicast.iter().map(|p| p.due);
        pending.chain(pending_unicast).chain(self.responder.truncated.iter().map(|t| t.due)).min()
    }
}

impl super::records::Group {
    pub fn answers_on_any(&self) -> bool {
        self.presences.values().any(|p| p.answers())
    }
}

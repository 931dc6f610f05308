//! Probing (RFC 6762 §8.1), simultaneous-probe tie-breaking (§8.2) and
//! conflicts with names we have claimed (§9), with renaming.
//!
//! Rules, in the order they apply:
//! - a group probes its unique records three times, 250 ms apart, after a
//!   random 0-250 ms; the probes ask for the name with type ANY and carry
//!   the proposed records (without the cache-flush bit) in the authority
//!   section; the first probe asks for unicast replies (QU) when no other
//!   socket on this host shares port 5353, the others never do;
//! - fifteen conflicts within ten seconds make each further attempt wait
//!   five seconds, until an attempt succeeds;
//! - another host probing the same name at the same time: the records are
//!   compared (class, type, rdata bytes); the lexicographically earlier set
//!   loses and probes again one second later; identical sets are no conflict;
//! - a response that holds a record of our name and type with other rdata is
//!   a conflict: while probing we take a new name ("Name (2)", "host-2"), or
//!   report the conflict when renaming is not allowed; once established we
//!   probe the same name again first;
//! - records of our host name that carry one of this machine's own
//!   addresses come from another responder on this host, not from a rival;
//! - packets we sent ourselves never cause a conflict.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::time::Instant;

use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};

use super::constants::*;
use super::records::{instance_name, local_name, GroupId, Phase, Presence};
use super::{Core, Event, IfIndex};
use crate::wire::message::{new_query, rdata_bytes};
use crate::wire::service_name::{next_host_label, next_instance_name};

/// Sort key of a record for the tie-break: class (without the cache-flush
/// bit), type, then rdata as unsigned bytes with names uncompressed.
fn tie_break_key(record: &Record) -> (u16, u16, Vec<u8>) {
    (u16::from(record.dns_class), u16::from(record.record_type()), rdata_bytes(&record.data))
}

/// RFC 6762 §8.2.1: compares two record sets; `Less` means `ours` loses.
pub(crate) fn compare_record_sets(ours: &[Record], theirs: &[Record]) -> Ordering {
    let mut a: Vec<_> = ours.iter().map(tie_break_key).collect();
    let mut b: Vec<_> = theirs.iter().map(tie_break_key).collect();
    a.sort();
    b.sort();
    for (x, y) in a.iter().zip(b.iter()) {
        match x.cmp(y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

fn record_address(record: &Record) -> Option<IpAddr> {
    match &record.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
        _ => None,
    }
}

impl Core {
    /// (Re)starts probing a group on all its interfaces, or on `only_on`.
    pub(crate) fn start_probing(&mut self, now: Instant, id: GroupId, only_on: Option<IfIndex>) {
        let mut delay = self.rng.millis(0, PROBE_START_JITTER_MS);
        let targets: Vec<IfIndex> = self
            .interfaces
            .keys()
            .copied()
            .filter(|i| only_on.is_none_or(|o| o == *i))
            // The host name has nothing to claim where we publish no address.
            .filter(|i| id != GroupId::Host || !self.published(*i).is_empty())
            .collect();
        let Some(group) = self.groups.get_mut(id) else { return };
        while group.conflicts.front().is_some_and(|t| now.saturating_duration_since(*t) > CONFLICT_RATE_WINDOW) {
            group.conflicts.pop_front();
        }
        if group.conflicts.len() >= CONFLICT_RATE_COUNT {
            group.throttled = true;
        }
        if group.throttled {
            delay = delay.max(CONFLICT_RATE_DELAY);
        }
        for ifindex in targets {
            if group.applies_to(ifindex) {
                group.presences.insert(ifindex, Presence { phase: Phase::Probing { sent: 0 }, next: Some(now + delay) });
            }
        }
    }

    /// Sends one probe; the first of a series asks for unicast replies when
    /// they can reach us (RFC 6762 §8.1, §15.1), so a defender answers at
    /// once without waiting for its multicast rate limit.
    pub(crate) fn send_probe(&mut self, now: Instant, id: GroupId, ifindex: IfIndex, first: bool) {
        let addresses = self.published(ifindex);
        let Some(group) = self.groups.get(id) else { return };
        let name = group.name.clone();
        let mut message = new_query();
        message.queries.push(self.question(now, ifindex, &name, RecordType::ANY, first && self.receives_unicast));
        message.authorities = self
            .groups
            .unique_records(id, &addresses)
            .into_iter()
            .map(|mut r| {
                r.mdns_cache_flush = false; // RFC 6762 §8.2: never in proposed records
                r
            })
            .collect();
        self.send_multicast(now, ifindex, message);
    }

    /// Another host's probe: if it claims a name we are probing too, the
    /// tie-break decides who continues (RFC 6762 §8.2).
    pub(crate) fn check_simultaneous_probe(&mut self, now: Instant, ifindex: IfIndex, message: &Message) {
        let addresses = self.published(ifindex);
        for id in self.groups.ids() {
            let Some(group) = self.groups.get(id) else { continue };
            if !group.is_probing_on(ifindex) {
                continue;
            }
            let theirs: Vec<Record> = message
                .authorities
                .iter()
                .filter(|r| r.name == group.name && r.dns_class == DNSClass::IN)
                .filter(|r| id != GroupId::Host || record_address(r).is_none_or(|a| !self.is_own_address(a)))
                .cloned()
                .collect();
            if theirs.is_empty() {
                continue;
            }
            let ours = self.groups.unique_records(id, &addresses);
            if compare_record_sets(&ours, &theirs) == Ordering::Less {
                // We lose: wait one second, then probe the same name again.
                let group = self.groups.get_mut(id).expect("group exists");
                for presence in group.presences.values_mut() {
                    *presence = Presence { phase: Phase::Probing { sent: 0 }, next: Some(now + TIE_BREAK_DEFER) };
                }
            }
        }
    }

    /// A response from another host: does it contradict a name we claim?
    pub(crate) fn check_conflicts(&mut self, now: Instant, ifindex: IfIndex, message: &Message) {
        let addresses = self.published(ifindex);
        let mut conflicted = Vec::new();
        for record in message.answers.iter().chain(message.additionals.iter()).chain(message.authorities.iter()) {
            if record.ttl == 0 || record.dns_class != DNSClass::IN {
                continue;
            }
            for id in self.groups.ids() {
                let Some(group) = self.groups.get(id) else { continue };
                if conflicted.contains(&id) || record.name != group.name {
                    continue;
                }
                let Some(presence) = group.presences.get(&ifindex) else { continue };
                // RFC 6762 §8.1: responses before our first probe are ignored.
                if presence.phase == (Phase::Probing { sent: 0 }) {
                    continue;
                }
                let relevant = match id {
                    GroupId::Host => record_address(record).is_some_and(|a| !self.is_own_address(a)),
                    GroupId::Service(_) => matches!(record.record_type(), RecordType::SRV | RecordType::TXT),
                };
                if !relevant {
                    continue;
                }
                let ours = self.groups.unique_records(id, &addresses);
                let same = ours
                    .iter()
                    .any(|o| o.record_type() == record.record_type() && rdata_bytes(&o.data) == rdata_bytes(&record.data));
                if !same {
                    conflicted.push(id);
                }
            }
        }
        for id in conflicted {
            self.conflict(now, id, ifindex);
        }
    }

    fn conflict(&mut self, now: Instant, id: GroupId, ifindex: IfIndex) {
        let Some(group) = self.groups.get_mut(id) else { return };
        group.conflicts.push_back(now);
        if group.presences.get(&ifindex).is_some_and(|p| p.answers()) {
            // RFC 6762 §9: a name we had established is probed again first.
            self.start_probing(now, id, None);
            return;
        }
        match id {
            GroupId::Host => {
                let label = next_host_label(&self.groups.host_label);
                self.groups.host_label = label.clone();
                self.groups.host.name = local_name(&label);
                self.start_probing(now, GroupId::Host, None);
                // Every service pointing at our host name carries the new target.
                for other in self.groups.ids() {
                    if other != GroupId::Host {
                        self.reannounce(now, other);
                    }
                }
            }
            GroupId::Service(handle) => {
                let Some(service) = self.groups.services.get_mut(&handle) else { return };
                if !service.spec.auto_rename {
                    service.group.failed = true;
                    service.group.presences.clear();
                    self.emit(Event::NameConflict { handle });
                    return;
                }
                if service.group.announced {
                    // BCT II.16 / RFC 6762 §10.1: the old name's PTRs go away.
                    self.send_shared_goodbyes(now, handle);
                }
                let Some(service) = self.groups.services.get_mut(&handle) else { return };
                let renamed = next_instance_name(&service.spec.instance);
                match instance_name(&renamed, &service.spec.service_type) {
                    Some(name) => {
                        service.spec.instance = renamed;
                        service.group.name = name;
                        service.group.reported = false;
                        service.group.announced = false;
                        self.start_probing(now, id, None);
                    }
                    None => {
                        service.group.failed = true;
                        service.group.presences.clear();
                        self.emit(Event::NameConflict { handle });
                    }
                }
            }
        }
    }
}

//! Announcements (RFC 6762 §8.3), updates (§8.4) and goodbyes (§10.1).
//!
//! - After probing, a group's records are multicast in an unsolicited
//!   response three times, one then two seconds apart; unique records carry
//!   the cache-flush bit, shared ones never do.
//! - Changed rdata (a new TXT, a renamed host) is announced the same way
//!   again, without probing.
//! - A group that ends sends its records once with TTL 0. Our host's address
//!   records get no goodbye: another responder on this machine (a second
//!   process, avahi-daemon) may publish the very same records, and a goodbye
//!   would wipe them from every cache on the link.

use std::time::Instant;

use hickory_proto::rr::Record;

use super::records::{GroupId, Phase};
use crate::wire::message::RecordKey;
use super::{Core, Family, IfIndex};
use crate::wire::message::new_response;

impl Core {
    pub(crate) fn send_announcement(&mut self, now: Instant, id: GroupId, ifindex: IfIndex) {
        let addresses = self.published(ifindex);
        let answers = self.groups.all_records(id, &addresses);
        if answers.is_empty() {
            return;
        }
        let mut message = new_response(0);
        message.additionals = self.additional_records(&answers, &addresses);
        message.answers = answers;
        self.responder_note_multicast(now, ifindex, &[Family::V4, Family::V6], &message);
        self.send_multicast(now, ifindex, message);
    }

    /// Announces a group again everywhere it already answers.
    pub(crate) fn reannounce(&mut self, now: Instant, id: GroupId) {
        let interfaces: Vec<IfIndex> = self.groups.get(id).map(|g| g.presences.keys().copied().collect()).unwrap_or_default();
        for ifindex in interfaces {
            self.reannounce_on(now, id, ifindex);
        }
    }

    pub(crate) fn reannounce_on(&mut self, now: Instant, id: GroupId, ifindex: IfIndex) {
        if self.groups.get(id).and_then(|g| g.presences.get(&ifindex)).is_some_and(|p| p.answers()) {
            self.set_presence(id, ifindex, Phase::Announcing { sent: 0 }, Some(now));
        }
    }

    /// `records` as goodbyes (TTL 0) on `ifindex`, less those another of
    /// our groups still publishes there (two services of one type share
    /// the service-type enumeration PTR).
    fn send_goodbye_records(&mut self, now: Instant, id: GroupId, ifindex: IfIndex, records: Vec<Record>) {
        let addresses = self.published(ifindex);
        let kept: Vec<RecordKey> = self
            .groups
            .ids()
            .into_iter()
            .filter(|other| *other != id && self.groups.get(*other).is_some_and(|g| g.answers_on(ifindex)))
            .flat_map(|other| self.groups.all_records(other, &addresses))
            .map(|r| RecordKey::of(&r))
            .collect();
        let mut message = new_response(0);
        message.answers = records
            .into_iter()
            .filter(|r| !kept.contains(&RecordKey::of(r)))
            .map(|mut r| {
                r.ttl = 0;
                r
            })
            .collect();
        if !message.answers.is_empty() {
            self.send_multicast(now, ifindex, message);
        }
    }

    /// Goodbyes for a service's shared records (PTRs) on every interface,
    /// before it takes a new name.
    pub(crate) fn send_shared_goodbyes(&mut self, now: Instant, handle: super::Handle) {
        let interfaces: Vec<IfIndex> = self.interfaces.keys().copied().collect();
        for ifindex in interfaces {
            let Some(service) = self.groups.services.get(&handle) else { return };
            let records = self.groups.service_shared_records(service);
            self.send_goodbye_records(now, GroupId::Service(handle), ifindex, records);
        }
    }

    /// Goodbyes for the host's address records (and their reverse-mapping
    /// PTRs) that `before` had on `ifindex` and the interface has no more:
    /// otherwise peers keep a vanished address for its whole TTL, for
    /// nothing else replaces it when it was the last of its family.
    pub(crate) fn withdraw_addresses(&mut self, now: Instant, ifindex: IfIndex, before: &super::records::Addresses) {
        if !self.groups.host.answers_on(ifindex) {
            return;
        }
        let after = self.published(ifindex);
        let gone = super::records::Addresses {
            v4: before.v4.iter().filter(|a| !after.v4.contains(a)).copied().collect(),
            v6: before.v6.iter().filter(|a| !after.v6.contains(a)).copied().collect(),
        };
        if gone.is_empty() {
            return;
        }
        let host = self.groups.host.name.clone();
        let mut message = new_response(0);
        message.answers = super::host::address_records(&host, &gone)
            .into_iter()
            .chain(super::host::reverse_records(&host, &gone))
            .map(|mut r| {
                r.ttl = 0;
                r
            })
            .collect();
        self.send_multicast(now, ifindex, message);
    }

    /// Sends the group's records with TTL 0 wherever they were answered.
    pub(crate) fn send_goodbyes(&mut self, now: Instant, id: GroupId) {
        if id == GroupId::Host {
            return;
        }
        let Some(group) = self.groups.get(id) else { return };
        let interfaces: Vec<IfIndex> = group.presences.iter().filter(|(_, p)| p.answers()).map(|(i, _)| *i).collect();
        for ifindex in interfaces {
            let addresses = self.published(ifindex);
            let records = self.groups.all_records(id, &addresses);
            self.send_goodbye_records(now, id, ifindex, records);
        }
    }
}

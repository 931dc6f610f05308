//! What other hosts told us, per interface (RFC 6762 §10).
//!
//! - A record lives for its TTL from when it was last received.
//! - A record with the cache-flush bit makes the other records of its name
//!   and type that were received more than one second earlier expire one
//!   second later (§10.2); records from the same burst survive.
//! - A goodbye (TTL 0) makes the record expire one second later (§10.1).
//! - Refresh points at 80, 85, 90 and 95 % of the TTL (plus up to 2 %) are
//!   kept per record; the querier asks again at those points when someone
//!   still wants the record (§5.2).
//! - Passive observation of failures (§10.5): when other hosts ask twice for
//!   a cached record (not listing it as a known answer) and nobody answers
//!   within ten seconds, the record is flushed; any answer resets this.
//! - Reconfirmation (§10.4): a record someone doubts is asked for twice and
//!   flushed unless an answer comes within ten seconds.
//! - The cache holds a bounded number of records; past it, the record
//!   closest to expiry is dropped first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use super::constants::*;
use super::rng::Rng;
use super::{Core, IfIndex};
use crate::wire::message::{name_key, rdata_bytes};

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub record: Record,
    rdata: Vec<u8>,
    pub received: Instant,
    pub expires: Instant,
    /// Refresh points not reached yet, earliest first.
    refresh: Vec<Instant>,
    /// Queries from others this record should have answered, since it was
    /// last received (§10.5).
    unanswered_queries: u8,
}

impl Entry {
    /// The TTL left at `now`, in whole seconds.
    pub fn remaining_ttl(&self, now: Instant) -> u32 {
        self.expires.saturating_duration_since(now).as_secs() as u32
    }
}

/// What an insertion changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    New,
    Refreshed,
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    entries: HashMap<(Vec<u8>, u16), Vec<Entry>>,
    len: usize,
}

fn refresh_points(now: Instant, ttl: u32, rng: &mut Rng) -> Vec<Instant> {
    let ttl_ms = u64::from(ttl) * 1000;
    REFRESH_PERCENTS
        .iter()
        .map(|p| now + Duration::from_millis(ttl_ms * p / 100 + rng.range(0, ttl_ms * REFRESH_JITTER_PERCENT / 100)))
        .collect()
}

impl Cache {
    pub fn insert(&mut self, now: Instant, record: &Record, rng: &mut Rng) -> Option<Inserted> {
        let key = (name_key(&record.name), u16::from(record.record_type()));
        let rdata = rdata_bytes(&record.data);
        let expires = now + Duration::from_secs(u64::from(record.ttl));
        let refresh = refresh_points(now, record.ttl, rng);
        let list = self.entries.entry(key).or_default();
        if let Some(entry) = list.iter_mut().find(|e| e.rdata == rdata) {
            entry.record = record.clone();
            entry.received = now;
            entry.expires = expires;
            entry.refresh = refresh;
            entry.unanswered_queries = 0;
            return Some(Inserted::Refreshed);
        }
        list.push(Entry { record: record.clone(), rdata, received: now, expires, refresh, unanswered_queries: 0 });
        self.len += 1;
        Some(Inserted::New)
    }

    /// Drops the entry closest to expiry when the cache is over its bound.
    pub fn evict_if_full(&mut self) -> Option<Record> {
        if self.len <= CACHE_MAX_RECORDS_PER_INTERFACE {
            return None;
        }
        let (key, index) = self
            .entries
            .iter()
            .flat_map(|(k, list)| list.iter().enumerate().map(move |(i, e)| (k, i, e.expires)))
            .min_by_key(|(_, _, expires)| *expires)
            .map(|(k, i, _)| (k.clone(), i))?;
        let list = self.entries.get_mut(&key)?;
        let entry = list.remove(index);
        if list.is_empty() {
            self.entries.remove(&key);
        }
        self.len -= 1;
        Some(entry.record)
    }

    /// RFC 6762 §10.2: a cache-flush record arrived for this name and type.
    pub fn flush_others(&mut self, now: Instant, record: &Record) {
        let key = (name_key(&record.name), u16::from(record.record_type()));
        let rdata = rdata_bytes(&record.data);
        if let Some(list) = self.entries.get_mut(&key) {
            for entry in list.iter_mut() {
                if entry.rdata != rdata && now.saturating_duration_since(entry.received) > CACHE_FLUSH_GRACE {
                    entry.expires = entry.expires.min(now + CACHE_FLUSH_GRACE);
                    entry.refresh.clear();
                }
            }
        }
    }

    /// RFC 6762 §10.1: a goodbye for this record.
    pub fn goodbye(&mut self, now: Instant, record: &Record) {
        let key = (name_key(&record.name), u16::from(record.record_type()));
        let rdata = rdata_bytes(&record.data);
        if let Some(entry) = self.entries.get_mut(&key).and_then(|l| l.iter_mut().find(|e| e.rdata == rdata)) {
            entry.expires = entry.expires.min(now + GOODBYE_DELAY);
            entry.refresh.clear();
        }
    }

    /// Starts reconfirming a cached record: it expires in ten seconds unless
    /// an answer refreshes it. Returns whether it was cached.
    pub fn reconfirm(&mut self, now: Instant, record: &Record) -> bool {
        let key = (name_key(&record.name), u16::from(record.record_type()));
        let rdata = rdata_bytes(&record.data);
        match self.entries.get_mut(&key).and_then(|l| l.iter_mut().find(|e| e.rdata == rdata)) {
            Some(entry) => {
                entry.expires = entry.expires.min(now + RECONFIRM_TIMEOUT);
                entry.refresh.clear();
                true
            }
            None => false,
        }
    }

    /// Another host asked a question these records answer, without listing
    /// them as known (RFC 6762 §10.5).
    pub fn note_unanswered_query(&mut self, now: Instant, name: &Name, rtype: RecordType, known: &[Vec<u8>]) {
        let key_name = name_key(name);
        for ((entry_name, entry_type), list) in self.entries.iter_mut() {
            if *entry_name != key_name || (rtype != RecordType::ANY && *entry_type != u16::from(rtype)) {
                continue;
            }
            for entry in list.iter_mut().filter(|e| !known.contains(&e.rdata)) {
                entry.unanswered_queries = entry.unanswered_queries.saturating_add(1);
                if entry.unanswered_queries >= POOF_QUERY_COUNT {
                    entry.expires = entry.expires.min(now + POOF_TIMEOUT);
                }
            }
        }
    }

    /// Removes and returns what has expired.
    pub fn expire(&mut self, now: Instant) -> Vec<Record> {
        let mut gone = Vec::new();
        self.entries.retain(|_, list| {
            list.retain(|e| {
                if e.expires <= now {
                    gone.push(e.record.clone());
                    false
                } else {
                    true
                }
            });
            !list.is_empty()
        });
        self.len -= gone.len();
        gone
    }

    /// Records whose next refresh point has come, each reported once.
    pub fn due_refreshes(&mut self, now: Instant) -> Vec<Record> {
        let mut due = Vec::new();
        for entry in self.entries.values_mut().flatten() {
            if entry.refresh.first().is_some_and(|t| *t <= now) {
                entry.refresh.retain(|t| *t > now);
                due.push(entry.record.clone());
            }
        }
        due
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.entries
            .values()
            .flatten()
            .flat_map(|e| std::iter::once(e.expires).chain(e.refresh.first().copied()))
            .min()
    }

    /// Cached records of `name` and `rtype` (ANY: all types).
    pub fn lookup(&self, name: &Name, rtype: RecordType) -> Vec<&Entry> {
        if rtype == RecordType::ANY {
            let key = name_key(name);
            return self.entries.iter().filter(|((n, _), _)| *n == key).flat_map(|(_, l)| l.iter()).collect();
        }
        self.entries.get(&(name_key(name), u16::from(rtype))).map(|l| l.iter().collect()).unwrap_or_default()
    }

    /// How many records are cached.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn into_records(self) -> Vec<Record> {
        self.entries.into_values().flatten().map(|e| e.record).collect()
    }
}

impl Core {
    /// RFC 6762 §10.4: `record` (name, type, rdata) looks stale on
    /// `ifindex`: it is asked for twice, two seconds apart, and flushed ten
    /// seconds from now unless an answer comes. Records we do not hold are
    /// left alone.
    pub fn reconfirm(&mut self, now: Instant, ifindex: IfIndex, record: &Record) {
        let Some(interface) = self.interfaces.get_mut(&ifindex) else { return };
        if interface.cache.reconfirm(now, record) {
            self.querier.reconfirms.push((now, ifindex, record.name.clone(), record.record_type(), 0));
        }
    }

    /// A query from another host on `ifindex`: counts against the cached
    /// records it should draw an answer for (passive failure observation).
    pub(crate) fn observe_query(&mut self, now: Instant, ifindex: IfIndex, message: &Message) {
        if message.metadata.truncation {
            return; // its known answers continue in other packets
        }
        let Some(interface) = self.interfaces.get_mut(&ifindex) else { return };
        for question in &message.queries {
            let known: Vec<Vec<u8>> = message
                .answers
                .iter()
                .filter(|r| r.name == *question.name())
                .map(|r| rdata_bytes(&r.data))
                .collect();
            interface.cache.note_unanswered_query(now, question.name(), question.query_type(), &known);
        }
    }

    /// Stores the records of a response received on `ifindex`.
    pub(crate) fn cache_response(&mut self, now: Instant, ifindex: IfIndex, message: &Message) {
        let mut changes = Vec::new();
        {
            let Some(interface) = self.interfaces.get_mut(&ifindex) else { return };
            for record in message.answers.iter().chain(message.additionals.iter()) {
                if record.dns_class != DNSClass::IN || record.record_type() == RecordType::OPT {
                    continue;
                }
                if record.ttl == 0 {
                    interface.cache.goodbye(now, record);
                    continue;
                }
                if record.mdns_cache_flush {
                    interface.cache.flush_others(now, record);
                }
                if interface.cache.insert(now, record, &mut self.rng) == Some(Inserted::New) {
                    changes.push((record.clone(), true));
                }
                if let Some(evicted) = interface.cache.evict_if_full() {
                    changes.push((evicted, false));
                }
            }
        }
        for (record, added) in changes {
            self.operations_cache_changed(ifindex, &record, added);
        }
        // A flush or goodbye may have moved an expiry to one second from now;
        // nothing else to do until then.
    }

    pub(crate) fn cache_timeout(&mut self, now: Instant) {
        let mut removed = Vec::new();
        let mut refreshes = Vec::new();
        for (ifindex, interface) in self.interfaces.iter_mut() {
            for record in interface.cache.expire(now) {
                removed.push((*ifindex, record));
            }
            for record in interface.cache.due_refreshes(now) {
                refreshes.push((*ifindex, record));
            }
        }
        for (ifindex, record) in removed {
            self.operations_cache_changed(ifindex, &record, false);
        }
        for (ifindex, record) in refreshes {
            if self.is_wanted(&record.name, record.record_type(), ifindex) {
                self.send_refresh_query(now, ifindex, &record);
            }
        }
    }

    pub(crate) fn cache_deadline(&self) -> Option<Instant> {
        self.interfaces.values().filter_map(|i| i.cache.deadline()).min()
    }
}

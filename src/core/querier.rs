//! Continuous querying (RFC 6762 §5.2) with known answers (§7.1).
//!
//! - A question someone wants is first asked after a random 20-120 ms, then
//!   after one second, and each interval doubles up to sixty minutes.
//! - Questions due together on an interface share one packet, which lists
//!   the cached answers that still have at least half their TTL.
//! - When a cached record that someone wants reaches a refresh point, its
//!   own question is asked on its interface.
//! - A question the cache answers with a unique record (cache-flush bit)
//!   is not sent: the cache's refresh queries at 80 % of that record's TTL
//!   keep it fresh (§5.2). The series goes on silently, so the question is
//!   asked again if the answer goes away.
//! - A new interface restarts every question there.
//! - Duplicate question suppression (§7.3): when another host asks the same
//!   question (without the unicast-response bit) shortly before we would,
//!   listing no known answer we would not list, our query counts as sent.
//! - Unicast replies (§5.4, §6, §15.1): only while no other socket on this
//!   host shares port 5353 (a unicast reply would reach just one of them),
//!   the first query of a question asked within a second of start-up or of
//!   an interface's activation sets the QU bit; retransmissions and later
//!   questions do not. A unicast response is accepted only from the link,
//!   and only when it answers a question that asked for unicast at most two
//!   seconds ago (probes included); any other is ignored.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, Record, RecordType};

use super::constants::*;
use super::{Core, Datagram, IfIndex};
use crate::wire::message::new_query;

#[derive(Debug)]
pub(crate) struct Question {
    pub name: Name,
    pub rtype: RecordType,
    /// Only this interface, or 0 for all.
    pub only: IfIndex,
    users: usize,
    next: Instant,
    interval: Duration,
}

impl Question {
    fn applies_to(&self, ifindex: IfIndex) -> bool {
        self.only == 0 || self.only == ifindex
    }
}

#[derive(Debug, Default)]
pub(crate) struct Querier {
    pub questions: Vec<Question>,
    /// Reconfirmation queries to send: (when, interface, name, type, sent so far).
    pub reconfirms: Vec<(Instant, IfIndex, Name, RecordType, u32)>,
    /// Questions that asked for unicast replies lately: (when, interface, name, type).
    unicast_asked: VecDeque<(Instant, IfIndex, Name, RecordType)>,
}

impl Core {
    /// Someone wants answers to this question: ask it (again) soon.
    pub(crate) fn ask(&mut self, now: Instant, name: &Name, rtype: RecordType, only: IfIndex) {
        if let Some(q) = self.querier.questions.iter_mut().find(|q| q.name == *name && q.rtype == rtype && q.only == only) {
            q.users += 1;
            return;
        }
        let next = now + self.rng.millis(QUERY_START_DELAY_MIN_MS, QUERY_START_DELAY_MAX_MS);
        self.querier.questions.push(Question {
            name: name.clone(),
            rtype,
            only,
            users: 1,
            next,
            interval: QUERY_FIRST_INTERVAL,
        });
    }

    /// One user less for this question; it stops when nobody wants it.
    pub(crate) fn unask(&mut self, name: &Name, rtype: RecordType, only: IfIndex) {
        if let Some(i) = self.querier.questions.iter().position(|q| q.name == *name && q.rtype == rtype && q.only == only) {
            self.querier.questions[i].users -= 1;
            if self.querier.questions[i].users == 0 {
                self.querier.questions.remove(i);
            }
        }
    }

    /// Whether someone wants answers of this name and type on `ifindex`.
    pub(crate) fn is_wanted(&self, name: &Name, rtype: RecordType, ifindex: IfIndex) -> bool {
        self.querier
            .questions
            .iter()
            .any(|q| q.name == *name && (q.rtype == rtype || q.rtype == RecordType::ANY) && q.applies_to(ifindex))
    }

    pub(crate) fn querier_interface_added(&mut self, now: Instant, ifindex: IfIndex) {
        let delay = self.rng.millis(QUERY_START_DELAY_MIN_MS, QUERY_START_DELAY_MAX_MS);
        for q in self.querier.questions.iter_mut().filter(|q| q.applies_to(ifindex)) {
            q.next = q.next.min(now + delay);
            q.interval = QUERY_FIRST_INTERVAL;
        }
    }

    /// Whether the cache holds a unique answer (cache-flush bit) to this
    /// question on `ifindex`: then the question is not sent, and the
    /// cache's refresh queries keep that answer fresh (RFC 6762 §5.2).
    fn has_unique_answer(&self, now: Instant, ifindex: IfIndex, name: &Name, rtype: RecordType) -> bool {
        rtype != RecordType::ANY
            && self.interfaces.get(&ifindex).is_some_and(|i| {
                i.cache.lookup(name, rtype).iter().any(|e| e.record.mdns_cache_flush && e.remaining_ttl(now) > 0)
            })
    }

    /// Cached answers to list in a query, with their remaining TTL (§7.1).
    fn known_answers(&self, now: Instant, ifindex: IfIndex, name: &Name, rtype: RecordType) -> Vec<Record> {
        let Some(interface) = self.interfaces.get(&ifindex) else { return Vec::new() };
        interface
            .cache
            .lookup(name, rtype)
            .into_iter()
            .filter(|e| e.remaining_ttl(now) >= e.record.ttl / KNOWN_ANSWER_TTL_FRACTION)
            .map(|e| {
                let mut r = e.record.clone();
                r.ttl = e.remaining_ttl(now);
                r.mdns_cache_flush = false; // RFC 6762 §10.2: never in known answers
                r
            })
            .collect()
    }

    /// Sends `questions` (name, type, whether to ask for a unicast reply).
    fn send_questions(&mut self, now: Instant, ifindex: IfIndex, questions: &[(Name, RecordType, bool)]) {
        let mut message = new_query();
        for (name, rtype, unicast) in questions {
            let query = self.question(now, ifindex, name, *rtype, *unicast);
            message.queries.push(query);
            message.answers.extend(self.known_answers(now, ifindex, name, *rtype));
        }
        self.send_multicast(now, ifindex, message);
    }

    pub(crate) fn send_refresh_query(&mut self, now: Instant, ifindex: IfIndex, record: &Record) {
        self.send_questions(now, ifindex, &[(record.name.clone(), record.record_type(), false)]);
    }

    /// Whether a question first sent now on `ifindex` asks for a unicast
    /// reply: only if one would reach us, and only right after start-up or
    /// the interface's activation (RFC 6762 §5.4).
    fn first_query_asks_unicast(&self, now: Instant, ifindex: IfIndex) -> bool {
        self.receives_unicast
            && self
                .interfaces
                .get(&ifindex)
                .is_some_and(|i| now.saturating_duration_since(i.activated) <= UNICAST_QUESTION_WINDOW)
    }

    /// A question to send on `ifindex` (a query's or a probe's); one that
    /// asks for unicast replies (the QU bit) is remembered, so that the
    /// unicast answers to it are accepted.
    pub(crate) fn question(&mut self, now: Instant, ifindex: IfIndex, name: &Name, rtype: RecordType, unicast: bool) -> Query {
        let mut query = Query::query(name.clone(), rtype);
        if unicast {
            query.set_mdns_unicast_response(true);
            self.forget_old_unicast_questions(now);
            self.querier.unicast_asked.push_back((now, ifindex, name.clone(), rtype));
        }
        query
    }

    fn forget_old_unicast_questions(&mut self, now: Instant) {
        let asked = &mut self.querier.unicast_asked;
        while asked.front().is_some_and(|(at, ..)| now.saturating_duration_since(*at) > UNICAST_RESPONSE_WINDOW) {
            asked.pop_front();
        }
    }

    /// RFC 6762 §6, §11: a unicast response counts only if it comes from
    /// the link and answers a question of ours that asked for unicast
    /// replies within the last two seconds.
    pub(crate) fn accepts_unicast_response(&mut self, now: Instant, datagram: &Datagram, message: &Message) -> bool {
        let on_link = self.interfaces.get(&datagram.ifindex).is_some_and(|i| i.info.is_on_link(datagram.source.ip()));
        if !on_link {
            return false;
        }
        self.forget_old_unicast_questions(now);
        message.answers.iter().any(|record| {
            self.querier.unicast_asked.iter().any(|(_, ifindex, name, rtype)| {
                *ifindex == datagram.ifindex
                    && *name == record.name
                    && (*rtype == RecordType::ANY || *rtype == record.record_type())
            })
        })
    }

    pub(crate) fn querier_timeout(&mut self, now: Instant) {
        let (due_reconfirms, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.querier.reconfirms).into_iter().partition(|r| r.0 <= now);
        self.querier.reconfirms = later;
        for (_, ifindex, name, rtype, sent) in due_reconfirms {
            // Without known answers: the record in doubt must be answered.
            let mut message = new_query();
            message.queries.push(Query::query(name.clone(), rtype));
            self.send_multicast(now, ifindex, message);
            if sent + 1 < RECONFIRM_QUERIES {
                self.querier.reconfirms.push((now + RECONFIRM_QUERY_INTERVAL, ifindex, name, rtype, sent + 1));
            }
        }
        let due: Vec<usize> = (0..self.querier.questions.len()).filter(|i| self.querier.questions[*i].next <= now).collect();
        if due.is_empty() {
            return;
        }
        let interfaces: Vec<IfIndex> = self.interfaces.keys().copied().collect();
        for ifindex in interfaces {
            let unicast = self.first_query_asks_unicast(now, ifindex);
            let questions: Vec<(Name, RecordType, bool)> = due
                .iter()
                .map(|i| &self.querier.questions[*i])
                .filter(|q| q.applies_to(ifindex) && !self.has_unique_answer(now, ifindex, &q.name, q.rtype))
                .map(|q| (q.name.clone(), q.rtype, unicast && q.interval == QUERY_FIRST_INTERVAL))
                .collect();
            if !questions.is_empty() {
                self.send_questions(now, ifindex, &questions);
            }
        }
        for i in due {
            let q = &mut self.querier.questions[i];
            q.next = now + q.interval;
            q.interval = (q.interval * 2).min(QUERY_MAX_INTERVAL);
        }
    }

    /// RFC 6762 §7.3: another host's query asks what we were about to ask.
    pub(crate) fn suppress_duplicate_questions(&mut self, now: Instant, ifindex: IfIndex, message: &hickory_proto::op::Message) {
        if message.metadata.truncation || !message.authorities.is_empty() {
            return; // continued elsewhere, or a probe
        }
        let single_interface = self.interfaces.len() == 1;
        for i in 0..self.querier.questions.len() {
            let q = &self.querier.questions[i];
            let applies = q.only == ifindex || (q.only == 0 && single_interface);
            let soon = q.next.saturating_duration_since(now) <= QUERY_FIRST_INTERVAL;
            let asked = message
                .queries
                .iter()
                .any(|m| !m.mdns_unicast_response() && m.name() == &q.name && m.query_type() == q.rtype);
            if !applies || !soon || !asked {
                continue;
            }
            let ours: Vec<crate::wire::message::RecordKey> = self
                .known_answers(now, ifindex, &q.name, q.rtype)
                .iter()
                .map(crate::wire::message::RecordKey::of)
                .collect();
            let theirs_within_ours = message
                .answers
                .iter()
                .filter(|r| r.name == q.name)
                .all(|r| ours.contains(&crate::wire::message::RecordKey::of(r)));
            if theirs_within_ours {
                let q = &mut self.querier.questions[i];
                q.next = now + q.interval;
                q.interval = (q.interval * 2).min(QUERY_MAX_INTERVAL);
            }
        }
    }

    pub(crate) fn querier_deadline(&self) -> Option<Instant> {
        self.querier.questions.iter().map(|q| q.next).chain(self.querier.reconfirms.iter().map(|r| r.0)).min()
    }
}

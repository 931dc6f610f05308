//! Ring 1: the core on a virtual clock, alone and on a simulated link.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::rdata::{PTR, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;
use crate::wire::message::{decode, make_record, new_query, new_response};

const IF: IfIndex = 2;

/// The virtual link's IPv4 network.
fn lab_subnet() -> Vec<(std::net::IpAddr, u8)> {
    vec![(std::net::IpAddr::V4(Ipv4Addr::new(192, 0, 2, 0)), 24)]
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn spec(instance: &str, port: u16) -> ServiceSpec {
    ServiceSpec {
        instance: instance.as_bytes().to_vec(),
        service_type: name("_test._tcp.local."),
        subtypes: vec![],
        host: None,
        port,
        txt: b"\x05a=one".to_vec(),
        auto_rename: true,
        ifindex: 0,
    }
}

fn browse_spec() -> BrowseSpec {
    BrowseSpec {
        browse_name: name("_test._tcp.local."),
        service_type: name("_test._tcp.local."),
        domain: name("local."),
        ifindex: 0,
    }
}

/// One sent packet, as seen on the link.
#[derive(Debug, Clone)]
struct Seen {
    at: Duration,
    from: usize,
    transmit: Transmit,
    message: Message,
}

/// Several cores on one virtual link. Multicast reaches every core, the
/// sender included (multicast loopback); unicast reaches its addressee.
struct Link {
    start: Instant,
    now: Instant,
    cores: Vec<Core>,
    addresses: Vec<Ipv4Addr>,
    seen: Vec<Seen>,
    events: Vec<(Duration, usize, Event)>,
    /// Packets from these cores are lost.
    mute: Vec<usize>,
}

impl Link {
    fn new(hosts: &[&str]) -> Link {
        let start = Instant::now();
        let mut link =
            Link { start, now: start, cores: Vec::new(), addresses: Vec::new(), seen: Vec::new(), events: Vec::new(), mute: Vec::new() };
        for (i, host) in hosts.iter().enumerate() {
            let address = Ipv4Addr::new(192, 0, 2, 11 + i as u8);
            let mut core = Core::new(CoreConfig { host_label: host.as_bytes().to_vec(), seed: 1000 + i as u64, ipv4: true, ipv6: true }, start);
            core.set_interfaces(start, vec![InterfaceInfo { index: IF, name: "eth0".into(), ipv4: vec![address], ipv6: vec![], subnets: lab_subnet(), link_changes: 0 }]);
            link.cores.push(core);
            link.addresses.push(address);
        }
        link
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves packets and events until nothing more happens now.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.cores.len() {
                while let Some(event) = self.cores[i].poll_event() {
                    self.events.push((self.elapsed(), i, event));
                }
                while let Some(transmit) = self.cores[i].poll_transmit() {
                    moved = true;
                    let message = decode(&transmit.payload).expect("we send valid packets");
                    self.seen.push(Seen { at: self.elapsed(), from: i, transmit: transmit.clone(), message });
                    if self.mute.contains(&i) {
                        continue;
                    }
                    let source = SocketAddr::V4(SocketAddrV4::new(self.addresses[i], constants::MDNS_PORT));
                    let multicast = transmit.destination == multicast_v4();
                    for j in 0..self.cores.len() {
                        let addressed = multicast || transmit.destination.ip() == std::net::IpAddr::V4(self.addresses[j]);
                        if addressed {
                            let datagram = Datagram { ifindex: IF, source, multicast, payload: transmit.payload.clone() };
                            self.cores[j].handle_datagram(self.now, datagram);
                        }
                    }
                }
            }
            if !moved {
                for i in 0..self.cores.len() {
                    while let Some(event) = self.cores[i].poll_event() {
                        self.events.push((self.elapsed(), i, event));
                    }
                }
                return;
            }
        }
    }

    /// Runs the virtual clock forward by `span`, firing every deadline on the way.
    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        self.settle();
        loop {
            let next = self.cores.iter().filter_map(Core::poll_timeout).min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    for core in &mut self.cores {
                        if core.poll_timeout().is_some_and(|d| d <= self.now) {
                            core.handle_timeout(self.now);
                        }
                    }
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = end;
    }

    /// Delivers a packet from an outside host at 192.0.2.99.
    fn inject(&mut self, to: usize, message: &Message, source_port: u16, multicast: bool) {
        let source = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 99), source_port));
        self.inject_from(to, message, source, multicast);
    }

    /// Delivers a packet from `source`.
    fn inject_from(&mut self, to: usize, message: &Message, source: SocketAddr, multicast: bool) {
        let payload = message.to_vec().unwrap();
        self.cores[to].handle_datagram(self.now, Datagram { ifindex: IF, source, multicast, payload });
        self.settle();
    }

    fn packets_from(&self, i: usize) -> Vec<&Seen> {
        self.seen.iter().filter(|s| s.from == i).collect()
    }

    fn events_of(&self, i: usize) -> Vec<&Event> {
        self.events.iter().filter(|(_, c, _)| *c == i).map(|(_, _, e)| e).collect()
    }
}

fn is_probe(m: &Message) -> bool {
    m.metadata.message_type == MessageType::Query && !m.authorities.is_empty()
}

fn is_response(m: &Message) -> bool {
    m.metadata.message_type == MessageType::Response
}

fn has_record(m: &Message, owner: &str, rtype: RecordType) -> bool {
    m.answers.iter().any(|r| r.name == name(owner) && r.record_type() == rtype)
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[test]
fn probes_three_times_250ms_apart_then_announces_and_reports() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6));

    let probes: Vec<&Seen> = link
        .packets_from(0)
        .into_iter()
        .filter(|s| is_probe(&s.message) && s.message.queries[0].name() == &name("Svc._test._tcp.local."))
        .collect();
    assert_eq!(probes.len(), 3, "three probes");
    assert!(ms(probes[0].at) <= 250, "first probe after 0-250 ms, was {:?}", probes[0].at);
    assert_eq!(ms(probes[1].at - probes[0].at), 250);
    assert_eq!(ms(probes[2].at - probes[1].at), 250);
    for p in &probes {
        let q = &p.message.queries[0];
        assert_eq!(q.query_type(), RecordType::ANY);
        let types: Vec<RecordType> = p.message.authorities.iter().map(Record::record_type).collect();
        assert!(types.contains(&RecordType::SRV) && types.contains(&RecordType::TXT));
        assert!(p.message.authorities.iter().all(|r| !r.mdns_cache_flush), "no cache-flush bit in proposed records");
    }

    let announcements: Vec<&Seen> = link
        .packets_from(0)
        .into_iter()
        .filter(|s| is_response(&s.message) && has_record(&s.message, "Svc._test._tcp.local.", RecordType::SRV))
        .collect();
    assert_eq!(announcements.len(), 3, "three announcements");
    assert_eq!(ms(announcements[0].at - probes[2].at), 250, "first announcement 250 ms after the third probe");
    assert_eq!(ms(announcements[1].at - announcements[0].at), 1000);
    assert_eq!(ms(announcements[2].at - announcements[1].at), 2000);
    let first = &announcements[0].message;
    for r in &first.answers {
        match r.record_type() {
            RecordType::SRV | RecordType::TXT => assert!(r.mdns_cache_flush, "unique record without cache-flush: {r}"),
            RecordType::PTR => assert!(!r.mdns_cache_flush, "shared record with cache-flush: {r}"),
            _ => {}
        }
    }
    assert!(has_record(first, "_test._tcp.local.", RecordType::PTR));
    assert!(has_record(first, "_services._dns-sd._udp.local.", RecordType::PTR));
    assert!(first.additionals.iter().any(|r| r.record_type() == RecordType::A), "host address as additional");

    let registered: Vec<_> = link.events.iter().filter(|(_, _, e)| matches!(e, Event::Registered { .. })).collect();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].0, announcements[0].at, "reported when probing succeeds");
    assert!(matches!(&registered[0].2, Event::Registered { name, .. } if name == b"Svc"));
}

#[test]
fn host_name_is_probed_and_answers_address_queries_at_once() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_secs(5));
    assert!(link.packets_from(0).iter().any(|s| is_probe(&s.message) && s.message.queries[0].name() == &name("alpha.local.")));
    let before = link.seen.len();
    let mut query = new_query();
    query.queries.push(Query::query(name("ALPHA.local."), RecordType::A));
    link.inject(0, &query, 5353, true);
    let answer = &link.seen[before..].iter().find(|s| is_response(&s.message)).expect("answered at once").message;
    assert!(answer.answers.iter().any(|r| r.data == RData::A(Ipv4Addr::new(192, 0, 2, 11).into()) && r.mdns_cache_flush));
}

#[test]
fn shared_answers_wait_20_to_120ms_and_carry_additional_records() {
    let mut delays = Vec::new();
    for seed_round in 0..20 {
        let mut link = Link::new(&["alpha"]);
        link.cores[0].rng = rng::Rng::new(seed_round);
        link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
        link.run_for(Duration::from_secs(10));
        let before = link.seen.len();
        let asked = link.elapsed();
        let mut query = new_query();
        query.queries.push(Query::query(name("_test._tcp.local."), RecordType::PTR));
        link.inject(0, &query, 5353, true);
        link.run_for(Duration::from_millis(500));
        let answer = link.seen[before..].iter().find(|s| is_response(&s.message)).expect("answered");
        let delay = ms(answer.at - asked);
        assert!((20..=120).contains(&delay), "shared answer after {delay} ms");
        delays.push(delay);
        let m = &answer.message;
        assert!(has_record(m, "_test._tcp.local.", RecordType::PTR));
        let extra: Vec<RecordType> = m.additionals.iter().map(Record::record_type).collect();
        assert!(extra.contains(&RecordType::SRV) && extra.contains(&RecordType::TXT) && extra.contains(&RecordType::A));
        assert!(m.queries.is_empty(), "multicast responses carry no question");
    }
    delays.sort();
    assert!(delays[0] != delays[delays.len() - 1], "the delay is random");
}

#[test]
fn known_answer_suppresses_when_ttl_at_least_half() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let target = name("Svc._test._tcp.local.");
    for (ttl, expect_answer) in [(2250u32, false), (2249u32, true)] {
        link.run_for(Duration::from_secs(2)); // past the one-second rate limit
        let before = link.seen.len();
        let mut query = new_query();
        query.queries.push(Query::query(name("_test._tcp.local."), RecordType::PTR));
        query.answers.push(make_record(name("_test._tcp.local."), ttl, RData::PTR(PTR(target.clone())), false));
        link.inject(0, &query, 5353, true);
        link.run_for(Duration::from_millis(300));
        let answered = link.seen[before..].iter().any(|s| is_response(&s.message) && has_record(&s.message, "_test._tcp.local.", RecordType::PTR));
        assert_eq!(answered, expect_answer, "known answer with TTL {ttl}");
    }
}

#[test]
fn a_record_is_multicast_at_most_once_per_second() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let before = link.seen.len();
    for _ in 0..3 {
        let mut query = new_query();
        query.queries.push(Query::query(name("Svc._test._tcp.local."), RecordType::SRV));
        link.inject(0, &query, 5353, true);
        link.run_for(Duration::from_millis(300));
    }
    let answers = link.seen[before..].iter().filter(|s| has_record(&s.message, "Svc._test._tcp.local.", RecordType::SRV)).count();
    assert_eq!(answers, 1, "three queries within 900 ms give one multicast answer");
}

#[test]
fn legacy_unicast_query_gets_id_question_short_ttl_and_no_cache_flush() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let before = link.seen.len();
    let mut query = new_query();
    query.metadata.id = 0x1234;
    query.queries.push(Query::query(name("Svc._test._tcp.local."), RecordType::SRV));
    link.inject(0, &query, 40000, true);
    let reply = link.seen[before..].iter().find(|s| is_response(&s.message)).expect("legacy reply");
    assert_eq!(reply.transmit.destination, "192.0.2.99:40000".parse().unwrap());
    assert_eq!(reply.message.metadata.id, 0x1234);
    assert_eq!(reply.message.queries.len(), 1);
    for r in reply.message.answers.iter().chain(reply.message.additionals.iter()) {
        assert!(r.ttl <= 10 && !r.mdns_cache_flush, "legacy record {r}");
    }
}

/// Forty instances of `_test._tcp`, established on a one-host link.
fn link_with_many_instances() -> Link {
    let mut link = Link::new(&["alpha"]);
    for i in 0..40 {
        link.cores[0].register(link.now, spec(&format!("Svc{i:02}"), 8080)).unwrap();
    }
    link.run_for(Duration::from_secs(10));
    link
}

/// A legacy query from 192.0.2.99:40000, advertising `edns` bytes in an
/// OPT record if given; the replies sent back to it.
fn legacy_exchange(link: &mut Link, owner: &str, rtype: RecordType, edns: Option<u16>) -> Vec<Seen> {
    let before = link.seen.len();
    let mut query = new_query();
    query.metadata.id = 0x4242;
    query.queries.push(Query::query(name(owner), rtype));
    if let Some(size) = edns {
        let mut opt = hickory_proto::op::Edns::new();
        opt.set_max_payload(size);
        query.set_edns(opt);
    }
    link.inject(0, &query, 40000, true);
    link.run_for(Duration::from_millis(200));
    let to: SocketAddr = "192.0.2.99:40000".parse().unwrap();
    link.seen[before..].iter().filter(|s| s.transmit.destination == to).cloned().collect()
}

#[test]
fn legacy_reply_too_big_for_512_bytes_is_one_datagram_with_the_tc_bit() {
    let mut link = link_with_many_instances();
    let replies = legacy_exchange(&mut link, "_test._tcp.local.", RecordType::PTR, None);
    assert_eq!(replies.len(), 1, "exactly one datagram: {:?}", replies.iter().map(|r| r.transmit.payload.len()).collect::<Vec<_>>());
    let reply = &replies[0];
    assert!(reply.transmit.payload.len() <= constants::LEGACY_UNICAST_MAX_PAYLOAD, "{} bytes", reply.transmit.payload.len());
    let m = &reply.message;
    assert!(m.metadata.truncation, "TC set when answers were cut");
    assert_eq!(m.metadata.id, 0x4242);
    assert_eq!(m.queries.len(), 1);
    assert!(m.additionals.is_empty(), "additional records go before answers");
    assert!(!m.answers.is_empty() && m.answers.len() < 40, "{} of 40 answers", m.answers.len());
    assert!(m.answers.iter().all(|r| r.ttl <= constants::LEGACY_MAX_TTL && !r.mdns_cache_flush));
    assert!(m.edns.is_none(), "no OPT back to a query without one");
}

#[test]
fn legacy_reply_uses_the_payload_size_advertised_by_edns0() {
    let mut link = link_with_many_instances();
    let replies = legacy_exchange(&mut link, "_test._tcp.local.", RecordType::PTR, Some(1400));
    assert_eq!(replies.len(), 1, "exactly one datagram");
    let size = replies[0].transmit.payload.len();
    assert!(size > constants::LEGACY_UNICAST_MAX_PAYLOAD && size <= 1400, "{size} bytes");
    let m = &replies[0].message;
    assert!(!m.metadata.truncation, "every answer fits: no TC");
    assert_eq!(m.answers.len(), 40);
    assert!(!m.additionals.is_empty(), "additional records fill what room is left");
    assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(constants::MAX_PACKET_PAYLOAD as u16), "an OPT record comes back");
    // A larger advertised size is capped at the packet limit.
    link.run_for(Duration::from_secs(2));
    let replies = legacy_exchange(&mut link, "_test._tcp.local.", RecordType::PTR, Some(65000));
    assert_eq!(replies.len(), 1);
    assert!(replies[0].transmit.payload.len() <= constants::MAX_PACKET_PAYLOAD);
    assert!(replies[0].transmit.payload.len() > 1400, "{} bytes", replies[0].transmit.payload.len());
    // Less than 512 counts as 512 (RFC 6891 §6.2.5).
    let replies = legacy_exchange(&mut link, "_test._tcp.local.", RecordType::PTR, Some(100));
    assert_eq!(replies.len(), 1);
    let size = replies[0].transmit.payload.len();
    assert!(size > 400 && size <= constants::LEGACY_UNICAST_MAX_PAYLOAD, "{size} bytes");
    assert!(replies[0].message.metadata.truncation);
}

#[test]
fn legacy_reply_whose_only_answer_is_too_big_has_the_tc_bit_and_no_answer() {
    let mut link = Link::new(&["alpha"]);
    let mut big = spec("Big", 8080);
    big.txt = txt_of_len(700);
    link.cores[0].register(link.now, big).unwrap();
    link.run_for(Duration::from_secs(10));
    let replies = legacy_exchange(&mut link, "Big._test._tcp.local.", RecordType::TXT, None);
    assert_eq!(replies.len(), 1);
    assert!(replies[0].transmit.payload.len() <= constants::LEGACY_UNICAST_MAX_PAYLOAD);
    let m = &replies[0].message;
    assert!(m.metadata.truncation && m.answers.is_empty(), "{m:?}");
    // The SRV next to it is small: answered in full.
    let replies = legacy_exchange(&mut link, "Big._test._tcp.local.", RecordType::SRV, None);
    assert_eq!(replies.len(), 1);
    let m = &replies[0].message;
    assert!(!m.metadata.truncation && has_record(m, "Big._test._tcp.local.", RecordType::SRV));
    assert!(!m.additionals.iter().any(|r| r.record_type() == RecordType::TXT), "the big TXT is no additional record");
}

#[test]
fn cancel_sends_goodbyes_with_ttl_zero() {
    let mut link = Link::new(&["alpha"]);
    let handle = link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let before = link.seen.len();
    link.cores[0].cancel(link.now, handle).unwrap();
    link.settle();
    let goodbye = link.seen[before..].iter().find(|s| is_response(&s.message)).expect("goodbye sent at once");
    assert!(has_record(&goodbye.message, "Svc._test._tcp.local.", RecordType::SRV));
    assert!(has_record(&goodbye.message, "_test._tcp.local.", RecordType::PTR));
    assert!(goodbye.message.answers.iter().all(|r| r.ttl == 0));
    assert!(goodbye.message.answers.iter().all(|r| r.record_type() != RecordType::A), "no goodbye for host addresses");
}

#[test]
fn browse_queries_back_off_from_one_second_doubling() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_secs(3)); // host probing out of the way
    let start = link.elapsed();
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_secs(70));
    let queries: Vec<Duration> = link
        .packets_from(0)
        .into_iter()
        .filter(|s| !is_response(&s.message) && s.message.queries.iter().any(|q| q.name() == &name("_test._tcp.local.")))
        .map(|s| s.at - start)
        .collect();
    assert!((20..=120).contains(&ms(queries[0])), "first query after 20-120 ms: {queries:?}");
    let gaps: Vec<u128> = queries.windows(2).map(|w| ms(w[1] - w[0])).collect();
    assert_eq!(gaps, vec![1000, 2000, 4000, 8000, 16000, 32000], "intervals double from one second");
}

#[test]
fn browse_and_resolve_across_the_link_then_goodbye_removes() {
    let mut link = Link::new(&["alpha", "beta"]);
    let handle = link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(3));
    let browse = link.cores[1].browse(link.now, browse_spec());
    link.run_for(Duration::from_millis(300));
    let adds: Vec<&Event> = link.events_of(1).into_iter().filter(|e| matches!(e, Event::Browse { add: true, .. })).collect();
    assert_eq!(adds.len(), 1, "one add: {adds:?}");
    match adds[0] {
        Event::Browse { handle, instance, service_type, domain, ifindex, .. } => {
            assert_eq!(*handle, browse);
            assert_eq!(instance, b"Svc");
            assert_eq!(*service_type, name("_test._tcp.local."));
            assert_eq!(*domain, name("local."));
            assert_eq!(*ifindex, IF);
        }
        _ => unreachable!(),
    }
    // The PTR answer carried SRV and TXT as additional records: resolving is immediate.
    let resolve = link.cores[1].resolve(link.now, ResolveSpec { fullname: name("Svc._test._tcp.local."), ifindex: 0 });
    link.settle();
    let resolved = link.events_of(1).into_iter().find(|e| matches!(e, Event::Resolved { .. })).cloned().expect("resolved from cache");
    assert_eq!(
        resolved,
        Event::Resolved {
            handle: resolve,
            fullname: name("Svc._test._tcp.local."),
            target: name("alpha.local."),
            port: 8080,
            txt: b"\x05a=one".to_vec(),
            ifindex: IF
        }
    );
    // Goodbye: the instance goes away one second later (RFC 6762 §10.1).
    link.cores[0].cancel(link.now, handle).unwrap();
    let gone_at = link.elapsed();
    link.run_for(Duration::from_secs(2));
    let removes: Vec<_> = link.events.iter().filter(|(_, c, e)| *c == 1 && matches!(e, Event::Browse { add: false, .. })).collect();
    assert_eq!(removes.len(), 1);
    assert_eq!(ms(removes[0].0 - gone_at), 1000);
}

#[test]
fn resolve_asks_for_srv_and_txt_when_nothing_is_cached() {
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6));
    let resolve = link.cores[1].resolve(link.now, ResolveSpec { fullname: name("svc._TEST._tcp.local."), ifindex: 0 });
    link.run_for(Duration::from_millis(200));
    let resolved = link.events_of(1).into_iter().any(|e| matches!(e, Event::Resolved { handle, port: 8080, .. } if *handle == resolve));
    assert!(resolved, "resolved within 200 ms (query 20-120 ms, unique answers at once)");
}

#[test]
fn same_name_on_two_hosts_ends_with_one_renamed() {
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[0].register(link.now, spec("Clash", 1111)).unwrap();
    link.run_for(Duration::from_secs(5));
    link.cores[1].register(link.now, spec("Clash", 2222)).unwrap();
    link.run_for(Duration::from_secs(5));
    let names0: Vec<Vec<u8>> = link.events_of(0).into_iter().filter_map(|e| match e { Event::Registered { name, .. } => Some(name.clone()), _ => None }).collect();
    let names1: Vec<Vec<u8>> = link.events_of(1).into_iter().filter_map(|e| match e { Event::Registered { name, .. } => Some(name.clone()), _ => None }).collect();
    assert_eq!(names0, vec![b"Clash".to_vec()]);
    assert_eq!(names1, vec![b"Clash (2)".to_vec()], "the newcomer renames");
}

#[test]
fn simultaneous_probes_are_settled_by_tie_break() {
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[0].register(link.now, spec("Same", 1111)).unwrap();
    link.cores[1].register(link.now, spec("Same", 2222)).unwrap();
    link.run_for(Duration::from_secs(10));
    let mut names: Vec<Vec<u8>> = link
        .events
        .iter()
        .filter_map(|(_, _, e)| match e { Event::Registered { name, .. } => Some(name.clone()), _ => None })
        .collect();
    names.sort();
    assert_eq!(names, vec![b"Same".to_vec(), b"Same (2)".to_vec()]);
}

#[test]
fn identical_records_from_two_hosts_are_no_conflict() {
    let mut link = Link::new(&["alpha", "beta"]);
    let mut same = spec("Twin", 1111);
    same.host = Some(name("shared.local."));
    link.cores[0].register(link.now, same.clone()).unwrap();
    link.cores[1].register(link.now, same).unwrap();
    link.run_for(Duration::from_secs(10));
    let names: Vec<Vec<u8>> =
        link.events.iter().filter_map(|(_, _, e)| match e { Event::Registered { name, .. } => Some(name.clone()), _ => None }).collect();
    assert_eq!(names, vec![b"Twin".to_vec(), b"Twin".to_vec()]);
}

#[test]
fn no_auto_rename_reports_the_conflict() {
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[0].register(link.now, spec("Mine", 1111)).unwrap();
    link.run_for(Duration::from_secs(5));
    let mut strict = spec("Mine", 2222);
    strict.auto_rename = false;
    let handle = link.cores[1].register(link.now, strict).unwrap();
    link.run_for(Duration::from_secs(5));
    assert!(link.events_of(1).contains(&&Event::NameConflict { handle }));
    assert!(!link.events_of(1).iter().any(|e| matches!(e, Event::Registered { .. })));
}

#[test]
fn later_conflict_reprobes_then_renames() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Late", 1111)).unwrap();
    link.run_for(Duration::from_secs(10));
    // Another host claims the name with other data, twice.
    let mut rival = new_response(0);
    let srv = SRV::new(0, 0, 9999, name("rival.local."));
    rival.answers.push(make_record(name("Late._test._tcp.local."), 120, RData::SRV(srv), true));
    link.inject(0, &rival, 5353, true);
    link.run_for(Duration::from_millis(300)); // now re-probing the same name
    let reprobed = link.seen.iter().rev().take(3).any(|s| is_probe(&s.message) && s.message.queries[0].name() == &name("Late._test._tcp.local."));
    assert!(reprobed, "re-probes the same name first");
    link.inject(0, &rival, 5353, true);
    link.run_for(Duration::from_secs(3));
    let names: Vec<Vec<u8>> =
        link.events_of(0).into_iter().filter_map(|e| match e { Event::Registered { name, .. } => Some(name.clone()), _ => None }).collect();
    assert_eq!(names, vec![b"Late".to_vec(), b"Late (2)".to_vec()]);
}

#[test]
fn host_name_conflict_renames_host() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_millis(300)); // first probe is out
    let mut rival = new_response(0);
    rival.answers.push(make_record(name("alpha.local."), 120, RData::A(Ipv4Addr::new(192, 0, 2, 77).into()), true));
    link.inject(0, &rival, 5353, true);
    link.run_for(Duration::from_secs(3));
    assert_eq!(link.cores[0].host_name(), &name("alpha-2.local."));
}

#[test]
fn own_machine_addresses_for_our_host_name_are_no_conflict() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_millis(300));
    let mut same_host = new_response(0);
    same_host.answers.push(make_record(name("alpha.local."), 120, RData::A(Ipv4Addr::new(192, 0, 2, 11).into()), true));
    link.inject(0, &same_host, 5353, true);
    link.run_for(Duration::from_secs(3));
    assert_eq!(link.cores[0].host_name(), &name("alpha.local."));
}

#[test]
fn cache_expires_records_at_ttl_and_refreshes_from_80_percent() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_secs(3));
    let browse = link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_secs(1));
    let start = link.elapsed();
    let mut announce = new_response(0);
    announce.answers.push(make_record(name("_test._tcp.local."), 100, RData::PTR(PTR(name("Other._test._tcp.local."))), false));
    link.inject(0, &announce, 5353, true);
    assert!(link.events_of(0).iter().any(|e| matches!(e, Event::Browse { add: true, handle, .. } if *handle == browse)));
    link.run_for(Duration::from_secs(101));
    let refreshes: Vec<u128> = link
        .packets_from(0)
        .into_iter()
        .filter(|s| s.at > start && !is_response(&s.message) && s.message.queries.len() == 1 && s.message.answers.is_empty())
        .map(|s| ms(s.at - start))
        .filter(|t| *t >= 79_000)
        .collect();
    let windows = [(80_000, 82_000), (85_000, 87_000), (90_000, 92_000), (95_000, 97_000)];
    for (lo, hi) in windows {
        assert!(refreshes.iter().any(|t| (lo..=hi).contains(t)), "refresh query in {lo}-{hi} ms: {refreshes:?}");
    }
    let removed = link.events.iter().find(|(_, c, e)| *c == 0 && matches!(e, Event::Browse { add: false, .. })).expect("removed");
    assert_eq!(ms(removed.0 - start), 100_000, "removed at the TTL");
}

#[test]
fn cache_flush_replaces_old_rdata_after_one_second() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_secs(3));
    let q = link.cores[0].query(link.now, QuerySpec { name: name("x._test._tcp.local."), rtype: 33, ifindex: 0 });
    let srv = |port| make_record(name("x._test._tcp.local."), 120, RData::SRV(SRV::new(0, 0, port, name("h.local."))), true);
    let mut first = new_response(0);
    first.answers.push(srv(1000));
    link.inject(0, &first, 5353, true);
    link.run_for(Duration::from_secs(2));
    let mut second = new_response(0);
    second.answers.push(srv(2000));
    link.inject(0, &second, 5353, true);
    let changed_at = link.elapsed();
    link.run_for(Duration::from_secs(2));
    let removes: Vec<_> = link.events.iter().filter(|(_, _, e)| matches!(e, Event::Record { add: false, handle, .. } if *handle == q)).collect();
    assert_eq!(removes.len(), 1);
    assert_eq!(ms(removes[0].0 - changed_at), 1000);
}

#[test]
fn malformed_and_off_rule_packets_are_dropped() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let before = link.seen.len();
    let source = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 99), 5353));
    for payload in [vec![], vec![0u8; 3], vec![0xff; 12], vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 12, 0, 1]] {
        link.cores[0].handle_datagram(link.now, Datagram { ifindex: IF, source, multicast: true, payload });
    }
    // A response from a port other than 5353 is not cached.
    let browse = link.cores[0].browse(link.now, browse_spec());
    let mut stray = new_response(0);
    stray.answers.push(make_record(name("_test._tcp.local."), 100, RData::PTR(PTR(name("Stray._test._tcp.local."))), false));
    link.inject(0, &stray, 5354, true);
    link.run_for(Duration::from_millis(10));
    assert!(!link.events_of(0).iter().any(|e| matches!(e, Event::Browse { instance, handle, .. } if *handle == browse && instance == b"Stray")));
    assert!(link.seen[before..].iter().all(|s| !is_response(&s.message)), "no answers to garbage");
}

#[test]
fn txt_update_is_announced_without_probing_and_reaches_a_running_resolve() {
    let mut link = Link::new(&["alpha", "beta"]);
    let handle = link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6));
    let resolve = link.cores[1].resolve(link.now, ResolveSpec { fullname: name("Svc._test._tcp.local."), ifindex: 0 });
    link.run_for(Duration::from_millis(300));
    let before = link.seen.len();
    link.cores[0].update_txt(link.now, handle, b"\x05a=two".to_vec()).unwrap();
    link.run_for(Duration::from_secs(4));
    let sent: Vec<&Seen> = link.seen[before..].iter().filter(|s| s.from == 0).collect();
    assert!(sent.iter().all(|s| !is_probe(&s.message)), "an update is not probed again");
    let announcements: Vec<&&Seen> = sent.iter().filter(|s| has_record(&s.message, "Svc._test._tcp.local.", RecordType::TXT)).collect();
    assert_eq!(announcements.len(), 3, "the update is announced like a new record");
    let txt = announcements[0].message.answers.iter().find(|r| r.record_type() == RecordType::TXT).unwrap();
    assert!(txt.mdns_cache_flush);
    let results: Vec<Vec<u8>> = link
        .events_of(1)
        .into_iter()
        .filter_map(|e| match e { Event::Resolved { handle, txt, .. } if *handle == resolve => Some(txt.clone()), _ => None })
        .collect();
    assert_eq!(results, vec![b"\x05a=one".to_vec(), b"\x05a=two".to_vec()]);
}

#[test]
fn another_responder_on_this_host_publishing_our_ipv6_address_is_no_conflict() {
    let mut link = Link::new(&["alpha"]);
    let own_v6: std::net::Ipv6Addr = "2001:db8::11".parse().unwrap();
    let info = InterfaceInfo { index: IF, name: "eth0".into(), ipv4: vec![Ipv4Addr::new(192, 0, 2, 11)], ipv6: vec![own_v6], subnets: lab_subnet(), link_changes: 0 };
    link.cores[0].set_interfaces(link.now, vec![info]);
    link.run_for(Duration::from_millis(300));
    let aaaa = |addr: std::net::Ipv6Addr| {
        let mut m = new_response(0);
        m.answers.push(make_record(name("alpha.local."), 120, RData::AAAA(addr.into()), true));
        m
    };
    // Both arrive while the host name is being probed.
    link.inject(0, &aaaa(own_v6), 5353, true);
    link.run_for(Duration::from_millis(100));
    assert_eq!(link.cores[0].host_name(), &name("alpha.local."), "avahi on this host publishing our AAAA");
    link.inject(0, &aaaa("2001:db8::77".parse().unwrap()), 5353, true);
    link.run_for(Duration::from_secs(3));
    assert_eq!(link.cores[0].host_name(), &name("alpha-2.local."), "a rival's AAAA is a conflict");
}

#[test]
fn host_publishes_a_and_aaaa_and_link_local_only_without_a_routable_address() {
    let mut link = Link::new(&["alpha"]);
    let global: std::net::Ipv6Addr = "2001:db8::11".parse().unwrap();
    let link_local: std::net::Ipv6Addr = "fe80::1".parse().unwrap();
    let set = |core: &mut Core, now, ipv4: Vec<Ipv4Addr>, ipv6| {
        core.set_interfaces(now, vec![InterfaceInfo { index: IF, name: "eth0".into(), ipv4, ipv6, subnets: lab_subnet(), link_changes: 0 }]);
    };
    set(&mut link.cores[0], link.now, vec![Ipv4Addr::new(192, 0, 2, 11)], vec![link_local, global]);
    let published = link.cores[0].published(IF);
    assert_eq!(published.v4, vec![Ipv4Addr::new(192, 0, 2, 11)]);
    assert_eq!(published.v6, vec![global], "fe80:: left out beside a routable address");
    set(&mut link.cores[0], link.now, vec![], vec![link_local]);
    assert_eq!(link.cores[0].published(IF).v6, vec![link_local], "only link-local: published");

    // Announcements go to both groups; the host answers AAAA queries.
    set(&mut link.cores[0], link.now, vec![Ipv4Addr::new(192, 0, 2, 11)], vec![global]);
    link.run_for(Duration::from_secs(3));
    let destinations: std::collections::BTreeSet<SocketAddr> = link.packets_from(0).iter().map(|s| s.transmit.destination).collect();
    assert!(destinations.contains(&multicast_v4()) && destinations.contains(&multicast_v6()), "{destinations:?}");
    let before = link.seen.len();
    let mut query = new_query();
    query.queries.push(Query::query(name("alpha.local."), RecordType::AAAA));
    link.inject(0, &query, 5353, true);
    let answer = link.seen[before..].iter().find(|s| is_response(&s.message)).expect("AAAA answered");
    assert!(answer.message.answers.iter().any(|r| r.data == RData::AAAA(global.into())));
}

#[test]
fn reverse_ptr_and_nsec_negative_answers() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let ask = |link: &mut Link, qname: &str, qtype: RecordType| -> Option<Message> {
        link.run_for(Duration::from_secs(2));
        let before = link.seen.len();
        let mut query = new_query();
        query.queries.push(Query::query(name(qname), qtype));
        link.inject(0, &query, 5353, true);
        link.run_for(Duration::from_millis(200));
        link.seen[before..].iter().find(|s| is_response(&s.message)).map(|s| s.message.clone())
    };
    let reverse = ask(&mut link, "11.2.0.192.in-addr.arpa.", RecordType::PTR).expect("reverse PTR answered");
    assert!(reverse.answers.iter().any(|r| r.data == RData::PTR(PTR(name("alpha.local.")))));

    // The host has no IPv6 address here: AAAA gets an NSEC saying "A only".
    let negative = ask(&mut link, "alpha.local.", RecordType::AAAA).expect("negative answer");
    let nsec = negative.answers.iter().find(|r| r.record_type() == RecordType::NSEC).expect("NSEC");
    assert!(nsec.mdns_cache_flush);
    let RData::Unknown { rdata, .. } = &nsec.data else { panic!("{nsec:?}") };
    let bitmap = &rdata.anything[rdata.anything.len() - 3..];
    assert_eq!(bitmap, &[0, 1, 0x40], "window 0, one byte, only A");

    // An instance has SRV and TXT only.
    let negative = ask(&mut link, "Svc._test._tcp.local.", RecordType::A).expect("negative answer");
    assert!(negative.answers.iter().any(|r| r.record_type() == RecordType::NSEC));
    // A name we do not own gets silence.
    assert!(ask(&mut link, "nobody.local.", RecordType::A).is_none());
}

#[test]
fn off_link_sources_get_no_unicast_replies() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let off_link = |port| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 7), port));
    let srv_query = |qu: bool| {
        let mut query = new_query();
        let mut q = Query::query(name("Svc._test._tcp.local."), RecordType::SRV);
        q.set_mdns_unicast_response(qu);
        query.queries.push(q);
        query
    };
    // A legacy query from off link: silence (no amplification).
    let before = link.seen.len();
    link.inject_from(0, &srv_query(false), off_link(40000), true);
    link.inject_from(0, &srv_query(false), off_link(40000), false);
    link.run_for(Duration::from_millis(300));
    assert!(link.seen[before..].iter().all(|s| !is_response(&s.message)), "no reply to an off-link legacy query");
    // A unicast-response question from off link is answered by multicast.
    link.run_for(Duration::from_secs(2));
    let before = link.seen.len();
    link.inject_from(0, &srv_query(true), off_link(5353), true);
    link.run_for(Duration::from_millis(300));
    let replies: Vec<&Seen> = link.seen[before..].iter().filter(|s| is_response(&s.message)).collect();
    assert!(!replies.is_empty() && replies.iter().all(|s| s.transmit.destination == multicast_v4() || s.transmit.destination == multicast_v6()));
    // The same legacy query from on link is answered by unicast.
    let before = link.seen.len();
    link.inject(0, &srv_query(false), 40000, true);
    assert!(link.seen[before..].iter().any(|s| s.transmit.destination == "192.0.2.99:40000".parse().unwrap()));
}

#[test]
fn hostile_and_mangled_packets_never_panic_and_never_grow_the_cache_without_bound() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_secs(6));
    let valid: Vec<Vec<u8>> = link.seen.iter().map(|s| s.transmit.payload.clone()).collect();
    let mut rng = rng::Rng::new(99);
    let source = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 99), 5353));
    for round in 0..10_000u32 {
        let mut payload = valid[(round as usize) % valid.len()].clone();
        match round % 4 {
            0 => {
                let i = rng.range(0, payload.len() as u64 - 1) as usize;
                payload[i] = rng.next_u64() as u8;
            }
            1 => payload.truncate(rng.range(0, payload.len() as u64) as usize),
            2 => payload = (0..rng.range(0, 600)).map(|_| rng.next_u64() as u8).collect(),
            _ => {
                // Compression pointers aimed at themselves and at each other.
                payload.extend_from_slice(&[0xc0, 0x0c, 0xc0, (payload.len() as u8).wrapping_sub(2)]);
                let i = rng.range(12, payload.len() as u64 - 1) as usize;
                payload[i] = 0xc0;
            }
        }
        link.cores[0].handle_datagram(link.now, Datagram { ifindex: IF, source, multicast: true, payload });
        link.cores[0].handle_timeout(link.now);
        while link.cores[0].poll_transmit().is_some() {}
        while link.cores[0].poll_event().is_some() {}
    }
    // A flood of distinct valid records stays within the cache bound.
    for i in 0..5000u32 {
        let mut flood = new_response(0);
        let target = name(&format!("f{i}._test._tcp.local."));
        flood.answers.push(make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(target)), false));
        let payload = flood.to_vec().unwrap();
        link.cores[0].handle_datagram(link.now, Datagram { ifindex: IF, source, multicast: true, payload });
        while link.cores[0].poll_event().is_some() {}
    }
    let cached: usize = link.cores[0].interfaces.values().map(|i| i.cache.len()).sum();
    assert!(cached <= constants::CACHE_MAX_RECORDS_PER_INTERFACE, "cache holds {cached}");
}

#[test]
fn two_unanswered_queries_from_others_flush_a_cached_record_after_ten_seconds() {
    for answered in [false, true] {
        let mut link = Link::new(&["alpha"]);
        link.run_for(Duration::from_secs(3));
        let browse = link.cores[0].browse(link.now, browse_spec());
        let ptr = make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(name("Gone._test._tcp.local."))), false);
        let mut announce = new_response(0);
        announce.answers.push(ptr.clone());
        link.inject(0, &announce, 5353, true);
        link.run_for(Duration::from_secs(70)); // our own queries settle into long intervals
        let other = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 98), 5353));
        let mut query = new_query();
        query.queries.push(Query::query(name("_test._tcp.local."), RecordType::PTR));
        link.inject_from(0, &query, other, true);
        link.run_for(Duration::from_secs(1));
        link.inject_from(0, &query, other, true);
        let second = link.elapsed();
        if answered {
            link.run_for(Duration::from_secs(5));
            link.inject(0, &announce, 5353, true);
        }
        link.run_for(Duration::from_secs(12));
        let removed: Vec<Duration> = link
            .events
            .iter()
            .filter(|(_, _, e)| matches!(e, Event::Browse { add: false, handle, .. } if *handle == browse))
            .map(|(t, _, _)| *t - second)
            .collect();
        if answered {
            assert!(removed.is_empty(), "an answer keeps the record: {removed:?}");
        } else {
            assert_eq!(removed, vec![Duration::from_secs(10)], "flushed ten seconds after the second unanswered query");
        }
    }
}

#[test]
fn another_hosts_identical_question_counts_as_ours() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_secs(3));
    let start = link.elapsed();
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_millis(900)); // the first query is out; the next is due at ~1.02-1.12 s
    let other = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 98), 5353));
    let mut query = new_query();
    query.queries.push(Query::query(name("_test._tcp.local."), RecordType::PTR));
    link.inject_from(0, &query, other, true);
    let heard = link.elapsed();
    link.run_for(Duration::from_secs(5));
    let ours: Vec<Duration> = link
        .packets_from(0)
        .into_iter()
        .filter(|s| s.at >= start && !is_response(&s.message) && s.message.queries.iter().any(|q| q.name() == &name("_test._tcp.local.")))
        .map(|s| s.at)
        .collect();
    assert_eq!(ours.len(), 2, "first query, then one after the suppressed slot: {ours:?}");
    assert_eq!(ours[1] - heard, Duration::from_secs(2), "the next query follows the other host's as if it were ours");
}

#[test]
fn known_answers_that_do_not_fit_continue_in_truncated_packets() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_secs(3));
    let mut announce = new_response(0);
    for i in 0..150 {
        let target = name(&format!("a-rather-long-instance-name-number-{i:03}._test._tcp.local."));
        announce.answers.push(make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(target)), false));
    }
    for chunk in announce.answers.chunks(20) {
        let mut part = new_response(0);
        part.answers = chunk.to_vec();
        link.inject(0, &part, 5353, true);
    }
    let start = link.elapsed();
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_millis(200));
    let burst: Vec<&Seen> = link.packets_from(0).into_iter().filter(|s| s.at > start && !is_response(&s.message)).collect();
    assert!(burst.len() >= 3, "{} packets", burst.len());
    assert_eq!(burst[0].message.queries.len(), 1);
    assert!(burst[1..].iter().all(|s| s.message.queries.is_empty()), "continuations carry no question");
    let last = burst.len() - 1;
    for (i, s) in burst.iter().enumerate() {
        assert_eq!(s.message.metadata.truncation, i != last, "TC on all but the last");
        assert!(s.transmit.payload.len() <= constants::MAX_PACKET_PAYLOAD);
        assert_eq!(s.at, burst[0].at, "sent back to back");
    }
    let listed: usize = burst.iter().map(|s| s.message.answers.len()).sum();
    assert_eq!(listed, 150, "every known answer listed once");
}

#[test]
fn a_truncated_query_is_answered_after_its_continuations_with_all_known_answers() {
    for listed_in_continuation in [true, false] {
        let mut link = Link::new(&["alpha"]);
        link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
        link.run_for(Duration::from_secs(10));
        let before = link.seen.len();
        let mut first = new_query();
        first.metadata.truncation = true;
        first.queries.push(Query::query(name("_test._tcp.local."), RecordType::PTR));
        first.answers.push(make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(name("Other._test._tcp.local."))), false));
        link.inject(0, &first, 5353, true);
        link.run_for(Duration::from_millis(100));
        let mut second = new_query();
        if listed_in_continuation {
            second.answers.push(make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(name("Svc._test._tcp.local."))), false));
        } else {
            second.answers.push(make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(name("Third._test._tcp.local."))), false));
        }
        link.inject(0, &second, 5353, true);
        let last_packet = link.elapsed();
        link.run_for(Duration::from_secs(1));
        let answers: Vec<&Seen> =
            link.seen[before..].iter().filter(|s| has_record(&s.message, "_test._tcp.local.", RecordType::PTR)).collect();
        if listed_in_continuation {
            assert!(answers.is_empty(), "known answer in the continuation suppresses ours");
        } else {
            assert_eq!(answers.len(), 1);
            let waited = ms(answers[0].at - last_packet);
            assert!((400..=500).contains(&waited), "answered {waited} ms after the last packet");
        }
    }
}

#[test]
fn our_records_understated_by_another_host_are_announced_again() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    // Another host (say avahi-daemon on this machine, exiting) says goodbye
    // to records we publish too: we multicast them again with the full TTL.
    for (record, full_ttl) in [
        (make_record(name("Svc._test._tcp.local."), 10, RData::SRV(SRV::new(0, 0, 8080, name("alpha.local."))), true), 120),
        (make_record(name("alpha.local."), 0, RData::A(Ipv4Addr::new(192, 0, 2, 11).into()), true), 120),
    ] {
        link.run_for(Duration::from_secs(2));
        let before = link.seen.len();
        let mut message = new_response(0);
        message.answers.push(record.clone());
        link.inject(0, &message, 5353, true);
        let again = link.seen[before..].iter().find(|s| is_response(&s.message)).expect("announced again");
        let key = crate::wire::message::RecordKey::of(&record);
        let ours = again.message.answers.iter().find(|r| crate::wire::message::RecordKey::of(r) == key).expect("the same record");
        assert_eq!(ours.ttl, full_ttl);
    }
    // Our own TTL, or more than half of it, is left alone.
    link.run_for(Duration::from_secs(2));
    let before = link.seen.len();
    let mut fine = new_response(0);
    fine.answers.push(make_record(name("Svc._test._tcp.local."), 100, RData::SRV(SRV::new(0, 0, 8080, name("alpha.local."))), true));
    link.inject(0, &fine, 5353, true);
    assert!(link.seen[before..].iter().all(|s| !is_response(&s.message)));
}

#[test]
fn goodbyes_keep_what_other_registrations_still_publish_and_renames_withdraw_old_ptrs() {
    let mut link = Link::new(&["alpha"]);
    let first = link.cores[0].register(link.now, spec("One", 1001)).unwrap();
    link.cores[0].register(link.now, spec("Two", 1002)).unwrap();
    link.run_for(Duration::from_secs(10));
    let before = link.seen.len();
    link.cores[0].cancel(link.now, first).unwrap();
    link.settle();
    let goodbye = &link.seen[before..].iter().find(|s| is_response(&s.message)).expect("goodbye").message;
    assert!(has_record(goodbye, "_test._tcp.local.", RecordType::PTR), "the instance PTR goes");
    assert!(!has_record(goodbye, "_services._dns-sd._udp.local.", RecordType::PTR), "the type is still offered by Two");

    // A name lost after it was announced: goodbye for the old PTR, then the new name.
    let mut rival = new_response(0);
    rival.answers.push(make_record(name("Two._test._tcp.local."), 120, RData::SRV(SRV::new(0, 0, 9, name("rival.local."))), true));
    link.inject(0, &rival, 5353, true);
    link.run_for(Duration::from_millis(300));
    let before = link.seen.len();
    link.inject(0, &rival, 5353, true);
    link.run_for(Duration::from_secs(3));
    let old_ptr_gone = link.seen[before..].iter().any(|s| {
        s.message.answers.iter().any(|r| r.ttl == 0 && r.data == RData::PTR(PTR(name("Two._test._tcp.local."))))
    });
    assert!(old_ptr_gone, "PTR goodbye for the old name");
    assert!(link.events_of(0).iter().any(|e| matches!(e, Event::Registered { name, .. } if name == b"Two (2)")));
}

#[test]
fn browsing_the_enumeration_name_lists_service_types() {
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    let mut other = spec("Web", 80);
    other.service_type = name("_http._tcp.local.");
    link.cores[0].register(link.now, other).unwrap();
    link.run_for(Duration::from_secs(6));
    let handle = link.cores[1].browse(
        link.now,
        BrowseSpec { browse_name: name("_services._dns-sd._udp.local."), service_type: Name::root(), domain: name("local."), ifindex: 0 },
    );
    link.run_for(Duration::from_millis(300));
    let mut found: Vec<(Vec<u8>, Name)> = link
        .events_of(1)
        .into_iter()
        .filter_map(|e| match e {
            Event::Browse { handle: h, add: true, instance, service_type, .. } if *h == handle => Some((instance.clone(), service_type.clone())),
            _ => None,
        })
        .collect();
    found.sort();
    assert_eq!(found, vec![(b"_http".to_vec(), name("_tcp.local.")), (b"_test".to_vec(), name("_tcp.local."))]);
}

#[test]
fn fifteen_conflicts_in_ten_seconds_slow_probing_to_one_attempt_per_five_seconds() {
    let mut link = Link::new(&["alpha"]);
    link.run_for(Duration::from_secs(3)); // the host name is settled
    link.cores[0].register(link.now, spec("Busy", 1)).unwrap();
    // A rival claims every name we probe, as soon as the probe is out.
    let mut seen = link.seen.len();
    let mut attempts: Vec<(Duration, Name)> = Vec::new();
    for _ in 0..(60_000 / 20) {
        link.run_for(Duration::from_millis(20));
        let probes: Vec<(Duration, Name)> = link.seen[seen..]
            .iter()
            .filter(|s| s.from == 0 && is_probe(&s.message) && s.message.queries[0].name().num_labels() == 4)
            .map(|s| (s.at, s.message.queries[0].name().clone()))
            .collect();
        seen = link.seen.len();
        for (at, probed) in probes {
            if attempts.last().is_none_or(|(_, n)| *n != probed) {
                attempts.push((at, probed.clone()));
            }
            let mut rival = new_response(0);
            rival.answers.push(make_record(probed, 120, RData::SRV(SRV::new(0, 0, 9, name("rival.local."))), true));
            link.inject(0, &rival, 5353, true);
        }
    }
    assert!(attempts.len() > 18, "{} attempts", attempts.len());
    let gaps: Vec<u128> = attempts.windows(2).map(|w| ms(w[1].0 - w[0].0)).collect();
    assert!(gaps[..14].iter().all(|g| *g < 1000), "the first fifteen attempts are quick: {gaps:?}");
    assert!(gaps[15..].iter().all(|g| *g >= 5000), "after fifteen conflicts, one attempt per five seconds: {gaps:?}");
}

#[test]
fn an_announcement_too_big_for_one_packet_is_split() {
    let mut link = Link::new(&["alpha"]);
    let mut big = spec("Many", 9);
    big.subtypes = (0..120).map(|i| name(&format!("_feature-number-{i:03}._sub._test._tcp.local."))).collect();
    link.cores[0].register(link.now, big).unwrap();
    link.run_for(Duration::from_secs(2));
    let first_round: Vec<&Seen> = link
        .packets_from(0)
        .into_iter()
        .filter(|s| is_response(&s.message) && s.message.answers.iter().any(|r| r.name.to_string().contains("_feature-number")))
        .collect();
    let at = first_round[0].at;
    let burst: Vec<&&Seen> = first_round.iter().filter(|s| s.at == at).collect();
    assert!(burst.len() >= 2, "split into {} packets", burst.len());
    assert!(burst.iter().all(|s| s.transmit.payload.len() <= constants::MAX_PACKET_PAYLOAD));
    let subtype_ptrs: usize = burst.iter().map(|s| s.message.answers.iter().filter(|r| r.name.to_string().contains("._sub.")).count()).sum();
    assert_eq!(subtype_ptrs, 120, "every subtype PTR announced once");
}

#[test]
fn records_added_updated_and_removed_at_run_time() {
    let mut link = Link::new(&["alpha", "beta"]);
    let handle = link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let q = link.cores[1].query(link.now, QuerySpec { name: name("Svc._test._tcp.local."), rtype: 13, ifindex: 0 });
    let hinfo = |cpu: &[u8]| [&[cpu.len() as u8][..], cpu, &[5], b"Linux"].concat();
    let before = link.seen.len();
    let id = link.cores[0].change_records(link.now, handle, RecordChange::Add { rtype: 13, rdata: hinfo(b"x86"), ttl: 0 }).unwrap();
    link.run_for(Duration::from_secs(4));
    assert!(link.seen[before..].iter().all(|s| !is_probe(&s.message)), "no new probing");
    let announced = link.seen[before..]
        .iter()
        .filter(|s| s.from == 0 && is_response(&s.message) && has_record(&s.message, "Svc._test._tcp.local.", RecordType::HINFO))
        .count();
    assert_eq!(announced, 3, "the added record is announced");
    link.cores[0].change_records(link.now, handle, RecordChange::Update { record: Some(id), rdata: hinfo(b"arm"), ttl: 0 }).unwrap();
    link.run_for(Duration::from_secs(3));
    link.cores[0].change_records(link.now, handle, RecordChange::Remove { record: id }).unwrap();
    link.run_for(Duration::from_secs(3));
    let seen: Vec<(bool, Vec<u8>)> = link
        .events_of(1)
        .into_iter()
        .filter_map(|e| match e { Event::Record { handle: h, add, rdata, .. } if *h == q => Some((*add, rdata.clone())), _ => None })
        .collect();
    assert_eq!(
        seen,
        vec![(true, hinfo(b"x86")), (true, hinfo(b"arm")), (false, hinfo(b"x86")), (false, hinfo(b"arm"))],
        "added, replaced (cache flush drops the old one), then removed by its goodbye"
    );
}

/// Well-formed TXT data of exactly `len` bytes (strings of 255 bytes, then
/// one shorter).
fn txt_of_len(len: usize) -> Vec<u8> {
    let mut txt = Vec::with_capacity(len);
    while len - txt.len() >= 255 {
        txt.push(254);
        txt.extend([b'v'; 254]);
    }
    let rest = len - txt.len();
    if rest > 0 {
        txt.push(rest as u8 - 1);
        txt.extend(std::iter::repeat_n(b'w', rest - 1));
    }
    txt
}

/// The largest rdata a record of `Svc._test._tcp.local.` may carry: the
/// 9000-byte packet less IP and UDP headers, the DNS header, the name
/// (22 bytes uncompressed) and the fixed fields.
const SVC_MAX_RDATA: usize = constants::ABSOLUTE_MAX_PAYLOAD - 12 - 22 - 10;
/// The same when the instance label may grow to 63 bytes by renaming.
const RENAMABLE_MAX_RDATA: usize = constants::ABSOLUTE_MAX_PAYLOAD - 12 - (1 + 63 + 18) - 10;

#[test]
fn records_too_big_for_a_9000_byte_packet_are_refused() {
    let mut link = Link::new(&["alpha"]);
    let mut fixed = spec("Svc", 8080);
    fixed.auto_rename = false;
    let handle = link.cores[0].register(link.now, fixed).unwrap();
    link.run_for(Duration::from_secs(10));
    let add = |rdata_len: usize| RecordChange::Add { rtype: 65280, rdata: vec![7; rdata_len], ttl: 0 };
    let bad = Err(CoreError::BadParam("record too big for one 9000-byte packet (RFC 6762 §17)"));
    assert_eq!(link.cores[0].change_records(link.now, handle, add(SVC_MAX_RDATA + 1)), bad);
    let before = link.seen.len();
    let id = link.cores[0].change_records(link.now, handle, add(SVC_MAX_RDATA)).expect("exactly at the limit");
    link.run_for(Duration::from_secs(4));
    let carrying: Vec<&Seen> = link.seen[before..]
        .iter()
        .filter(|s| s.message.answers.iter().any(|r| r.record_type() == RecordType::Unknown(65280)))
        .collect();
    assert_eq!(carrying.len(), 3, "the largest record is announced");
    assert!(carrying.iter().all(|s| s.transmit.payload.len() <= constants::ABSOLUTE_MAX_PAYLOAD));
    // An update is checked the same way and leaves the record as it was.
    let update = |rdata_len: usize| RecordChange::Update { record: Some(id), rdata: vec![8; rdata_len], ttl: 0 };
    assert_eq!(link.cores[0].change_records(link.now, handle, update(SVC_MAX_RDATA + 1)), bad);
    assert_eq!(link.cores[0].groups.services[&handle].extra[0].rdata, vec![7; SVC_MAX_RDATA]);
    assert_eq!(link.cores[0].change_records(link.now, handle, update(100)), Ok(id));
    // So is a TXT update.
    let too_long = txt_of_len(SVC_MAX_RDATA + 1);
    assert!(matches!(link.cores[0].update_txt(link.now, handle, too_long), Err(CoreError::BadParam(_))));
    assert_eq!(link.cores[0].groups.services[&handle].spec.txt, b"\x05a=one".to_vec());
}

#[test]
fn a_renamable_registration_counts_its_longest_name() {
    let mut link = Link::new(&["alpha"]);
    let handle = link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    let add = |rdata_len: usize| RecordChange::Add { rtype: 65280, rdata: vec![7; rdata_len], ttl: 0 };
    assert!(matches!(link.cores[0].change_records(link.now, handle, add(RENAMABLE_MAX_RDATA + 1)), Err(CoreError::BadParam(_))));
    assert!(link.cores[0].change_records(link.now, handle, add(RENAMABLE_MAX_RDATA)).is_ok());
}

#[test]
fn a_txt_record_too_big_for_a_9000_byte_packet_is_refused_at_registration() {
    let mut link = Link::new(&["alpha"]);
    let txt = txt_of_len;
    let mut fixed = spec("Svc", 8080);
    fixed.auto_rename = false;
    fixed.txt = txt(SVC_MAX_RDATA + 1);
    assert!(matches!(link.cores[0].register(link.now, fixed.clone()), Err(CoreError::BadParam(_))));
    fixed.txt = txt(SVC_MAX_RDATA);
    assert!(link.cores[0].register(link.now, fixed).is_ok());
    let mut renamable = spec("Other", 8080);
    renamable.txt = txt(RENAMABLE_MAX_RDATA + 1);
    assert!(matches!(link.cores[0].register(link.now, renamable.clone()), Err(CoreError::BadParam(_))));
    renamable.txt = txt(RENAMABLE_MAX_RDATA);
    assert!(link.cores[0].register(link.now, renamable).is_ok());
    link.run_for(Duration::from_secs(10));
    assert!(link.seen.iter().all(|s| s.transmit.payload.len() <= constants::ABSOLUTE_MAX_PAYLOAD));
    let big_txts = link.seen.iter().filter(|s| s.message.answers.iter().any(|r| r.record_type() == RecordType::TXT && r.data.to_string().len() > 8000)).count();
    assert_eq!(big_txts, 6, "both big TXT records announced three times");
}

#[test]
fn updates_are_announced_at_most_ten_times_a_minute() {
    let mut link = Link::new(&["alpha"]);
    let handle = link.cores[0].register(link.now, spec("Busy", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let start = link.elapsed();
    for i in 0..30u8 {
        link.cores[0].update_txt(link.now, handle, vec![3, b'n', b'=', b'a' + i % 26]).unwrap();
        link.run_for(Duration::from_millis(500));
    }
    link.run_for(Duration::from_secs(60));
    let first_announcements: Vec<Duration> = link
        .packets_from(0)
        .into_iter()
        .filter(|s| s.at >= start && has_record(&s.message, "Busy._test._tcp.local.", RecordType::TXT))
        .map(|s| s.at - start)
        .collect();
    let in_first_minute = first_announcements.iter().filter(|t| **t < Duration::from_secs(60)).count();
    // Each update restarts the announcements at once (cutting the series
    // short); the eleventh and later wait until the minute is over.
    assert_eq!(in_first_minute, 10, "TXT announcements in the first minute: {first_announcements:?}");
    assert!(first_announcements.iter().any(|t| *t >= Duration::from_secs(60)), "later updates still go out");
}

#[test]
fn answers_go_back_on_the_ip_version_the_question_came_in_on() {
    let mut link = Link::new(&["alpha"]);
    let info = InterfaceInfo {
        index: IF,
        name: "eth0".into(),
        ipv4: vec![Ipv4Addr::new(192, 0, 2, 11)],
        ipv6: vec!["2001:db8::11".parse().unwrap()],
        subnets: vec![(std::net::IpAddr::V4(Ipv4Addr::new(192, 0, 2, 0)), 24), ("2001:db8::".parse().unwrap(), 64)],
        link_changes: 0,
    };
    link.cores[0].set_interfaces(link.now, vec![info]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    let mut query = new_query();
    query.queries.push(Query::query(name("Svc._test._tcp.local."), RecordType::SRV));
    let v4 = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 99), 5353));
    let v6: SocketAddr = "[2001:db8::99]:5353".parse().unwrap();
    let before = link.seen.len();
    link.inject_from(0, &query, v4, true);
    link.inject_from(0, &query, v6, true);
    let destinations: Vec<SocketAddr> =
        link.seen[before..].iter().filter(|s| is_response(&s.message)).map(|s| s.transmit.destination).collect();
    assert_eq!(destinations, vec![multicast_v4(), multicast_v6()], "one answer per family, each where it was asked");
}

#[test]
fn addresses_that_leave_an_interface_get_goodbyes_and_a_flap_reprobes() {
    let mut link = Link::new(&["alpha"]);
    let v6: std::net::Ipv6Addr = "2001:db8::11".parse().unwrap();
    let info = |ipv4: Vec<Ipv4Addr>, link_changes| InterfaceInfo {
        index: IF,
        name: "eth0".into(),
        ipv4,
        ipv6: vec![v6],
        subnets: lab_subnet(),
        link_changes,
    };
    link.cores[0].set_interfaces(link.now, vec![info(vec![Ipv4Addr::new(192, 0, 2, 11)], 0)]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(10));
    // The last IPv4 address goes; the interface stays (IPv6 only now).
    let before = link.seen.len();
    link.cores[0].set_interfaces(link.now, vec![info(vec![], 0)]);
    link.settle();
    let goodbye = link.seen[before..].iter().find(|s| is_response(&s.message)).expect("goodbye for the address");
    assert!(goodbye.message.answers.iter().any(|r| r.ttl == 0 && r.data == RData::A(Ipv4Addr::new(192, 0, 2, 11).into())));
    assert!(goodbye.message.answers.iter().any(|r| r.ttl == 0 && r.name == name("11.2.0.192.in-addr.arpa.")));
    assert!(goodbye.message.answers.iter().all(|r| r.ttl == 0 && r.record_type() != RecordType::AAAA), "only what left");
    link.run_for(Duration::from_secs(10));
    // The link went down and up between two reads of the list: probe again.
    let before = link.seen.len();
    link.cores[0].set_interfaces(link.now, vec![info(vec![], 2)]);
    link.run_for(Duration::from_secs(2));
    let probes = link.seen[before..].iter().filter(|s| is_probe(&s.message) && s.message.queries[0].name() == &name("Svc._test._tcp.local.")).count();
    assert_eq!(probes, 3, "the service is probed again after a flap");
}

#[test]
fn a_reconfirmed_record_is_asked_for_twice_and_flushed_after_ten_seconds_without_answer() {
    for answered in [false, true] {
        let mut link = Link::new(&["alpha"]);
        link.run_for(Duration::from_secs(3));
        let browse = link.cores[0].browse(link.now, browse_spec());
        let ptr = make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(name("Doubt._test._tcp.local."))), false);
        let mut announce = new_response(0);
        announce.answers.push(ptr.clone());
        link.inject(0, &announce, 5353, true);
        link.run_for(Duration::from_secs(70));
        let start = link.elapsed();
        let before = link.seen.len();
        link.cores[0].reconfirm(link.now, IF, &ptr);
        if answered {
            link.run_for(Duration::from_secs(3));
            link.inject(0, &announce, 5353, true);
        }
        link.run_for(Duration::from_secs(12));
        let asked: Vec<Duration> = link.seen[before..]
            .iter()
            .filter(|s| !is_response(&s.message) && s.message.queries.iter().any(|q| q.name() == &name("_test._tcp.local.")) && s.message.answers.is_empty())
            .map(|s| s.at - start)
            .collect();
        assert_eq!(asked, vec![Duration::ZERO, Duration::from_secs(2)], "two queries without known answers");
        let removed: Vec<Duration> = link
            .events
            .iter()
            .filter(|(_, _, e)| matches!(e, Event::Browse { add: false, handle, .. } if *handle == browse))
            .map(|(t, _, _)| *t - start)
            .collect();
        if answered {
            assert!(removed.is_empty(), "an answer confirms it");
        } else {
            assert_eq!(removed, vec![Duration::from_secs(10)]);
        }
    }
}

/// The QU bits of the probes `core` sent for `owner`, in order.
fn probe_unicast_bits(link: &Link, core: usize, owner: &str) -> Vec<bool> {
    link.packets_from(core)
        .into_iter()
        .filter(|s| is_probe(&s.message) && s.message.queries[0].name() == &name(owner))
        .map(|s| s.message.queries[0].mdns_unicast_response())
        .collect()
}

/// The QU bits of the (non-probe) queries `core` sent for `owner`, in order.
fn query_unicast_bits(link: &Link, core: usize, owner: &str) -> Vec<bool> {
    link.packets_from(core)
        .into_iter()
        .filter(|s| s.message.metadata.message_type == MessageType::Query && !is_probe(&s.message))
        .flat_map(|s| s.message.queries.iter().filter(|q| q.name() == &name(owner)).map(|q| q.mdns_unicast_response()).collect::<Vec<_>>())
        .collect()
}

/// A response carrying one PTR `_test._tcp.local.` → `instance`.
fn ptr_response(instance: &str) -> Message {
    let mut response = new_response(0);
    let target = format!("{instance}._test._tcp.local.");
    response.answers.push(make_record(name("_test._tcp.local."), 4500, RData::PTR(PTR(name(&target))), false));
    response
}

fn browse_adds(link: &Link, core: usize) -> Vec<Vec<u8>> {
    link.events_of(core)
        .into_iter()
        .filter_map(|e| match e {
            Event::Browse { add: true, instance, .. } => Some(instance.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_probe_asks_for_unicast_replies_only_when_the_port_is_ours_alone() {
    for alone in [true, false] {
        let mut link = Link::new(&["alpha"]);
        link.cores[0].set_receives_unicast(alone);
        link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
        link.run_for(Duration::from_secs(3));
        let expected = if alone { vec![true, false, false] } else { vec![false, false, false] };
        assert_eq!(probe_unicast_bits(&link, 0, "Svc._test._tcp.local."), expected, "service probes, port ours alone: {alone}");
        assert_eq!(probe_unicast_bits(&link, 0, "alpha.local."), expected, "host probes, port ours alone: {alone}");
    }
}

#[test]
fn only_the_first_query_after_start_up_or_a_flap_asks_for_unicast_replies() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].set_receives_unicast(true);
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_secs(4));
    assert_eq!(query_unicast_bits(&link, 0, "_test._tcp.local."), vec![true, false, false]);

    // A question first asked later than a second after start-up: no QU.
    let later = BrowseSpec { browse_name: name("_later._tcp.local."), service_type: name("_later._tcp.local."), ..browse_spec() };
    link.cores[0].browse(link.now, later);
    link.run_for(Duration::from_secs(4));
    assert_eq!(query_unicast_bits(&link, 0, "_later._tcp.local."), vec![false, false, false]);

    // The link flaps: the interface is activated anew, so the next first
    // queries of both questions ask for unicast replies again.
    let before = link.seen.len();
    let info = InterfaceInfo {
        index: IF,
        name: "eth0".into(),
        ipv4: vec![link.addresses[0]],
        ipv6: vec![],
        subnets: lab_subnet(),
        link_changes: 1,
    };
    link.cores[0].set_interfaces(link.now, vec![info]);
    link.run_for(Duration::from_millis(500));
    let firsts: Vec<bool> = link.seen[before..]
        .iter()
        .filter(|s| s.message.metadata.message_type == MessageType::Query && !is_probe(&s.message))
        .flat_map(|s| s.message.queries.iter().filter(|q| q.query_type() == RecordType::PTR).map(|q| q.mdns_unicast_response()).collect::<Vec<_>>())
        .collect();
    assert_eq!(firsts, vec![true, true]);

    // Without the port to ourselves, never.
    let mut link = Link::new(&["alpha"]);
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_secs(4));
    assert_eq!(query_unicast_bits(&link, 0, "_test._tcp.local."), vec![false, false, false]);
}

#[test]
fn unicast_responses_count_only_as_answers_to_a_recent_question_that_asked_for_them() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].set_receives_unicast(true);
    link.cores[0].browse(link.now, browse_spec());
    let peer: SocketAddr = "192.0.2.99:5353".parse().unwrap();
    // Before we asked: ignored.
    link.inject_from(0, &ptr_response("Early"), peer, false);
    link.run_for(Duration::from_millis(200)); // the first query (QU) is out
    assert_eq!(query_unicast_bits(&link, 0, "_test._tcp.local."), vec![true]);
    // From off the link, or from a port other than 5353: ignored.
    link.inject_from(0, &ptr_response("Routed"), "198.51.100.7:5353".parse().unwrap(), false);
    link.inject_from(0, &ptr_response("Legacy"), "192.0.2.99:40000".parse().unwrap(), false);
    // Answering another question than ours: ignored.
    let mut other = new_response(0);
    other.answers.push(make_record(name("_other._tcp.local."), 4500, RData::PTR(PTR(name("X._other._tcp.local."))), false));
    other.answers.push(make_record(name("Sneaky._test._tcp.local."), 120, RData::SRV(SRV::new(0, 0, 1, name("x.local."))), true));
    link.inject_from(0, &other, peer, false);
    assert!(browse_adds(&link, 0).is_empty(), "nothing accepted yet: {:?}", link.events_of(0));
    // The answer to our question, from the link: accepted.
    link.inject_from(0, &ptr_response("Peer"), peer, false);
    assert_eq!(browse_adds(&link, 0), vec![b"Peer".to_vec()]);
    // Two seconds after the question (later ones were QM): ignored again.
    link.run_for(Duration::from_millis(2000));
    link.inject_from(0, &ptr_response("Late"), peer, false);
    assert_eq!(browse_adds(&link, 0), vec![b"Peer".to_vec()]);

    // Without the port to ourselves we never ask, so never accept.
    let mut link = Link::new(&["alpha"]);
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_millis(200));
    link.inject_from(0, &ptr_response("Peer"), peer, false);
    assert!(browse_adds(&link, 0).is_empty());
}

#[test]
fn a_unicast_defence_of_a_name_we_probe_makes_us_rename() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].set_receives_unicast(true);
    link.run_for(Duration::from_secs(3)); // host probing out of the way
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    while probe_unicast_bits(&link, 0, "Svc._test._tcp.local.").is_empty() {
        link.run_for(Duration::from_millis(10));
    }
    let mut defence = new_response(0);
    defence.answers.push(make_record(name("Svc._test._tcp.local."), 120, RData::SRV(SRV::new(0, 0, 9, name("other.local."))), true));
    link.inject_from(0, &defence, "192.0.2.99:5353".parse().unwrap(), false);
    link.run_for(Duration::from_secs(3));
    let registered: Vec<&Event> = link.events_of(0).into_iter().filter(|e| matches!(e, Event::Registered { .. })).collect();
    assert!(
        matches!(registered.as_slice(), [Event::Registered { name, .. }] if name == b"Svc (2)"),
        "renamed after the unicast defence: {registered:?}"
    );
}

#[test]
fn a_qu_question_round_trip_between_two_cores_goes_by_unicast() {
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[1].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6)); // announced: beta multicast the PTR lately
    link.cores[0].set_receives_unicast(true);
    // alpha's interface goes away (with its cache) and comes back: its
    // first queries then ask for unicast replies.
    link.cores[0].set_interfaces(link.now, vec![]);
    let before = link.seen.len();
    let info = InterfaceInfo { index: IF, name: "eth0".into(), ipv4: vec![link.addresses[0]], ipv6: vec![], subnets: lab_subnet(), link_changes: 0 };
    link.cores[0].set_interfaces(link.now, vec![info]);
    link.cores[0].browse(link.now, browse_spec());
    link.run_for(Duration::from_millis(400));
    let answer = link.seen[before..]
        .iter()
        .find(|s| s.from == 1 && is_response(&s.message) && has_record(&s.message, "_test._tcp.local.", RecordType::PTR))
        .expect("beta answers the QU question");
    assert_eq!(answer.transmit.destination, SocketAddr::V4(SocketAddrV4::new(link.addresses[0], constants::MDNS_PORT)), "by unicast");
    assert_eq!(browse_adds(&link, 0), vec![b"Svc".to_vec()]);
}

#[test]
fn a_host_name_conflict_on_one_interface_renames_the_host_on_every_interface() {
    const OTHER_IF: IfIndex = 3;
    let mut link = Link::new(&["alpha"]);
    let second = InterfaceInfo {
        index: OTHER_IF,
        name: "eth1".into(),
        ipv4: vec![Ipv4Addr::new(198, 51, 100, 11)],
        ipv6: vec![],
        subnets: vec![(std::net::IpAddr::V4(Ipv4Addr::new(198, 51, 100, 0)), 24)],
        link_changes: 0,
    };
    let first = InterfaceInfo { index: IF, name: "eth0".into(), ipv4: vec![link.addresses[0]], ipv6: vec![], subnets: lab_subnet(), link_changes: 0 };
    link.cores[0].set_interfaces(link.now, vec![first, second]);
    link.run_for(Duration::from_millis(300)); // the first probes are out
    // A rival on the second link only claims our host name.
    let mut rival = new_response(0);
    rival.answers.push(make_record(name("alpha.local."), 120, RData::A(Ipv4Addr::new(198, 51, 100, 77).into()), true));
    let payload = rival.to_vec().unwrap();
    let source: SocketAddr = "198.51.100.77:5353".parse().unwrap();
    link.cores[0].handle_datagram(link.now, Datagram { ifindex: OTHER_IF, source, multicast: true, payload });
    let before = link.seen.len();
    link.run_for(Duration::from_secs(5));
    // RFC 6762 §14: one host name for all links, so the new name is taken
    // (probed and announced) on both.
    assert_eq!(link.cores[0].host_name(), &name("alpha-2.local."));
    for ifindex in [IF, OTHER_IF] {
        let probes = link.seen[before..]
            .iter()
            .filter(|s| s.transmit.ifindex == ifindex && is_probe(&s.message) && s.message.queries[0].name() == &name("alpha-2.local."))
            .count();
        assert_eq!(probes, 3, "alpha-2 probed on interface {ifindex}");
        let announced = link.seen[before..]
            .iter()
            .any(|s| s.transmit.ifindex == ifindex && is_response(&s.message) && has_record(&s.message, "alpha-2.local.", RecordType::A));
        assert!(announced, "alpha-2 announced on interface {ifindex}");
    }
}

/// When `core` sent SRV queries, in ms after `start`.
fn srv_query_times(link: &Link, core: usize, start: Duration) -> Vec<u128> {
    link.packets_from(core)
        .into_iter()
        .filter(|s| s.at >= start && !is_probe(&s.message) && s.message.queries.iter().any(|q| q.query_type() == RecordType::SRV))
        .map(|s| ms(s.at - start))
        .collect()
}

#[test]
fn a_unique_answer_ends_the_query_series_and_refresh_queries_take_over() {
    // beta heard the announcements: its resolve asks nothing until the
    // cached SRV (TTL 120 s) needs a refresh at 80-82 % of its TTL.
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6));
    let start = link.elapsed();
    link.cores[1].resolve(link.now, ResolveSpec { fullname: name("Svc._test._tcp.local."), ifindex: 0 });
    link.run_for(Duration::from_secs(100));
    let queries = srv_query_times(&link, 1, start);
    assert!(queries.len() == 1 && (90_000..=99_000).contains(&queries[0]), "SRV queries at {queries:?} ms");

    // beta's cache starts empty: one query, answered at once with the
    // cache-flush bit, then no 1, 2, 4 … s series, only the refresh.
    let mut link = Link::new(&["alpha", "beta"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6));
    link.cores[1].set_interfaces(link.now, vec![]);
    let info = InterfaceInfo { index: IF, name: "eth0".into(), ipv4: vec![link.addresses[1]], ipv6: vec![], subnets: lab_subnet(), link_changes: 0 };
    link.cores[1].set_interfaces(link.now, vec![info]);
    let start = link.elapsed();
    link.cores[1].resolve(link.now, ResolveSpec { fullname: name("Svc._test._tcp.local."), ifindex: 0 });
    link.run_for(Duration::from_secs(100));
    let queries = srv_query_times(&link, 1, start);
    assert_eq!(queries.len(), 2, "SRV queries at {queries:?} ms");
    assert!(queries[0] <= 120, "{queries:?}");
    assert!((96_000..=98_600).contains(&queries[1]), "refresh at {queries:?}");
}

#[test]
fn a_qu_probe_for_our_name_gets_its_defence_by_unicast() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6)); // announced: multicast lately
    let rival_probe = || {
        let mut probe = new_query();
        let mut question = Query::query(name("Svc._test._tcp.local."), RecordType::ANY);
        question.set_mdns_unicast_response(true);
        probe.queries.push(question);
        probe.authorities.push(make_record(name("Svc._test._tcp.local."), 120, RData::SRV(SRV::new(0, 0, 9, name("rival.local."))), false));
        probe
    };
    let rival: SocketAddr = "192.0.2.99:5353".parse().unwrap();
    let srv_answers = |seen: &[Seen]| -> Vec<SocketAddr> {
        seen.iter()
            .filter(|s| is_response(&s.message) && has_record(&s.message, "Svc._test._tcp.local.", RecordType::SRV))
            .map(|s| s.transmit.destination)
            .collect()
    };
    // Announced a moment ago: the defence goes by unicast alone.
    let before = link.seen.len();
    link.inject_from(0, &rival_probe(), rival, true);
    assert_eq!(srv_answers(&link.seen[before..]), vec![rival], "unicast defence at once");
    // Not multicast for more than a quarter of the SRV's TTL: unicast to
    // the prober, and multicast for everyone else's cache.
    link.run_for(Duration::from_secs(40));
    let before = link.seen.len();
    link.inject_from(0, &rival_probe(), rival, true);
    let mut destinations = srv_answers(&link.seen[before..]);
    destinations.sort();
    let mut expected = vec![rival, multicast_v4()];
    expected.sort();
    assert_eq!(destinations, expected, "unicast and multicast defence at once");
}

#[test]
fn unicast_answers_wait_like_multicast_ones_shared_20_to_120ms_unique_at_once() {
    let mut link = Link::new(&["alpha"]);
    link.cores[0].register(link.now, spec("Svc", 8080)).unwrap();
    link.run_for(Duration::from_secs(6)); // announced: QU questions get unicast
    let querier: SocketAddr = "192.0.2.99:5353".parse().unwrap();
    // The SRV first: a quarter of its 120 s TTL after the announcements,
    // it would go by multicast again.
    for (owner, rtype, shared) in [("Svc._test._tcp.local.", RecordType::SRV, false), ("_test._tcp.local.", RecordType::PTR, true)] {
        for _ in 0..8 {
            link.run_for(Duration::from_millis(1100));
            let mut query = new_query();
            let mut question = Query::query(name(owner), rtype);
            question.set_mdns_unicast_response(true);
            query.queries.push(question);
            let asked = link.elapsed();
            let before = link.seen.len();
            link.inject_from(0, &query, querier, true);
            link.run_for(Duration::from_millis(200));
            let answer = link.seen[before..]
                .iter()
                .find(|s| is_response(&s.message) && has_record(&s.message, owner, rtype))
                .unwrap_or_else(|| panic!("no answer for {owner}"));
            assert_eq!(answer.transmit.destination, querier, "{owner} by unicast");
            let delay = ms(answer.at - asked);
            if shared {
                assert!((20..=120).contains(&delay), "{owner}: shared answer after {delay} ms");
            } else {
                assert_eq!(delay, 0, "{owner}: unique answer at once");
            }
        }
    }
}

//! The sans-I/O mDNS / DNS-SD protocol core.
//!
//! [`Core`] is a deterministic state machine. In: received datagrams (with
//! their arrival interface and source), API commands, the interface list and
//! the current time, always as arguments. Out: datagrams to send
//! ([`Core::poll_transmit`]), events for API handles ([`Core::poll_event`])
//! and the next deadline ([`Core::poll_timeout`]). It never reads a clock,
//! opens a socket or starts a thread, so every timing rule is tested on a
//! virtual clock.
//!
//! One RFC concern a file, each an `impl Core` block with its own state:
//! - `records`: our authoritative record groups (a service, the host name);
//! - `host`: the host name's address, reverse-mapping and NSEC records;
//! - `probe`: probing, tie-breaking, conflicts and renaming (RFC 6762 §8.1, §8.2, §9);
//! - `announce`: announcements and goodbyes (§8.3, §8.4, §10.1);
//! - `responder`: answering queries (§6, §7, §6.7);
//! - `querier`: continuous questions and cache refresh (§5.2, §7.1);
//! - `cache`: what other hosts told us, per interface (§10);
//! - `operations`: browse, resolve and query turned into events.

pub mod announce;
pub mod cache;
pub mod constants;
pub(crate) mod host;
pub mod operations;
pub mod probe;
pub mod querier;
pub mod records;
pub mod responder;
pub mod rng;

use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Instant;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::Name;

use crate::wire::message;
use constants::*;

pub use operations::{BrowseSpec, QuerySpec, ResolveSpec};
pub use records::{RecordChange, ServiceSpec};

/// An interface index, as the kernel numbers them (`if_nametoindex`).
pub type IfIndex = u32;

/// An IP version: each is a link of its own for mDNS (RFC 6762 §20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(address: &SocketAddr) -> Family {
        if address.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// The identity of an API handle (a registration or an operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(pub u64);

/// What the core knows of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub index: IfIndex,
    pub name: String,
    pub ipv4: Vec<Ipv4Addr>,
    pub ipv6: Vec<Ipv6Addr>,
    /// The networks on this link (address, prefix length): sources inside
    /// them are on-link (RFC 6762 §5.5, §11).
    pub subnets: Vec<(IpAddr, u8)>,
    /// How often the link's carrier went down or up so far: a change means
    /// the link flapped, however briefly, and our records must be probed
    /// and announced there again (RFC 6762 §8, §10.2).
    pub link_changes: u64,
}

impl InterfaceInfo {
    /// Whether `source` is on this interface's link: IPv6 link-local, or
    /// inside one of its subnets.
    pub fn is_on_link(&self, source: IpAddr) -> bool {
        if let IpAddr::V6(a) = source {
            if a.segments()[0] & 0xffc0 == 0xfe80 {
                return true;
            }
        }
        self.subnets.iter().any(|(network, prefix)| match (network, source) {
            (IpAddr::V4(n), IpAddr::V4(s)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from((*prefix).min(32))).unwrap_or(0);
                u32::from(*n) & mask == u32::from(s) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(s)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from((*prefix).min(128))).unwrap_or(0);
                u128::from(*n) & mask == u128::from(s) & mask
            }
            _ => false,
        })
    }
}

/// A datagram received from the network.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// The interface it arrived on.
    pub ifindex: IfIndex,
    /// The sender's address and port.
    pub source: SocketAddr,
    /// Whether it was sent to the mDNS multicast group (rather than unicast to us).
    pub multicast: bool,
    pub payload: Vec<u8>,
}

/// A datagram the driver must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The interface to send it on.
    pub ifindex: IfIndex,
    /// The destination: the mDNS group, or a unicast address.
    pub destination: SocketAddr,
    pub payload: Vec<u8>,
}

/// An event for the API handle that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A registration finished probing under `name` (its current instance label).
    Registered { handle: Handle, name: Vec<u8> },
    /// A registration lost its name and may not rename (NoAutoRename).
    NameConflict { handle: Handle },
    /// A browse found an instance (`add`) or saw it go away.
    Browse { handle: Handle, add: bool, instance: Vec<u8>, service_type: Name, domain: Name, ifindex: IfIndex },
    /// A resolve has (new) data.
    Resolved { handle: Handle, fullname: Name, target: Name, port: u16, txt: Vec<u8>, ifindex: IfIndex },
    /// A record query has an answer (`add`) or saw one go away.
    Record { handle: Handle, add: bool, name: Name, rtype: u16, rclass: u16, rdata: Vec<u8>, ttl: u32, ifindex: IfIndex },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// The handle is not known (already cancelled).
    UnknownHandle,
    /// A parameter is out of range.
    BadParam(&'static str),
}

/// Settings the driver gives the core once.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The first label of our host name, e.g. `b"myhost"` for `myhost.local.`.
    pub host_label: Vec<u8>,
    /// Seed of the random number generator.
    pub seed: u64,
    /// Speak mDNS over IPv4 (224.0.0.251) where an interface has IPv4 addresses.
    pub ipv4: bool,
    /// Speak mDNS over IPv6 (ff02::fb) where an interface has IPv6 addresses.
    pub ipv6: bool,
}

/// One interface and what lives on it.
#[derive(Debug)]
pub(crate) struct Interface {
    pub info: InterfaceInfo,
    pub cache: cache::Cache,
    /// When the interface came up (or last flapped): its first questions
    /// ask for unicast replies (RFC 6762 §5.4).
    pub activated: Instant,
}

/// The protocol engine. See the module documentation.
pub struct Core {
    pub(crate) rng: rng::Rng,
    use_ipv4: bool,
    use_ipv6: bool,
    /// Whether unicast datagrams to our port 5353 reach us (see
    /// [`Core::set_receives_unicast`]).
    pub(crate) receives_unicast: bool,
    pub(crate) interfaces: BTreeMap<IfIndex, Interface>,
    pub(crate) groups: records::Groups,
    pub(crate) responder: responder::Responder,
    pub(crate) querier: querier::Querier,
    pub(crate) operations: operations::Operations,
    sent: VecDeque<(Instant, u64)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_handle: u64,
}

/// The mDNS multicast destination for IPv4.
pub fn multicast_v4() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(MDNS_GROUP_V4, MDNS_PORT))
}

/// The mDNS multicast destination for IPv6 (the interface is given apart).
pub fn multicast_v6() -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(MDNS_GROUP_V6, MDNS_PORT, 0, 0))
}

fn payload_hash(payload: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    payload.hash(&mut hasher);
    hasher.finish()
}

impl Core {
    pub fn new(config: CoreConfig, now: Instant) -> Core {
        let mut core = Core {
            rng: rng::Rng::new(config.seed),
            use_ipv4: config.ipv4,
            use_ipv6: config.ipv6,
            receives_unicast: false,
            interfaces: BTreeMap::new(),
            groups: records::Groups::new(&config.host_label),
            responder: responder::Responder::default(),
            querier: querier::Querier::default(),
            operations: operations::Operations::default(),
            sent: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_handle: 1,
        };
        core.start_host_probing(now);
        core
    }

    pub(crate) fn new_handle(&mut self) -> Handle {
        let handle = Handle(self.next_handle);
        self.next_handle += 1;
        handle
    }

    /// Our current host name, e.g. `myhost.local.`.
    pub fn host_name(&self) -> &Name {
        &self.groups.host.name
    }

    /// The addresses we publish for our host name on an interface: those of
    /// the families in use, and link-local ones (169.254/16, fe80::/10) only
    /// where the interface has no other address of that family. avahi-daemon
    /// chooses the same way; a responder sharing our host name on this
    /// machine must publish the very same set, or each sees a conflict.
    pub(crate) fn published(&self, ifindex: IfIndex) -> records::Addresses {
        let Some(interface) = self.interfaces.get(&ifindex) else { return records::Addresses::default() };
        fn prefer_routable<A: Copy>(all: &[A], link_local: impl Fn(&A) -> bool) -> Vec<A> {
            let routable: Vec<A> = all.iter().copied().filter(|a| !link_local(a)).collect();
            if routable.is_empty() {
                all.to_vec()
            } else {
                routable
            }
        }
        let v4 = prefer_routable(&interface.info.ipv4, |a| a.is_link_local());
        let v6 = prefer_routable(&interface.info.ipv6, |a| a.segments()[0] & 0xffc0 == 0xfe80);
        records::Addresses {
            v4: if self.use_ipv4 { v4 } else { Vec::new() },
            v6: if self.use_ipv6 { v6 } else { Vec::new() },
        }
    }

    /// Queues a multicast `message` on `ifindex`, once for each family in
    /// use there (an interface without addresses of a family cannot send it).
    pub(crate) fn send_multicast(&mut self, now: Instant, ifindex: IfIndex, message: Message) {
        self.send_multicast_on(now, ifindex, Family::V6, message.clone());
        self.send_multicast_on(now, ifindex, Family::V4, message);
    }

    /// Queues a multicast `message` on one family of `ifindex` (answers go
    /// back where their question came from).
    pub(crate) fn send_multicast_on(&mut self, now: Instant, ifindex: IfIndex, family: Family, message: Message) {
        let published = self.published(ifindex);
        match family {
            Family::V6 if !published.v6.is_empty() => self.send(now, ifindex, multicast_v6(), message),
            Family::V4 if !published.v4.is_empty() => self.send(now, ifindex, multicast_v4(), message),
            _ => {}
        }
    }

    /// Every address of every interface: records carrying one of these come
    /// from this machine (another responder on the same host, not a rival).
    pub(crate) fn is_own_address(&self, addr: IpAddr) -> bool {
        self.interfaces.values().any(|i| match addr {
            IpAddr::V4(a) => i.info.ipv4.contains(&a),
            IpAddr::V6(a) => i.info.ipv6.contains(&a),
        })
    }

    /// Tells whether unicast datagrams sent to port 5353 of this host reach
    /// this core: true only while no other socket on the host shares the
    /// port, since the kernel hands a unicast datagram to just one of them
    /// (RFC 6762 §15.1). Only then do the first probe and the first
    /// questions after start-up ask for unicast replies (the QU bit,
    /// RFC 6762 §5.4, §8.1). Off until the driver says otherwise.
    pub fn set_receives_unicast(&mut self, receives: bool) {
        self.receives_unicast = receives;
    }

    /// Whether unicast replies would reach us (last told by the driver).
    pub fn receives_unicast(&self) -> bool {
        self.receives_unicast
    }

    /// Replaces the interface list: new interfaces get probes and
    /// announcements, vanished ones lose their cache and records.
    pub fn set_interfaces(&mut self, now: Instant, list: Vec<InterfaceInfo>) {
        let old: Vec<IfIndex> = self.interfaces.keys().copied().collect();
        for index in &old {
            if !list.iter().any(|i| i.index == *index) {
                self.interface_removed(now, *index);
            }
        }
        for info in list {
            match self.interfaces.get_mut(&info.index) {
                Some(existing) if existing.info == info => {}
                Some(existing) => {
                    let addresses_changed = existing.info.ipv4 != info.ipv4 || existing.info.ipv6 != info.ipv6;
                    let flapped = existing.info.link_changes != info.link_changes;
                    let index = info.index;
                    let before = self.published(index);
                    if let Some(existing) = self.interfaces.get_mut(&index) {
                        existing.info = info;
                        if flapped {
                            existing.activated = now;
                        }
                    }
                    if flapped {
                        self.interface_added(now, index);
                    } else if addresses_changed {
                        self.withdraw_addresses(now, index, &before);
                        self.host_addresses_changed(now, index);
                    }
                }
                None => {
                    let index = info.index;
                    self.interfaces.insert(index, Interface { info, cache: cache::Cache::default(), activated: now });
                    self.interface_added(now, index);
                }
            }
        }
    }

    fn interface_added(&mut self, now: Instant, ifindex: IfIndex) {
        self.groups_interface_added(now, ifindex);
        self.querier_interface_added(now, ifindex);
    }

    fn interface_removed(&mut self, now: Instant, ifindex: IfIndex) {
        if let Some(interface) = self.interfaces.remove(&ifindex) {
            for record in interface.cache.into_records() {
                self.operations_cache_changed(ifindex, &record, false);
            }
        }
        self.groups_interface_removed(ifindex);
        self.responder.forget_interface(ifindex);
        let _ = now;
    }

    /// Handles one received datagram. Malformed packets are dropped silently.
    pub fn handle_datagram(&mut self, now: Instant, datagram: Datagram) {
        if !self.interfaces.contains_key(&datagram.ifindex) {
            return;
        }
        let Some(message) = message::decode(&datagram.payload) else { return };
        // RFC 6762 §18.3, §18.11: other opcodes and non-zero rcodes are ignored.
        if message.metadata.op_code != OpCode::Query || message.metadata.response_code != ResponseCode::NoError {
            return;
        }
        // Ours: bytes we sent lately, from one of this machine's addresses
        // (another host may send the very same bytes, e.g. the same query).
        let from_self = self.is_own_address(datagram.source.ip()) && self.was_sent_by_us(now, &datagram.payload);
        match message.metadata.message_type {
            MessageType::Query => {
                if !from_self {
                    self.observe_query(now, datagram.ifindex, &message);
                    self.suppress_duplicate_questions(now, datagram.ifindex, &message);
                }
                self.handle_query(now, &datagram, &message, from_self)
            }
            MessageType::Response => {
                // RFC 6762 §6: responses from a port other than 5353 are ignored.
                if datagram.source.port() != MDNS_PORT {
                    return;
                }
                if datagram.multicast {
                    self.handle_response(now, &datagram, &message, from_self);
                } else if self.accepts_unicast_response(now, &datagram, &message) {
                    self.handle_unicast_response(now, &datagram, &message);
                }
            }
        }
    }

    fn handle_response(&mut self, now: Instant, datagram: &Datagram, message: &Message, from_self: bool) {
        if !from_self {
            self.check_conflicts(now, datagram.ifindex, message);
            let family = Family::of(&datagram.source);
            self.note_duplicate_answers(now, datagram.ifindex, family, message);
            self.defend_understated_records(now, datagram.ifindex, family, message);
        }
        self.cache_response(now, datagram.ifindex, message);
    }

    /// A unicast answer to a question of ours: it may reveal a conflict and
    /// fills the cache, but says nothing of what the link's multicast
    /// traffic carried (duplicate answers, understated records).
    fn handle_unicast_response(&mut self, now: Instant, datagram: &Datagram, message: &Message) {
        self.check_conflicts(now, datagram.ifindex, message);
        self.cache_response(now, datagram.ifindex, message);
    }

    /// Runs everything that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.groups_timeout(now);
        self.responder_timeout(now);
        self.querier_timeout(now);
        self.cache_timeout(now);
    }

    /// The next instant at which [`Core::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.groups_deadline(), self.responder_deadline(), self.querier_deadline(), self.cache_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for an API handle.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// Queues `message` for `ifindex`, split to fit, and remembers it so its
    /// echo (multicast loopback) is recognised as ours.
    pub(crate) fn send(&mut self, now: Instant, ifindex: IfIndex, destination: SocketAddr, message: Message) {
        let packets = match message.metadata.message_type {
            MessageType::Query => message::encode_query_split(message, MAX_PACKET_PAYLOAD),
            MessageType::Response => message::encode_split(message, MAX_PACKET_PAYLOAD),
        };
        for payload in packets {
            self.sent.push_back((now, payload_hash(&payload)));
            if self.sent.len() > SENT_PACKET_MEMORY_MAX {
                self.sent.pop_front();
            }
            self.transmits.push_back(Transmit { ifindex, destination, payload });
        }
    }

    fn was_sent_by_us(&mut self, now: Instant, payload: &[u8]) -> bool {
        while let Some((at, _)) = self.sent.front() {
            if now.saturating_duration_since(*at) > SENT_PACKET_MEMORY {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        let hash = payload_hash(payload);
        self.sent.iter().any(|(_, h)| *h == hash)
    }
}

#[cfg(test)]
mod tests;

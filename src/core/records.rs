//! Our authoritative records, in groups that share one fate: a service
//! (SRV, TXT, PTRs) or the host name (its address records). A group claims
//! one unique name; on each interface it is probing, announcing or
//! established, and it answers queries on an interface only once probing
//! there has succeeded.
//!
//! Every record must fit alone in a 9000-byte packet (RFC 6762 §17): its
//! owner name uncompressed, fixed fields and rdata, plus a message header.
//! TXT data at registration and records added or updated at run time are
//! checked against the longest name the registration may take (a renamable
//! one counts its instance label as 63 bytes), and refused with `BadParam`.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use hickory_proto::rr::rdata::{NULL, PTR, SRV, TXT};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::{Name, RData, Record};

use super::constants::*;
use super::{Core, Handle, IfIndex};
use crate::wire::message::{make_record, name_wire_len};
use crate::wire::service_name::{MAX_LABEL, MAX_NAME_WIRE};

/// What an API user asks to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The instance label, raw UTF-8 (at most 63 bytes).
    pub instance: Vec<u8>,
    /// The service type name, e.g. `_http._tcp.local.`.
    pub service_type: Name,
    /// Subtype names, e.g. `_printer._sub._http._tcp.local.`.
    pub subtypes: Vec<Name>,
    /// The SRV target; `None` for our own host name.
    pub host: Option<Name>,
    /// Port in host byte order; 0 registers a placeholder without PTR (RFC 6763 §8).
    pub port: u16,
    /// TXT rdata in wire form (length-prefixed strings; never empty).
    pub txt: Vec<u8>,
    /// Rename on conflict ("Name (2)") rather than report it.
    pub auto_rename: bool,
    /// Only this interface, or 0 for all.
    pub ifindex: IfIndex,
}

/// Where a group stands on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `sent` probes are out; the next action is due at `Presence::next`.
    Probing { sent: u8 },
    /// Probing succeeded; `sent` announcements are out.
    Announcing { sent: u8 },
    /// All announcements are out; the records are answered on demand.
    Established,
}

#[derive(Debug, Clone)]
pub(crate) struct Presence {
    pub phase: Phase,
    pub next: Option<Instant>,
}

impl Presence {
    /// Whether the group's records may be given in answers on this interface.
    pub fn answers(&self) -> bool {
        !matches!(self.phase, Phase::Probing { .. })
    }
}

/// The addresses we publish for our host name on one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Addresses {
    pub v4: Vec<Ipv4Addr>,
    pub v6: Vec<Ipv6Addr>,
}

impl Addresses {
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// Which group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum GroupId {
    Host,
    Service(Handle),
}

/// The lifecycle shared by the host name and every service.
#[derive(Debug)]
pub(crate) struct Group {
    /// The unique name claimed: the host name or the service instance name.
    pub name: Name,
    pub presences: BTreeMap<IfIndex, Presence>,
    /// Times of recent conflicts, for the rate limit of RFC 6762 §8.1.
    pub conflicts: VecDeque<Instant>,
    /// Fifteen conflicts came within ten seconds: every further attempt
    /// waits five seconds, until one succeeds.
    pub throttled: bool,
    /// Whether `Registered` was reported for the current name.
    pub reported: bool,
    /// Whether records under the current name were announced somewhere
    /// (a rename then owes goodbyes for the old shared records).
    pub announced: bool,
    /// Only this interface, or 0 for all.
    pub only: IfIndex,
    /// Set when the name was lost and may not be renamed: the group is silent.
    pub failed: bool,
}

impl Group {
    fn new(name: Name, only: IfIndex) -> Group {
        Group { name, presences: BTreeMap::new(), conflicts: VecDeque::new(), throttled: false, reported: false, announced: false, only, failed: false }
    }

    pub fn applies_to(&self, ifindex: IfIndex) -> bool {
        !self.failed && (self.only == 0 || self.only == ifindex)
    }

    pub fn answers_on(&self, ifindex: IfIndex) -> bool {
        self.presences.get(&ifindex).is_some_and(Presence::answers)
    }

    pub fn is_probing_on(&self, ifindex: IfIndex) -> bool {
        self.presences.get(&ifindex).is_some_and(|p| matches!(p.phase, Phase::Probing { .. }))
    }
}

/// A record added to a registration at run time (a HINFO, a second TXT...),
/// published under the instance name like the SRV and TXT.
#[derive(Debug, Clone)]
pub(crate) struct ExtraRecord {
    pub id: u64,
    pub rtype: u16,
    pub rdata: Vec<u8>,
    pub ttl: u32,
}

/// What changes in a registration's records at run time. Rdata that would
/// not fit in one 9000-byte packet under the registration's name (at its
/// longest, if it may be renamed) is refused with `BadParam` (RFC 6762 §17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordChange {
    /// Adds a record of this type (TTL 0: the default).
    Add { rtype: u16, rdata: Vec<u8>, ttl: u32 },
    /// Replaces the rdata of an added record, or of the primary TXT (`None`).
    Update { record: Option<u64>, rdata: Vec<u8>, ttl: u32 },
    /// Removes an added record (a goodbye is sent for it).
    Remove { record: u64 },
}

#[derive(Debug)]
pub(crate) struct Service {
    pub spec: ServiceSpec,
    pub group: Group,
    pub extra: Vec<ExtraRecord>,
    /// When the records changed lately (at most ten a minute, RFC 6762 §8.4).
    pub updates: VecDeque<Instant>,
}

/// Raw rdata of any type as a record payload.
fn raw_rdata(rtype: u16, bytes: &[u8]) -> RData {
    let rdata = if bytes.is_empty() { NULL::new() } else { NULL::with(bytes.to_vec()) };
    RData::Unknown { code: RecordType::from(rtype), rdata }
}

/// The longest owner name a registration's records may take: its current
/// name, or, when it may be renamed ("Name (2)"), the instance label at its
/// longest (63 bytes) under the service type.
fn longest_owner_len(spec: &ServiceSpec, current: &Name) -> usize {
    let current = name_wire_len(current);
    if spec.auto_rename {
        current.max(1 + MAX_LABEL + name_wire_len(&spec.service_type)).min(MAX_NAME_WIRE)
    } else {
        current
    }
}

/// Whether a record fits alone in the largest packet we may send (RFC 6762
/// §17): a message header, the owner name uncompressed, the fixed fields
/// and the rdata within [`ABSOLUTE_MAX_PAYLOAD`].
pub(crate) fn fits_one_packet(owner_len: usize, rdata_len: usize) -> bool {
    DNS_HEADER_LEN + owner_len + RECORD_FIXED_LEN + rdata_len <= ABSOLUTE_MAX_PAYLOAD
}

/// Refuses rdata that could not be sent under a registration's name.
fn check_size(spec: &ServiceSpec, current: &Name, rdata_len: usize) -> Result<(), super::CoreError> {
    if fits_one_packet(longest_owner_len(spec, current), rdata_len) {
        Ok(())
    } else {
        Err(super::CoreError::BadParam("record too big for one 9000-byte packet (RFC 6762 §17)"))
    }
}

#[derive(Debug)]
pub(crate) struct Groups {
    pub host_label: Vec<u8>,
    pub host: Group,
    pub services: BTreeMap<Handle, Service>,
}

/// `label.local.` from raw label bytes.
pub(crate) fn local_name(label: &[u8]) -> Name {
    let mut labels: Vec<&[u8]> = vec![label];
    labels.push(b"local");
    Name::from_labels(labels).unwrap_or_else(|_| Name::from_ascii("invalid.local.").expect("static name"))
}

/// `instance` prepended to `service_type` as one raw label.
pub(crate) fn instance_name(instance: &[u8], service_type: &Name) -> Option<Name> {
    let mut labels: Vec<Vec<u8>> = vec![instance.to_vec()];
    labels.extend(service_type.iter().map(<[u8]>::to_vec));
    Name::from_labels(labels).ok().map(|mut n: Name| {
        n.set_fqdn(true);
        n
    })
}

/// `_services._dns-sd._udp.<domain>` for the domain of `service_type`.
pub(crate) fn enumeration_name(service_type: &Name) -> Name {
    let domain = service_type.trim_to(service_type.num_labels().saturating_sub(2) as usize);
    let mut labels: Vec<Vec<u8>> = vec![b"_services".to_vec(), b"_dns-sd".to_vec(), b"_udp".to_vec()];
    labels.extend(domain.iter().map(<[u8]>::to_vec));
    let mut name = Name::from_labels(labels).expect("static labels");
    name.set_fqdn(true);
    name
}

impl Groups {
    pub fn new(host_label: &[u8]) -> Groups {
        Groups {
            host_label: host_label.to_vec(),
            host: Group::new(local_name(host_label), 0),
            services: BTreeMap::new(),
        }
    }

    pub fn get(&self, id: GroupId) -> Option<&Group> {
        match id {
            GroupId::Host => Some(&self.host),
            GroupId::Service(h) => self.services.get(&h).map(|s| &s.group),
        }
    }

    pub fn get_mut(&mut self, id: GroupId) -> Option<&mut Group> {
        match id {
            GroupId::Host => Some(&mut self.host),
            GroupId::Service(h) => self.services.get_mut(&h).map(|s| &mut s.group),
        }
    }

    pub fn ids(&self) -> Vec<GroupId> {
        std::iter::once(GroupId::Host).chain(self.services.keys().map(|h| GroupId::Service(*h))).collect()
    }

    /// The A and AAAA records of our host name on one interface.
    pub fn host_records(&self, addresses: &Addresses) -> Vec<Record> {
        super::host::address_records(&self.host.name, addresses)
    }

    /// The SRV target of a service.
    pub fn target_of(&self, spec: &ServiceSpec) -> Name {
        spec.host.clone().unwrap_or_else(|| self.host.name.clone())
    }

    /// The unique records of a service: SRV and TXT under the instance name.
    pub fn service_unique_records(&self, service: &Service) -> Vec<Record> {
        let name = service.group.name.clone();
        let srv = SRV::new(0, 0, service.spec.port, self.target_of(&service.spec));
        let txt = TXT::from_bytes(crate::wire::txt::strings(&service.spec.txt).collect());
        let mut records = vec![
            make_record(name.clone(), HOST_RECORD_TTL, RData::SRV(srv), true),
            make_record(name.clone(), OTHER_RECORD_TTL, RData::TXT(txt), true),
        ];
        records.extend(service.extra.iter().map(|e| make_record(name.clone(), e.ttl, raw_rdata(e.rtype, &e.rdata), true)));
        records
    }

    /// The shared records of a service: the type PTR, subtype PTRs and the
    /// service-type enumeration PTR (RFC 6763 §4.1, §7.1, §9). A placeholder
    /// (port 0) has none (RFC 6763 §8).
    pub fn service_shared_records(&self, service: &Service) -> Vec<Record> {
        if service.spec.port == 0 {
            return Vec::new();
        }
        let instance = service.group.name.clone();
        let ptr = |owner: &Name, target: &Name| make_record(owner.clone(), OTHER_RECORD_TTL, RData::PTR(PTR(target.clone())), false);
        let mut out = vec![ptr(&service.spec.service_type, &instance)];
        out.extend(service.spec.subtypes.iter().map(|s| ptr(s, &instance)));
        out.push(ptr(&enumeration_name(&service.spec.service_type), &service.spec.service_type));
        out
    }

    /// The unique records a group claims on an interface (what probes carry).
    pub fn unique_records(&self, id: GroupId, addresses: &Addresses) -> Vec<Record> {
        match id {
            GroupId::Host => self.host_records(addresses),
            GroupId::Service(h) => self.services.get(&h).map(|s| self.service_unique_records(s)).unwrap_or_default(),
        }
    }

    /// Every record of a group on an interface: for the host, its address
    /// records and their reverse-mapping PTRs (not probed).
    pub fn all_records(&self, id: GroupId, addresses: &Addresses) -> Vec<Record> {
        let mut records = self.unique_records(id, addresses);
        match id {
            GroupId::Host => records.extend(super::host::reverse_records(&self.host.name, addresses)),
            GroupId::Service(h) => {
                if let Some(service) = self.services.get(&h) {
                    records.extend(self.service_shared_records(service));
                }
            }
        }
        records
    }
}

impl Core {
    /// Starts publishing a service. Probing begins at once on every interface.
    /// A TXT record that would not fit in one 9000-byte packet under the
    /// service's name is refused with `BadParam` (RFC 6762 §17).
    pub fn register(&mut self, now: Instant, spec: ServiceSpec) -> Result<Handle, super::CoreError> {
        if spec.instance.is_empty() || spec.instance.len() > 63 {
            return Err(super::CoreError::BadParam("instance name must be 1-63 bytes"));
        }
        let name = instance_name(&spec.instance, &spec.service_type)
            .ok_or(super::CoreError::BadParam("service name too long"))?;
        check_size(&spec, &name, spec.txt.len().max(1))?;
        let handle = self.new_handle();
        let only = spec.ifindex;
        self.groups.services.insert(handle, Service { spec, group: Group::new(name, only), extra: Vec::new(), updates: VecDeque::new() });
        self.start_probing(now, GroupId::Service(handle), None);
        Ok(handle)
    }

    /// Replaces the TXT record of a registration and announces it again (RFC 6762 §8.4).
    pub fn update_txt(&mut self, now: Instant, handle: Handle, txt: Vec<u8>) -> Result<(), super::CoreError> {
        self.change_records(now, handle, RecordChange::Update { record: None, rdata: txt, ttl: 0 }).map(|_| ())
    }

    /// Adds, updates or removes a record of a registration at run time.
    /// Changed records are announced again (no new probing), at most ten
    /// times a minute (RFC 6762 §8.4); a removed one gets a goodbye. Returns
    /// the record's id (that of the new record for `Add`).
    pub fn change_records(&mut self, now: Instant, handle: Handle, change: RecordChange) -> Result<u64, super::CoreError> {
        let service = self.groups.services.get_mut(&handle).ok_or(super::CoreError::UnknownHandle)?;
        let new_rdata_len = match &change {
            RecordChange::Add { rdata, .. } | RecordChange::Update { record: Some(_), rdata, .. } => Some(rdata.len()),
            RecordChange::Update { record: None, rdata, .. } => Some(crate::wire::txt::for_wire(rdata).len()),
            RecordChange::Remove { .. } => None,
        };
        if let Some(len) = new_rdata_len {
            check_size(&service.spec, &service.group.name, len)?;
        }
        let default_ttl = |ttl: u32| if ttl == 0 { OTHER_RECORD_TTL } else { ttl };
        let id = match change {
            RecordChange::Add { rtype, rdata, ttl } => {
                let id = service.extra.iter().map(|e| e.id).max().unwrap_or(0) + 1;
                service.extra.push(ExtraRecord { id, rtype, rdata, ttl: default_ttl(ttl) });
                id
            }
            RecordChange::Update { record: None, rdata, .. } => {
                service.spec.txt = crate::wire::txt::for_wire(&rdata);
                0
            }
            RecordChange::Update { record: Some(id), rdata, ttl } => {
                let extra = service.extra.iter_mut().find(|e| e.id == id).ok_or(super::CoreError::UnknownHandle)?;
                extra.rdata = rdata;
                extra.ttl = default_ttl(ttl);
                id
            }
            RecordChange::Remove { record } => {
                let index = service.extra.iter().position(|e| e.id == record).ok_or(super::CoreError::UnknownHandle)?;
                let removed = service.extra.remove(index);
                let name = service.group.name.clone();
                let goodbye = make_record(name, 0, raw_rdata(removed.rtype, &removed.rdata), true);
                let interfaces: Vec<IfIndex> = service.group.presences.iter().filter(|(_, p)| p.answers()).map(|(i, _)| *i).collect();
                for ifindex in interfaces {
                    let mut message = crate::wire::message::new_response(0);
                    message.answers.push(goodbye.clone());
                    self.send_multicast(now, ifindex, message);
                }
                return Ok(record);
            }
        };
        // RFC 6762 §8.4: no more than ten updates a minute.
        let service = self.groups.services.get_mut(&handle).expect("checked above");
        while service.updates.front().is_some_and(|t| now.saturating_duration_since(*t) >= UPDATE_RATE_WINDOW) {
            service.updates.pop_front();
        }
        let at = if service.updates.len() >= UPDATE_RATE_COUNT {
            *service.updates.front().expect("ten recorded") + UPDATE_RATE_WINDOW
        } else {
            now
        };
        service.updates.push_back(at);
        let interfaces: Vec<IfIndex> = service.group.presences.keys().copied().collect();
        for ifindex in interfaces {
            if self.groups.get(GroupId::Service(handle)).and_then(|g| g.presences.get(&ifindex)).is_some_and(|p| p.answers()) {
                self.set_presence(GroupId::Service(handle), ifindex, Phase::Announcing { sent: 0 }, Some(at));
            }
        }
        Ok(id)
    }

    /// Ends a registration (sending goodbyes) or an operation.
    pub fn cancel(&mut self, now: Instant, handle: Handle) -> Result<(), super::CoreError> {
        if self.groups.services.contains_key(&handle) {
            self.send_goodbyes(now, GroupId::Service(handle));
            self.groups.services.remove(&handle);
            return Ok(());
        }
        self.cancel_operation(handle)
    }

    pub(crate) fn start_host_probing(&mut self, now: Instant) {
        self.start_probing(now, GroupId::Host, None);
    }

    pub(crate) fn groups_interface_added(&mut self, now: Instant, ifindex: IfIndex) {
        for id in self.groups.ids() {
            self.start_probing(now, id, Some(ifindex));
        }
    }

    pub(crate) fn groups_interface_removed(&mut self, ifindex: IfIndex) {
        self.groups.host.presences.remove(&ifindex);
        for service in self.groups.services.values_mut() {
            service.group.presences.remove(&ifindex);
        }
    }

    /// Our host's addresses on an interface changed: its address records
    /// are probed again there, and services announced again with them.
    pub(crate) fn host_addresses_changed(&mut self, now: Instant, ifindex: IfIndex) {
        self.start_probing(now, GroupId::Host, Some(ifindex));
        for id in self.groups.ids() {
            if id != GroupId::Host {
                self.reannounce_on(now, id, ifindex);
            }
        }
    }

    pub(crate) fn groups_timeout(&mut self, now: Instant) {
        for id in self.groups.ids() {
            let due: Vec<IfIndex> = match self.groups.get(id) {
                Some(group) => group
                    .presences
                    .iter()
                    .filter(|(_, p)| p.next.is_some_and(|t| t <= now))
                    .map(|(i, _)| *i)
                    .collect(),
                None => continue,
            };
            for ifindex in due {
                self.presence_due(now, id, ifindex);
            }
        }
    }

    pub(crate) fn groups_deadline(&self) -> Option<Instant> {
        self.groups
            .ids()
            .into_iter()
            .filter_map(|id| self.groups.get(id))
            .flat_map(|g| g.presences.values().filter_map(|p| p.next))
            .min()
    }

    /// One step of the lifecycle on one interface.
    fn presence_due(&mut self, now: Instant, id: GroupId, ifindex: IfIndex) {
        let Some(phase) = self.groups.get(id).and_then(|g| g.presences.get(&ifindex)).map(|p| p.phase) else {
            return;
        };
        match phase {
            Phase::Probing { sent } if sent < PROBE_COUNT => {
                self.send_probe(now, id, ifindex, sent == 0);
                self.set_presence(id, ifindex, Phase::Probing { sent: sent + 1 }, Some(now + PROBE_INTERVAL));
            }
            Phase::Probing { .. } => {
                // RFC 6762 §8.1: no conflict by 250 ms after the third probe: the name is ours.
                self.set_presence(id, ifindex, Phase::Announcing { sent: 0 }, Some(now));
                if let Some(group) = self.groups.get_mut(id) {
                    group.throttled = false;
                }
                self.report_registered(id);
                self.presence_due(now, id, ifindex);
            }
            Phase::Announcing { sent } => {
                self.send_announcement(now, id, ifindex);
                if let Some(group) = self.groups.get_mut(id) {
                    group.announced = true;
                }
                let sent = sent + 1;
                if sent >= ANNOUNCE_COUNT {
                    self.set_presence(id, ifindex, Phase::Established, None);
                } else {
                    let interval = ANNOUNCE_FIRST_INTERVAL * (1u32 << (sent - 1));
                    self.set_presence(id, ifindex, Phase::Announcing { sent }, Some(now + interval));
                }
            }
            Phase::Established => self.set_presence(id, ifindex, Phase::Established, None),
        }
    }

    pub(crate) fn set_presence(&mut self, id: GroupId, ifindex: IfIndex, phase: Phase, next: Option<Instant>) {
        if let Some(group) = self.groups.get_mut(id) {
            group.presences.insert(ifindex, Presence { phase, next });
        }
    }

    fn report_registered(&mut self, id: GroupId) {
        let GroupId::Service(handle) = id else { return };
        let Some(service) = self.groups.services.get_mut(&handle) else { return };
        if !service.group.reported {
            service.group.reported = true;
            let name = service.spec.instance.clone();
            self.emit(super::Event::Registered { handle, name });
        }
    }
}

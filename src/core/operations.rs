//! Browse, resolve and record queries: what API users asked for, turned
//! from cache changes into add, remove and result events.
//!
//! - A browse asks for the PTR records of a service type (or subtype) and
//!   reports each instance as it appears or goes away, once per interface.
//! - A resolve asks for the SRV and TXT records of an instance and reports
//!   target, port and TXT once it has both, and again when they change.
//! - A record query asks for any name and type and reports each record.
//!
//! Each operation first reports what the cache already holds.

use std::collections::BTreeMap;
use std::time::Instant;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{Core, CoreError, Event, Handle, IfIndex};
use crate::wire::message::rdata_bytes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowseSpec {
    /// The name asked for: the service type, or one subtype of it.
    pub browse_name: Name,
    /// The service type the instances must be of, e.g. `_http._tcp.local.`;
    /// the root name accepts any (service-type enumeration, RFC 6763 §9,
    /// whose PTRs point at types, not instances).
    pub service_type: Name,
    /// The domain reported in events, e.g. `local.`.
    pub domain: Name,
    /// Only this interface, or 0 for all.
    pub ifindex: IfIndex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveSpec {
    /// The service instance name, e.g. `My Printer._ipp._tcp.local.`.
    pub fullname: Name,
    pub ifindex: IfIndex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySpec {
    pub name: Name,
    pub rtype: u16,
    pub ifindex: IfIndex,
}

type ResolvedData = (Name, u16, Vec<u8>);

#[derive(Debug)]
enum Operation {
    Browse(BrowseSpec),
    Resolve(ResolveSpec, BTreeMap<IfIndex, ResolvedData>),
    Query(QuerySpec),
}

impl Operation {
    fn questions(&self) -> Vec<(Name, RecordType, IfIndex)> {
        match self {
            Operation::Browse(s) => vec![(s.browse_name.clone(), RecordType::PTR, s.ifindex)],
            Operation::Resolve(s, _) => vec![
                (s.fullname.clone(), RecordType::SRV, s.ifindex),
                (s.fullname.clone(), RecordType::TXT, s.ifindex),
            ],
            Operation::Query(s) => vec![(s.name.clone(), RecordType::from(s.rtype), s.ifindex)],
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Operations {
    ops: BTreeMap<Handle, Operation>,
}

/// TXT rdata as wire bytes; an empty rdata becomes the one empty string.
fn txt_bytes(record: &Record) -> Vec<u8> {
    match &record.data {
        RData::TXT(_) => {
            let bytes = rdata_bytes(&record.data);
            if bytes.is_empty() {
                vec![0]
            } else {
                bytes
            }
        }
        _ => vec![0],
    }
}

impl Core {
    pub fn browse(&mut self, now: Instant, spec: BrowseSpec) -> Handle {
        self.start_operation(now, Operation::Browse(spec))
    }

    pub fn resolve(&mut self, now: Instant, spec: ResolveSpec) -> Handle {
        self.start_operation(now, Operation::Resolve(spec, BTreeMap::new()))
    }

    pub fn query(&mut self, now: Instant, spec: QuerySpec) -> Handle {
        self.start_operation(now, Operation::Query(spec))
    }

    fn start_operation(&mut self, now: Instant, op: Operation) -> Handle {
        let handle = self.new_handle();
        for (name, rtype, only) in op.questions() {
            self.ask(now, &name, rtype, only);
        }
        self.operations.ops.insert(handle, op);
        // Report what the cache already knows.
        let cached: Vec<(IfIndex, Record)> = self
            .interfaces
            .iter()
            .flat_map(|(i, iface)| {
                let op = &self.operations.ops[&handle];
                op.questions()
                    .into_iter()
                    .filter(move |(_, _, only)| *only == 0 || only == i)
                    .flat_map(move |(name, rtype, _)| iface.cache.lookup(&name, rtype).into_iter().map(move |e| (*i, e.record.clone())))
            })
            .collect();
        for (ifindex, record) in cached {
            self.operation_record_changed(handle, ifindex, &record, true);
        }
        handle
    }

    pub(crate) fn cancel_operation(&mut self, handle: Handle) -> Result<(), CoreError> {
        let op = self.operations.ops.remove(&handle).ok_or(CoreError::UnknownHandle)?;
        for (name, rtype, only) in op.questions() {
            self.unask(&name, rtype, only);
        }
        Ok(())
    }

    pub(crate) fn operations_cache_changed(&mut self, ifindex: IfIndex, record: &Record, added: bool) {
        let handles: Vec<Handle> = self.operations.ops.keys().copied().collect();
        for handle in handles {
            self.operation_record_changed(handle, ifindex, record, added);
        }
    }

    fn operation_record_changed(&mut self, handle: Handle, ifindex: IfIndex, record: &Record, added: bool) {
        let Some(op) = self.operations.ops.get(&handle) else { return };
        match op {
            Operation::Browse(spec) => {
                if (spec.ifindex != 0 && spec.ifindex != ifindex) || record.name != spec.browse_name {
                    return;
                }
                let RData::PTR(ptr) = &record.data else { return };
                let Some(instance) = ptr.0.iter().next() else { return };
                // The target must be an instance of the browsed type.
                let any_type = spec.service_type.is_root();
                let parent = ptr.0.base_name();
                if !any_type && (ptr.0.num_labels() != spec.service_type.num_labels() + 1 || parent != spec.service_type) {
                    return;
                }
                let event = Event::Browse {
                    handle,
                    add: added,
                    instance: instance.to_vec(),
                    service_type: parent,
                    domain: spec.domain.clone(),
                    ifindex,
                };
                self.emit(event);
            }
            Operation::Resolve(spec, _) => {
                if (spec.ifindex != 0 && spec.ifindex != ifindex) || record.name != spec.fullname {
                    return;
                }
                let fullname = spec.fullname.clone();
                let Some(data) = self.resolved_data(ifindex, &fullname) else { return };
                let Some(Operation::Resolve(_, last)) = self.operations.ops.get_mut(&handle) else { return };
                if last.get(&ifindex) == Some(&data) {
                    return;
                }
                last.insert(ifindex, data.clone());
                let (target, port, txt) = data;
                self.emit(Event::Resolved { handle, fullname, target, port, txt, ifindex });
            }
            Operation::Query(spec) => {
                let rtype = RecordType::from(spec.rtype);
                if (spec.ifindex != 0 && spec.ifindex != ifindex)
                    || record.name != spec.name
                    || (rtype != RecordType::ANY && rtype != record.record_type())
                {
                    return;
                }
                let event = Event::Record {
                    handle,
                    add: added,
                    name: record.name.clone(),
                    rtype: u16::from(record.record_type()),
                    rclass: u16::from(record.dns_class),
                    rdata: rdata_bytes(&record.data),
                    ttl: record.ttl,
                    ifindex,
                };
                self.emit(event);
            }
        }
    }

    /// SRV target, port and TXT of an instance, once both are cached. While
    /// a cache flush lets an old record linger for its last second, the one
    /// received most recently is the current one.
    fn resolved_data(&self, ifindex: IfIndex, fullname: &Name) -> Option<ResolvedData> {
        let cache = &self.interfaces.get(&ifindex)?.cache;
        let newest = |rtype| cache.lookup(fullname, rtype).into_iter().max_by_key(|e| e.received).map(|e| e.record.clone());
        let srv = match newest(RecordType::SRV)?.data {
            RData::SRV(srv) => (srv.target.clone(), srv.port),
            _ => return None,
        };
        let txt = txt_bytes(&newest(RecordType::TXT)?);
        Some((srv.0, srv.1, txt))
    }
}

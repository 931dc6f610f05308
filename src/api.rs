//! The safe Rust API: register, browse, resolve and query on an [`Engine`].
//!
//! Names and types are given as the dns_sd.h API takes them: instance names
//! unescaped (`"My Printer"`), service types as `"_ipp._tcp"` with optional
//! subtypes (`"_ipp._tcp,_color"`), domains escaped or `None` for `local.`.
//! Every call returns a handle; dropping it ends the registration (sending
//! goodbyes) or the operation. Events arrive on the engine thread through
//! the closure given; it must not block.

use hickory_proto::rr::Name;

pub use crate::core::IfIndex;
pub use crate::driver::{Engine, EngineConfig, EngineError};
use crate::core::{BrowseSpec, CoreError, Event, Handle, QuerySpec, RecordChange, ResolveSpec, ServiceSpec};
use crate::wire::service_name::{self, NameError, ServiceType};

/// Why a call was refused.
#[derive(Debug)]
pub enum ApiError {
    /// A name, type or domain is malformed.
    Name(NameError),
    /// A parameter is out of range.
    BadParam(&'static str),
    /// Valid, but not supported yet (e.g. a domain other than `local.`).
    Unsupported(&'static str),
    /// The engine refused or is gone.
    Engine(EngineError),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Name(e) => write!(f, "{e}"),
            ApiError::BadParam(what) => write!(f, "bad parameter: {what}"),
            ApiError::Unsupported(what) => write!(f, "not supported: {what}"),
            ApiError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<NameError> for ApiError {
    fn from(e: NameError) -> Self {
        ApiError::Name(e)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Core(CoreError::BadParam(what)) => ApiError::BadParam(what),
            other => ApiError::Engine(other),
        }
    }
}

/// A service to publish.
#[derive(Debug, Clone, Default)]
pub struct Service {
    /// Instance name, unescaped; `None` or empty for the computer's name.
    pub name: Option<String>,
    /// `"_http._tcp"`, optionally with subtypes: `"_http._tcp,_printer"`.
    pub service_type: String,
    /// Escaped domain; `None` or empty for `local.`.
    pub domain: Option<String>,
    /// SRV target host name; `None` for this host.
    pub host: Option<String>,
    /// Port in host byte order (0: a placeholder that only claims the name).
    pub port: u16,
    /// TXT rdata (length-prefixed strings); empty means one empty string.
    pub txt: Vec<u8>,
    /// Report a conflict instead of renaming to "Name (2)".
    pub no_auto_rename: bool,
    /// Interface index, or 0 for all.
    pub interface: IfIndex,
}

/// What happens to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterEvent {
    /// The service is published under `name` (perhaps renamed).
    Registered { name: String, service_type: String, domain: String },
    /// The name is taken and renaming was not allowed.
    NameConflict,
}

/// One instance seen by a browse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowseResult {
    /// Instance name, unescaped.
    pub name: String,
    /// The service type with a trailing dot, e.g. `_http._tcp.`.
    pub service_type: String,
    /// The domain, escaped, e.g. `local.`.
    pub domain: String,
    pub interface: IfIndex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowseEvent {
    Added(BrowseResult),
    Removed(BrowseResult),
}

/// The result of a resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The full service name, escaped, e.g. `My\032Printer._ipp._tcp.local.`.
    pub fullname: String,
    /// The SRV target, e.g. `printer.local.`.
    pub host: String,
    pub port: u16,
    /// TXT rdata (length-prefixed strings).
    pub txt: Vec<u8>,
    pub interface: IfIndex,
}

/// One record answer of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAnswer {
    pub add: bool,
    pub name: String,
    pub rtype: u16,
    pub rclass: u16,
    pub rdata: Vec<u8>,
    pub ttl: u32,
    pub interface: IfIndex,
}

/// One address of a host name, found (`add`) or gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEvent {
    pub add: bool,
    /// The host name, e.g. `printer.local.`.
    pub hostname: String,
    pub address: std::net::IpAddr,
    pub ttl: u32,
    pub interface: IfIndex,
}

/// A live handle: dropping it ends what it stands for.
pub struct Active {
    engine: Engine,
    handles: Vec<Handle>,
    /// Registrations wait for their goodbyes to be sent when dropped.
    wait_on_drop: bool,
}

impl Active {
    fn new(engine: &Engine, handles: Vec<Handle>, wait_on_drop: bool) -> Active {
        Active { engine: engine.clone(), handles, wait_on_drop }
    }

    fn change(&self, change: RecordChange) -> Result<u64, ApiError> {
        let handle = *self.handles.first().ok_or(ApiError::BadParam("no registration"))?;
        Ok(self.engine.change_records(handle, change)?)
    }

    /// Replaces the TXT record of a registration (announced again at once).
    /// `BadParam` if it is malformed, over 8900 bytes, or would not fit in
    /// one 9000-byte packet under the registration's name (RFC 6762 §17).
    pub fn update_txt(&self, txt: &[u8]) -> Result<(), ApiError> {
        if txt.len() > crate::wire::txt::MDNS_MAX_TXT_LEN || !crate::wire::txt::is_well_formed(txt) {
            return Err(ApiError::BadParam("TXT data must be well formed and at most 8900 bytes (RFC 6763 §6.2)"));
        }
        self.change(RecordChange::Update { record: None, rdata: txt.to_vec(), ttl: 0 }).map(|_| ())
    }

    /// Adds a record (any type, raw rdata) under a registration's name;
    /// `ttl` 0 means the default. Returns its id for update and remove.
    /// `BadParam` if the record would not fit in one 9000-byte packet
    /// (RFC 6762 §17).
    pub fn add_record(&self, rtype: u16, rdata: &[u8], ttl: u32) -> Result<u64, ApiError> {
        self.change(RecordChange::Add { rtype, rdata: rdata.to_vec(), ttl })
    }

    /// Replaces the rdata of an added record (`BadParam` if too big, as for
    /// [`Active::add_record`]).
    pub fn update_record(&self, record: u64, rdata: &[u8], ttl: u32) -> Result<(), ApiError> {
        self.change(RecordChange::Update { record: Some(record), rdata: rdata.to_vec(), ttl }).map(|_| ())
    }

    /// Removes an added record (a goodbye is sent for it).
    pub fn remove_record(&self, record: u64) -> Result<(), ApiError> {
        self.change(RecordChange::Remove { record }).map(|_| ())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        for handle in &self.handles {
            self.engine.cancel(*handle, self.wait_on_drop);
        }
    }
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Active({:?})", self.handles)
    }
}

/// The pseudo service type whose browse lists the service types on the link (RFC 6763 §9).
pub const SERVICE_TYPE_ENUMERATION: &str = "_services._dns-sd._udp";

/// The domain argument; only `local.` (multicast DNS) is served so far.
fn local_only(domain: Option<&str>) -> Result<Name, ApiError> {
    let domain = service_name::parse_domain(domain)?;
    if domain != service_name::local_domain() {
        return Err(ApiError::Unsupported("only the local. domain is served"));
    }
    Ok(domain)
}

/// The default instance name: the computer's host name label.
fn default_instance_name(engine: &Engine) -> Result<String, ApiError> {
    let host = engine.host_name()?;
    let label = host.split('.').next().unwrap_or("").to_string();
    Ok(if label.is_empty() { "Linux".to_string() } else { label })
}

impl Engine {
    /// Publishes a service. `BadParam` for TXT data that is malformed, over
    /// 8900 bytes, or too big for one 9000-byte packet with the service's
    /// name (RFC 6762 §17).
    pub fn register_service(
        &self,
        service: &Service,
        mut on_event: impl FnMut(RegisterEvent) + Send + 'static,
    ) -> Result<Active, ApiError> {
        let service_type = ServiceType::parse_for_register(&service.service_type)?;
        if service.txt.len() > crate::wire::txt::MDNS_MAX_TXT_LEN || !crate::wire::txt::is_well_formed(&service.txt) {
            return Err(ApiError::BadParam("TXT data must be well formed and at most 8900 bytes (RFC 6763 §6.2)"));
        }
        let domain = local_only(service.domain.as_deref())?;
        let given = service.name.clone().filter(|n| !n.is_empty());
        if service.no_auto_rename && given.is_none() {
            return Err(ApiError::BadParam("NoAutoRename needs an explicit name"));
        }
        let name = match given {
            Some(name) => name,
            None => default_instance_name(self)?,
        };
        let instance = service_name::instance_label(&name, !service.no_auto_rename)?;
        let host = match &service.host {
            Some(h) if !h.is_empty() => Some(service_name::parse_escaped_name(h)?),
            _ => None,
        };
        let spec = ServiceSpec {
            instance,
            service_type: service_type.type_name(&domain),
            subtypes: service_type.subtype_names(&domain),
            host,
            port: service.port,
            txt: crate::wire::txt::for_wire(&service.txt),
            auto_rename: !service.no_auto_rename,
            ifindex: service.interface,
        };
        let type_string = service_type.to_callback_string();
        let domain_string = service_name::domain_to_string(&domain);
        let handle = self.register(
            spec,
            Box::new(move |event| match event {
                Event::Registered { name, .. } => on_event(RegisterEvent::Registered {
                    name: String::from_utf8_lossy(&name).into_owned(),
                    service_type: type_string.clone(),
                    domain: domain_string.clone(),
                }),
                Event::NameConflict { .. } => on_event(RegisterEvent::NameConflict),
                _ => {}
            }),
        )?;
        Ok(Active::new(self, vec![handle], true))
    }

    /// Browses for instances of a service type (at most one subtype), or,
    /// with `_services._dns-sd._udp`, for the service types offered on the
    /// link: each is reported as Apple does, e.g. name `_http`, type
    /// `_tcp.local.`, domain `.`.
    pub fn browse_services(
        &self,
        service_type: &str,
        domain: Option<&str>,
        interface: IfIndex,
        mut on_event: impl FnMut(BrowseEvent) + Send + 'static,
    ) -> Result<Active, ApiError> {
        let domain = local_only(domain)?;
        let enumeration = service_type.trim_end_matches('.').eq_ignore_ascii_case(SERVICE_TYPE_ENUMERATION);
        let (spec, type_string, domain_string) = if enumeration {
            let browse_name = service_name::services_enumeration_name(&domain);
            (BrowseSpec { browse_name, service_type: Name::root(), domain: domain.clone(), ifindex: interface }, None, ".".to_string())
        } else {
            let ty = ServiceType::parse_for_browse(service_type)?;
            let spec = BrowseSpec {
                browse_name: ty.browse_name(&domain),
                service_type: ty.type_name(&domain),
                domain: domain.clone(),
                ifindex: interface,
            };
            (spec, Some(ty.to_callback_string()), service_name::domain_to_string(&domain))
        };
        let handle = self.browse(
            spec,
            Box::new(move |event| {
                if let Event::Browse { add, instance, ifindex, service_type, .. } = event {
                    let result = BrowseResult {
                        name: String::from_utf8_lossy(&instance).into_owned(),
                        service_type: type_string.clone().unwrap_or_else(|| service_name::name_to_escaped_string(&service_type)),
                        domain: domain_string.clone(),
                        interface: ifindex,
                    };
                    on_event(if add { BrowseEvent::Added(result) } else { BrowseEvent::Removed(result) });
                }
            }),
        )?;
        Ok(Active::new(self, vec![handle], false))
    }

    /// Resolves an instance to its host, port and TXT record.
    pub fn resolve_service(
        &self,
        name: &str,
        service_type: &str,
        domain: Option<&str>,
        interface: IfIndex,
        mut on_event: impl FnMut(Resolved) + Send + 'static,
    ) -> Result<Active, ApiError> {
        let ty = ServiceType::parse_for_browse(service_type)?;
        let domain = local_only(domain)?;
        let instance = service_name::instance_label(name, false)?;
        let fullname = service_name::service_instance_name(&instance, &ty, &domain)?;
        let handle = self.resolve(
            ResolveSpec { fullname, ifindex: interface },
            Box::new(move |event| {
                if let Event::Resolved { fullname, target, port, txt, ifindex, .. } = event {
                    on_event(Resolved {
                        fullname: service_name::name_to_escaped_string(&fullname),
                        host: service_name::name_to_escaped_string(&target),
                        port,
                        txt,
                        interface: ifindex,
                    });
                }
            }),
        )?;
        Ok(Active::new(self, vec![handle], false))
    }

    /// Asks for records of any type for a name (e.g. the A records of `host.local.`).
    pub fn query_record(
        &self,
        fullname: &str,
        rtype: u16,
        interface: IfIndex,
        mut on_event: impl FnMut(RecordAnswer) + Send + 'static,
    ) -> Result<Active, ApiError> {
        let name: Name = service_name::parse_escaped_name(fullname)?;
        let handle = self.query(
            QuerySpec { name, rtype, ifindex: interface },
            Box::new(move |event| {
                if let Event::Record { add, name, rtype, rclass, rdata, ttl, ifindex, .. } = event {
                    on_event(RecordAnswer {
                        add,
                        name: service_name::name_to_escaped_string(&name),
                        rtype,
                        rclass,
                        rdata,
                        ttl,
                        interface: ifindex,
                    });
                }
            }),
        )?;
        Ok(Active::new(self, vec![handle], false))
    }

    /// Looks up the IPv4 and IPv6 addresses of a host name (e.g. the target
    /// a resolve gave), reporting each address as it is found or goes away.
    pub fn lookup_addresses(
        &self,
        hostname: &str,
        interface: IfIndex,
        on_event: impl FnMut(AddressEvent) + Send + 'static,
    ) -> Result<Active, ApiError> {
        let name: Name = service_name::parse_escaped_name(hostname)?;
        let shared = std::sync::Arc::new(std::sync::Mutex::new(on_event));
        let mut handles = Vec::new();
        for rtype in [1u16, 28] {
            let shared = shared.clone();
            let handle = self.query(
                QuerySpec { name: name.clone(), rtype, ifindex: interface },
                Box::new(move |event| {
                    let Event::Record { add, name, rdata, ttl, ifindex, .. } = event else { return };
                    let address = match rdata.len() {
                        4 => std::net::IpAddr::from(<[u8; 4]>::try_from(rdata.as_slice()).expect("four bytes")),
                        16 => std::net::IpAddr::from(<[u8; 16]>::try_from(rdata.as_slice()).expect("sixteen bytes")),
                        _ => return,
                    };
                    if let Ok(mut f) = shared.lock() {
                        f(AddressEvent { add, hostname: service_name::name_to_escaped_string(&name), address, ttl, interface: ifindex });
                    }
                }),
            );
            match handle {
                Ok(h) => handles.push(h),
                Err(e) => {
                    drop(Active::new(self, handles, false));
                    return Err(e.into());
                }
            }
        }
        Ok(Active::new(self, handles, false))
    }
}

//! The driver: one engine thread per [`Engine`] that owns the socket, the
//! timers and a [`Core`], and feeds the core packets, commands and the time.
//!
//! Commands come in over a channel; each event the core emits goes to the
//! sink of the handle it belongs to, called on the engine thread.
//!
//! The interface list (`interfaces.rs`) is read again as soon as the kernel
//! reports a link or address change over netlink (`netlink.rs`), and on a
//! slow timer as a safety net. Where the netlink socket cannot be opened
//! (a sandbox, say), the timer alone does the job, every half second.

pub mod debug_log;
pub mod interfaces;
pub mod localtime;
pub mod netlink;
pub mod port_sharing;
pub mod socket;

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use crate::core::{BrowseSpec, Core, CoreConfig, CoreError, Datagram, Event, Handle, QuerySpec, RecordChange, ResolveSpec, ServiceSpec};

/// Receives the events of one handle, on the engine thread. It must not block.
pub type Sink = Box<dyn FnMut(Event) + Send>;

/// How often the interface list is read again when there are no netlink
/// notifications to wake the driver: changes are then picked up well
/// within a second.
const INTERFACE_POLL: Duration = Duration::from_millis(500);
/// How often the interface list is read again while netlink notifications
/// wake the driver on every change: only a safety net, for a change the
/// notifications might not cover.
const INTERFACE_POLL_WITH_NETLINK: Duration = Duration::from_secs(5);
/// How long a caller waits for the engine to confirm a command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// The environment variable that restricts the engine to one address
/// family: `ipv4` or `ipv6` (unset: both).
pub const FAMILY_ENV: &str = "DNSSD_FAMILY";

/// Which IP versions the engine speaks mDNS over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Families {
    Both,
    Ipv4Only,
    Ipv6Only,
}

impl Families {
    fn from_env() -> Families {
        match std::env::var(FAMILY_ENV).as_deref().map(str::to_ascii_lowercase).as_deref() {
            Ok("ipv4") | Ok("4") => Families::Ipv4Only,
            Ok("ipv6") | Ok("6") => Families::Ipv6Only,
            _ => Families::Both,
        }
    }

    fn ipv4(self) -> bool {
        self != Families::Ipv6Only
    }

    fn ipv6(self) -> bool {
        self != Families::Ipv4Only
    }
}

/// Settings of an engine.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Host label to publish instead of the system host name.
    pub host_label: Option<Vec<u8>>,
    /// Run the engine thread in this network namespace (e.g. `/run/netns/x`).
    pub network_namespace: Option<PathBuf>,
    /// IP versions to use; `None` reads `DNSSD_FAMILY` (unset: both).
    pub families: Option<Families>,
}

pub(crate) enum Command {
    Register(ServiceSpec, Sink, std_mpsc::Sender<Result<Handle, CoreError>>),
    Browse(BrowseSpec, Sink, std_mpsc::Sender<Result<Handle, CoreError>>),
    Resolve(ResolveSpec, Sink, std_mpsc::Sender<Result<Handle, CoreError>>),
    Query(QuerySpec, Sink, std_mpsc::Sender<Result<Handle, CoreError>>),
    Records(Handle, RecordChange, std_mpsc::Sender<Result<u64, CoreError>>),
    /// Ends a handle; `done` is told once its goodbyes are on the wire.
    Cancel(Handle, Option<std_mpsc::Sender<()>>),
    HostName(std_mpsc::Sender<String>),
    /// Ends everything (goodbyes first) and stops the engine thread.
    Shutdown(std_mpsc::Sender<()>),
}

struct Shared {
    commands: mpsc::UnboundedSender<Command>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the channel ends the engine loop, which sends goodbyes first.
        let (closed, _) = mpsc::unbounded_channel();
        self.commands = closed;
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

/// A running engine. Cheap to clone; the engine stops (sending goodbyes for
/// what is still registered) when the last clone is dropped.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// Why the engine could not do something.
#[derive(Debug)]
pub enum EngineError {
    /// The engine thread is gone.
    NotRunning,
    /// The core refused the command.
    Core(CoreError),
    /// Start-up failed.
    Io(io::Error),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::NotRunning => write!(f, "the mDNS engine is not running"),
            EngineError::Core(e) => write!(f, "refused: {e:?}"),
            EngineError::Io(e) => write!(f, "cannot start the mDNS engine: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}

fn system_host_label() -> Vec<u8> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    crate::wire::service_name::default_host_label(name.trim())
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

impl Engine {
    /// Starts an engine thread; fails if the socket cannot be opened.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std_mpsc::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("dns-sd-engine".into())
            .spawn(move || run_thread(config, receiver, ready_tx))
            .map_err(EngineError::Io)?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(EngineError::Io(e));
            }
            Err(_) => return Err(EngineError::NotRunning),
        }
        Ok(Engine { shared: Arc::new(Shared { commands, thread: Mutex::new(Some(thread)) }) })
    }

    fn request<T>(&self, make: impl FnOnce(std_mpsc::Sender<Result<T, CoreError>>) -> Command) -> Result<T, EngineError> {
        let (tx, rx) = std_mpsc::channel();
        self.shared.commands.send(make(tx)).map_err(|_| EngineError::NotRunning)?;
        match rx.recv_timeout(COMMAND_TIMEOUT) {
            Ok(result) => result.map_err(EngineError::Core),
            Err(_) => Err(EngineError::NotRunning),
        }
    }

    pub fn register(&self, spec: ServiceSpec, sink: Sink) -> Result<Handle, EngineError> {
        self.request(|tx| Command::Register(spec, sink, tx))
    }

    pub fn browse(&self, spec: BrowseSpec, sink: Sink) -> Result<Handle, EngineError> {
        self.request(|tx| Command::Browse(spec, sink, tx))
    }

    pub fn resolve(&self, spec: ResolveSpec, sink: Sink) -> Result<Handle, EngineError> {
        self.request(|tx| Command::Resolve(spec, sink, tx))
    }

    pub fn query(&self, spec: QuerySpec, sink: Sink) -> Result<Handle, EngineError> {
        self.request(|tx| Command::Query(spec, sink, tx))
    }

    /// Adds, updates or removes a record of a registration (see [`RecordChange`]).
    pub fn change_records(&self, handle: Handle, change: RecordChange) -> Result<u64, EngineError> {
        self.request(|tx| Command::Records(handle, change, tx))
    }

    /// Ends a handle. With `wait`, returns once its goodbyes have been sent.
    pub fn cancel(&self, handle: Handle, wait: bool) {
        if wait {
            let (tx, rx) = std_mpsc::channel();
            if self.shared.commands.send(Command::Cancel(handle, Some(tx))).is_ok() {
                let _ = rx.recv_timeout(COMMAND_TIMEOUT);
            }
        } else {
            let _ = self.shared.commands.send(Command::Cancel(handle, None));
        }
    }

    /// Stops the engine now, even while clones of it are alive: what is still
    /// registered says goodbye first. Later calls fail with `NotRunning`.
    pub fn shutdown(&self) {
        let (tx, rx) = std_mpsc::channel();
        if self.shared.commands.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.recv_timeout(COMMAND_TIMEOUT);
        }
    }

    /// The host name the engine publishes now, e.g. `myhost.local.`.
    pub fn host_name(&self) -> Result<String, EngineError> {
        let (tx, rx) = std_mpsc::channel();
        self.shared.commands.send(Command::HostName(tx)).map_err(|_| EngineError::NotRunning)?;
        rx.recv_timeout(COMMAND_TIMEOUT).map_err(|_| EngineError::NotRunning)
    }
}

type AsyncSocket = AsyncFd<socket2::Socket>;

/// One family's socket and the interfaces it has joined the group on.
struct FamilySocket {
    socket: AsyncSocket,
    joined: BTreeSet<u32>,
}

/// Opens the sockets of the families in use. One family failing (say, a
/// kernel without IPv6) is fine as long as the other opens.
fn open_sockets(families: Families) -> io::Result<(Option<FamilySocket>, Option<FamilySocket>)> {
    let open = |wanted: bool, opener: fn() -> io::Result<socket2::Socket>| -> io::Result<Option<FamilySocket>> {
        if !wanted {
            return Ok(None);
        }
        let socket = socket::into_async(opener()?)?;
        Ok(Some(FamilySocket { socket, joined: BTreeSet::new() }))
    };
    let v4 = open(families.ipv4(), socket::open_v4);
    let v6 = open(families.ipv6(), socket::open_v6);
    match (v4, v6) {
        (Err(e), Err(_)) | (Err(e), Ok(None)) | (Ok(None), Err(e)) => Err(e),
        (v4, v6) => Ok((v4.unwrap_or(None), v6.unwrap_or(None))),
    }
}

fn run_thread(config: EngineConfig, receiver: mpsc::UnboundedReceiver<Command>, ready: std_mpsc::Sender<io::Result<()>>) {
    let runtime = (|| -> io::Result<tokio::runtime::Runtime> {
        if let Some(path) = &config.network_namespace {
            socket::enter_network_namespace(path)?;
        }
        tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()
    })();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let families = config.families.unwrap_or_else(Families::from_env);
    let host_label = config.host_label.clone().unwrap_or_else(system_host_label);
    runtime.block_on(async move {
        let (v4, v6) = match open_sockets(families) {
            Ok(sockets) => sockets,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        // Subscribed before the first read of the list, so that no change
        // after that read goes unnoticed.
        let netlink = netlink::LinkWatch::open();
        let core_config = CoreConfig { host_label, seed: seed(), ipv4: v4.is_some(), ipv6: v6.is_some() };
        let own_sockets = [&v4, &v6]
            .into_iter()
            .flatten()
            .filter_map(|f| port_sharing::socket_inode(f.socket.get_ref().as_raw_fd()))
            .collect();
        let mut driver = Driver {
            core: Core::new(core_config, Instant::now()),
            log: debug_log::DebugLog::from_env(),
            v4,
            v6,
            sinks: HashMap::new(),
            log_interfaces: None,
            waiting: Vec::new(),
            own_sockets,
            netlink: None,
        };
        match netlink {
            Ok(watch) => driver.netlink = Some(watch),
            Err(e) => driver.log.line(|| format!("no netlink notifications ({e}): interfaces polled every {INTERFACE_POLL:?}")),
        }
        driver.refresh_interfaces();
        driver.run(receiver).await;
    });
}

struct Driver {
    core: Core,
    log: debug_log::DebugLog,
    v4: Option<FamilySocket>,
    v6: Option<FamilySocket>,
    sinks: HashMap<Handle, Sink>,
    /// The interface list last logged.
    log_interfaces: Option<Vec<crate::core::InterfaceInfo>>,
    /// Cancel requests to confirm once the packets they caused are sent.
    waiting: Vec<std_mpsc::Sender<()>>,
    /// Inodes of our own sockets, to tell them from others on port 5353.
    own_sockets: BTreeSet<u64>,
    /// Link and address change notifications; None where netlink could not
    /// be opened or failed.
    netlink: Option<netlink::LinkWatch>,
}

/// Waits until the socket (if the family is in use) has datagrams.
async fn readable(family: &Option<FamilySocket>) -> Option<tokio::io::unix::AsyncFdReadyGuard<'_, socket2::Socket>> {
    match family {
        Some(f) => f.socket.readable().await.ok(),
        None => std::future::pending().await,
    }
}

/// Waits until the kernel reports a link or address change (never, without
/// a netlink socket).
async fn link_changed(watch: &Option<netlink::LinkWatch>) -> io::Result<()> {
    match watch {
        Some(watch) => watch.changed().await,
        None => std::future::pending().await,
    }
}

/// The safety-net timer for re-reading the interface list.
fn interface_timer(netlink: bool) -> tokio::time::Interval {
    let period = if netlink { INTERFACE_POLL_WITH_NETLINK } else { INTERFACE_POLL };
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// Hands every waiting datagram to the core.
fn drain(core: &mut Core, log: &mut debug_log::DebugLog, mut guard: tokio::io::unix::AsyncFdReadyGuard<'_, socket2::Socket>) {
    loop {
        match socket::receive(guard.get_inner()) {
            Ok(received) => {
                log.packet("recv", received.ifindex, received.source, &received.payload);
                core.handle_datagram(
                    Instant::now(),
                    Datagram { ifindex: received.ifindex, source: received.source, multicast: received.multicast, payload: received.payload },
                )
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                guard.clear_ready();
                return;
            }
            Err(_) => return,
        }
    }
}

impl Driver {
    async fn run(&mut self, mut receiver: mpsc::UnboundedReceiver<Command>) {
        let mut interface_poll = interface_timer(self.netlink.is_some());
        loop {
            self.flush();
            let deadline = self.core.poll_timeout().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                command = receiver.recv() => match command {
                    Some(Command::Shutdown(done)) => {
                        self.waiting.push(done);
                        break;
                    }
                    Some(command) => self.command(command),
                    None => break,
                },
                Some(guard) = readable(&self.v4) => drain(&mut self.core, &mut self.log, guard),
                Some(guard) = readable(&self.v6) => drain(&mut self.core, &mut self.log, guard),
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                    self.core.handle_timeout(Instant::now());
                },
                _ = interface_poll.tick() => self.refresh_interfaces(),
                changed = link_changed(&self.netlink) => {
                    if let Err(e) = changed {
                        self.log.line(|| format!("netlink notifications failed ({e}): interfaces polled every {INTERFACE_POLL:?}"));
                        self.netlink = None;
                        interface_poll = interface_timer(false);
                    }
                    self.refresh_interfaces();
                },
            }
        }
        // Shutting down: everything still registered says goodbye.
        let handles: Vec<Handle> = self.sinks.keys().copied().collect();
        for handle in handles {
            let _ = self.core.cancel(Instant::now(), handle);
        }
        self.flush();
    }

    /// Tells the core whether unicast replies to port 5353 would reach us.
    fn check_port_sharing(&mut self) {
        let alone = port_sharing::port_is_ours_alone(&self.own_sockets);
        if alone != self.core.receives_unicast() {
            self.log.line(|| format!("port 5353 {}", if alone { "ours alone: asking for unicast replies" } else { "shared: multicast replies only" }));
        }
        self.core.set_receives_unicast(alone);
    }

    fn refresh_interfaces(&mut self) {
        self.check_port_sharing();
        let mut list = interfaces::current(self.v4.is_some(), self.v6.is_some());
        let with_v4: BTreeSet<u32> = list.iter().filter(|i| !i.ipv4.is_empty()).map(|i| i.index).collect();
        let with_v6: BTreeSet<u32> = list.iter().filter(|i| !i.ipv6.is_empty()).map(|i| i.index).collect();
        for (family, wanted) in [(&mut self.v4, with_v4), (&mut self.v6, with_v6)] {
            let Some(family) = family else { continue };
            for gone in family.joined.difference(&wanted).copied().collect::<Vec<_>>() {
                socket::leave(family.socket.get_ref(), gone);
                family.joined.remove(&gone);
            }
            for new in wanted.difference(&family.joined.clone()).copied().collect::<Vec<_>>() {
                if socket::join(family.socket.get_ref(), new).is_ok() {
                    family.joined.insert(new);
                }
            }
        }
        // An interface is used where a family's group could be joined.
        let joined = |family: &Option<FamilySocket>, index: u32| family.as_ref().is_some_and(|f| f.joined.contains(&index));
        list.retain(|i| joined(&self.v4, i.index) || joined(&self.v6, i.index));
        if self.log_interfaces.as_ref() != Some(&list) {
            self.log.line(|| format!("interfaces: {list:?}"));
            self.log_interfaces = Some(list.clone());
        }
        self.core.set_interfaces(Instant::now(), list);
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Register(spec, sink, reply) => {
                self.check_port_sharing();
                let result = self.core.register(now, spec);
                self.keep_sink(&result, sink);
                let _ = reply.send(result);
            }
            Command::Browse(spec, sink, reply) => {
                let handle = self.core.browse(now, spec);
                self.keep_sink(&Ok(handle), sink);
                let _ = reply.send(Ok(handle));
            }
            Command::Resolve(spec, sink, reply) => {
                let handle = self.core.resolve(now, spec);
                self.keep_sink(&Ok(handle), sink);
                let _ = reply.send(Ok(handle));
            }
            Command::Query(spec, sink, reply) => {
                let handle = self.core.query(now, spec);
                self.keep_sink(&Ok(handle), sink);
                let _ = reply.send(Ok(handle));
            }
            Command::Records(handle, change, reply) => {
                let _ = reply.send(self.core.change_records(now, handle, change));
            }
            Command::Cancel(handle, done) => {
                let _ = self.core.cancel(now, handle);
                self.sinks.remove(&handle);
                if let Some(done) = done {
                    self.waiting.push(done);
                }
            }
            Command::HostName(reply) => {
                let _ = reply.send(self.core.host_name().to_string());
            }
            // The run loop takes it before dispatching here.
            Command::Shutdown(_) => {}
        }
    }

    /// Keeps the sink of a new handle. Events the core queued while starting
    /// the handle (cached answers) are delivered by the next flush.
    fn keep_sink(&mut self, result: &Result<Handle, CoreError>, sink: Sink) {
        if let Ok(handle) = result {
            self.sinks.insert(*handle, sink);
        }
    }

    /// Sends what the core queued and routes its events.
    fn flush(&mut self) {
        while let Some(transmit) = self.core.poll_transmit() {
            let family = if transmit.destination.is_ipv4() { &self.v4 } else { &self.v6 };
            if let Some(family) = family {
                self.log.packet("send", transmit.ifindex, transmit.destination, &transmit.payload);
                if let Err(e) = socket::send(family.socket.get_ref(), transmit.ifindex, transmit.destination, &transmit.payload) {
                    self.log.line(|| format!("send on if{} to {} failed: {e}", transmit.ifindex, transmit.destination));
                }
            }
        }
        while let Some(event) = self.core.poll_event() {
            if let Some(sink) = self.sinks.get_mut(&event_handle(&event)) {
                sink(event);
            }
        }
        for done in self.waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

fn event_handle(event: &Event) -> Handle {
    match event {
        Event::Registered { handle, .. }
        | Event::NameConflict { handle }
        | Event::Browse { handle, .. }
        | Event::Resolved { handle, .. }
        | Event::Record { handle, .. } => *handle,
    }
}

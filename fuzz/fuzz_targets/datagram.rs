//! Any bytes, received from any source, by a core that publishes a
//! service, browses, resolves and queries: no panic, every packet it sends
//! in return decodes and stays within 9000 bytes, and its cache stays bounded.
#![no_main]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use dns_sd::core::constants::ABSOLUTE_MAX_PAYLOAD;
use dns_sd::core::{BrowseSpec, Core, CoreConfig, Datagram, InterfaceInfo, QuerySpec, ResolveSpec, ServiceSpec};
use dns_sd::wire::message::decode;
use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("valid name")
}

fn core_with_everything(now: Instant) -> Core {
    let mut core = Core::new(CoreConfig { host_label: b"fuzz".to_vec(), seed: 7, ipv4: true, ipv6: true }, now);
    core.set_receives_unicast(true);
    core.set_interfaces(
        now,
        vec![InterfaceInfo {
            index: 2,
            name: "eth0".into(),
            ipv4: vec![Ipv4Addr::new(192, 0, 2, 1)],
            ipv6: vec!["fe80::1".parse().unwrap()],
            subnets: vec![("192.0.2.0".parse().unwrap(), 24)],
            link_changes: 0,
        }],
    );
    let service = ServiceSpec {
        instance: b"Fuzz".to_vec(),
        service_type: name("_fuzz._tcp.local."),
        subtypes: vec![name("_sub._sub._fuzz._tcp.local.")],
        host: None,
        port: 1234,
        txt: b"\x05a=one".to_vec(),
        auto_rename: true,
        ifindex: 0,
    };
    let _ = core.register(now, service);
    let local = name("local.");
    core.browse(now, BrowseSpec { browse_name: name("_fuzz._tcp.local."), service_type: name("_fuzz._tcp.local."), domain: local, ifindex: 0 });
    core.resolve(now, ResolveSpec { fullname: name("Other._fuzz._tcp.local."), ifindex: 0 });
    core.query(now, QuerySpec { name: name("peer.local."), rtype: 1, ifindex: 0 });
    core
}

fn drain(core: &mut Core) {
    while let Some(transmit) = core.poll_transmit() {
        assert!(transmit.payload.len() <= ABSOLUTE_MAX_PAYLOAD, "a {}-byte packet", transmit.payload.len());
        assert!(decode(&transmit.payload).is_some(), "we sent a packet we cannot read");
    }
    while core.poll_event().is_some() {}
}

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut now = start;
    let mut core = core_with_everything(now);
    // Probing and announcing under way, so conflicts and answers both matter.
    now += Duration::from_millis(300);
    core.handle_timeout(now);
    drain(&mut core);
    // The first byte chooses how it arrives; the rest is the packet.
    let Some((how, payload)) = data.split_first() else { return };
    let source: SocketAddr = match how & 3 {
        0 => "192.0.2.9:5353".parse().unwrap(),
        1 => "192.0.2.9:40000".parse().unwrap(),
        2 => "198.51.100.9:5353".parse().unwrap(),
        _ => "[fe80::9%2]:5353".parse().unwrap(),
    };
    let multicast = how & 4 == 0;
    for _ in 0..=(how >> 3 & 3) {
        core.handle_datagram(now, Datagram { ifindex: 2, source, multicast, payload: payload.to_vec() });
        drain(&mut core);
        now += Duration::from_millis(150);
        core.handle_timeout(now);
        drain(&mut core);
    }
    // Let every timer run out over the next hours.
    for _ in 0..24 {
        match core.poll_timeout() {
            Some(deadline) if deadline < start + Duration::from_secs(4 * 3600) => {
                now = now.max(deadline);
                core.handle_timeout(now);
                drain(&mut core);
            }
            _ => break,
        }
    }
});

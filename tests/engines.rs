//! Several engines in one process, each in its own network namespace,
//! driven through the safe Rust API. Needs root.
//!
//! `cargo test --test engines -- --ignored --nocapture latency` measures the
//! time from registering to the "registered" event and from starting a
//! browse to its first add, on a virtual link, and prints the medians.

mod support;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dns_sd::api::{ApiError, BrowseEvent, Engine, EngineConfig, RegisterEvent, Resolved, Service};
use support::*;

fn engine_in(host: &Host, label: &str) -> Engine {
    Engine::start(EngineConfig {
        host_label: Some(label.as_bytes().to_vec()),
        network_namespace: Some(PathBuf::from("/run/netns").join(host.name())),
        families: None,
    })
    .expect("engine starts in the namespace")
}

fn service(name: &str, service_type: &str, port: u16) -> Service {
    Service {
        name: Some(name.into()),
        service_type: service_type.into(),
        port,
        txt: b"\x07version\x05a=b c".to_vec(),
        ..Service::default()
    }
}

#[test]
fn rust_api_publishes_browses_resolves_and_updates_txt_across_namespaces() {
    let lab = Lab::new(2);
    let a = engine_in(lab.host(1), "alpha");
    let b = engine_in(lab.host(2), "bravo");
    assert_eq!(a.host_name().unwrap(), "alpha.local.");

    let (reg_tx, reg_rx) = mpsc::channel();
    let registration = a.register_service(&service("Api Svc", "_apitest._tcp,_sub1", 3333), move |e| {
        let _ = reg_tx.send(e);
    }).unwrap();
    let event = reg_rx.recv_timeout(Duration::from_secs(5)).expect("registered");
    assert_eq!(event, RegisterEvent::Registered { name: "Api Svc".into(), service_type: "_apitest._tcp.".into(), domain: "local.".into() });

    // Browsing the subtype finds it too, reported under the base type.
    let (browse_tx, browse_rx) = mpsc::channel();
    let browse = b.browse_services("_apitest._tcp,_sub1", None, 0, move |e| {
        let _ = browse_tx.send(e);
    }).unwrap();
    match browse_rx.recv_timeout(Duration::from_secs(5)).expect("browse add") {
        BrowseEvent::Added(found) => {
            assert_eq!(found.name, "Api Svc");
            assert_eq!(found.service_type, "_apitest._tcp.");
            assert_eq!(found.interface, lab.host(2).ifindex_of("eth0"));
        }
        other => panic!("unexpected {other:?}"),
    }

    let (res_tx, res_rx) = mpsc::channel::<Resolved>();
    let resolve = b.resolve_service("Api Svc", "_apitest._tcp", None, 0, move |r| {
        let _ = res_tx.send(r);
    }).unwrap();
    let resolved = res_rx.recv_timeout(Duration::from_secs(5)).expect("resolved");
    assert_eq!(resolved.host, "alpha.local.");
    assert_eq!(resolved.port, 3333);
    assert_eq!(resolved.txt, b"\x07version\x05a=b c");
    assert_eq!(resolved.fullname, r"Api\032Svc._apitest._tcp.local.");

    // A TXT update reaches the running resolve (announced again, cache flush).
    registration.update_txt(b"\x09version=2").unwrap();
    let updated = res_rx.recv_timeout(Duration::from_secs(5)).expect("updated TXT");
    assert_eq!(updated.txt, b"\x09version=2");

    // RFC 6762 §17: a record that could not fit in one 9000-byte packet is
    // refused; the TXT update below passes the 8900-byte check on the data
    // alone but not with the (renamable) service's name.
    assert!(matches!(registration.add_record(65280, &[0; 9000], 0), Err(ApiError::BadParam(_))));
    let mut txt_8900 = [&[254u8][..], &[b'v'; 254]].concat().repeat(34);
    txt_8900.extend([&[229u8][..], &[b'w'; 229]].concat());
    assert_eq!(txt_8900.len(), 8900);
    assert!(matches!(registration.update_txt(&txt_8900), Err(ApiError::BadParam(_))));
    let hinfo = registration.add_record(13, b"\x03x86\x05Linux", 0).expect("a small record is added");
    registration.remove_record(hinfo).unwrap();

    // The host's address is answered to a record query.
    let (q_tx, q_rx) = mpsc::channel();
    let _query = b.query_record("alpha.local.", 1, 0, move |r| {
        let _ = q_tx.send(r);
    }).unwrap();
    let answer = q_rx.recv_timeout(Duration::from_secs(5)).expect("A record");
    assert!(answer.add);
    assert_eq!(answer.rdata, lab.host(1).ipv4().octets().to_vec());

    // Then the target's addresses, both families.
    let (a_tx, a_rx) = mpsc::channel();
    let _lookup = b.lookup_addresses(&resolved.host, 0, move |e| {
        let _ = a_tx.send(e);
    }).unwrap();
    let mut found = Vec::new();
    while let Ok(e) = a_rx.recv_timeout(Duration::from_secs(3)) {
        assert!(e.add && e.hostname == "alpha.local.", "{e:?}");
        found.push(e.address);
        if found.len() == 2 {
            break;
        }
    }
    found.sort();
    assert_eq!(found, vec![std::net::IpAddr::V4(lab.host(1).ipv4()), std::net::IpAddr::V6(lab.host(1).ipv6())]);

    drop(registration);
    let removed = browse_rx.recv_timeout(Duration::from_secs(4)).expect("removed after goodbye");
    assert!(matches!(removed, BrowseEvent::Removed(ref r) if r.name == "Api Svc"), "{removed:?}");
    drop(resolve);
    drop(browse);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
fn latency() {
    let lab = Lab::new(2);
    let a = engine_in(lab.host(1), "alpha");
    // Listening from the start, this engine caches the announcements.
    let listener = engine_in(lab.host(2), "bravo");
    let rounds: u16 = 20;
    let mut register = Vec::new();
    let mut keep = Vec::new();
    for round in 0..rounds {
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let reg = a.register_service(&service("Latency", &format!("_lat{round}._tcp"), 1000 + round), move |e| {
            let _ = tx.send((Instant::now(), e));
        }).unwrap();
        let (at, _) = rx.recv_timeout(Duration::from_secs(5)).expect("registered");
        register.push(at - start);
        keep.push(reg);
    }
    // Announcements over: what a browser meets in the steady state.
    std::thread::sleep(Duration::from_secs(8));
    let browse_once = |engine: &Engine, service_type: &str| {
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let browse = engine.browse_services(service_type, None, 0, move |_| {
            let _ = tx.send(Instant::now());
        }).unwrap();
        let at = rx.recv_timeout(Duration::from_secs(5)).expect("first add");
        drop(browse);
        at - start
    };
    // Cold: a new engine (a new process's first browse) with nothing cached.
    let mut cold = Vec::new();
    for round in 0..rounds {
        let b = engine_in(lab.host(2), "bravo");
        cold.push(browse_once(&b, &format!("_lat{round}._tcp")));
    }
    // Warm: an engine that was listening while the services were announced.
    let mut warm = Vec::new();
    for round in 0..rounds {
        warm.push(browse_once(&listener, &format!("_lat{round}._tcp")));
    }
    let show = |what: &str, v: &Vec<Duration>| {
        println!("{what}: median {:?}, min {:?}, max {:?} ({} samples)", median(v.clone()), v.iter().min().unwrap(), v.iter().max().unwrap(), v.len());
    };
    show("register -> registered", &register);
    show("browse -> first add, cold engine", &cold);
    show("browse -> first add, warm engine", &warm);
}


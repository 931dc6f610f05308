//! The shared library as a C program sees it: its SONAME, its exported
//! symbols, the generated header, and the API's error and fd contracts
//! exercised from C (inside a namespace: it registers a service).

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;

fn library() -> std::path::PathBuf {
    library_dir().join("libdns_sd.so")
}

fn exported_symbols() -> Vec<String> {
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(library()).output().expect("nm (binutils) runs");
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_whitespace().nth(2).map(str::to_string)).collect()
}

#[test]
fn soname_is_libdns_sd_so_1() {
    let out = Command::new("objdump").arg("-p").arg(library()).output().expect("objdump (binutils) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.split_whitespace().eq(["SONAME", "libdns_sd.so.1"])), "{text}");
}

#[test]
fn only_dns_sd_symbols_are_exported_and_all_are_declared() {
    let symbols = exported_symbols();
    assert!(symbols.len() >= 17, "{symbols:?}");
    for s in &symbols {
        assert!(s.starts_with("DNSService") || s.starts_with("TXTRecord"), "unexpected export {s}");
    }
    let header = std::fs::read_to_string(manifest_dir().join("include/dns_sd.h")).unwrap();
    for s in &symbols {
        let declared = header.contains(&format!(" {s}(")) || header.contains(&format!("*{s}("));
        assert!(declared, "{s} is exported but not declared in dns_sd.h");
    }
    for required in ["DNSServiceRegister", "DNSServiceBrowse", "DNSServiceResolve", "DNSServiceRefSockFD", "DNSServiceProcessResult", "DNSServiceRefDeallocate", "TXTRecordCreate", "TXTRecordSetValue", "TXTRecordGetLength", "TXTRecordGetBytesPtr", "TXTRecordDeallocate"] {
        assert!(symbols.iter().any(|s| s == required), "{required} is not exported");
    }
}

#[test]
fn header_has_apple_values() {
    let header = std::fs::read_to_string(manifest_dir().join("include/dns_sd.h")).unwrap();
    for line in [
        "#define _DNS_SD_H 16610000",
        "#define kDNSServiceErr_BadParam -65540",
        "#define kDNSServiceErr_NameConflict -65548",
        "#define kDNSServiceFlagsMoreComing 1",
        "#define kDNSServiceFlagsAdd 2",
        "#define kDNSServiceFlagsShareConnection 16384",
        "#define kDNSServiceInterfaceIndexLocalOnly ((uint32_t)0xffffffffU)",
        "#define kDNSServiceMaxDomainName 1009",
        "typedef uint32_t DNSServiceFlags;",
        "typedef int32_t DNSServiceErrorType;",
        "typedef struct _DNSServiceRef_t _DNSServiceRef_t;",
        "typedef _DNSServiceRef_t *DNSServiceRef;",
        "typedef _TXTRecordRef_t TXTRecordRef;",
    ] {
        assert!(header.contains(line), "dns_sd.h lacks `{line}`");
    }
}

/// Compiles `tests/c/<name>.c` against the header and the library, runs it
/// in a fresh namespace and expects "PASS".
fn run_c_check(name: &str) {
    let binary = compile_c_test(name, &[]);
    let lab = Lab::new(1);
    let out = lab.host(1).run(&binary, &[], Duration::from_secs(30));
    let _ = std::fs::remove_file(&binary);
    assert!(out.success() && out.stdout.contains("PASS"), "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
}

#[test]
fn api_contracts_hold_from_c() {
    run_c_check("api_checks");
}

#[test]
fn a_child_after_fork_gets_a_fresh_engine_and_inherited_refs_fail_fast() {
    run_c_check("fork_checks");
}

#[test]
#[ignore = "a measurement, not a check: cargo test --test abi -- --ignored --nocapture latency"]
fn latency_through_the_c_api() {
    let binary = compile_c_test("latency", &["-O2"]);
    let lab = Lab::new(2);
    let rounds = 20;
    let registrar = lab.host(1).spawn(&binary, &["register", &rounds.to_string()], &[]);
    registrar.wait_for_line("READY", Duration::from_secs(60)).expect("registrations done");
    std::thread::sleep(Duration::from_secs(8)); // announcements over
    let mut register: Vec<f64> =
        registrar.lines_matching("register ").iter().filter_map(|l| l.split(' ').nth(1)?.parse().ok()).collect();
    let mut browse = Vec::new();
    for round in 0..rounds {
        let out = lab.host(2).run(&binary, &["browse", &format!("_lat{round}._tcp")], Duration::from_secs(10));
        if let Some(ms) = out.stdout_lines().iter().find_map(|l| l.strip_prefix("browse ")?.parse::<f64>().ok()) {
            browse.push(ms);
        }
    }
    let _ = std::fs::remove_file(&binary);
    let summary = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        format!("median {:.1} ms, min {:.1}, max {:.1} ({} samples)", v[v.len() / 2], v[0], v[v.len() - 1], v.len())
    };
    println!("DNSServiceRegister -> callback: {}", summary(&mut register));
    println!("DNSServiceBrowse -> first add (new process): {}", summary(&mut browse));
}

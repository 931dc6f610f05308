//! `dns-sd`: Apple's command-line tool for DNS Service Discovery, on this
//! library's engine. Same options and output as Apple's, for the operations
//! implemented so far:
//!
//! ```text
//! dns-sd -R <Name> <Type> <Domain> <Port> [<TXT>...]   register a service
//! dns-sd -B <Type> [<Domain>]                          browse for services
//! dns-sd -L <Name> <Type> [<Domain>]                   look up (resolve) a service
//! dns-sd -Q <name> [<rrtype> [<rrclass>]]              query for any record type
//! ```
//! Prefix options: `-i <interface name or index>`, `-t <seconds>` (exit
//! after that long). Ctrl-C (or SIGTERM) ends the tool; registered services
//! send their goodbyes first.

mod output;

use std::process::ExitCode;
use std::time::Duration;

use dns_sd::api::{BrowseEvent, Engine, EngineConfig, RegisterEvent, Service};
use output::{emit, Stamper};

enum Line {
    Register(RegisterEvent),
    Browse(BrowseEvent),
    Resolve(dns_sd::api::Resolved),
    Record(dns_sd::api::RecordAnswer),
}

fn usage(program: &str) -> ExitCode {
    eprintln!("{program} -R <Name> <Type> <Domain> <Port> [<TXT>...]  (Register a service)");
    eprintln!("{program} -B <Type> <Domain>                       (Browse for service instances)");
    eprintln!("{program} -L <Name> <Type> <Domain>                (Resolve a service instance)");
    eprintln!("{program} -Q <name> <rrtype> <rrclass>             (Generic query for any record type)");
    eprintln!("Prefix options: -i <Interface> (name or index), -t <seconds> (exit after that long)");
    ExitCode::from(255)
}

/// Apple's shorthand: no type or "." means `_http._tcp`; "foo" means `foo._tcp`.
fn service_type(arg: Option<&String>) -> String {
    match arg.map(String::as_str) {
        None | Some("") | Some(".") => "_http._tcp".to_string(),
        Some(t) if !t.contains('.') => format!("{t}._tcp"),
        Some(t) => t.to_string(),
    }
}

fn record_type(arg: Option<&String>) -> Option<u16> {
    let Some(text) = arg else { return Some(1) };
    if let Ok(n) = text.parse::<u16>() {
        return Some(n);
    }
    let known = [("A", 1), ("NS", 2), ("CNAME", 5), ("SOA", 6), ("NULL", 10), ("PTR", 12), ("HINFO", 13), ("MX", 15), ("TXT", 16), ("AAAA", 28), ("SRV", 33), ("NSEC", 47), ("ANY", 255)];
    known.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)).map(|(_, n)| *n)
}

fn interface_index(arg: &str) -> Option<u32> {
    if let Ok(n) = arg.parse::<u32>() {
        return Some(n);
    }
    let path = format!("/sys/class/net/{arg}/ifindex");
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let program = args.first().cloned().unwrap_or_else(|| "dns-sd".into());
    let mut rest = &args[1..];
    let mut interface = 0u32;
    let mut timeout: Option<Duration> = None;
    while let Some(first) = rest.first() {
        match first.as_str() {
            "-i" if rest.len() > 1 => {
                let Some(index) = interface_index(&rest[1]) else {
                    eprintln!("Unknown interface {}", rest[1]);
                    return ExitCode::from(255);
                };
                interface = index;
                println!("Using interface {index}");
                rest = &rest[2..];
            }
            "-t" if rest.len() > 1 => {
                let Ok(seconds) = rest[1].parse::<f64>() else { return usage(&program) };
                timeout = Some(Duration::from_secs_f64(seconds.max(0.0)));
                rest = &rest[2..];
            }
            _ => break,
        }
    }
    let Some(operation) = rest.first().cloned() else { return usage(&program) };
    let operands: Vec<String> = rest[1..].to_vec();

    let engine = match Engine::start(EngineConfig::default()) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("DNSService call failed -65563 (Service Not Running): {e}");
            return ExitCode::from(255);
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Line>();
    let started = match operation.as_str() {
        "-R" => {
            if operands.len() < 4 {
                return usage(&program);
            }
            let name = if operands[0] == "." { String::new() } else { operands[0].clone() };
            let ty = service_type(operands.get(1));
            let domain = if operands[2] == "." { String::new() } else { operands[2].clone() };
            let Ok(port) = operands[3].parse::<u16>() else { return usage(&program) };
            let txt_args: Vec<&str> = operands[4..].iter().map(String::as_str).collect();
            let txt = match dns_sd::wire::txt::from_dns_sd_args(&txt_args) {
                Ok(txt) => txt,
                Err(_) => {
                    eprintln!("DNSService call failed -65540");
                    return ExitCode::from(255);
                }
            };
            let mut line = format!(
                "Registering Service {}.{}{}{} port {}",
                if name.is_empty() { "<<Default>>" } else { &name },
                ty,
                if domain.is_empty() { "" } else { "." },
                domain,
                operands[3]
            );
            if !txt_args.is_empty() {
                line.push_str(" TXT");
                line.push_str(&dns_sd::wire::txt::display_like_dns_sd(&txt));
            }
            println!("{line}");
            let service = Service {
                name: Some(name),
                service_type: ty,
                domain: Some(domain),
                port,
                txt,
                interface,
                ..Service::default()
            };
            let tx = tx.clone();
            engine.register_service(&service, move |e| {
                let _ = tx.send(Line::Register(e));
            })
        }
        "-B" => {
            let ty = service_type(operands.first());
            let domain = operands.get(1).cloned().filter(|d| d != ".").unwrap_or_default();
            println!("Browsing for {}{}{}", ty, if domain.is_empty() { "" } else { "." }, domain);
            let tx = tx.clone();
            engine.browse_services(&ty, Some(&domain), interface, move |e| {
                let _ = tx.send(Line::Browse(e));
            })
        }
        "-L" => {
            if operands.len() < 2 {
                return usage(&program);
            }
            let ty = service_type(operands.get(1));
            let domain = operands.get(2).cloned().filter(|d| d != ".").unwrap_or_else(|| "local".into());
            println!("Lookup {}.{}.{}", operands[0], ty, domain);
            let tx = tx.clone();
            engine.resolve_service(&operands[0], &ty, Some(&domain), interface, move |r| {
                let _ = tx.send(Line::Resolve(r));
            })
        }
        "-Q" => {
            let Some(name) = operands.first() else { return usage(&program) };
            let Some(rtype) = record_type(operands.get(1)) else { return usage(&program) };
            let tx = tx.clone();
            engine.query_record(name, rtype, interface, move |r| {
                let _ = tx.send(Line::Record(r));
            })
        }
        _ => return usage(&program),
    };
    let handle = match started {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("DNSService call failed: {e}");
            return ExitCode::from(255);
        }
    };

    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::from(255);
        }
    };
    let mut stamper = Stamper::new();
    let mut printed = 0usize;
    emit(&format!("{}...STARTING...\n", stamper.stamp()));
    let exit = runtime.block_on(async {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let expired = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let terminated = async {
                match terminate.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                line = rx.recv() => match line {
                    Some(line) => {
                        if let Some(code) = print_line(&mut stamper, &mut printed, line) {
                            return code;
                        }
                    }
                    None => return ExitCode::SUCCESS,
                },
                _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
                _ = terminated => return ExitCode::SUCCESS,
                _ = expired => return ExitCode::SUCCESS,
            }
        }
    });
    // Ending the registration sends its goodbyes before the engine stops.
    drop(handle);
    drop(engine);
    exit
}

/// Prints one result; `Some(code)` ends the tool.
fn print_line(stamper: &mut Stamper, printed: &mut usize, line: Line) -> Option<ExitCode> {
    match line {
        Line::Register(RegisterEvent::Registered { name, service_type, domain }) => {
            emit(&format!("{}{}", stamper.stamp(), output::register_line(&name, &service_type, &domain, true)));
        }
        Line::Register(RegisterEvent::NameConflict) => {
            emit(&format!("{}Name in use, please choose another\n", stamper.stamp()));
            return Some(ExitCode::from(255));
        }
        Line::Browse(event) => {
            if *printed == 0 {
                emit(output::BROWSE_HEADER);
            }
            *printed += 1;
            let (add, r) = match event {
                BrowseEvent::Added(r) => (true, r),
                BrowseEvent::Removed(r) => (false, r),
            };
            let flags = if add { 2 } else { 0 };
            emit(&format!("{}{}", stamper.stamp(), output::browse_line(add, flags, r.interface, &r.domain, &r.service_type, &r.name)));
        }
        Line::Resolve(r) => {
            emit(&format!("{}{}", stamper.stamp(), output::resolve_line(&r.fullname, &r.host, r.port, r.interface, 0, &r.txt)));
        }
        Line::Record(r) => {
            if *printed == 0 {
                emit("Timestamp     A/R  Flags         IF  Name                          Type   Class  Rdata\n");
            }
            *printed += 1;
            let rdata: String = r.rdata.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
            emit(&format!(
                "{}{} {:8X} {:8} {:<29} {:<6} {:<6} {} bytes: {}\n",
                stamper.stamp(),
                if r.add { "Add" } else { "Rmv" },
                if r.add { 2 } else { 0 },
                r.interface,
                r.name,
                r.rtype,
                r.rclass,
                r.rdata.len(),
                rdata
            ));
        }
    }
    None
}

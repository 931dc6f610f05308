//! Any text as the service types, domains and names programs pass in: a
//! clear error or a valid name, never a panic.
#![no_main]

use dns_sd::wire::service_name::{parse_domain, ServiceType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let domain = parse_domain(Some(text));
    for parsed in [ServiceType::parse_for_register(text), ServiceType::parse_for_browse(text)] {
        if let Ok(service_type) = parsed {
            let local = parse_domain(None).expect("local. parses");
            let _ = service_type.try_type_name(&local);
            let _ = service_type.try_subtype_names(&local);
            let _ = service_type.try_browse_name(&local);
            let _ = service_type.to_callback_string();
            if let Ok(domain) = &domain {
                let _ = service_type.try_browse_name(domain);
            }
        }
    }
});

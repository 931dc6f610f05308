//! Any bytes as TXT rdata: the reading functions agree with each other and
//! never panic; editing keeps the rdata well formed.
#![no_main]

use dns_sd::wire::txt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let count = txt::count(data);
    let mut seen = 0;
    for index in 0..count + 2 {
        if let Some((key, value)) = txt::item_at(data, index) {
            seen += 1;
            let _ = value.value();
            let _ = txt::get(data, key);
            let _ = txt::contains_key(data, key);
        }
    }
    // Malformed data counts 0 (as TXTRecordGetCount), while its well-formed
    // prefix stays readable item by item (as TXTRecordGetItemAtIndex).
    if txt::is_well_formed(data) {
        assert_eq!(seen, count);
    } else {
        assert_eq!(count, 0);
    }
    let _ = txt::display_like_dns_sd(data);
    let _ = txt::is_well_formed(data);
    let _ = txt::for_wire(data);
    // Use the first bytes as a key and value to set in the rest.
    if data.len() >= 2 {
        let split = (data[0] as usize % data.len()).max(1);
        let (key, rest) = data.split_at(split);
        let mut edited = rest.to_vec();
        if txt::is_well_formed(&edited) && txt::set_value(&mut edited, key, Some(rest)).is_ok() {
            assert!(txt::is_well_formed(&edited));
            assert!(txt::contains_key(&edited, key));
            txt::remove_value(&mut edited, key).expect("a key just set can be removed");
            assert!(!txt::contains_key(&edited, key));
        }
    }
});

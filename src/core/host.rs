//! Our host name's records on one interface: its addresses (A, AAAA), the
//! reverse-mapping PTRs pointing back at it, and the NSEC records that say
//! which types a name we own does not have.
//!
//! - Address records are unique, carry the whole set of the interface's
//!   published addresses (RFC 6762 §6.2, §10.2) and are probed with the name.
//! - Reverse-mapping PTRs (`11.2.0.192.in-addr.arpa.`, nibbles under
//!   `ip6.arpa.`) are unique but not probed: their uniqueness follows from
//!   the address's (RFC 6762 §8.1).
//! - NSEC (RFC 6762 §6.1): for a name we own outright, a query for a type we
//!   do not have gets an NSEC whose bitmap lists the types we do have; its
//!   next-domain name is the owner name, one window block (0), no NSEC bit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, NULL, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::constants::*;
use super::records::Addresses;
use crate::wire::message::make_record;

/// `d.c.b.a.in-addr.arpa.` for IPv4, the 32 nibbles under `ip6.arpa.` for IPv6.
pub(crate) fn reverse_name(address: IpAddr) -> Name {
    let labels: Vec<String> = match address {
        IpAddr::V4(a) => a.octets().iter().rev().map(u8::to_string).chain(["in-addr".into(), "arpa".into()]).collect(),
        IpAddr::V6(a) => a
            .octets()
            .iter()
            .rev()
            .flat_map(|b| [format!("{:x}", b & 0x0f), format!("{:x}", b >> 4)])
            .chain(["ip6".into(), "arpa".into()])
            .collect(),
    };
    let mut name = Name::from_labels(labels.iter().map(String::as_bytes)).expect("reverse names are valid");
    name.set_fqdn(true);
    name
}

/// The address records of `host` for `addresses`.
pub(crate) fn address_records(host: &Name, addresses: &Addresses) -> Vec<Record> {
    let v4 = addresses.v4.iter().map(|a: &Ipv4Addr| make_record(host.clone(), HOST_RECORD_TTL, RData::A(A(*a)), true));
    let v6 = addresses.v6.iter().map(|a: &Ipv6Addr| make_record(host.clone(), HOST_RECORD_TTL, RData::AAAA(AAAA(*a)), true));
    v4.chain(v6).collect()
}

/// The reverse-mapping PTRs of `addresses`, pointing at `host`.
pub(crate) fn reverse_records(host: &Name, addresses: &Addresses) -> Vec<Record> {
    let all = addresses.v4.iter().map(|a| IpAddr::V4(*a)).chain(addresses.v6.iter().map(|a| IpAddr::V6(*a)));
    all.map(|a| make_record(reverse_name(a), HOST_RECORD_TTL, RData::PTR(PTR(host.clone())), true)).collect()
}

/// An NSEC record for `owner` saying it has exactly the types `present`
/// (all below 256), with `ttl`.
pub(crate) fn nsec_record(owner: &Name, present: &[RecordType], ttl: u32) -> Record {
    let mut bitmap = [0u8; 32];
    let mut length = 0;
    for rtype in present {
        let code = u16::from(*rtype);
        if code < 256 {
            bitmap[usize::from(code / 8)] |= 0x80 >> (code % 8);
            length = length.max(usize::from(code / 8) + 1);
        }
    }
    let mut rdata = Vec::with_capacity(64);
    for label in owner.iter() {
        rdata.push(label.len() as u8);
        rdata.extend_from_slice(label);
    }
    rdata.push(0);
    rdata.extend_from_slice(&[0, length.max(1) as u8]);
    rdata.extend_from_slice(&bitmap[..length.max(1)]);
    make_record(owner.clone(), ttl, RData::Unknown { code: RecordType::NSEC, rdata: NULL::with(rdata) }, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(reverse_name("192.0.2.11".parse().unwrap()).to_string(), "11.2.0.192.in-addr.arpa.");
        let v6 = reverse_name("2001:db8::1".parse().unwrap()).to_string();
        assert_eq!(v6, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
    }

    #[test]
    fn nsec_bitmap_lists_present_types_only() {
        let owner = Name::from_ascii("h.local.").unwrap();
        let record = nsec_record(&owner, &[RecordType::A], 120);
        let RData::Unknown { rdata, .. } = &record.data else { panic!() };
        // next name "h.local." (9 bytes), window 0, length 1, bit for type 1.
        assert_eq!(rdata.anything, &[1, b'h', 5, b'l', b'o', b'c', b'a', b'l', 0, 0, 1, 0x40]);
        let record = nsec_record(&owner, &[RecordType::TXT, RecordType::SRV], 4500);
        let RData::Unknown { rdata, .. } = &record.data else { panic!() };
        let bitmap = &rdata.anything[9..];
        assert_eq!(bitmap[..2], [0, 5], "window 0, five bytes (type 33)");
        assert_eq!(bitmap[2 + 2], 0x80, "TXT (16)");
        assert_eq!(bitmap[2 + 4], 0x40, "SRV (33)");
        assert!(record.mdns_cache_flush);
    }
}

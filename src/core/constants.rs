//! Every number with a protocol meaning, named once, with where it comes from.

use std::time::Duration;

/// RFC 6762 §5: the mDNS UDP port.
pub const MDNS_PORT: u16 = 5353;
/// RFC 6762 §3: the IPv4 link-local multicast group.
pub const MDNS_GROUP_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 251);
/// RFC 6762 §3: the IPv6 link-local multicast group (ff02::fb).
pub const MDNS_GROUP_V6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);

/// RFC 6762 §8.1: the first probe waits a random 0-250 ms.
pub const PROBE_START_JITTER_MS: u64 = 250;
/// RFC 6762 §8.1: probes are sent 250 ms apart.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// RFC 6762 §8.1: three probes are sent.
pub const PROBE_COUNT: u8 = 3;
/// RFC 6762 §8.1: fifteen conflicts within ten seconds ...
pub const CONFLICT_RATE_COUNT: usize = 15;
/// ... counted over a window of ten seconds ...
pub const CONFLICT_RATE_WINDOW: Duration = Duration::from_secs(10);
/// ... make each further probe attempt wait at least five seconds.
pub const CONFLICT_RATE_DELAY: Duration = Duration::from_secs(5);
/// RFC 6762 §8.2: the loser of a simultaneous-probe tie-break waits one second.
pub const TIE_BREAK_DEFER: Duration = Duration::from_secs(1);

/// RFC 6762 §8.3: announcements (at least two; we send three) ...
pub const ANNOUNCE_COUNT: u8 = 3;
/// ... the first two one second apart, each interval doubling after that.
pub const ANNOUNCE_FIRST_INTERVAL: Duration = Duration::from_secs(1);

/// RFC 6762 §8.4: a record is updated at most ten times ...
pub const UPDATE_RATE_COUNT: usize = 10;
/// ... a minute.
pub const UPDATE_RATE_WINDOW: Duration = Duration::from_secs(60);

/// RFC 6762 §10: TTL of records that carry a host name (SRV, A, AAAA).
pub const HOST_RECORD_TTL: u32 = 120;
/// RFC 6762 §10: TTL of the other records (PTR, TXT).
pub const OTHER_RECORD_TTL: u32 = 4500;
/// RFC 6762 §6.7: legacy unicast answers carry TTLs of at most ten seconds.
pub const LEGACY_MAX_TTL: u32 = 10;

/// RFC 6762 §6: shared answers wait a random 20-120 ms.
pub const SHARED_ANSWER_DELAY_MIN_MS: u64 = 20;
pub const SHARED_ANSWER_DELAY_MAX_MS: u64 = 120;
/// RFC 6762 §7.2: a query with the TC bit is answered 400-500 ms after its
/// last packet, once its known answers have all arrived.
pub const TRUNCATED_QUERY_WAIT_MIN_MS: u64 = 400;
pub const TRUNCATED_QUERY_WAIT_MAX_MS: u64 = 500;
/// RFC 6762 §6: a record is multicast on an interface at most once a second ...
pub const MULTICAST_RATE_LIMIT: Duration = Duration::from_secs(1);
/// ... except to defend against a probe, which only needs 250 ms since the last one.
pub const PROBE_DEFENCE_RATE_LIMIT: Duration = Duration::from_millis(250);

/// RFC 6762 §5.2: the first query of a continuous series waits 20-120 ms ...
pub const QUERY_START_DELAY_MIN_MS: u64 = 20;
pub const QUERY_START_DELAY_MAX_MS: u64 = 120;
/// ... the second follows one second later, and each interval doubles ...
pub const QUERY_FIRST_INTERVAL: Duration = Duration::from_secs(1);
/// ... up to a cap of sixty minutes.
pub const QUERY_MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// RFC 6762 §5.4: questions first asked within this long after start-up or
/// an interface's activation ask for unicast replies (the QU bit).
pub const UNICAST_QUESTION_WINDOW: Duration = Duration::from_secs(1);
/// RFC 6762 §6: a unicast response is accepted only as the answer to a
/// question that asked for one at most this long ago.
pub const UNICAST_RESPONSE_WINDOW: Duration = Duration::from_secs(2);
/// RFC 6762 §5.2: refresh queries at 80, 85, 90 and 95 % of the TTL ...
pub const REFRESH_PERCENTS: [u64; 4] = [80, 85, 90, 95];
/// ... each with up to 2 % of the TTL of random variation.
pub const REFRESH_JITTER_PERCENT: u64 = 2;
/// RFC 6762 §7.1: a known answer is listed (and suppresses an answer) while
/// its remaining TTL is at least half of the true TTL.
pub const KNOWN_ANSWER_TTL_FRACTION: u32 = 2;

/// RFC 6762 §10.2: records of a flushed RRSet received more than one second ago ...
pub const CACHE_FLUSH_GRACE: Duration = Duration::from_secs(1);
/// ... and records that receive a goodbye (TTL 0) are deleted after one second.
pub const GOODBYE_DELAY: Duration = Duration::from_secs(1);

/// RFC 6762 §17: packets stay under the interface MTU; for 1500-byte
/// Ethernet less the IPv6 and UDP headers this leaves 1452 bytes.
pub const MAX_PACKET_PAYLOAD: usize = 1452;
/// RFC 6762 §17: no mDNS packet may exceed 9000 bytes including headers
/// (IPv6 and UDP: 48 bytes). A record that cannot fit in such a packet is
/// refused when registered and never sent.
pub const ABSOLUTE_MAX_PAYLOAD: usize = 9000 - 48;
/// RFC 1035 §4.1.1: the fixed header of every DNS message.
pub const DNS_HEADER_LEN: usize = 12;
/// RFC 1035 §4.1.3: the fixed fields of a record after its name (type,
/// class, TTL and rdata length).
pub const RECORD_FIXED_LEN: usize = 10;
/// RFC 6762 §6.7, RFC 1035 §4.2.1: a reply to a legacy resolver is one UDP
/// datagram of at most 512 bytes, unless its query's EDNS0 OPT record
/// advertises a larger payload (RFC 6891 §6.2.3, §6.2.5), which we use up to
/// `MAX_PACKET_PAYLOAD`. What does not fit is cut, with the TC bit (§18.5).
pub const LEGACY_UNICAST_MAX_PAYLOAD: usize = 512;

/// RFC 6762 §10.5: after two queries from others that a cached record
/// should have answered ...
pub const POOF_QUERY_COUNT: u8 = 2;
/// ... and no answer for ten seconds, the record is flushed.
pub const POOF_TIMEOUT: Duration = Duration::from_secs(10);

/// RFC 6762 §10.4: a record to reconfirm is asked for at least twice ...
pub const RECONFIRM_QUERIES: u32 = 2;
/// ... the second query this long after the first ...
pub const RECONFIRM_QUERY_INTERVAL: Duration = Duration::from_secs(2);
/// ... and flushed if no answer came within ten seconds.
pub const RECONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound on cached records per interface, so a hostile host cannot grow our memory.
pub const CACHE_MAX_RECORDS_PER_INTERFACE: usize = 4096;
/// How long a packet we sent is remembered to recognise it when it comes back.
pub const SENT_PACKET_MEMORY: Duration = Duration::from_secs(2);
/// Bound on that memory.
pub const SENT_PACKET_MEMORY_MAX: usize = 512;

//! ABI types and constants of `dns_sd.h`, the input of cbindgen.
//!
//! Every name, value and layout here is a fact of Apple's published ABI
//! (`_DNS_SD_H` 16610000); programs compiled against Apple's or Avahi's
//! header call this library without recompiling. Nothing here has logic.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code)]

use libc::{c_char, c_int, c_uchar, c_void, sockaddr};

/// Opaque target of a `DNSServiceRef`. C code only ever holds the pointer.
pub struct _DNSServiceRef_t {
    _opaque: [u8; 0],
}
/// Opaque target of a `DNSRecordRef`.
pub struct _DNSRecordRef_t {
    _opaque: [u8; 0],
}

pub type DNSServiceRef = *mut _DNSServiceRef_t;
pub type DNSRecordRef = *mut _DNSRecordRef_t;
pub type DNSServiceFlags = u32;
pub type DNSServiceProtocol = u32;
pub type DNSServiceErrorType = i32;
pub type dnssd_sock_t = c_int;

/// The caller-owned TXT builder: 16 bytes, pointer aligned, usually on the stack.
#[repr(C)]
#[derive(Copy, Clone)]
pub union _TXTRecordRef_t {
    pub PrivateData: [c_char; 16],
    pub ForceNaturalAlignment: *mut c_char,
}
pub type TXTRecordRef = _TXTRecordRef_t;

pub const kDNSServiceMaxServiceName: u32 = 64;
pub const kDNSServiceMaxDomainName: u32 = 1009;

pub const kDNSServiceInterfaceIndexAny: u32 = 0;
pub const kDNSServiceInterfaceIndexLocalOnly: u32 = 0xffff_ffff;
pub const kDNSServiceInterfaceIndexUnicast: u32 = 0xffff_fffe;
pub const kDNSServiceInterfaceIndexP2P: u32 = 0xffff_fffd;
pub const kDNSServiceInterfaceIndexBLE: u32 = 0xffff_fffc;

// Error codes (DNSServiceErrorType).
pub const kDNSServiceErr_NoError: DNSServiceErrorType = 0;
pub const kDNSServiceErr_Unknown: DNSServiceErrorType = -65537;
pub const kDNSServiceErr_NoSuchName: DNSServiceErrorType = -65538;
pub const kDNSServiceErr_NoMemory: DNSServiceErrorType = -65539;
pub const kDNSServiceErr_BadParam: DNSServiceErrorType = -65540;
pub const kDNSServiceErr_BadReference: DNSServiceErrorType = -65541;
pub const kDNSServiceErr_BadState: DNSServiceErrorType = -65542;
pub const kDNSServiceErr_BadFlags: DNSServiceErrorType = -65543;
pub const kDNSServiceErr_Unsupported: DNSServiceErrorType = -65544;
pub const kDNSServiceErr_NotInitialized: DNSServiceErrorType = -65545;
pub const kDNSServiceErr_AlreadyRegistered: DNSServiceErrorType = -65547;
pub const kDNSServiceErr_NameConflict: DNSServiceErrorType = -65548;
pub const kDNSServiceErr_Invalid: DNSServiceErrorType = -65549;
pub const kDNSServiceErr_Firewall: DNSServiceErrorType = -65550;
pub const kDNSServiceErr_Incompatible: DNSServiceErrorType = -65551;
pub const kDNSServiceErr_BadInterfaceIndex: DNSServiceErrorType = -65552;
pub const kDNSServiceErr_Refused: DNSServiceErrorType = -65553;
pub const kDNSServiceErr_NoSuchRecord: DNSServiceErrorType = -65554;
pub const kDNSServiceErr_NoAuth: DNSServiceErrorType = -65555;
pub const kDNSServiceErr_NoSuchKey: DNSServiceErrorType = -65556;
pub const kDNSServiceErr_NATTraversal: DNSServiceErrorType = -65557;
pub const kDNSServiceErr_DoubleNAT: DNSServiceErrorType = -65558;
pub const kDNSServiceErr_BadTime: DNSServiceErrorType = -65559;
pub const kDNSServiceErr_BadSig: DNSServiceErrorType = -65560;
pub const kDNSServiceErr_BadKey: DNSServiceErrorType = -65561;
pub const kDNSServiceErr_Transient: DNSServiceErrorType = -65562;
pub const kDNSServiceErr_ServiceNotRunning: DNSServiceErrorType = -65563;
pub const kDNSServiceErr_NATPortMappingUnsupported: DNSServiceErrorType = -65564;
pub const kDNSServiceErr_NATPortMappingDisabled: DNSServiceErrorType = -65565;
pub const kDNSServiceErr_NoRouter: DNSServiceErrorType = -65566;
pub const kDNSServiceErr_PollingMode: DNSServiceErrorType = -65567;
pub const kDNSServiceErr_Timeout: DNSServiceErrorType = -65568;
pub const kDNSServiceErr_DefunctConnection: DNSServiceErrorType = -65569;
pub const kDNSServiceErr_PolicyDenied: DNSServiceErrorType = -65570;
pub const kDNSServiceErr_NotPermitted: DNSServiceErrorType = -65571;
pub const kDNSServiceErr_StaleData: DNSServiceErrorType = -65572;

// Flags (DNSServiceFlags). Several values are shared by an input-only and an output-only flag.
pub const kDNSServiceFlagsMoreComing: DNSServiceFlags = 0x1;
pub const kDNSServiceFlagsQueueRequest: DNSServiceFlags = 0x1;
pub const kDNSServiceFlagsAutoTrigger: DNSServiceFlags = 0x1;
pub const kDNSServiceFlagsAdd: DNSServiceFlags = 0x2;
pub const kDNSServiceFlagsDefault: DNSServiceFlags = 0x4;
pub const kDNSServiceFlagsNoAutoRename: DNSServiceFlags = 0x8;
pub const kDNSServiceFlagsShared: DNSServiceFlags = 0x10;
pub const kDNSServiceFlagsUnique: DNSServiceFlags = 0x20;
pub const kDNSServiceFlagsBrowseDomains: DNSServiceFlags = 0x40;
pub const kDNSServiceFlagsRegistrationDomains: DNSServiceFlags = 0x80;
pub const kDNSServiceFlagsLongLivedQuery: DNSServiceFlags = 0x100;
pub const kDNSServiceFlagsAllowRemoteQuery: DNSServiceFlags = 0x200;
pub const kDNSServiceFlagsForceMulticast: DNSServiceFlags = 0x400;
pub const kDNSServiceFlagsForce: DNSServiceFlags = 0x800;
pub const kDNSServiceFlagsKnownUnique: DNSServiceFlags = 0x800;
pub const kDNSServiceFlagsReturnIntermediates: DNSServiceFlags = 0x1000;
pub const kDNSServiceFlagsShareConnection: DNSServiceFlags = 0x4000;
pub const kDNSServiceFlagsSuppressUnusable: DNSServiceFlags = 0x8000;
pub const kDNSServiceFlagsTimeout: DNSServiceFlags = 0x10000;
pub const kDNSServiceFlagsIncludeP2P: DNSServiceFlags = 0x20000;
pub const kDNSServiceFlagsWakeOnResolve: DNSServiceFlags = 0x40000;
pub const kDNSServiceFlagsBackgroundTrafficClass: DNSServiceFlags = 0x80000;
pub const kDNSServiceFlagsIncludeAWDL: DNSServiceFlags = 0x100000;
pub const kDNSServiceFlagsEnableDNSSEC: DNSServiceFlags = 0x200000;
pub const kDNSServiceFlagsValidate: DNSServiceFlags = 0x200000;
pub const kDNSServiceFlagsSecure: DNSServiceFlags = 0x200010;
pub const kDNSServiceFlagsInsecure: DNSServiceFlags = 0x200020;
pub const kDNSServiceFlagsBogus: DNSServiceFlags = 0x200040;
pub const kDNSServiceFlagsIndeterminate: DNSServiceFlags = 0x200080;
pub const kDNSServiceFlagsUnicastResponse: DNSServiceFlags = 0x400000;
pub const kDNSServiceFlagsValidateOptional: DNSServiceFlags = 0x800000;
pub const kDNSServiceFlagsWakeOnlyService: DNSServiceFlags = 0x1000000;
pub const kDNSServiceFlagsThresholdOne: DNSServiceFlags = 0x2000000;
pub const kDNSServiceFlagsThresholdFinder: DNSServiceFlags = 0x4000000;
pub const kDNSServiceFlagsThresholdReached: DNSServiceFlags = 0x2000000;
pub const kDNSServiceFlagsPrivateOne: DNSServiceFlags = 0x2000;
pub const kDNSServiceFlagsPrivateTwo: DNSServiceFlags = 0x8000000;
pub const kDNSServiceFlagsPrivateThree: DNSServiceFlags = 0x10000000;
pub const kDNSServiceFlagsPrivateFour: DNSServiceFlags = 0x20000000;
pub const kDNSServiceFlagsPrivateFive: DNSServiceFlags = 0x40000000;
pub const kDNSServiceFlagAnsweredFromCache: DNSServiceFlags = 0x40000000;
pub const kDNSServiceFlagsAllowExpiredAnswers: DNSServiceFlags = 0x80000000;
pub const kDNSServiceFlagsExpiredAnswer: DNSServiceFlags = 0x80000000;

pub const kDNSServiceProtocol_IPv4: DNSServiceProtocol = 0x01;
pub const kDNSServiceProtocol_IPv6: DNSServiceProtocol = 0x02;
pub const kDNSServiceProtocol_UDP: DNSServiceProtocol = 0x10;
pub const kDNSServiceProtocol_TCP: DNSServiceProtocol = 0x20;

pub const kDNSServiceClass_IN: u16 = 1;

// Resource record types (kDNSServiceType_*).
pub const kDNSServiceType_A: u16 = 1;
pub const kDNSServiceType_NS: u16 = 2;
pub const kDNSServiceType_MD: u16 = 3;
pub const kDNSServiceType_MF: u16 = 4;
pub const kDNSServiceType_CNAME: u16 = 5;
pub const kDNSServiceType_SOA: u16 = 6;
pub const kDNSServiceType_MB: u16 = 7;
pub const kDNSServiceType_MG: u16 = 8;
pub const kDNSServiceType_MR: u16 = 9;
pub const kDNSServiceType_NULL: u16 = 10;
pub const kDNSServiceType_WKS: u16 = 11;
pub const kDNSServiceType_PTR: u16 = 12;
pub const kDNSServiceType_HINFO: u16 = 13;
pub const kDNSServiceType_MINFO: u16 = 14;
pub const kDNSServiceType_MX: u16 = 15;
pub const kDNSServiceType_TXT: u16 = 16;
pub const kDNSServiceType_RP: u16 = 17;
pub const kDNSServiceType_AFSDB: u16 = 18;
pub const kDNSServiceType_X25: u16 = 19;
pub const kDNSServiceType_ISDN: u16 = 20;
pub const kDNSServiceType_RT: u16 = 21;
pub const kDNSServiceType_NSAP: u16 = 22;
pub const kDNSServiceType_NSAP_PTR: u16 = 23;
pub const kDNSServiceType_SIG: u16 = 24;
pub const kDNSServiceType_KEY: u16 = 25;
pub const kDNSServiceType_PX: u16 = 26;
pub const kDNSServiceType_GPOS: u16 = 27;
pub const kDNSServiceType_AAAA: u16 = 28;
pub const kDNSServiceType_LOC: u16 = 29;
pub const kDNSServiceType_NXT: u16 = 30;
pub const kDNSServiceType_EID: u16 = 31;
pub const kDNSServiceType_NIMLOC: u16 = 32;
pub const kDNSServiceType_SRV: u16 = 33;
pub const kDNSServiceType_ATMA: u16 = 34;
pub const kDNSServiceType_NAPTR: u16 = 35;
pub const kDNSServiceType_KX: u16 = 36;
pub const kDNSServiceType_CERT: u16 = 37;
pub const kDNSServiceType_A6: u16 = 38;
pub const kDNSServiceType_DNAME: u16 = 39;
pub const kDNSServiceType_SINK: u16 = 40;
pub const kDNSServiceType_OPT: u16 = 41;
pub const kDNSServiceType_APL: u16 = 42;
pub const kDNSServiceType_DS: u16 = 43;
pub const kDNSServiceType_SSHFP: u16 = 44;
pub const kDNSServiceType_IPSECKEY: u16 = 45;
pub const kDNSServiceType_RRSIG: u16 = 46;
pub const kDNSServiceType_NSEC: u16 = 47;
pub const kDNSServiceType_DNSKEY: u16 = 48;
pub const kDNSServiceType_DHCID: u16 = 49;
pub const kDNSServiceType_NSEC3: u16 = 50;
pub const kDNSServiceType_NSEC3PARAM: u16 = 51;
pub const kDNSServiceType_HIP: u16 = 55;
pub const kDNSServiceType_SVCB: u16 = 64;
pub const kDNSServiceType_HTTPS: u16 = 65;
pub const kDNSServiceType_SPF: u16 = 99;
pub const kDNSServiceType_UINFO: u16 = 100;
pub const kDNSServiceType_UID: u16 = 101;
pub const kDNSServiceType_GID: u16 = 102;
pub const kDNSServiceType_UNSPEC: u16 = 103;
pub const kDNSServiceType_TKEY: u16 = 249;
pub const kDNSServiceType_TSIG: u16 = 250;
pub const kDNSServiceType_IXFR: u16 = 251;
pub const kDNSServiceType_AXFR: u16 = 252;
pub const kDNSServiceType_MAILB: u16 = 253;
pub const kDNSServiceType_MAILA: u16 = 254;
pub const kDNSServiceType_ANY: u16 = 255;

// Callback types. Each is called on the caller's thread, inside DNSServiceProcessResult.
pub type DNSServiceDomainEnumReply = Option<
    unsafe extern "C" fn(
        sdRef: DNSServiceRef,
        flags: DNSServiceFlags,
        interfaceIndex: u32,
        errorCode: DNSServiceErrorType,
        replyDomain: *const c_char,
        context: *mut c_void,
    ),
>;
pub type DNSServiceRegisterReply = Option<
    unsafe extern "C" fn(
        sdRef: DNSServiceRef,
        flags: DNSServiceFlags,
        errorCode: DNSServiceErrorType,
        name: *const c_char,
        regtype: *const c_char,
        domain: *const c_char,
        context: *mut c_void,
    ),
>;
pub type DNSServiceBrowseReply = Option<
    unsafe extern "C" fn(
        sdRef: DNSServiceRef,
        flags: DNSServiceFlags,
        interfaceIndex: u32,
        errorCode: DNSServiceErrorType,
        serviceName: *const c_char,
        regtype: *const c_char,
        replyDomain: *const c_char,
        context: *mut c_void,
    ),
>;
pub type DNSServiceResolveReply = Option<
    unsafe extern "C" fn(
        sdRef: DNSServiceRef,
        flags: DNSServiceFlags,
        interfaceIndex: u32,
        errorCode: DNSServiceErrorType,
        fullname: *const c_char,
        hosttarget: *const c_char,
        port: u16,
        txtLen: u16,
        txtRecord: *const c_uchar,
        context: *mut c_void,
    ),
>;
pub type DNSServiceQueryRecordReply = Option<
    unsafe extern "C" fn(
        sdRef: DNSServiceRef,
        flags: DNSServiceFlags,
        interfaceIndex: u32,
        errorCode: DNSServiceErrorType,
        fullname: *const c_char,
        rrtype: u16,
        rrclass: u16,
        rdlen: u16,
        rdata: *const c_void,
        ttl: u32,
        context: *mut c_void,
    ),
>;
pub type DNSServiceGetAddrInfoReply = Option<
    unsafe extern "C" fn(
        sdRef: DNSServiceRef,
        flags: DNSServiceFlags,
        interfaceIndex: u32,
        errorCode: DNSServiceErrorType,
        hostname: *const c_char,
        address: *const sockaddr,
        ttl: u32,
        context: *mut c_void,
    ),
>;
pub type DNSServiceRegisterRecordReply = Option<
    unsafe extern "C" fn(
        sdRef: DNSServiceRef,
        RecordRef: DNSRecordRef,
        flags: DNSServiceFlags,
        errorCode: DNSServiceErrorType,
        context: *mut c_void,
    ),
>;

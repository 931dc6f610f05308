#!/usr/bin/env python3
"""Browse for a DNS-SD service type through libdns_sd with ctypes.

    browse.py [-t SECONDS] TYPE            (default: 10 seconds)

Loads the library named by $DNS_SD_LIB, or "libdns_sd.so.1" from the
default loader path. Prints, one line each:

    ADD <name> <regtype> <domain> <ifindex>
    REMOVE <name> <regtype> <domain> <ifindex>
    ERROR <code>

Exits 0 after SECONDS, SIGINT or SIGTERM; 1 if the browse failed.
"""

import ctypes
import os
import select
import signal
import sys
import time

K_DNS_SERVICE_FLAGS_ADD = 0x2

DNSServiceRef = ctypes.c_void_p
DNSServiceFlags = ctypes.c_uint32
DNSServiceErrorType = ctypes.c_int32

# void (*DNSServiceBrowseReply)(DNSServiceRef, DNSServiceFlags, uint32_t ifindex,
#     DNSServiceErrorType, const char *name, const char *regtype,
#     const char *domain, void *context)
BrowseReply = ctypes.CFUNCTYPE(
    None,
    DNSServiceRef,
    DNSServiceFlags,
    ctypes.c_uint32,
    DNSServiceErrorType,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_void_p,
)


def load_library():
    lib = ctypes.CDLL(os.environ.get("DNS_SD_LIB") or "libdns_sd.so.1")
    lib.DNSServiceBrowse.argtypes = [
        ctypes.POINTER(DNSServiceRef),
        DNSServiceFlags,
        ctypes.c_uint32,
        ctypes.c_char_p,
        ctypes.c_char_p,
        BrowseReply,
        ctypes.c_void_p,
    ]
    lib.DNSServiceBrowse.restype = DNSServiceErrorType
    lib.DNSServiceRefSockFD.argtypes = [DNSServiceRef]
    lib.DNSServiceRefSockFD.restype = ctypes.c_int
    lib.DNSServiceProcessResult.argtypes = [DNSServiceRef]
    lib.DNSServiceProcessResult.restype = DNSServiceErrorType
    lib.DNSServiceRefDeallocate.argtypes = [DNSServiceRef]
    lib.DNSServiceRefDeallocate.restype = None
    return lib


def text(raw):
    return raw.decode("utf-8", errors="replace") if raw is not None else ""


def main(argv):
    args = argv[1:]
    run_for = 10.0
    if len(args) >= 2 and args[0] == "-t":
        run_for = float(args[1])
        args = args[2:]
    if len(args) != 1:
        print("usage: browse.py [-t SECONDS] TYPE", file=sys.stderr)
        return 2
    regtype = args[0]

    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    lib = load_library()
    failed = []

    def on_browse(_ref, flags, ifindex, error, name, rtype, domain, _context):
        if error != 0:
            print("ERROR %d" % error, flush=True)
            failed.append(error)
            return
        what = "ADD" if flags & K_DNS_SERVICE_FLAGS_ADD else "REMOVE"
        print("%s %s %s %s %d" % (what, text(name), text(rtype), text(domain), ifindex), flush=True)

    # Keep the C callback object alive as long as the browse runs.
    callback = BrowseReply(on_browse)
    ref = DNSServiceRef()
    err = lib.DNSServiceBrowse(ctypes.byref(ref), 0, 0, regtype.encode(), None, callback, None)
    if err != 0:
        print("ERROR %d" % err, flush=True)
        return 1

    status = 0
    try:
        fd = lib.DNSServiceRefSockFD(ref)
        if fd < 0:
            print("browse.py: DNSServiceRefSockFD returned %d" % fd, file=sys.stderr)
            return 1
        deadline = time.monotonic() + run_for
        while not stop and not failed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                readable, _, _ = select.select([fd], [], [], min(left, 1.0))
            except InterruptedError:
                continue
            if readable:
                err = lib.DNSServiceProcessResult(ref)
                if err != 0:
                    print("browse.py: DNSServiceProcessResult failed: %d" % err, file=sys.stderr)
                    status = 1
                    break
        if failed:
            status = 1
    finally:
        lib.DNSServiceRefDeallocate(ref)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))

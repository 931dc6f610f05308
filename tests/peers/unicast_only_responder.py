#!/usr/bin/env python3
"""A deliberately odd mDNS peer for tests: it answers only questions that
ask for unicast replies (the QU bit), and only by unicast, never by
multicast. A querier finds its one service only if it sets the QU bit and
accepts the unicast answer (RFC 6762 §5.4, §6).

usage: unicast_only_responder.py SECONDS INSTANCE SERVICE_TYPE PORT HOST_IPV4

Prints "READY" once listening and "ANSWERED <ip>" for every reply sent.
Standard library only; IPv4 only.
"""
import socket
import struct
import sys
import time


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def read_name(data, at):
    """Returns (lower-case dotted name, offset after it); follows pointers."""
    labels, end, hops = [], None, 0
    while True:
        length = data[at]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = at + 2
            at = ((length & 0x3F) << 8) | data[at + 1]
            hops += 1
            if hops > 20:
                raise ValueError("pointer loop")
            continue
        if length == 0:
            break
        labels.append(data[at + 1:at + 1 + length].decode(errors="replace"))
        at += 1 + length
    return ".".join(labels).lower() + ".", (end if end is not None else at + 1)


def record(name, rtype, rdata, ttl, flush=True):
    cls = 0x8001 if flush else 0x0001
    return encode_name(name) + struct.pack("!HHIH", rtype, cls, ttl, len(rdata)) + rdata


def main():
    seconds, instance, service_type, port, address = sys.argv[1:6]
    service = service_type.rstrip(".") + ".local."
    full = instance + "." + service
    host = "unicastpeer.local."
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", 5353))
    membership = socket.inet_aton("224.0.0.251") + socket.inet_aton(address)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.settimeout(0.2)
    print("READY", flush=True)
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            data, source = sock.recvfrom(9000)
        except socket.timeout:
            continue
        if len(data) < 12 or data[2] & 0x80:
            continue  # a response
        qdcount = struct.unpack("!H", data[4:6])[0]
        at, wanted = 12, False
        try:
            for _ in range(qdcount):
                qname, at = read_name(data, at)
                qtype, qclass = struct.unpack("!HH", data[at:at + 4])
                at += 4
                if qclass & 0x8000 and qname == service.lower() and qtype in (12, 255):
                    wanted = True
        except (IndexError, ValueError, struct.error):
            continue
        if not wanted or source[1] != 5353:
            continue
        answers = [record(service, 12, encode_name(full), 4500, flush=False)]
        additionals = [
            record(full, 33, struct.pack("!HHH", 0, 0, int(port)) + encode_name(host), 120),
            record(full, 16, b"\x07via=qu1", 4500),
            record(host, 1, socket.inet_aton(address), 120),
        ]
        header = struct.pack("!HHHHHH", 0, 0x8400, 0, len(answers), 0, len(additionals))
        sock.sendto(header + b"".join(answers + additionals), source)
        print("ANSWERED", source[0], flush=True)


if __name__ == "__main__":
    main()

"""A python-zeroconf peer for the interop tests.

Usage: zeroconf_peer.py [--ipv6] SECONDS TYPE PEER_NAME PORT [ADDRESS...]

With --ipv6, python-zeroconf speaks IPv6 only and the addresses are IPv6.
Registers "PEER_NAME.TYPE.local." (TXT peer=zeroconf) on every interface,
browses TYPE, and for each instance found (other than its own) prints one
line `FOUND <name> <port> <server> <k=v,...>` once it is resolved. Prints
`REGISTERED` once its own service is registered. Exits after SECONDS.
"""
import socket
import sys
import threading
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

args = sys.argv[1:]
ipv6 = args[0] == "--ipv6"
if ipv6:
    args = args[1:]
seconds, service_type, peer_name, port = float(args[0]), args[1], args[2], int(args[3])
addresses = args[4:]
full_type = service_type.rstrip(".") + ".local."
zc = Zeroconf(ip_version=IPVersion.V6Only if ipv6 else IPVersion.V4Only)
found = set()
lock = threading.Lock()


def resolve(name):
    info = zc.get_service_info(full_type, name, timeout=3000)
    if info is None:
        return
    txt = ",".join(f"{k.decode()}={(v or b'').decode()}" for k, v in info.properties.items())
    label = name[: -len(full_type) - 1]
    print(f"FOUND {label} {info.port} {info.server} {txt}", flush=True)


def on_change(zeroconf, service_type, name, state_change):
    if state_change is not ServiceStateChange.Added or name.startswith(peer_name + "."):
        return
    with lock:
        if name in found:
            return
        found.add(name)
    threading.Thread(target=resolve, args=(name,), daemon=True).start()


info = ServiceInfo(
    full_type,
    f"{peer_name}.{full_type}",
    addresses=[socket.inet_pton(socket.AF_INET6 if ipv6 else socket.AF_INET, a) for a in addresses] or None,
    port=port,
    properties={"peer": "zeroconf"},
    server=f"{peer_name.lower().replace(' ', '-')}.local.",
)
zc.register_service(info)
print("REGISTERED", flush=True)
browser = ServiceBrowser(zc, full_type, handlers=[on_change])
time.sleep(seconds)
zc.unregister_service(info)
zc.close()

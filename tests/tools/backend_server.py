#!/usr/bin/env python3
"""Backend server for the xlb netns rigs (runs inside a backend namespace).

- HTTP/1.1 with keep-alive on port 80 (one dual-stack socket on [::], which
  also accepts IPv4; falls back to two sockets where IPV6_V6ONLY cannot be
  cleared). GET (any path) answers 200 with body "<name>\\n" and a
  Content-Length, so a client can keep the connection open and ask again.
  Extra response header: X-Backend: <name>.
- UDP echo on port 53: a datagram with payload P is answered with
  "<name> P" from the address it was sent to (the VIP, for DSR).

Usage: backend_server.py --name b1 [--http-port 80] [--udp-port 53]
                         [--ready-file PATH]
The ready file is created once every socket is bound. Stdlib only.
Stops on SIGTERM/SIGINT.
"""

import argparse
import http.server
import os
import signal
import socket
import socketserver
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xlb-backend/1"
    # Held connections must survive long pauses (daemon restarts etc.).
    timeout = 3600

    def do_GET(self):
        body = (self.server.backend_name + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.backend_name)
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, fmt, *args):  # quiet: tests open hundreds of connections
        pass


class DualStackServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, family, name, v6only):
        self.address_family = family
        self.v6only = v6only
        self.backend_name = name
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if self.v6only else 0)
        socketserver.TCPServer.server_bind(self)


def make_http_servers(name, port):
    try:
        return [DualStackServer(("::", port), socket.AF_INET6, name, v6only=False)]
    except OSError as e:
        print(f"dual-stack bind failed ({e}); using two sockets", file=sys.stderr)
    servers = [DualStackServer(("0.0.0.0", port), socket.AF_INET, name, v6only=False)]
    try:
        servers.append(DualStackServer(("::", port), socket.AF_INET6, name, v6only=True))
    except OSError as e:
        print(f"no IPv6 HTTP socket: {e}", file=sys.stderr)
    return servers


IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux value; missing from older Pythons


def udp_echo(sock, name):
    """Echo loop. The reply's source is the address the datagram was sent to
    (the VIP, not the backend's own address), taken from the packet-info
    control message and passed back with sendmsg: a wildcard-bound socket
    would otherwise answer from the routing-chosen source and a connected
    client would drop the reply."""
    v6 = sock.family == socket.AF_INET6
    while True:
        try:
            data, anc, _flags, peer = sock.recvmsg(65535, 256)
        except OSError:
            return
        cmsgs = []
        for level, typ, cdata in anc:
            if v6 and level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                # struct in6_pktinfo {in6_addr; int ifindex}: reply from that
                # address, any interface (v4-mapped for IPv4 on a dual-stack socket).
                cmsgs = [(level, typ, cdata[:16] + bytes(4))]
            elif not v6 and level == socket.IPPROTO_IP and typ == IP_PKTINFO:
                # struct in_pktinfo {int ifindex; in_addr spec_dst; in_addr addr}
                cmsgs = [(level, typ, bytes(4) + cdata[8:12] + bytes(4))]
        try:
            sock.sendmsg([name.encode() + b" " + data], cmsgs, 0, peer)
        except OSError as e:
            print(f"udp reply to {peer} failed: {e}", file=sys.stderr)


def make_udp_sockets(port):
    socks = []
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.bind(("::", port))
        socks.append(s)
        return socks
    except OSError as e:
        print(f"dual-stack UDP bind failed ({e}); using two sockets", file=sys.stderr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind(("0.0.0.0", port))
    socks.append(s)
    try:
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s6.bind(("::", port))
        socks.append(s6)
    except OSError as e:
        print(f"no IPv6 UDP socket: {e}", file=sys.stderr)
    return socks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--http-port", type=int, default=80)
    ap.add_argument("--udp-port", type=int, default=53)
    ap.add_argument("--ready-file")
    args = ap.parse_args()

    servers = make_http_servers(args.name, args.http_port)
    udp = make_udp_sockets(args.udp_port) if args.udp_port else []

    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    for s in udp:
        threading.Thread(target=udp_echo, args=(s, args.name), daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(tmp, args.ready_file)
    print(f"{args.name}: http :{args.http_port} udp :{args.udp_port} ready", file=sys.stderr, flush=True)

    while not stop.wait(1.0):
        pass
    # Do not wait for keep-alive handler threads: they are daemon threads.
    for s in udp:
        s.close()
    os._exit(0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Backend server for the xlb netns rigs (runs inside a backend namespace).

- HTTP/1.1 with keep-alive on port 80 (one dual-stack socket on [::], which
  also accepts IPv4; falls back to two sockets where IPV6_V6ONLY cannot be
  cleared). GET (any path) answers 200 with body "<name>\\n" and a
  Content-Length, so a client can keep the connection open and ask again.
  Extra response headers: X-Backend: <name>; X-Peer: <addr> <port> (the
  client address and port this server saw: the client in DSR and nat, the
  load balancer's source address in fullnat); X-Local: <addr> <port> (the
  address and port the connection was made to: the VIP in DSR, the
  backend's own address and port in nat). IPv4 peers of a dual-stack socket
  are shown as plain IPv4 (no ::ffff: prefix).
  Paths: GET /close answers with "Connection: close" and then closes the
  connection (the server sends the first FIN); GET /rst answers and then
  resets the connection (SO_LINGER 0). Any other path keeps it open.
  GET /status/N answers with status N (200..599; e.g. /status/500 for a
  failing health endpoint), same body and headers.
  Bulk transfers (path MTU tests): GET /bytes/N answers N bytes of "x";
  POST (any path) reads the request body (Content-Length) and answers with
  its length in bytes, "<n>\n".
- UDP on port 53. A datagram whose payload starts with "{" is a JSON
  request {"id": ...}: it is answered with one JSON object
    {"backend": "<name>", "id": <the request's id>, "peer": ADDR,
     "peer_port": P, "local": ADDR, "local_port": P, "len": N}
  (peer: the source the server saw; local: the address it was sent to;
  len: the request's payload length as received, e.g. of a datagram that
  arrived in fragments and was reassembled).
  Any other payload P is echoed as "<name> P". Either way the answer leaves
  from the address and port the datagram was sent to (the VIP, for DSR).

Usage: backend_server.py --name b1 [--bind ADDR]... [--http-port P]...
                         [--udp-port P]... [--ready-file PATH]
--bind: listen on these addresses only (each port on each address; IPv4 and
IPv6 literals); default: every address (dual-stack wildcard). --http-port and
--udp-port may be given several times (default 80 and 53); --udp-port 0
disables UDP, --http-port 0 HTTP. The ready file is created once every socket
is bound. Stdlib only. Stops on SIGTERM/SIGINT.
"""

import argparse
import http.server
import ipaddress
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading


def plain_addr(addr):
    """An address as the peer sees it: IPv4 without the ::ffff: mapping."""
    try:
        a = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return addr
    if a.version == 6 and a.ipv4_mapped:
        return str(a.ipv4_mapped)
    return str(a)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xlb-backend/1"
    # Held connections must survive long pauses (daemon restarts etc.).
    timeout = 3600

    def do_GET(self):
        if self.path.startswith("/bytes/"):
            return self._send_bytes()
        body = (self.server.backend_name + "\n").encode()
        peer = self.client_address
        local = self.connection.getsockname()
        path = self.path.split("?", 1)[0]
        self.send_response(self._status(path))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.backend_name)
        self.send_header("X-Peer", f"{plain_addr(peer[0])} {peer[1]}")
        self.send_header("X-Local", f"{plain_addr(local[0])} {local[1]}")
        if path in ("/close", "/rst"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        if path == "/rst":
            # DualStackServer.shutdown_request closes it with a reset.
            self.server.rst_fds.add(self.connection.fileno())

    do_HEAD = do_GET

    @staticmethod
    def _status(path):
        """The status GET answers: N for /status/N (a failing health endpoint), else 200."""
        if path.startswith("/status/"):
            try:
                n = int(path[len("/status/"):])
            except ValueError:
                return 400
            return n if 200 <= n <= 599 else 400
        return 200

    def log_message(self, fmt, *args):  # quiet: tests open hundreds of connections
        pass

    # ---- bulk transfers (path MTU tests) ----
    def _answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.backend_name)
        self.end_headers()
        self.wfile.write(body)

    def _send_bytes(self):
        try:
            n = int(self.path.split("?", 1)[0][len("/bytes/"):])
        except ValueError:
            n = 0
        self._answer(b"x" * max(0, min(n, 64 << 20)))

    def do_POST(self):
        left = int(self.headers.get("Content-Length") or 0)
        got = 0
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                break
            got += len(chunk)
            left -= len(chunk)
        self._answer(f"{got}\n".encode())


class DualStackServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, family, name, v6only):
        self.address_family = family
        self.v6only = v6only
        self.backend_name = name
        self.rst_fds = set()
        super().__init__(addr, Handler)

    def shutdown_request(self, request):
        try:
            fd = request.fileno()
        except OSError:
            fd = -1
        if fd in self.rst_fds:
            # A reset, not a FIN: no shutdown(SHUT_WR) first, linger 0.
            self.rst_fds.discard(fd)
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_request(request)
            return
        super().shutdown_request(request)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if self.v6only else 0)
        socketserver.TCPServer.server_bind(self)


def make_http_servers(name, port, binds=None):
    if binds:
        # Own addresses only (nat backends): one socket per address.
        return [DualStackServer((b, port), socket.AF_INET6 if ":" in b else socket.AF_INET, name, v6only=True)
                for b in binds]
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


def udp_answer(name, data, peer, local_addr, local_port):
    """The answer to one datagram: JSON for a JSON request, else the echo."""
    if data[:1] != b"{":
        return name.encode() + b" " + data
    try:
        req = json.loads(data)
        rid = req.get("id") if isinstance(req, dict) else None
    except ValueError:
        rid = None
    return json.dumps({"backend": name, "id": rid, "peer": plain_addr(peer[0]), "peer_port": peer[1],
                       "local": plain_addr(local_addr) if local_addr else None,
                       "local_port": local_port, "len": len(data)}).encode()


def udp_echo(sock, name):
    """Echo loop. The reply's source is the address the datagram was sent to
    (the VIP, not the backend's own address), taken from the packet-info
    control message and passed back with sendmsg: a wildcard-bound socket
    would otherwise answer from the routing-chosen source and a connected
    client would drop the reply."""
    v6 = sock.family == socket.AF_INET6
    local_port = sock.getsockname()[1]
    while True:
        try:
            data, anc, _flags, peer = sock.recvmsg(65535, 256)
        except OSError:
            return
        cmsgs = []
        local = None
        for level, typ, cdata in anc:
            if v6 and level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                # struct in6_pktinfo {in6_addr; int ifindex}: reply from that
                # address, any interface (v4-mapped for IPv4 on a dual-stack socket).
                cmsgs = [(level, typ, cdata[:16] + bytes(4))]
                local = socket.inet_ntop(socket.AF_INET6, cdata[:16])
            elif not v6 and level == socket.IPPROTO_IP and typ == IP_PKTINFO:
                # struct in_pktinfo {int ifindex; in_addr spec_dst; in_addr addr}
                cmsgs = [(level, typ, bytes(4) + cdata[8:12] + bytes(4))]
                local = socket.inet_ntop(socket.AF_INET, cdata[8:12])
        try:
            sock.sendmsg([udp_answer(name, data, peer, local, local_port)], cmsgs, 0, peer)
        except OSError as e:
            print(f"udp reply to {peer} failed: {e}", file=sys.stderr)


def make_udp_sockets(port, binds=None):
    socks = []
    if binds:
        for b in binds:
            if ":" in b:
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            s.bind((b, port))
            socks.append(s)
        return socks
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
    ap.add_argument("--bind", action="append", default=[],
                    help="listen on this address only (repeatable); default: all addresses")
    ap.add_argument("--http-port", type=int, action="append", help="repeatable; default 80; 0: no HTTP")
    ap.add_argument("--udp-port", type=int, action="append", help="repeatable; default 53; 0: no UDP")
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    http_ports = [p for p in (args.http_port or [80]) if p]
    udp_ports = [p for p in (args.udp_port or [53]) if p]
    for b in args.bind:
        try:
            ipaddress.ip_address(b)
        except ValueError:
            ap.error(f"--bind {b!r}: not an IP address")

    servers = [srv for p in http_ports for srv in make_http_servers(args.name, p, args.bind)]
    udp = [s for p in udp_ports for s in make_udp_sockets(p, args.bind)]

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
    where = ",".join(args.bind) or "*"
    print(f"{args.name}: {where} http {http_ports} udp {udp_ports} ready", file=sys.stderr, flush=True)

    while not stop.wait(1.0):
        pass
    # Do not wait for keep-alive handler threads: they are daemon threads.
    for s in udp:
        s.close()
    os._exit(0)


if __name__ == "__main__":
    main()

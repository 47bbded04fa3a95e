#!/usr/bin/env python3
"""Traffic client for the xlb netns rigs (runs in the client namespace).

Talks to tests/tools/backend_server.py through a VIP and records which
backend answered (the body of GET / is the backend's name). Stdlib only;
every socket operation has a timeout, and `hold` has a maximum lifetime, so
nothing here hangs forever.

Modes
-----
burst --vip ADDR [--port 80] -n N [--parallel 20] [--timeout 5] [--details]
      [--sport-base P]
    Opens N TCP connections (each a fresh source port; with --sport-base,
    connection i binds port P+i, for a reproducible sample), sends one GET / on
    each, reads the answer, closes. Prints one JSON object:
      {"n": N, "ok": n_ok, "failed": n_failed, "by_backend": {"b1": 97, ...},
       "errors": ["first few error messages"], "elapsed_s": 1.2}
    --details adds "conns": [{"sport": 40112, "backend": "b1", "peer":
    "198.18.0.2", "peer_port": 40112, "local": "198.19.0.11", "local_port":
    8080} | {"sport": ..., "error": "..."}]. Exit status 0 even when some
    failed (the caller judges); 2 for bad usage.
    Also in the JSON: "by_peer" {address: count}, the client addresses the
    backends saw (their X-Peer header: the client in DSR and nat, the load
    balancer's fullnat source in fullnat), and "by_local" {"addr port":
    count}, what the backends were reached at (X-Local: the VIP in DSR, their
    own address and port in nat). Connections whose backend sent no such
    header count under "?".

udp --vip ADDR [--port 53] -n N [--parallel 20] [--timeout 2]
    N datagrams, each from a fresh socket (fresh source port), connected to
    VIP:port so only replies from the VIP itself count (DSR). Same JSON.

udprr --vip ADDR [--port 53] -n N [--parallel 20] [--timeout 2]
      [--sport-base P] [--size BYTES] [--details]
    UDP request/response: N requests, each from its own socket and source
    port (all N sockets are bound before the first request, so the ports
    are distinct; with --sport-base request i uses port P+i). A request is
    the JSON {"id": i}; backend_server.py answers {"backend", "id", "peer",
    "peer_port", "local", "local_port"}. The sockets are not connected: a
    reply is read with recvfrom and must come from exactly VIP:port (what a
    nat load balancer must restore) and carry the request's id; a reply from
    anywhere else, or none within the timeout, is a failure. Prints
      {"n", "ok", "failed", "timeouts", "wrong_source", "by_backend",
       "by_peer", "by_local", "errors", "elapsed_s"}
    ("wrong_source": replies from another address or port; "errors" shows
    the first few, e.g. "reply from 198.19.0.11:5353, not 198.18.100.1:53").
    --details adds "conns" as burst does. --size pads each request (a "pad"
    field) to BYTES bytes of UDP payload, e.g. beyond the link MTU so the
    client's kernel sends it in fragments; a request then only counts as
    answered if the backend got all of it (the answer's "len").

hold --vip ADDR [--port 80] -n N --control SOCKET_PATH [--timeout 5]
     [--parallel 20] [--max-lifetime 1800] [--sport-base P]
    Opens N persistent HTTP/1.1 connections, does one GET on each (recording
    the backend at open time) and keeps them open. Then it binds a Unix
    stream socket at SOCKET_PATH (so the socket's existence means "initial
    connections are open") and serves control commands until `quit` or the
    maximum lifetime. It prints the initial `status` answer on stdout.
    If any of the N initial connections fails to open, hold prints every
    error on stderr, closes the others and exits with status 1 without
    binding SOCKET_PATH: a test never runs on fewer connections than it
    asked for. With --sport-base, connection k (counting every connection
    opened, the initial N and those of later `open` commands) binds source
    port P+k, as burst does.

synflood --vip ADDR [--port 80] -n N [--rate PPS] [--src-net 198.19.0.0/16]
         [--seed S]
    Sends N spoofed TCP SYNs to VIP:port from distinct random sources in
    SRC_NET (source address and port both random; no two SYNs share a
    5-tuple, so each is a new flow to the load balancer), through a raw
    socket with IP_HDRINCL, with correct IPv4 and TCP checksums, at most PPS
    packets a second. Nothing is listened for: the sources do not exist.
    IPv4 only; needs CAP_NET_RAW. Bounded: N <= 1,000,000, PPS <= 200,000,
    and SRC_NET must lie in the benchmarking range 198.18.0.0/15 so the tool
    cannot spoof anyone real. Prints one JSON object:
      {"sent": N, "failed": F, "elapsed_s": 1.0, "pps": 9990, "src_net": "...",
       "errors": ["first few send errors"]}

connect --vip ADDR [--port 80] --sport P [--timeout 5]
    One TCP connection from source port P (bound with SO_REUSEADDR, so a
    port in TIME_WAIT toward another destination can be used again, as
    Linux itself does): one GET /, then a full close that returns only
    after both FINs went through: shutdown(SHUT_WR) (the client's FIN),
    read to the end of stream (the server's FIN), close. Prints
      {"ok": true, "sport": P, "backend": "b1", "elapsed_s": 0.01}
    or {"ok": false, "sport": P, "errno": "ECONNREFUSED", "error": "...",
        "stage": "connect" | "request" | "close", "elapsed_s": 0.002}
    (elapsed_s: from the connect() call to the answer or the failure).
    Exit status 0 if ok, 1 otherwise.

ctl --control SOCKET_PATH [--timeout 120] -- COMMAND...
    Sends one command to a running `hold`, prints the JSON answer; exit 0 if
    the answer has "ok": true, 1 otherwise.

Control protocol (hold)
-----------------------
One command per connection: the client writes one line, the server answers
one JSON object on one line and closes. Commands are processed one at a time.

  status            {"ok": true, "held": H, "by_backend": {...},
                     "half_closed": C, "by_peer": {...},
                     "conns": [{"id": 0, "sport": 40112, "backend": "b1",
                                "peer": "198.18.0.2", "peer_port": 40112}]}
                    (held = connections still considered alive; peer: what
                    the backend saw at open time, see burst)
  check             one more GET on every held connection, in parallel:
                    {"ok": true, "held": H, "answered": A, "failed": F,
                     "same": S, "moved": M, "by_backend": {now...},
                     "by_backend_open": {at open...},
                     "conns": [{"id", "sport", "backend_open", "backend_now",
                                "ok", "same", "error"}]}
                    A connection that fails is closed and stops being held,
                    so a later check does not count it again.
  open M            opens M more held connections:
                    {"ok": true, "opened": k, "failed": f, "by_backend": {...},
                     "errors": [...], "held": H}
  close K [--backend NAME]
                    closes K held connections (only those opened on NAME):
                    {"ok": true, "closed": k, "held": H}
  srvclose K [--backend NAME]
                    on K held connections (only those opened on NAME), a
                    GET /close: the backend answers and closes its side
                    first (its FIN), the client reads the answer and the
                    end of stream but does NOT close: the socket stays
                    half-closed (CLOSE_WAIT), so the client sends no FIN
                    of its own. Those connections stop being held:
                    {"ok": true, "requested": k, "answered": a, "eof": e,
                     "held": H, "half_closed": C}
                    (eof: how many saw the server's FIN within the timeout)
  release           closes the half-closed connections (the client's FIN):
                    {"ok": true, "released": k, "held": H}
  quit              {"ok": true}, closes everything and exits.
  ping start SECONDS
                    starts a background thread that, every SECONDS, does one
                    GET on each held connection in turn (a connection that
                    keeps talking, for the idle-expiry tests): {"ok": true}.
                    Do not use check/srvclose while pinging (they share the
                    sockets); open/close/status are fine.
  ping stop         stops it and answers what it saw:
                    {"ok": true, "rounds": R, "pings": P, "failed": F,
                     "moved": M, "max_gap_s": G, "errors": [...]}
                    (moved: answers from another backend than at open time;
                    max_gap_s: the longest time between two answered pings
                    of one connection, counted from the start; a connection
                    whose ping fails is closed and stops being held)
Anything else answers {"ok": false, "error": "..."}.
"""

import argparse
import concurrent.futures as cf
import ipaddress
import json
import os
import random
import shlex
import socket
import struct
import sys
import threading
import time

MAX_ERRORS = 10


# ---- a minimal HTTP/1.1 client over one socket ------------------------------
# http.client would silently reconnect a closed keep-alive connection, which
# would hide exactly what the hold tests look for; this one never reconnects.

def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def connect(vip, port, timeout, sport=None):
    s = socket.socket(family_of(vip), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if sport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if s.family == socket.AF_INET6 else "0.0.0.0", sport))
        s.connect((vip, port))
    except BaseException:
        s.close()
        raise
    return s


def http_get(sock, host, timeout):
    """One GET / on an open socket; returns the body's first line (the backend)."""
    return http_get_full(sock, host, timeout)[0]


def addr_port(value):
    """"198.18.0.2 40112" (an X-Peer/X-Local header) -> ("198.18.0.2", 40112)."""
    try:
        a, p = value.split()
        return a, int(p)
    except (AttributeError, ValueError):
        return None, None


def http_get_full(sock, host, timeout, path="/"):
    """One GET on an open socket; returns (body's first line, {lower-case header: value})."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: xlb-client\r\nAccept: */*\r\n\r\n"
    sock.sendall(req.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise TimeoutError("timed out reading headers")
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed by peer" + (" mid-headers" if buf else ""))
        buf += chunk
        if len(buf) > 65536:
            raise ValueError("headers too long")
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[0].startswith("HTTP/1."):
        raise ValueError(f"bad status line {lines[0]!r}")
    length = None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    if length is None:
        raise ValueError("no Content-Length")
    while len(body) < length:
        if time.monotonic() > deadline:
            raise TimeoutError("timed out reading body")
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        body += chunk
    if status[1] != "200":
        raise ValueError(f"HTTP {status[1]}")
    return body[:length].decode(errors="replace").strip() or "?", headers


def err_str(e):
    return f"{type(e).__name__}: {e}"


def host_header(vip, port):
    return f"[{vip}]:{port}" if ":" in vip else f"{vip}:{port}"


# ---- burst ------------------------------------------------------------------

def seen_by_backend(headers):
    """The peer and local address/port a backend reported in its headers."""
    peer, peer_port = addr_port(headers.get("x-peer"))
    local, local_port = addr_port(headers.get("x-local"))
    return {"peer": peer, "peer_port": peer_port, "local": local, "local_port": local_port}


def one_conn(vip, port, timeout, sport=None):
    s = None
    try:
        s = connect(vip, port, timeout, sport)
        sport = s.getsockname()[1]
        backend, headers = http_get_full(s, host_header(vip, port), timeout)
        return {"sport": sport, "backend": backend, **seen_by_backend(headers)}
    except Exception as e:
        return {"sport": sport, "error": err_str(e)}
    finally:
        if s is not None:
            s.close()


def summarize(results, n, t0, details):
    by, by_peer, by_local = {}, {}, {}
    errors = []
    ok = 0
    for r in results:
        if "backend" in r:
            ok += 1
            by[r["backend"]] = by.get(r["backend"], 0) + 1
            peer = r.get("peer") or "?"
            by_peer[peer] = by_peer.get(peer, 0) + 1
            local = f"{r['local']} {r['local_port']}" if r.get("local") else "?"
            by_local[local] = by_local.get(local, 0) + 1
        elif len(errors) < MAX_ERRORS:
            errors.append(r["error"] + (f" (sport {r['sport']})" if r.get("sport") else ""))
    out = {"n": n, "ok": ok, "failed": n - ok, "by_backend": dict(sorted(by.items())),
           "by_peer": dict(sorted(by_peer.items())), "by_local": dict(sorted(by_local.items())),
           "errors": errors, "elapsed_s": round(time.monotonic() - t0, 3)}
    if details:
        out["conns"] = results
    return out


def run_parallel(fn, n, parallel):
    with cf.ThreadPoolExecutor(max_workers=max(1, min(parallel, n or 1))) as ex:
        return list(ex.map(lambda _: fn(), range(n)))


def cmd_burst(a):
    t0 = time.monotonic()
    if a.sport_base:
        with cf.ThreadPoolExecutor(max_workers=max(1, min(a.parallel, a.n or 1))) as ex:
            results = list(ex.map(lambda i: one_conn(a.vip, a.port, a.timeout, a.sport_base + i), range(a.n)))
    else:
        results = run_parallel(lambda: one_conn(a.vip, a.port, a.timeout), a.n, a.parallel)
    print(json.dumps(summarize(results, a.n, t0, a.details)))
    return 0


def one_udp(vip, port, timeout, i):
    s = socket.socket(family_of(vip), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    sport = None
    try:
        s.connect((vip, port))
        sport = s.getsockname()[1]
        payload = f"ping-{i}".encode()
        s.send(payload)
        data = s.recv(65535)
        name, _, echoed = data.partition(b" ")
        if echoed != payload:
            return {"sport": sport, "error": f"bad echo {data[:60]!r}"}
        return {"sport": sport, "backend": name.decode(errors="replace")}
    except Exception as e:
        return {"sport": sport, "error": err_str(e)}
    finally:
        s.close()


def cmd_udp(a):
    t0 = time.monotonic()
    counter = iter(range(a.n))
    lock = threading.Lock()

    def fn():
        with lock:
            i = next(counter)
        return one_udp(a.vip, a.port, a.timeout, i)

    results = run_parallel(fn, a.n, a.parallel)
    print(json.dumps(summarize(results, a.n, t0, a.details)))
    return 0


def raise_nofile(n):
    """Room for n more sockets (udprr keeps all of them open)."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, max(soft, n + 256)) if hard != resource.RLIM_INFINITY else max(soft, n + 256)
        if want > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


def same_endpoint(a, b):
    """(addr, port) equality with addresses compared as addresses."""
    try:
        return ipaddress.ip_address(a[0].split("%", 1)[0]) == ipaddress.ip_address(b[0]) and a[1] == b[1]
    except ValueError:
        return False


def udprr_request(i, size):
    """Request i as JSON, padded to size bytes when size is given."""
    req = json.dumps({"id": i}).encode()
    if not size or size <= len(req):
        return req
    bare = json.dumps({"id": i, "pad": ""}).encode()
    return json.dumps({"id": i, "pad": "x" * max(0, size - len(bare))}).encode()


def one_udprr(sock, vip, port, timeout, i, size=0):
    sport = sock.getsockname()[1]
    req = udprr_request(i, size)
    try:
        sock.settimeout(timeout)
        sock.sendto(req, (vip, port))
        data, src = sock.recvfrom(65535)
    except socket.timeout:
        return {"sport": sport, "error": f"timeout: no reply within {timeout} s", "kind": "timeout"}
    except Exception as e:
        return {"sport": sport, "error": err_str(e)}
    if not same_endpoint(src, (vip, port)):
        shown = f"[{src[0]}]:{src[1]}" if ":" in src[0] else f"{src[0]}:{src[1]}"
        return {"sport": sport, "error": f"reply from {shown}, not {host_header(vip, port)}",
                "kind": "wrong_source"}
    try:
        ans = json.loads(data)
        if not isinstance(ans, dict) or ans.get("id") != i:
            raise ValueError("wrong id")
    except ValueError:
        return {"sport": sport, "error": f"bad answer {data[:80]!r} to request {i}"}
    if size and ans.get("len") != len(req):
        return {"sport": sport, "error": f"the backend got {ans.get('len')} of {len(req)} bytes"}
    return {"sport": sport, "backend": str(ans.get("backend") or "?"),
            **{k: ans.get(k) for k in ("peer", "peer_port", "local", "local_port")}}


def cmd_udprr(a):
    t0 = time.monotonic()
    raise_nofile(a.n)
    fam = family_of(a.vip)
    socks = []
    try:
        for i in range(a.n):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            socks.append(s)
            if a.sport_base:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport_base + i if a.sport_base else 0))
        with cf.ThreadPoolExecutor(max_workers=max(1, min(a.parallel, a.n or 1))) as ex:
            results = list(ex.map(lambda i: one_udprr(socks[i], a.vip, a.port, a.timeout, i, a.size), range(a.n)))
    finally:
        for s in socks:
            s.close()
    out = summarize(results, a.n, t0, a.details)
    out["timeouts"] = sum(1 for r in results if r.get("kind") == "timeout")
    out["wrong_source"] = sum(1 for r in results if r.get("kind") == "wrong_source")
    if a.details:
        for r in results:
            r.pop("kind", None)
    print(json.dumps(out))
    return 0


# ---- hold -------------------------------------------------------------------

class Held:
    def __init__(self, cid, sock, sport, backend, seen=None):
        self.id = cid
        self.sock = sock
        self.sport = sport
        self.backend = backend
        self.seen = seen or {}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Holder:
    def __init__(self, a):
        self.a = a
        self.conns = []  # alive connections only
        self.half_closed = []  # closed by the server (srvclose), not yet by us
        self.next_id = 0
        self.next_sport = 0  # offset from --sport-base of the next connection
        self.lock = threading.Lock()

    def _next_sport(self):
        """The next fixed source port (--sport-base), or None: the kernel picks."""
        if not self.a.sport_base:
            return None
        with self.lock:
            port = self.a.sport_base + self.next_sport
            self.next_sport += 1
        return port

    def _open_one(self):
        a = self.a
        s = None
        sport = self._next_sport()
        try:
            s = connect(a.vip, a.port, a.timeout, sport)
            sport = s.getsockname()[1]
            backend, headers = http_get_full(s, host_header(a.vip, a.port), a.timeout)
            with self.lock:
                h = Held(self.next_id, s, sport, backend, seen_by_backend(headers))
                self.next_id += 1
            return h, None
        except Exception as e:
            if s is not None:
                s.close()
            return None, err_str(e) + (f" (sport {sport})" if sport else "")

    def open(self, m):
        results = run_parallel(self._open_one, m, self.a.parallel)
        opened = [h for h, _ in results if h]
        errors = [e for _, e in results if e]
        self.conns.extend(opened)
        self.conns.sort(key=lambda h: h.id)
        by = {}
        for h in opened:
            by[h.backend] = by.get(h.backend, 0) + 1
        return {"ok": True, "opened": len(opened), "failed": len(errors),
                "by_backend": dict(sorted(by.items())), "errors": errors[:MAX_ERRORS],
                "held": len(self.conns)}

    def status(self):
        by, by_peer = {}, {}
        for h in self.conns:
            by[h.backend] = by.get(h.backend, 0) + 1
            peer = h.seen.get("peer") or "?"
            by_peer[peer] = by_peer.get(peer, 0) + 1
        return {"ok": True, "held": len(self.conns), "by_backend": dict(sorted(by.items())),
                "half_closed": len(self.half_closed), "by_peer": dict(sorted(by_peer.items())),
                "conns": [{"id": h.id, "sport": h.sport, "backend": h.backend,
                           "peer": h.seen.get("peer"), "peer_port": h.seen.get("peer_port")}
                          for h in self.conns]}

    def check(self):
        a = self.a

        def probe(h):
            try:
                return h, http_get(h.sock, host_header(a.vip, a.port), a.timeout), None
            except Exception as e:
                return h, None, err_str(e)

        conns = list(self.conns)
        if conns:
            with cf.ThreadPoolExecutor(max_workers=min(64, len(conns))) as ex:
                results = list(ex.map(probe, conns))
        else:
            results = []
        out = []
        by_now, by_open = {}, {}
        answered = same = 0
        dead = set()
        for h, now, err in results:
            by_open[h.backend] = by_open.get(h.backend, 0) + 1
            rec = {"id": h.id, "sport": h.sport, "backend_open": h.backend, "backend_now": now,
                   "ok": now is not None, "same": now == h.backend, "error": err}
            if now is not None:
                answered += 1
                by_now[now] = by_now.get(now, 0) + 1
                same += now == h.backend
            else:
                dead.add(h.id)
                h.close()
            out.append(rec)
        self.conns = [h for h in self.conns if h.id not in dead]
        return {"ok": True, "held": len(results), "answered": answered, "failed": len(results) - answered,
                "same": same, "moved": answered - same, "by_backend": dict(sorted(by_now.items())),
                "by_backend_open": dict(sorted(by_open.items())), "conns": out}

    def close(self, k, backend=None):
        victims = [h for h in self.conns if backend is None or h.backend == backend][:k]
        ids = {h.id for h in victims}
        for h in victims:
            h.close()
        self.conns = [h for h in self.conns if h.id not in ids]
        return {"ok": True, "closed": len(victims), "held": len(self.conns)}

    def srvclose(self, k, backend=None):
        """GET /close on k held connections; keep our side open (no FIN from us)."""
        a = self.a
        victims = [h for h in self.conns if backend is None or h.backend == backend][:k]

        def one(h):
            answered = eof = False
            try:
                http_get_full(h.sock, host_header(a.vip, a.port), a.timeout, path="/close")
                answered = True
                h.sock.settimeout(a.timeout)
                eof = h.sock.recv(1) == b""
            except Exception:
                pass
            return answered, eof

        if victims:
            with cf.ThreadPoolExecutor(max_workers=min(64, len(victims))) as ex:
                results = list(ex.map(one, victims))
        else:
            results = []
        ids = {h.id for h in victims}
        self.conns = [h for h in self.conns if h.id not in ids]
        self.half_closed.extend(victims)
        return {"ok": True, "requested": len(victims), "answered": sum(r[0] for r in results),
                "eof": sum(r[1] for r in results), "held": len(self.conns),
                "half_closed": len(self.half_closed)}

    def release(self):
        n = len(self.half_closed)
        for h in self.half_closed:
            h.close()
        self.half_closed = []
        return {"ok": True, "released": n, "held": len(self.conns)}

    def close_all(self):
        for h in self.conns + self.half_closed:
            h.close()
        self.conns = []
        self.half_closed = []


def handle_command(holder, line):
    try:
        words = shlex.split(line)
    except ValueError as e:
        return {"ok": False, "error": f"cannot parse command: {e}"}, False
    if not words:
        return {"ok": False, "error": "empty command"}, False
    cmd, args = words[0], words[1:]
    try:
        if cmd == "ping":
            return ping_command(holder, args), False
        if cmd == "status" and not args:
            return holder.status(), False
        if cmd == "check" and not args:
            return holder.check(), False
        if cmd == "open" and len(args) == 1:
            return holder.open(int(args[0])), False
        if cmd in ("close", "srvclose") and len(args) in (1, 3):
            backend = None
            if len(args) == 3:
                if args[1] != "--backend":
                    raise ValueError(f"usage: {cmd} K [--backend NAME]")
                backend = args[2]
            if cmd == "srvclose":
                return holder.srvclose(int(args[0]), backend), False
            return holder.close(int(args[0]), backend), False
        if cmd == "release" and not args:
            return holder.release(), False
        if cmd == "quit" and not args:
            return {"ok": True}, True
    except ValueError as e:
        return {"ok": False, "error": str(e)}, False
    return {"ok": False, "error": f"unknown command {line.strip()!r} "
            "(status | check | open M | close K [--backend NAME] | srvclose K [--backend NAME] | release | "
            "ping start SECONDS | ping stop | quit)"}, False


def read_line(conn, timeout):
    conn.settimeout(timeout)
    buf = b""
    while b"\n" not in buf and len(buf) < 4096:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n", 1)[0].decode(errors="replace")


def cmd_hold(a):
    holder = Holder(a)
    started = time.monotonic()
    first = holder.open(a.n)
    if first["failed"]:
        # A test that asked for N held connections must not go on with fewer
        # (its counts would silently be off): fail before the control socket
        # exists, so the caller sees the process exit.
        print(f"hold: {first['failed']} of {a.n} initial connections failed to open "
              f"({first['opened']} opened); errors:", file=sys.stderr)
        for e in first["errors"]:
            print(f"hold:   {e}", file=sys.stderr)
        sys.stderr.flush()
        holder.close_all()
        return 1
    try:
        os.unlink(a.control)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = a.control + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    srv.bind(tmp)
    srv.listen(8)
    os.rename(tmp, a.control)  # appears atomically, already listening
    srv.settimeout(1.0)
    st = holder.status()
    st["initial"] = {k: first[k] for k in ("opened", "failed", "errors")}
    print(json.dumps(st), flush=True)
    try:
        while time.monotonic() - started < a.max_lifetime:
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            with conn:
                try:
                    line = read_line(conn, 10)
                except OSError as e:
                    print(f"hold: control read failed: {e}", file=sys.stderr, flush=True)
                    continue
                answer, stop = handle_command(holder, line)
                try:
                    conn.settimeout(10)
                    conn.sendall((json.dumps(answer) + "\n").encode())
                except OSError as e:
                    print(f"hold: control answer failed: {e}", file=sys.stderr, flush=True)
                if stop:
                    break
        else:
            print("hold: maximum lifetime reached, exiting", file=sys.stderr, flush=True)
    finally:
        ping_stop(holder)
        holder.close_all()
        srv.close()
        try:
            os.unlink(a.control)
        except OSError:
            pass
    return 0


# ---- hold: periodic pings (ping start SECONDS | ping stop) -------------------
# Held connections that keep sending: the idle-expiry test needs flows that
# talk every fraction of a second for several idle-timeout periods while the
# test watches the load balancer. One thread pings every held connection in
# turn, each round SECONDS after the previous one ended.

class Pinger:
    def __init__(self, holder, interval):
        self.holder = holder
        self.interval = interval
        self.stop_ev = threading.Event()
        self.rounds = self.pings = self.failed = self.moved = 0
        self.errors = []
        self.dead = set()  # ids of connections whose ping failed
        self.max_gap = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        a = self.holder.a
        last_ok = {}  # id -> monotonic time of its last answered ping (or the start)
        started = time.monotonic()
        while not self.stop_ev.wait(self.interval):
            for h in list(self.holder.conns):
                if h.id in self.dead or self.stop_ev.is_set():
                    continue
                self.pings += 1
                try:
                    now_backend = http_get(h.sock, host_header(a.vip, a.port), a.timeout)
                except Exception as e:
                    self.failed += 1
                    self.dead.add(h.id)
                    if len(self.errors) < MAX_ERRORS:
                        self.errors.append(f"{err_str(e)} (sport {h.sport})")
                    continue
                t = time.monotonic()
                self.max_gap = max(self.max_gap, t - last_ok.get(h.id, started))
                last_ok[h.id] = t
                if now_backend != h.backend:
                    self.moved += 1
                    if len(self.errors) < MAX_ERRORS:
                        self.errors.append(f"sport {h.sport}: answered by {now_backend}, opened on {h.backend}")
            self.rounds += 1

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
        for h in self.holder.conns:
            if h.id in self.dead:
                h.close()
        self.holder.conns = [h for h in self.holder.conns if h.id not in self.dead]
        return {"ok": True, "rounds": self.rounds, "pings": self.pings, "failed": self.failed,
                "moved": self.moved, "max_gap_s": round(self.max_gap, 3), "errors": self.errors,
                "held": len(self.holder.conns)}


def ping_stop(holder):
    """Stops the holder's pinger, if any; returns its summary or None."""
    p = getattr(holder, "pinger", None)
    holder.pinger = None
    return p.stop() if p else None


def ping_command(holder, args):
    if len(args) == 2 and args[0] == "start":
        if getattr(holder, "pinger", None):
            return {"ok": False, "error": "already pinging"}
        interval = float(args[1])
        if not 0 < interval <= 60:
            raise ValueError("ping start: SECONDS must be in (0, 60]")
        holder.pinger = Pinger(holder, interval)
        holder.pinger.thread.start()
        return {"ok": True}
    if args == ["stop"]:
        return ping_stop(holder) or {"ok": False, "error": "not pinging"}
    raise ValueError("usage: ping start SECONDS | ping stop")


# ---- synflood ---------------------------------------------------------------

SYNFLOOD_MAX_N = 1_000_000
SYNFLOOD_MAX_RATE = 200_000
SYNFLOOD_ALLOWED_NET = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544 benchmarking


def inet_checksum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn_packet(src, dst, sport, dport, seq, ident):
    """An IPv4 header and a TCP SYN (MSS option), both checksums filled in."""
    src_b, dst_b = socket.inet_aton(src), socket.inet_aton(dst)
    opts = struct.pack("!BBH", 2, 4, 1460)  # MSS 1460
    doff = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, doff << 4, 0x02, 64240, 0, 0) + opts
    pseudo = src_b + dst_b + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    csum = inet_checksum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    total = 20 + len(tcp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0x4000, 64, socket.IPPROTO_TCP, 0, src_b, dst_b)
    ip = ip[:10] + struct.pack("!H", inet_checksum(ip)) + ip[12:]
    return ip + tcp


def flood_sources(net, n, rng):
    """n distinct (address, port) pairs in net: distinct 5-tuples towards one VIP:port."""
    hosts = net.num_addresses
    first = int(net.network_address)
    seen = set()
    while len(seen) < n:
        seen.add((rng.randrange(hosts), rng.randrange(1024, 65536)))
    return [(str(ipaddress.IPv4Address(first + h)), port) for h, port in seen]


def cmd_synflood(a):
    try:
        net = ipaddress.ip_network(a.src_net, strict=False)
        dst = ipaddress.ip_address(a.vip)
    except ValueError as e:
        print(f"synflood: {e}", file=sys.stderr)
        return 2
    if net.version != 4 or dst.version != 4:
        print("synflood: IPv4 only", file=sys.stderr)
        return 2
    if not net.subnet_of(SYNFLOOD_ALLOWED_NET):
        print(f"synflood: --src-net must lie in {SYNFLOOD_ALLOWED_NET}", file=sys.stderr)
        return 2
    if not 0 <= a.n <= SYNFLOOD_MAX_N or not 1 <= a.rate <= SYNFLOOD_MAX_RATE:
        print(f"synflood: -n must be 0..{SYNFLOOD_MAX_N} and --rate 1..{SYNFLOOD_MAX_RATE}", file=sys.stderr)
        return 2
    if a.n > net.num_addresses * 64512 // 2:
        print("synflood: --src-net is too small for that many distinct sources", file=sys.stderr)
        return 2
    rng = random.Random(a.seed)
    sources = flood_sources(net, a.n, rng)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPPROTO_RAW implies IP_HDRINCL
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sent = failed = 0
    errors = []
    t0 = time.monotonic()
    try:
        for i, (src, sport) in enumerate(sources):
            # Pace: packet i leaves no earlier than i / rate after the start.
            ahead = t0 + i / a.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            pkt = syn_packet(src, a.vip, sport, a.port, rng.getrandbits(32), i & 0xFFFF)
            try:
                s.sendto(pkt, (a.vip, 0))
                sent += 1
            except OSError as e:
                failed += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(err_str(e))
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    print(json.dumps({"sent": sent, "failed": failed, "elapsed_s": round(elapsed, 3),
                      "pps": round(sent / elapsed) if elapsed > 0 else 0, "src_net": str(net),
                      "errors": errors}))
    return 0


def cmd_ctl(a):
    line = " ".join(a.command).strip()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect(a.control)
        s.sendall((line + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError as e:
        print(json.dumps({"ok": False, "error": f"control socket {a.control}: {err_str(e)}"}))
        return 1
    finally:
        s.close()
    text = buf.decode(errors="replace").strip()
    print(text)
    try:
        return 0 if json.loads(text).get("ok") else 1
    except ValueError:
        return 1


# ---- connect: one connection from a given source port --------------------
# (a subcommand of its own, kept apart from the others for easy merges)

def cmd_connect(a):
    import errno as errno_mod
    out = {"ok": False, "sport": a.sport}
    t0 = time.monotonic()
    stage = "connect"
    s = None
    try:
        s = connect(a.vip, a.port, a.timeout, a.sport)
        stage = "request"
        out["backend"] = http_get(s, host_header(a.vip, a.port), a.timeout)
        stage = "close"
        s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + a.timeout
        while s.recv(4096):
            if time.monotonic() > deadline:
                raise TimeoutError("no end of stream from the server")
        out["ok"] = True
    except Exception as e:
        out["error"] = err_str(e)
        out["stage"] = stage
        code = getattr(e, "errno", None)
        if isinstance(e, socket.timeout) and code is None:
            code = errno_mod.ETIMEDOUT
        out["errno"] = errno_mod.errorcode.get(code, str(code)) if code is not None else None
    finally:
        if s is not None:
            s.close()
    out["elapsed_s"] = round(time.monotonic() - t0, 4)
    print(json.dumps(out))
    return 0 if out["ok"] else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)

    def traffic(p, port, timeout):
        p.add_argument("--vip", required=True)
        p.add_argument("--port", type=int, default=port)
        p.add_argument("-n", type=int, required=True)
        p.add_argument("--parallel", type=int, default=20)
        p.add_argument("--timeout", type=float, default=timeout)

    b = sub.add_parser("burst")
    traffic(b, 80, 5.0)
    b.add_argument("--details", action="store_true")
    b.add_argument("--sport-base", type=int, default=0,
                   help="connection i uses source port SPORT_BASE+i (reproducible samples)")
    u = sub.add_parser("udp")
    traffic(u, 53, 2.0)
    u.add_argument("--details", action="store_true")
    r = sub.add_parser("udprr")
    traffic(r, 53, 2.0)
    r.add_argument("--details", action="store_true")
    r.add_argument("--sport-base", type=int, default=0,
                   help="request i uses source port SPORT_BASE+i")
    r.add_argument("--size", type=int, default=0,
                   help="pad each request to SIZE bytes (answered only if the backend got them all)")
    h = sub.add_parser("hold")
    traffic(h, 80, 5.0)
    h.add_argument("--control", required=True)
    h.add_argument("--max-lifetime", type=float, default=1800)
    h.add_argument("--sport-base", type=int, default=0,
                   help="connection k (initial and later `open`) uses source port SPORT_BASE+k")
    f = sub.add_parser("synflood")
    f.add_argument("--vip", required=True)
    f.add_argument("--port", type=int, default=80)
    f.add_argument("-n", type=int, required=True)
    f.add_argument("--rate", type=int, default=10000, help="packets per second (at most)")
    f.add_argument("--src-net", default="198.19.0.0/16")
    f.add_argument("--seed", type=int, default=None)
    cn = sub.add_parser("connect")
    cn.add_argument("--vip", required=True)
    cn.add_argument("--port", type=int, default=80)
    cn.add_argument("--sport", type=int, required=True)
    cn.add_argument("--timeout", type=float, default=5.0)
    c = sub.add_parser("ctl")
    c.add_argument("--control", required=True)
    c.add_argument("--timeout", type=float, default=120)
    c.add_argument("command", nargs="+")
    a = ap.parse_args()
    if getattr(a, "n", 0) < 0:
        ap.error("-n must be >= 0")
    return {"burst": cmd_burst, "udp": cmd_udp, "udprr": cmd_udprr, "hold": cmd_hold, "synflood": cmd_synflood,
            "ctl": cmd_ctl, "connect": cmd_connect}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())

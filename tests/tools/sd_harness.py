#!/usr/bin/env python3
"""Stand-in for systemd's side of lbd's service protocol (tests/netns/test_service.sh).

  sd_harness.py notify  --sock PATH --lbd-sock PATH [--watchdog-usec N] -- CMD...
  sd_harness.py journal --lbd-sock PATH [--term | --until FIELD] -- CMD...

notify: binds a Unix datagram socket at PATH, runs CMD with NOTIFY_SOCKET=PATH
(and WATCHDOG_USEC), and records, when READY=1 arrives, whether lbd's control
socket answers a status request at that moment. It then waits for three
WATCHDOG=1 (with --watchdog-usec), sends SIGTERM, and collects the messages
until CMD exits.

journal: must run in a private mount namespace with a writable
/run/systemd/journal (the test mounts a tmpfs there): binds journald's
native socket, runs CMD with JOURNAL_STREAM naming CMD's stderr (a file), as
systemd does for a service, and collects the entries CMD sends until it
exits. With --term, it sends SIGTERM once the control socket answers; with
--until FIELD, once an entry with that field has arrived.

Prints one JSON document on stdout. Conditions, not sleeps: every wait is
for a message or an exit, bounded by a generous deadline that only fails a
broken run."""
import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 60


def lbd_request(path, cmd):
    """lbd's answer to {"cmd": cmd} now, or None if it does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(path)
            s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return json.loads(data)
    except (OSError, ValueError):
        return None


def lbd_answers(path):
    answer = lbd_request(path, "status")
    return answer is not None and answer.get("ok") is True


def recv_until(sock, proc, want, deadline):
    """Datagrams until want(msg) is true for one or proc exits; returns all."""
    got = []
    while time.monotonic() < deadline:
        sock.settimeout(0.2)
        try:
            msg = sock.recv(65536)
        except socket.timeout:
            if proc.poll() is not None:
                # Drain what it sent before exiting.
                sock.setblocking(False)
                try:
                    while True:
                        got.append(sock.recv(65536))
                except BlockingIOError:
                    pass
                return got
            continue
        got.append(msg)
        if want(msg):
            return got
    return got


def parse_journal(data):
    """journald's native protocol: KEY=value lines, or KEY\\n<le64 len><bytes>\\n."""
    entry = {}
    i = 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            nl = len(data)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            entry[k.decode()] = v.decode(errors="replace")
            i = nl + 1
        else:
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            entry[line.decode()] = data[nl + 9:nl + 9 + n].decode(errors="replace")
            i = nl + 9 + n + 1
    return entry


def run_notify(a):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(a.sock)
    env = dict(os.environ, NOTIFY_SOCKET=a.sock)
    env.pop("WATCHDOG_PID", None)
    env.pop("JOURNAL_STREAM", None)
    if a.watchdog_usec:
        env["WATCHDOG_USEC"] = str(a.watchdog_usec)
    else:
        env.pop("WATCHDOG_USEC", None)
    out = {"messages": []}
    deadline = time.monotonic() + DEADLINE_S
    proc = subprocess.Popen(a.cmd, env=env, stdin=subprocess.DEVNULL)
    msgs = recv_until(sock, proc, lambda m: m.startswith(b"READY=1"), deadline)
    out["messages"] += [m.decode() for m in msgs]
    out["ready"] = bool(msgs) and msgs[-1].startswith(b"READY=1")
    # The moment READY=1 is read: lbd must already answer, with the
    # config applied.
    out["answers_at_ready"] = out["ready"] and lbd_answers(a.lbd_sock)
    out["list_at_ready"] = lbd_request(a.lbd_sock, "list") if out["ready"] else None
    out["before_ready"] = [m.decode() for m in msgs[:-1]]
    if a.watchdog_usec:
        pings = 0

        def three(m):
            nonlocal pings
            pings += m == b"WATCHDOG=1"
            return pings >= 3

        msgs = recv_until(sock, proc, three, deadline)
        out["messages"] += [m.decode() for m in msgs]
        out["watchdog_pings"] = pings
    out["running_before_term"] = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    msgs = recv_until(sock, proc, lambda m: False, deadline)  # until it exits
    out["messages"] += [m.decode() for m in msgs]
    out["after_term"] = [m.decode() for m in msgs]
    try:
        out["exit"] = proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        out["exit"] = "killed"
    return out


def run_journal(a):
    os.makedirs("/run/systemd/journal", exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("/run/systemd/journal/socket")
    stderr = tempfile.TemporaryFile()
    st = os.fstat(stderr.fileno())
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(k, None)
    deadline = time.monotonic() + DEADLINE_S
    proc = subprocess.Popen(a.cmd, env=env, stdin=subprocess.DEVNULL, stderr=stderr)
    entries = []
    termed = not (a.term or a.until)
    code = None
    while time.monotonic() < deadline:
        sock.settimeout(0.1)
        try:
            entries.append(parse_journal(sock.recv(1 << 20)))
            continue
        except socket.timeout:
            pass
        if proc.poll() is not None:
            code = proc.returncode
            break
        if not termed and ((a.term and lbd_answers(a.lbd_sock)) or
                           (a.until and any(a.until in e for e in entries))):
            proc.send_signal(signal.SIGTERM)
            termed = True
    if code is None:
        proc.kill()
        code = "killed"
    sock.setblocking(False)
    try:
        while True:
            entries.append(parse_journal(sock.recv(1 << 20)))
    except BlockingIOError:
        pass
    stderr.seek(0)
    return {"exit": code, "entries": entries, "stderr": stderr.read().decode(errors="replace")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["notify", "journal"])
    p.add_argument("--sock")
    p.add_argument("--lbd-sock", required=True)
    p.add_argument("--watchdog-usec", type=int, default=0)
    p.add_argument("--term", action="store_true")
    p.add_argument("--until")
    p.add_argument("cmd", nargs="+")
    a = p.parse_args()
    out = run_notify(a) if a.mode == "notify" else run_journal(a)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()

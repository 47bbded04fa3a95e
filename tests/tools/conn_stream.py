#!/usr/bin/env python3
"""A steady stream of new TCP connections, for the cluster failover tests.

conn_stream.py --vip ADDR [--port 80] [--rate 40] [--timeout 5]
               --stop-file PATH [--ready-file PATH] [--max-lifetime 600]

Opens RATE connections a second (each on its own thread, at most 200 at
once), each: connect, one GET / (tests/tools/backend_server.py answers with
its name), read the answer, close. Runs until PATH exists (or the maximum
lifetime), waits for the connections still open, and prints one JSON object:

  {"n": N, "ok": n_ok, "failed": n_failed, "slow": n_slow,
   "max_s": 1.02, "by_backend": {"b1": 30, ...},
   "failures": [{"t_ms": unix ms when it started, "error": "..."}],
   "slow_starts_ms": [unix ms when each slow one started (the first 1000)]}

A connection is "slow" when it took longer than --slow seconds (default
0.9): its SYN or request was lost and retransmitted (the first SYN
retransmission comes after 1 s), typically because it was sent towards a
node that was failing. It is "failed" when it errored or took longer than
--timeout. Source ports are the kernel's: the stream's spread is not
checked, only its failures. --ready-file is created once the first
connection has been answered. Stdlib only.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import http_get  # noqa: E402  (the rigs' HTTP client)

MAX_LIST = 20
MAX_SLOW_LIST = 1000  # enough to place every slow one in a phase of the test


def one(vip, port, timeout):
    """One connection: connect, GET /, close; returns the backend's name."""
    fam = socket.AF_INET6 if ":" in vip else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((vip, port))
        return http_get(s, f"[{vip}]:{port}" if ":" in vip else f"{vip}:{port}", timeout)
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vip", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--rate", type=float, default=40)
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("--slow", type=float, default=0.9)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--ready-file")
    p.add_argument("--max-lifetime", type=float, default=600)
    a = p.parse_args()

    lock = threading.Lock()
    st = {"n": 0, "ok": 0, "failed": 0, "slow": 0, "max_s": 0.0, "by_backend": {},
          "failures": [], "slow_starts_ms": []}
    slots = threading.BoundedSemaphore(200)
    threads = []

    def run(start_ms):
        t0 = time.monotonic()
        try:
            b = one(a.vip, a.port, a.timeout)
            err = None
        except Exception as e:  # any failure is a failed connection
            err = f"{type(e).__name__}: {e}"
        dt = time.monotonic() - t0
        with lock:
            st["n"] += 1
            st["max_s"] = max(st["max_s"], round(dt, 3))
            if err is None and dt <= a.timeout:
                st["ok"] += 1
                st["by_backend"][b] = st["by_backend"].get(b, 0) + 1
                if dt > a.slow:
                    st["slow"] += 1
                    if len(st["slow_starts_ms"]) < MAX_SLOW_LIST:
                        st["slow_starts_ms"].append(start_ms)
                if a.ready_file and st["ok"] == 1:
                    open(a.ready_file, "w").close()
            else:
                st["failed"] += 1
                if len(st["failures"]) < MAX_LIST:
                    st["failures"].append({"t_ms": start_ms, "error": err or f"took {dt:.2f} s"})
        slots.release()

    started = time.monotonic()
    interval = 1.0 / a.rate
    nxt = started
    while not os.path.exists(a.stop_file) and time.monotonic() - started < a.max_lifetime:
        now = time.monotonic()
        if now < nxt:
            time.sleep(min(nxt - now, 0.05))
            continue
        nxt += interval
        if nxt < now:  # fell behind (loaded machine): do not burst to catch up
            nxt = now + interval
        slots.acquire()
        t = threading.Thread(target=run, args=(int(time.time() * 1000),), daemon=True)
        t.start()
        threads.append(t)
        threads = [x for x in threads if x.is_alive()]
    for t in threads:
        t.join(a.timeout + 1)
    with lock:
        print(json.dumps(st), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Control-plane latency of lbd: add-backend, from the request to the answer.

lbd answers a write only after every map write it implies (ring slots
included) is done, so the round trip is "from the call to the maps updated".
This measures it over lbd's Unix socket, one JSON request per call: what an
orchestrator talking to lbd pays. (scripts/bench.sh times `lbctl` processes
separately, from bash: a Python spawn would add more than lbctl costs.)

Usage: api_latency.py --socket PATH [-n 1000] [--vip 198.18.200.1:80] [--keep]
Prints one JSON object: {"n":..,"p50_ms":..,"p99_ms":..,"mean_ms":..}.
Backends 198.19.X.Y are added to a fresh VIP (ring size 65537), so the last
calls rebuild a 1000-backend ring; the VIP is deleted afterwards unless --keep.
"""
import argparse
import json
import socket
import statistics
import sys
import time


def request(path, obj, timeout=10.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall((json.dumps(obj) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    answer = json.loads(buf)
    if not answer.get("ok"):
        raise RuntimeError(answer.get("error", "lbd refused the request"))
    return answer


def percentiles(samples_ms):
    ordered = sorted(samples_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"n": len(ordered), "p50_ms": round(pick(0.50), 3), "p99_ms": round(pick(0.99), 3),
            "mean_ms": round(statistics.fmean(ordered), 3)}


def backend(i):
    return f"198.19.{i // 250}.{1 + i % 250}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--keep", action="store_true", help="leave the VIP in place")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--vip", default="198.18.200.1:80")
    args = ap.parse_args()

    base = {"vip": args.vip, "proto": "tcp"}
    request(args.socket, {"cmd": "add-vip", **base, "sched": "maglev", "mode": "ipip"})
    samples = []
    try:
        for i in range(args.n):
            t0 = time.perf_counter()
            request(args.socket, {"cmd": "add-backend", **base, "backend": backend(i)})
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        if not args.keep:
            request(args.socket, {"cmd": "del-vip", **base}, timeout=60)
    print(json.dumps(percentiles(samples)))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The shop's HTTP benchmark (scripts/shop-bench.sh calls this): wrk at C connections for N
seconds on GET /healthz (the HTTP layer alone: the peer in the same run), GET
/api/products/{id}, GET /api/products?page=1 and GET /api/categories, then a checkout rate (a
Python driver: C threads, each its own visitor on a keep-alive connection, PUT one cart line +
POST /api/checkout with a fresh Idempotency-Key). Prints requests/s, the ratio to /healthz, p50
and p99 as a markdown table. Starts its own cluster + shop (catalogue with ample stock) unless
--url is given.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shop_env import SOURCE_DIR, ShopEnv, test_catalog  # noqa: E402

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text):
    out = {"rps": None, "p50": None, "p99": None, "non2xx": 0, "errors": ""}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\b", text, re.M)
        if m:
            out[key] = float(m.group(1)) * UNIT[m.group(2)]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors:(.*)", text)
    if m:
        out["errors"] = m.group(1).strip()
    return out


def run_wrk(url, path, connections, threads, seconds):
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
            "--timeout", "5s", url + path]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=seconds + 60)
    res = parse_wrk(r.stdout)
    res["raw"] = r.stdout
    return res


def checkout_driver(url, connections, seconds, product_ids):
    """C threads, each its own visitor and keep-alive connection, PUT + checkout in a loop.
    Returns (checkouts/s, p50 ms, p99 ms, errors by status)."""
    u = urllib.parse.urlsplit(url)
    lat, errors = [], {}
    lock = threading.Lock()
    start_barrier = threading.Barrier(connections, timeout=60)
    window = {}

    def worker(i):
        rng = random.Random(i)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        mine, errs = [], {}

        def call(method, path, body=None, headers=None):
            nonlocal conn
            try:
                conn.request(method, path, body=body, headers=headers or {})
                r = conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                return 0, b""
        st, body = call("POST", "/api/session")
        token = json.loads(body)["token"] if st in (200, 201) else None
        try:
            start_barrier.wait()
        except threading.BrokenBarrierError:
            pass
        if token is None:
            return
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        end = window["end"]
        n = 0
        while time.monotonic() < end:
            n += 1
            pid = rng.choice(product_ids)
            st, _ = call("PUT", f"/api/cart/items/{pid}", json.dumps({"quantity": 1}), auth)
            if st != 200:
                errs[f"PUT {st}"] = errs.get(f"PUT {st}", 0) + 1
                continue
            t0 = time.monotonic()
            st, _ = call("POST", "/api/checkout", None,
                         dict(auth, **{"Idempotency-Key": f"bench-{i}-{n}"}))
            if st == 201:
                mine.append((time.monotonic() - t0) * 1000)
            else:
                errs[f"checkout {st}"] = errs.get(f"checkout {st}", 0) + 1
        conn.close()
        with lock:
            lat.extend(mine)
            for k, v in errs.items():
                errors[k] = errors.get(k, 0) + v

    window["end"] = time.monotonic() + seconds + 5  # provisional, set after sessions
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    window["end"] = t0 + seconds
    for t in threads:
        t.join(seconds + 60)
    took = max(time.monotonic() - t0, 1e-9)
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None
    return len(lat) / took, pct(0.50), pct(0.99), errors


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(prog="scripts/shop-bench.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SOURCE_DIR, "build"))
    ap.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--url", default=None)
    ap.add_argument("--product", default=None, help="product id for /api/products/{id}")
    ap.add_argument("--no-checkout", action="store_true")
    a = ap.parse_args()
    if a.duration < 1 or a.connections < 1 or a.wrk_threads < 1:
        ap.error("--duration, --connections and --wrk-threads must be positive")
    if a.wrk_threads > a.connections:
        ap.error("--wrk-threads must not exceed --connections")
    if not shutil.which("wrk"):
        print("shop-bench: wrk is missing (scripts/deps.sh installs it)", file=sys.stderr)
        return 1
    env = None
    try:
        if a.url:
            url = a.url.rstrip("/")
        else:
            env = ShopEnv(a.build, instances=1, catalog=test_catalog(100, 10 ** 9), verbose=False)
            env.__enter__()
            url = env.url
        r = http.client.HTTPConnection(urllib.parse.urlsplit(url).hostname,
                                       urllib.parse.urlsplit(url).port, timeout=10)
        r.request("GET", "/api/products?per_page=100")
        items = json.loads(r.getresponse().read()).get("items", [])
        r.close()
        ids = [str(p["id"]) for p in items]
        if not ids:
            print("shop-bench: the shop has no products", file=sys.stderr)
            return 1
        pid = a.product or ids[0]
        rows = []
        # /healthz first: the same HTTP server and threads without the store, the peer the
        # store-backed routes are compared with in the same run.
        for path in ("/healthz", f"/api/products/{pid}", "/api/products?page=1",
                     "/api/categories"):
            print(f"shop-bench: wrk {a.connections} connections, {a.duration} s: GET {path}",
                  file=sys.stderr, flush=True)
            res = run_wrk(url, path, a.connections, a.wrk_threads, a.duration)
            if res["rps"] is None:
                print(res["raw"], file=sys.stderr)
            note = []
            if res["non2xx"]:
                note.append(f"{res['non2xx']} non-2xx")
            if res["errors"]:
                note.append(f"socket errors: {res['errors']}")
            rows.append((f"GET {path}", res["rps"], res["p50"], res["p99"], "; ".join(note)))
        if not a.no_checkout:
            print(f"shop-bench: checkout driver, {a.connections} visitors, {a.duration} s",
                  file=sys.stderr, flush=True)
            rps, p50, p99, errors = checkout_driver(url, a.connections, a.duration, ids)
            rows.append(("POST /api/checkout (Python driver, after a PUT)", rps, p50, p99,
                         ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))))
        print()
        print(f"Shop HTTP at {a.connections} connections, {a.duration} s each "
              f"({os.cpu_count()} CPUs, shop + cluster + load generator on one machine)")
        print()
        print("| request | requests/s | vs /healthz | p50 ms | p99 ms | notes |")
        print("|---|---:|---:|---:|---:|---|")
        peer = rows[0][1]
        for name, rps, p50, p99, note in rows:
            ratio = f"{rps / peer:.2f}" if rps and peer else "-"
            print(f"| {name} | {fmt(rps, 0)} | {ratio} | {fmt(p50)} | {fmt(p99)} | {note} |")
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if env is not None:
            env.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main())

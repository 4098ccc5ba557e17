"""Checkout load for the fault tests: threads, each its own visitor, buying 1..3 lines per
order with a fresh Idempotency-Key each time, until stopped (bounded by a deadline)."""

import collections
import random
import threading
import time

from shophttp import Visitor, request


class CheckoutLoad:
    def __init__(self, urls, products, threads=6, max_lines=1, max_seconds=120):
        self.urls, self.products = list(urls), list(products)
        self.max_lines = max_lines
        self.max_seconds = max_seconds
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.visitors = []
        self.confirmed = []   # (visitor, order json)
        self.errors = collections.Counter()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    def start(self):
        for x in self.threads:
            x.start()
        return self

    def _run(self, i):
        rng = random.Random(1000 + i)
        v = Visitor(self.urls[i % len(self.urls)])
        n = 0
        deadline = time.monotonic() + self.max_seconds
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            if v.token is None:
                r = v.start(timeout=5)
                if v.token is None:
                    self._note(r)
                    continue
                with self.lock:
                    self.visitors.append(v)
            lines = rng.sample(self.products, rng.randint(1, self.max_lines))
            bad = None
            for pid in lines:
                r = v.put(pid, rng.randint(1, 2), timeout=5)
                if r.status != 200:
                    bad = r
                    break
            if bad is not None:
                self._note(bad)
                continue
            n += 1
            r = v.checkout(key=f"load-{i}-{n}", timeout=10)
            if r.status == 201:
                with self.lock:
                    self.confirmed.append((v, r.json))
            else:
                self._note(r)

    def _note(self, r):
        with self.lock:
            self.errors[r.status if r.status else "no answer"] += 1
        time.sleep(0.02)  # the shop or the store is away: do not spin

    def count(self):
        with self.lock:
            return len(self.confirmed)

    def stop(self):
        """Stops the threads; returns how many are still running after 30 s (0 expected)."""
        self.stop_event.set()
        for x in self.threads:
            x.join(30)
        return sum(1 for x in self.threads if x.is_alive())


def units_in_orders(url, visitors):
    """{product_id: units} over every order of `visitors`, read through `url` (None if a read
    fails), and the number of orders."""
    units = collections.Counter()
    n = 0
    for v in visitors:
        r = request(url, "GET", "/api/orders", token=v.token)
        if r.status != 200 or not isinstance(r.json, dict):
            return None, None
        for o in r.json.get("items", []):
            n += 1
            for line in o.get("items", []):
                units[str(line["product_id"])] += line["quantity"]
    return units, n


def stocks(url, products):
    """{product_id: stock} through the API (None if a read fails)."""
    out = {}
    for pid in products:
        r = request(url, "GET", f"/api/products/{pid}")
        if r.status != 200 or not isinstance(r.json, dict):
            return None
        out[pid] = r.json.get("stock")
    return out


def map_probes(env, probes, pids):
    """Which shard holds what: ({shard: [product ids]}, {shard: [probe visitors]}). Probe
    visitor k must hold exactly product pids[k] in its cart, so a cart key's fields tell which
    visitor owns it."""
    import re
    import shophttp
    products_on, carts_on = {}, {}
    for shard in env.shard_names():
        addr = env.current_primary(shard)
        products_on[shard] = []
        for key in shophttp.scan_keys(addr, "product:*"):
            m = re.search(rb"\{p([^}]*)\}", key)
            if m:
                products_on[shard].append(m.group(1).decode())
        carts_on[shard] = []
        for key in shophttp.scan_keys(addr, "cart:*"):
            fields = shophttp.resp_command(addr, "HKEYS", key)
            for k, v in enumerate(probes):
                if isinstance(fields, list) and pids[k].encode() in fields:
                    carts_on[shard].append(v)
    return products_on, carts_on

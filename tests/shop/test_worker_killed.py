#!/usr/bin/env python3
"""The inventory worker SIGKILLed mid-stream and restarted (same consumer name, then a new one
that must reclaim what the dead consumer left pending): its sold counts end equal to the units
in confirmed orders, and `check` passes.

    python3 tests/shop/test_worker_killed.py --build BUILD_DIR
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shophttp import request, wait_until  # noqa: E402
from shop_env import run_shop_test, test_catalog  # noqa: E402
from shopload import CheckoutLoad, units_in_orders  # noqa: E402


def sold_counts(url):
    """{product_id: units} from GET /api/stats "sold" (list of objects, or an object)."""
    r = request(url, "GET", "/api/stats")
    if r.status != 200 or not isinstance(r.json, dict):
        return None
    sold = r.json.get("sold")
    out = {}
    if isinstance(sold, dict):
        for k, n in sold.items():
            out[str(k)] = n
    elif isinstance(sold, list):
        for e in sold:
            if not isinstance(e, dict):
                return None
            pid = e.get("product_id", e.get("id"))
            n = next((e[k] for k in ("sold", "units", "quantity", "count") if k in e), None)
            if pid is None or n is None:
                return None
            out[str(pid)] = n
    else:
        return None
    return {k: n for k, n in out.items() if n}


def run(t, env):
    url = env.url
    pids = [str(p["id"]) for p in env.products]
    load = CheckoutLoad([url], pids, threads=6, max_lines=2).start()

    def orders_reach(n, what):
        try:
            wait_until(lambda: load.count() >= n, 30, what)
            return True
        except Exception as e:
            t.check(False, what, e)
            return False

    orders_reach(20, "20 orders with the worker running")
    env.kill_worker()
    orders_reach(load.count() + 20, "20 orders while the worker is dead")
    env.restart_worker()  # same consumer name: continues where it left off
    orders_reach(load.count() + 20, "20 orders after the restart")
    env.kill_worker()
    orders_reach(load.count() + 10, "10 orders while the worker is dead again")
    env.restart_worker(consumer="worker-2")  # a new consumer reclaims worker-1's pending entries
    orders_reach(load.count() + 10, "10 orders with the new consumer")
    t.eq(load.stop(), 0, "load threads stopped")
    print(f"load: {load.count()} confirmed, errors {dict(load.errors)}", flush=True)
    t.eq(dict(load.errors), {}, "no checkout failed while the worker was away")

    want, n_orders = units_in_orders(url, load.visitors)
    t.check(want is not None, "orders read back")
    want = {k: n for k, n in (want or {}).items() if n}
    try:
        wait_until(lambda: sold_counts(url) == want, 20, "worker sold counts == ordered units")
        t.check(True, "worker sold counts equal the units in confirmed orders")
    except Exception as e:
        t.check(False, "worker sold counts equal the units in confirmed orders",
                f"{e}; want {want}")
    r = request(url, "GET", "/api/stats")
    applied = (r.json or {}).get("events_applied")
    print(f"orders {n_orders}, events_applied {applied}", flush=True)
    t.check(isinstance(applied, int) and applied >= n_orders,
            "events_applied counts at least every order", (applied, n_orders))
    rc, report, text = env.check()
    t.check(rc == 0, "flyshard-shop check passes", text[-800:])
    t.check(env.worker.alive(), "the restarted worker is still running")


def main():
    # A short claim time: the new consumer takes over the dead one's pending events soon.
    return run_shop_test("shop_worker_killed", run, instances=1,
                         catalog=test_catalog(20, 100000),
                         worker_args=["--claim-idle-ms", "1000"])


if __name__ == "__main__":
    sys.exit(main())

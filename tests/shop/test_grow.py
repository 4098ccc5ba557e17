#!/usr/bin/env python3
"""The shop while its cluster grows: checkout load runs while a fourth shard is added and
`flyshard migrate` moves its share of the keys to it (grow.py, as `scripts/stress.sh --grow`).
Passes when the migration completes, no probe's checkouts fail for longer than the cutover
bound, no request gets a 500, every confirmed order is readable afterwards, the new shard
holds keys, the shop reports the new layout, and `flyshard-shop check` (stock invariant,
orders against events) passes.

    python3 tests/shop/test_grow.py --build BUILD_DIR
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shophttp  # noqa: E402
from grow import Grower  # noqa: E402
from shophttp import wait_until  # noqa: E402
from shop_env import run_shop_test, test_catalog  # noqa: E402
from shopload import CheckoutLoad  # noqa: E402

THREADS = 6
# A checkout waits out a frozen key (the library's wait, then the shop's retry of up to 3 s);
# a probe's checkouts may fail for at most about that long around the flip.
CUTOVER_BOUND_S = 4.0


def run(t, env):
    cli = os.environ.get("FLYSHARD_CLI_BIN") or os.path.join(env.build, "src", "cli", "flyshard")
    pids = [str(p["id"]) for p in env.products]
    grower = Grower(env, 0, cli, bound=120)
    grower.prepare()
    load = CheckoutLoad(env.urls, pids, threads=THREADS).start()
    try:
        wait_until(lambda: load.count() >= 30, 30, "30 orders before the migration")
        grower.start()
        grower.join(grower.bound + 60)
        t.check(not grower.is_alive(), "the grower finished")
        after = load.count()
        wait_until(lambda: load.count() >= after + 20, 30, "20 more orders after the migration")
    except Exception as e:
        t.check(False, "checkouts flow before, during and after the migration", e)
    finally:
        t.eq(load.stop(), 0, "load threads stopped")
    try:
        verify(t, env, grower, load)
    finally:
        grower.stop()  # the new shard's server, started by the grower


def verify(t, env, grower, load):
    print(grower.summary(), flush=True)
    print(f"load: {load.count()} confirmed, errors {dict(load.errors)}", flush=True)
    t.check(grower.ok(), "flyshard migrate completed", grower.report)
    t.check(grower.report.get("longest_failed_checkout_s", 99) <= CUTOVER_BOUND_S,
            f"no probe's checkouts failed for longer than {CUTOVER_BOUND_S} s", grower.report)
    t.check(500 not in load.errors and "500" not in grower.report.get("probe_errors", {}),
            "no checkout answered 500", (dict(load.errors), grower.report.get("probe_errors")))

    # The new shard holds its share; the shop routes by the new layout.
    node = grower.report.get("node")
    if node:
        moved = shophttp.scan_keys(node, "*")
        print(f"keys on the new shard {node}: {len(moved)}", flush=True)
        t.check(len(moved) > 0, "the new shard holds keys after the migration")
    r = shophttp.request(env.url, "GET", "/api/cluster")
    shards = (r.json or {}).get("shards", []) if isinstance(r.json, dict) else []
    t.check(r.status == 200 and len(shards) == 4, "/api/cluster shows four shards", r)
    t.check(isinstance(r.json, dict) and (r.json.get("epoch") or 0) > 0,
            "/api/cluster shows the record's epoch", r)

    # Every confirmed order, before, during or after the move, is still there.
    missing = [o["order_id"] for v, o in load.confirmed if v.order(o["order_id"]).status != 200]
    t.check(not missing, "every confirmed order is readable after the migration", missing[:5])
    rc, report, text = env.check(wait_ms=15000)
    t.check(rc == 0, "flyshard-shop check passes after the migration", text[-1500:])


def main():
    return run_shop_test("shop_grow", run, instances=1, catalog=test_catalog(40, 1000))


if __name__ == "__main__":
    sys.exit(main())

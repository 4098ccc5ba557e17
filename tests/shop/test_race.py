#!/usr/bin/env python3
"""Races: 240 buyers on two server instances for one product with small stock (no oversell, no
negative stock, `check` passes); one Idempotency-Key retried concurrently and sequentially, on
both instances, makes exactly one order.

    python3 tests/shop/test_race.py --build BUILD_DIR
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shophttp import Visitor, request, wait_until  # noqa: E402
from shop_env import run_shop_test, test_catalog  # noqa: E402

BUYERS = 240
STOCK = 30


def stock_of(url, pid):
    r = request(url, "GET", f"/api/products/{pid}")
    return r.json.get("stock") if r.status == 200 and r.json else None


def run_threads(n, fn, timeout=60):
    th = [threading.Thread(target=fn, args=(i,), daemon=True) for i in range(n)]
    for x in th:
        x.start()
    for x in th:
        x.join(timeout)
    return sum(1 for x in th if x.is_alive())


def buyers(t, env):
    urls = env.urls
    setup_barrier = threading.Barrier(BUYERS, timeout=60)
    results = [None] * BUYERS
    prep = [None] * BUYERS

    def buyer(i):
        v = Visitor(urls[i % 2])
        qty = 2 if i % 3 == 0 else 1
        try:
            r = v.start(timeout=30)
            p = v.put("1", qty, timeout=30) if v.token else r
            prep[i] = p.status
        finally:
            try:
                setup_barrier.wait()
            except threading.BrokenBarrierError:
                pass
        if prep[i] == 200:
            results[i] = (qty, v.checkout(key=f"buyer-{i}", timeout=30), v)

    stuck = run_threads(BUYERS, buyer, timeout=90)
    t.eq(stuck, 0, "every buyer thread finished")
    t.eq(sum(1 for s in prep if s == 200), BUYERS, "every buyer got a session and a cart line")
    sold, ok, oos, other = 0, 0, 0, []
    orders = []
    for res in results:
        if res is None:
            continue
        qty, r, v = res
        if r.status == 201:
            ok += 1
            sold += qty
            orders.append((v, r.json.get("order_id"), qty))
        elif r.status == 409 and r.err_code() == "out_of_stock" and \
                str(r.json.get("product_id")) == "1":
            oos += 1
        else:
            other.append(r)
    print(f"race: {ok} confirmed ({sold} units), {oos} out_of_stock, {len(other)} other")
    t.check(not other, "every checkout answered 201 or 409 out_of_stock", other[:5])
    t.check(0 < sold <= STOCK, f"units sold ({sold}) within stock ({STOCK})")
    t.check(ok + oos == BUYERS, "every buyer got an answer", (ok, oos))
    try:
        wait_until(lambda: stock_of(urls[0], "1") == STOCK - sold, 10, "stock = initial - sold")
        t.check(True, "stock equals initial minus units sold")
    except Exception as e:
        t.check(False, "stock equals initial minus units sold", e)
    t.check(sold == STOCK or stock_of(urls[0], "1") < 2, "stock is used up by the rush",
            stock_of(urls[0], "1"))
    for v, oid, qty in orders[:20]:
        r = v.order(oid)
        t.check(r.status == 200 and r.json.get("items", [{}])[0].get("quantity") == qty,
                "a confirmed order reads back", r)
    rc, report, text = env.check()
    t.check(rc == 0, "flyshard-shop check passes after the rush", text[-800:])


def idempotency(t, env):
    urls = env.urls
    v = Visitor(urls[0])
    v.start()
    t.status(v.put("2", 1), 200, "idem: cart line")
    before = stock_of(urls[0], "2")
    n = 30
    barrier = threading.Barrier(n, timeout=30)
    out = [None] * n

    def retry(i):
        me = Visitor(urls[i % 2], v.token)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        out[i] = me.checkout(key="same-key-1", timeout=30)

    run_threads(n, retry)
    created = [r for r in out if r is not None and r.status == 201]
    busy = [r for r in out if r is not None and r.status == 409 and r.err_code() == "in_progress"]
    odd = [r for r in out if r is None or (r not in created and r not in busy)]
    t.check(not odd, "concurrent retries answer 201 or 409 in_progress", odd[:5])
    ids = {r.json.get("order_id") for r in created}
    t.check(len(created) >= 1 and len(ids) == 1, "concurrent retries: exactly one order id", ids)
    oid = next(iter(ids)) if ids else None
    try:
        wait_until(lambda: v.checkout(key="same-key-1").status == 201, 15,
                   "the key's checkout completes")
    except Exception as e:
        t.check(False, "a retry after the race gets 201", e)
    for k in range(5):
        r = Visitor(urls[k % 2], v.token).checkout(key="same-key-1")
        t.check(r.status == 201 and r.json.get("order_id") == oid,
                f"sequential retry {k + 1} returns the first order", r)
    t.eq(len(v.orders().json.get("items", [])), 1, "one order for one Idempotency-Key")
    # A new cart with the old key still returns the first order, and buys nothing.
    t.status(v.put("4", 1), 200, "idem: new cart line")
    r = v.checkout(key="same-key-1")
    t.check(r.status == 201 and r.json.get("order_id") == oid, "old key, new cart: first order", r)
    t.eq(len(v.orders().json.get("items", [])), 1, "still one order")
    try:
        wait_until(lambda: stock_of(urls[1], "2") == before - 1, 10, "stock of 2 down by one")
        t.check(True, "stock taken once for the key")
    except Exception as e:
        t.check(False, "stock taken once for the key", e)
    r = v.checkout(key="same-key-2")
    t.check(r.status == 201 and r.json.get("order_id") != oid, "a new key makes a new order", r)
    t.eq(len(v.orders().json.get("items", [])), 2, "two keys, two orders")
    rc, report, text = env.check()
    t.check(rc == 0, "flyshard-shop check passes after the retries", text[-800:])


def main():
    catalog = test_catalog(10, 50)
    catalog["products"][0]["stock"] = STOCK

    def run(t, env):
        buyers(t, env)
        idempotency(t, env)
    return run_shop_test("shop_race", run, instances=2, catalog=catalog)


if __name__ == "__main__":
    sys.exit(main())

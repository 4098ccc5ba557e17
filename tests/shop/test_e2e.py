#!/usr/bin/env python3
"""End to end through the shop's HTTP API: browse, search, filter, paginate, session, cart,
checkout, orders, events, cluster, health, metrics, the page.

    python3 tests/shop/test_e2e.py --build BUILD_DIR
"""

import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shophttp import EventReader, Visitor, request, wait_until  # noqa: E402
from shop_env import SOURCE_DIR, run_shop_test, test_catalog  # noqa: E402

PRODUCT_FIELDS = {"id", "name", "category", "price_cents", "stock"}


def ids(resp):
    return [str(p.get("id")) for p in resp.json.get("items", [])]


def category_names(resp):
    j = resp.json
    if isinstance(j, dict):
        j = j.get("items", j.get("categories", []))
    return [c if isinstance(c, str) else c.get("name") for c in (j or [])]


def run(t, env):
    url = env.url
    catalog = {str(p["id"]): p for p in env.products}

    # ---- browse ----
    r = request(url, "GET", "/api/products")
    t.status(r, 200, "GET /api/products")
    t.eq(r.json.get("total"), 40, "products total")
    t.eq(r.json.get("page"), 1, "default page")
    t.eq(len(r.json.get("items", [])), 20, "default per_page is 20")
    first = r.json["items"][0] if r.json.get("items") else {}
    t.check(PRODUCT_FIELDS <= set(first), "product fields", f"got {sorted(first)}")

    seen = []
    for page in range(1, 7):
        r = request(url, "GET", f"/api/products?page={page}&per_page=7")
        t.status(r, 200, f"page {page} of 7")
        want = 7 if page < 6 else 5
        t.eq(len(r.json.get("items", [])), want, f"items on page {page} (per_page 7)")
        t.eq(r.json.get("page"), page, f"page number echoed ({page})")
        seen += ids(r)
    t.eq(sorted(seen, key=int), sorted(catalog, key=int), "pages cover the catalogue once")
    r = request(url, "GET", "/api/products?page=7&per_page=7")
    t.check(r.status == 200 and r.json.get("items") == [], "page past the end is empty", r)

    r = request(url, "GET", "/api/products?q=Zephyrine")
    t.status(r, 200, "search")
    t.eq(ids(r), ["7"], "search finds the one product named Zephyrine")
    t.eq(r.json.get("total"), 1, "search total")

    r = request(url, "GET", "/api/products?category=tea&per_page=100")
    t.status(r, 200, "category filter")
    t.eq(r.json.get("total"), 10, "tea total")
    t.check(all(p.get("category") == "tea" for p in r.json.get("items", [])) and
            len(r.json.get("items", [])) == 10, "only tea, all of it", r)

    r = request(url, "GET", "/api/categories")
    t.status(r, 200, "GET /api/categories")
    t.eq(sorted(category_names(r)), ["books", "coffee", "cups", "tea"], "category names")

    r = request(url, "GET", "/api/products/3")
    t.status(r, 200, "GET /api/products/3")
    for f in ("name", "category", "price_cents", "stock"):
        t.eq(r.json.get(f), catalog["3"][f], f"product 3 {f}")
    t.eq(str(r.json.get("id")), "3", "product 3 id")
    r = request(url, "GET", "/api/products/99999")
    t.check(r.status == 404 and r.err_code(), "unknown product is 404 with a JSON error", r)

    # ---- session and cart ----
    v = Visitor(url)
    r = v.start()
    t.check(r.status in (200, 201) and v.token, "POST /api/session gives a token", r)
    r = v.cart()
    t.status(r, 200, "empty cart")
    t.eq((r.json.get("items"), r.json.get("total_cents")), ([], 0), "new cart is empty")

    r = v.put("3", 2)
    t.status(r, 200, "PUT line 3")
    t.eq([(str(i.get("product_id")), i.get("quantity")) for i in r.json.get("items", [])],
         [("3", 2)], "cart after PUT 3x2")
    line = r.json["items"][0] if r.json.get("items") else {}
    t.eq((line.get("name"), line.get("price_cents")),
         (catalog["3"]["name"], catalog["3"]["price_cents"]), "cart line name and price")
    r = v.put("5", 1)
    t.eq(r.json.get("total_cents"), 2 * 350 + 550, "total after two lines")
    r = v.put("3", 4)
    t.eq({str(i["product_id"]): i["quantity"] for i in r.json.get("items", [])},
         {"3": 4, "5": 1}, "change quantity")
    r = v.put("5", 0)
    t.status(r, 200, "PUT quantity 0")
    t.eq([str(i["product_id"]) for i in r.json.get("items", [])], ["3"], "quantity 0 removes")
    r = v.delete("3")
    t.status(r, 200, "DELETE line")
    t.eq((r.json.get("items"), r.json.get("total_cents")), ([], 0), "DELETE removes the line")
    r = v.cart()
    t.eq(r.json.get("items"), [], "cart read back after DELETE")

    # Two concurrent changes to one cart: both land (one hash field per line, no blob rewrite).
    for round_ in range(5):
        a, b = str(10 + 2 * round_), str(11 + 2 * round_)
        out = [None, None]

        def put(k, pid):
            out[k] = v.put(pid, 1)
        th = [threading.Thread(target=put, args=(0, a)), threading.Thread(target=put, args=(1, b))]
        [x.start() for x in th]
        [x.join(20) for x in th]
        t.check(all(o is not None and o.status == 200 for o in out),
                f"concurrent PUTs round {round_}", out)
        r = v.cart()
        lines = {str(i["product_id"]): i["quantity"] for i in r.json.get("items", [])}
        t.check(lines.get(a) == 1 and lines.get(b) == 1,
                f"both concurrent adds count (round {round_})", lines)
    # Two concurrent adds to the same line: the line ends with one of the two quantities.
    out = [None, None]

    def put_same(k, q):
        out[k] = v.put("20", q)
    th = [threading.Thread(target=put_same, args=(0, 2)),
          threading.Thread(target=put_same, args=(1, 3))]
    [x.start() for x in th]
    [x.join(20) for x in th]
    r = v.cart()
    lines = {str(i["product_id"]): i["quantity"] for i in r.json.get("items", [])}
    t.check(lines.get("20") in (2, 3), "same line under two concurrent PUTs", lines)
    for pid in list(lines):
        v.delete(pid)
    t.eq(v.cart().json.get("items"), [], "cart emptied")

    r = v.checkout()
    t.check(r.status == 400 and r.err_code(), "checkout of an empty cart is 400", r)

    # ---- checkout, events, orders ----
    events = EventReader(url, timeout=60)
    events.start()
    events.connected.wait(10)
    t.eq(events.status, 200, "GET /api/events answers 200")
    t.check((getattr(events, "content_type", "") or "").startswith("text/event-stream"),
            "events content type", getattr(events, "content_type", None))
    before = {pid: request(url, "GET", f"/api/products/{pid}").json["stock"] for pid in ("3", "5")}
    v.put("3", 2)
    v.put("5", 1)
    r = v.checkout(key="e2e-order-1")
    t.status(r, 201, "checkout")
    order = r.json or {}
    t.check(order.get("order_id"), "order has an id", order)
    t.eq(order.get("status"), "confirmed", "order status")
    t.eq(order.get("total_cents"), 2 * 350 + 550, "order total")
    t.eq(sorted((str(i["product_id"]), i["quantity"], i["price_cents"], i["name"])
                for i in order.get("items", [])),
         sorted([("3", 2, 350, catalog["3"]["name"]), ("5", 1, 550, catalog["5"]["name"])]),
         "order lines")
    t.check(isinstance(order.get("replicated"), bool), "order says whether it is replicated", order)
    t.eq(order.get("replicated"), True, "redis-server has WAIT: the order is replicated")
    t.eq(v.cart().json.get("items"), [], "cart is cleared by checkout")
    for pid, q in (("3", 2), ("5", 1)):
        try:
            wait_until(lambda: request(url, "GET", f"/api/products/{pid}").json["stock"] ==
                       before[pid] - q, 10, f"stock of {pid} drops by {q}")
            t.check(True, f"stock of {pid} drops by {q}")
        except Exception as e:
            t.check(False, f"stock of {pid} drops by {q}", e)

    oid = order.get("order_id")
    try:
        ev = wait_until(lambda: events.find(
            lambda e: e[0] == "order_completed" and json.loads(e[1]).get("order_id") == oid),
            10, "order_completed event")
        t.eq(json.loads(ev[1]).get("total_cents"), order.get("total_cents"), "event carries order")
    except Exception as e:
        t.check(False, "order_completed event seen on /api/events", f"{e}; error={events.error}")
    events.stop()

    r = v.orders()
    t.status(r, 200, "GET /api/orders")
    lst = r.json.get("items", []) if isinstance(r.json, dict) else []
    t.eq([o.get("order_id") for o in lst], [oid], "orders list holds the order")
    t.check(lst and lst[0].get("created_at") is not None, "listed order has created_at", lst)
    r = v.order(oid)
    t.status(r, 200, "GET /api/orders/{id}")
    t.eq((r.json or {}).get("order_id"), oid, "one order by id")
    t.eq((r.json or {}).get("items"), order.get("items"), "order read back has the same lines")

    other = Visitor(url)
    other.start()
    r = other.order(oid)
    t.check(r.status == 404 and r.err_code(), "another visitor gets 404 for the order", r)
    r = other.orders()
    t.eq((r.json or {}).get("items"), [], "another visitor has no orders")
    r = v.order("no-such-order")
    t.status(r, 404, "unknown order id is 404")

    # ---- cluster, health, metrics, page ----
    r = request(url, "GET", "/api/cluster")
    t.status(r, 200, "GET /api/cluster")
    text = r.body.decode(errors="replace")
    t.check(r.json is not None and all(s in text for s in ("s1", "s2", "s3")),
            "/api/cluster names the shards", text[:300])
    t.check(all(n["addr"] in text for n in env.nodes if n["role"] != "sentinel"),
            "/api/cluster lists every node's address", text[:300])
    r = request(url, "GET", "/healthz")
    t.status(r, 200, "GET /healthz")
    r = request(url, "GET", "/metrics")
    t.status(r, 200, "GET /metrics")
    m = r.body.decode(errors="replace")
    t.check("# TYPE" in m and "checkout" in m, "metrics in Prometheus text with shop counters",
            m[:300])
    r = request(url, "GET", "/")
    t.check(r.status == 200 and b"<html" in r.body.lower(), "GET / serves the page", r)


def main():
    return run_shop_test("shop_e2e", run, instances=1, catalog=test_catalog(40, 50),
                         server_args=["--web", os.path.join(SOURCE_DIR, "examples", "shop", "web")])


if __name__ == "__main__":
    sys.exit(main())

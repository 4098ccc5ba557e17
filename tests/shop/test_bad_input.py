#!/usr/bin/env python3
"""Bad input gets the right 4xx with a JSON error, never a 5xx; nothing is half-written (the
cart, the orders and the stock are unchanged after every rejected request); the server stays
healthy.

    python3 tests/shop/test_bad_input.py --build BUILD_DIR
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shophttp import Visitor, request  # noqa: E402
from shop_env import run_shop_test, test_catalog  # noqa: E402


def lines(v):
    r = v.cart()
    return {str(i["product_id"]): i["quantity"] for i in (r.json or {}).get("items", [])}


def run(t, env):
    url = env.url
    v = Visitor(url)
    v.start()
    t.check(v.token, "session")
    t.status(v.put("3", 2), 200, "setup: PUT 3x2")
    want = {"3": 2}
    stock3 = request(url, "GET", "/api/products/3").json["stock"]

    def rejected(resp, code, what, err=None):
        ok = resp.status == code and resp.err_code() is not None
        if err is not None:
            ok = ok and resp.err_code() == err
        t.check(ok, f"{what}: {code} with a JSON error", resp)
        t.eq(lines(v), want, f"{what}: cart unchanged")

    # ---- malformed JSON and wrong types on PUT /api/cart/items/{id} ----
    bodies = {
        "truncated JSON": "{\"quantity\": 1",
        "not JSON": "quantity=1",
        "empty body": "",
        "JSON array": "[1]",
        "JSON string": "\"1\"",
        "missing quantity": "{}",
        "quantity null": "{\"quantity\": null}",
        "quantity string": "{\"quantity\": \"2\"}",
        "quantity bool": "{\"quantity\": true}",
        "quantity float": "{\"quantity\": 2.5}",
        "quantity negative": "{\"quantity\": -1}",
        "quantity 100": "{\"quantity\": 100}",
        "quantity huge": "{\"quantity\": 100000000000000000000000000}",
        "quantity 2^63": "{\"quantity\": 9223372036854775808}",
        "quantity object": "{\"quantity\": {\"n\": 1}}",
        "invalid UTF-8": b"{\"quantity\": 1, \"x\": \"\xff\xfe\"}",
    }
    for what, raw in bodies.items():
        for pid in ("3", "5"):  # an existing line and a new one
            r = request(url, "PUT", f"/api/cart/items/{pid}", raw=raw, token=v.token)
            rejected(r, 400, f"PUT {pid} {what}")

    # ---- boundaries that are fine ----
    r = v.put("6", 99)
    t.check(r.status == 200 and {"3": 2, "6": 99} == {str(i["product_id"]): i["quantity"]
                                                      for i in r.json.get("items", [])},
            "quantity 99 is accepted", r)
    t.status(v.put("6", 0), 200, "quantity 0")
    t.eq(lines(v), want, "quantity 0 removes the line")
    t.status(v.put("8", 0), 200, "quantity 0 for a product not in the cart")
    t.eq(lines(v), want, "quantity 0 on an absent line changes nothing")
    t.status(v.delete("8"), 200, "DELETE of an absent line")
    t.eq(lines(v), want, "DELETE of an absent line changes nothing")

    # ---- unknown product ----
    rejected(v.put("99999", 1), 404, "PUT unknown product")
    rejected(v.put("x" * 5000, 1), 404, "PUT very long product id")
    r = request(url, "PUT", "/api/cart/items/%00", body={"quantity": 1}, token=v.token)
    t.check(400 <= r.status < 500 and r.err_code(), "PUT product id NUL: 4xx", r)

    # ---- tokens ----
    r = request(url, "GET", "/api/cart")
    t.check(r.status == 401 and r.err_code(), "GET /api/cart without token: 401", r)
    for tok in ("forged-token", v.token + "x", v.token[:-1] if v.token else "", "", "\u00e9"):
        r = request(url, "GET", "/api/cart", token=tok)
        t.check(r.status == 401 and r.err_code(), f"GET /api/cart token {tok!r}: 401", r)
    r = request(url, "GET", "/api/cart", headers={"Authorization": f"Basic {v.token}"})
    t.check(r.status == 401, "Basic instead of Bearer: 401", r)
    r = request(url, "PUT", "/api/cart/items/3", body={"quantity": 7}, token="forged")
    t.check(r.status == 401 and r.err_code(), "PUT with a forged token: 401", r)
    t.eq(lines(v), want, "cart unchanged after a forged PUT")
    for method, path in (("POST", "/api/checkout"), ("GET", "/api/orders"),
                         ("GET", "/api/orders/1"), ("DELETE", "/api/cart/items/3")):
        r = request(url, method, path)
        t.check(r.status == 401 and r.err_code(), f"{method} {path} without token: 401", r)
    t.eq(lines(v), want, "cart unchanged after tokenless calls")

    # ---- Idempotency-Key too long: no order ----
    r = v.checkout(key="k" * 1000)
    rejected(r, 400, "checkout with a 1000-byte Idempotency-Key")
    t.eq((v.orders().json or {}).get("items"), [], "no order after the rejected checkout")

    # ---- body over 16 KiB ----
    big = json.dumps({"quantity": 1, "pad": "x" * (17 * 1024)})
    r = request(url, "PUT", "/api/cart/items/3", raw=big, token=v.token)
    rejected(r, 413, "PUT with a 17 KiB body")
    r = request(url, "POST", "/api/checkout", raw=big, token=v.token)
    rejected(r, 413, "checkout with a 17 KiB body")
    t.eq((v.orders().json or {}).get("items"), [], "no order after the 413 checkout")

    # ---- unknown paths, wrong methods ----
    for path in ("/api/nope", "/api/products/3/extra", "/api/cart/items", "/nope.js",
                 "/api/orders/1/2"):
        r = request(url, "GET", path, token=v.token)
        t.check(r.status == 404, f"GET {path}: 404", r)
    r = request(url, "GET", "/api/nope")
    t.check(r.status == 404 and r.err_code(), "unknown API path: JSON error", r)
    for method, path in (("DELETE", "/api/products"), ("POST", "/api/products/3"),
                         ("PUT", "/api/categories"), ("GET", "/api/checkout"),
                         ("GET", "/api/session"), ("POST", "/api/cart"),
                         ("PATCH", "/api/cart/items/3"), ("POST", "/api/orders")):
        r = request(url, method, path, body={"quantity": 1}, token=v.token)
        t.check(r.status == 405 and r.err_code(), f"{method} {path}: 405 with a JSON error", r)
    t.eq(lines(v), want, "cart unchanged after wrong methods")

    # ---- query strings: never a 5xx ----
    for q in ("page=abc", "page=-1", "page=0", "per_page=0", "per_page=-5", "per_page=100000",
              "page=99999999999999999999", "q=%FF%FE", "category=" + "c" * 3000, "q=%00"):
        r = request(url, "GET", f"/api/products?{q}")
        t.check(r.status in (200, 400), f"GET /api/products?{q[:40]}: 200 or 400", r)

    # ---- still healthy, nothing half-written ----
    t.status(request(url, "GET", "/healthz"), 200, "healthy after all of it")
    t.eq(lines(v), want, "cart unchanged at the end")
    t.eq(request(url, "GET", "/api/products/3").json.get("stock"), stock3, "stock unchanged")
    r = v.checkout(key="bad-input-final")
    t.status(r, 201, "a good checkout still works")
    rc, report, text = env.check()
    t.check(rc == 0, "flyshard-shop check passes", text[-800:])


def main():
    return run_shop_test("shop_bad_input", run, catalog=test_catalog(20, 50))


if __name__ == "__main__":
    sys.exit(main())

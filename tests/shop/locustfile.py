"""Locust load for the example shop, with a mix like the best-known demo shop's load generator:
browse 10, view cart 3, add to cart 2, index 1, checkout 1.

    locust -f tests/shop/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8080

SHOP_URLS (space-separated base URLs) spreads the users over several shop instances.
A checkout answered 409 out_of_stock is a correct answer (the catalogue's stock runs out during
a long run) and counts as a success under its own name.
"""

import os
import random
import uuid

from locust import HttpUser, between, task


class Shopper(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self):
        urls = os.environ.get("SHOP_URLS", "").split()
        if urls:
            self.client.base_url = random.choice(urls)
        self.token = None
        self.product_ids = []
        self.categories = []
        self.in_cart = set()
        with self.client.post("/api/session", name="/api/session", catch_response=True) as r:
            if r.status_code in (200, 201):
                try:
                    self.token = r.json()["token"]
                except (ValueError, KeyError):
                    r.failure("no token in the session answer")
            else:
                r.failure(f"session: {r.status_code}")
        r = self.client.get("/api/products?per_page=100", name="/api/products?per_page=100")
        if r.status_code == 200:
            try:
                self.product_ids = [str(p["id"]) for p in r.json().get("items", [])]
            except ValueError:
                pass
        r = self.client.get("/api/categories")
        if r.status_code == 200:
            try:
                j = r.json()
                if isinstance(j, dict):
                    j = j.get("items", j.get("categories", []))
                self.categories = [c if isinstance(c, str) else c.get("name") for c in j]
            except ValueError:
                pass

    def auth(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @task(10)
    def browse(self):
        pick = random.random()
        if pick < 0.5 and self.product_ids:
            pid = random.choice(self.product_ids)
            self.client.get(f"/api/products/{pid}", name="/api/products/[id]")
        elif pick < 0.75 and self.categories:
            c = random.choice(self.categories)
            self.client.get(f"/api/products?category={c}", name="/api/products?category=[c]")
        else:
            self.client.get(f"/api/products?page={random.randint(1, 3)}",
                            name="/api/products?page=[n]")

    @task(3)
    def view_cart(self):
        self.client.get("/api/cart", headers=self.auth())

    @task(2)
    def add_to_cart(self):
        if not self.product_ids:
            return
        pid = random.choice(self.product_ids)
        r = self.client.put(f"/api/cart/items/{pid}", json={"quantity": random.randint(1, 3)},
                            headers=self.auth(), name="/api/cart/items/[id]")
        if r.status_code == 200:
            self.in_cart.add(pid)

    @task(1)
    def index(self):
        self.client.get("/")

    @task(1)
    def checkout(self):
        if not self.in_cart:
            self.add_to_cart()
        if not self.in_cart:
            return
        headers = dict(self.auth(), **{"Idempotency-Key": uuid.uuid4().hex})
        with self.client.post("/api/checkout", headers=headers, name="/api/checkout",
                              catch_response=True) as r:
            if r.status_code == 201:
                self.in_cart.clear()
                r.success()
            elif r.status_code == 409:
                try:
                    code = r.json().get("error")
                except ValueError:
                    code = None
                if code == "out_of_stock":
                    # A correct answer: empty the cart so the next checkout buys something else.
                    r.success()
                    for pid in list(self.in_cart):
                        self.client.delete(f"/api/cart/items/{pid}", headers=self.auth(),
                                           name="/api/cart/items/[id]")
                    self.in_cart.clear()
                else:
                    r.failure(f"409 {code}")
            else:
                r.failure(f"checkout: {r.status_code}")

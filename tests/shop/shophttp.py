"""Small helpers shared by the shop's tests: HTTP calls (stdlib http.client), a visitor with its
token, a pass/fail tally, polling with a deadline, and a minimal RESP client for looking at the
nodes directly (which shard holds which keys).

Every wait here has a deadline; nothing sleeps and then asserts.
"""

import http.client
import json
import socket
import sys
import threading
import time
import traceback
import urllib.parse


class Resp:
    """One HTTP answer. status 0 means no answer at all (connection refused, reset, timeout);
    error then says why."""

    def __init__(self, status, headers, body, error=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.error = error
        self.json = None
        if body:
            try:
                self.json = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def err_code(self):
        """The "error" field of a JSON error body, or None."""
        if isinstance(self.json, dict):
            return self.json.get("error")
        return None

    def __repr__(self):
        text = self.body[:300].decode("utf-8", "replace") if self.body else ""
        if self.error:
            return f"<no answer: {self.error}>"
        return f"<{self.status} {text}>"


def request(base, method, path, body=None, headers=None, token=None, timeout=10.0, raw=None):
    """Sends one request on a fresh connection. `body` is JSON-encoded unless `raw` (bytes or str)
    is given. Never raises for transport errors: returns Resp(status=0, error=...)."""
    u = urllib.parse.urlsplit(base)
    hdrs = dict(headers or {})
    data = None
    if raw is not None:
        data = raw.encode() if isinstance(raw, str) else raw
        hdrs.setdefault("Content-Type", "application/json")
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=data, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (413) and close before reading a large body: still read.
            pass
        r = conn.getresponse()
        payload = r.read()
        return Resp(r.status, r.getheaders(), payload)
    except (OSError, http.client.HTTPException) as e:
        return Resp(0, [], b"", error=f"{type(e).__name__}: {e}")
    finally:
        conn.close()


class Visitor:
    """A shop visitor: its own session token, calls against one server (base URL)."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token

    def start(self, timeout=10.0):
        r = request(self.base, "POST", "/api/session", timeout=timeout)
        if r.status in (200, 201) and isinstance(r.json, dict) and r.json.get("token"):
            self.token = r.json["token"]
        return r

    def get(self, path, timeout=10.0):
        return request(self.base, "GET", path, token=self.token, timeout=timeout)

    def cart(self):
        return self.get("/api/cart")

    def put(self, product_id, quantity, timeout=10.0):
        return request(self.base, "PUT", f"/api/cart/items/{product_id}",
                       body={"quantity": quantity}, token=self.token, timeout=timeout)

    def delete(self, product_id):
        return request(self.base, "DELETE", f"/api/cart/items/{product_id}", token=self.token)

    def checkout(self, key=None, timeout=15.0):
        h = {"Idempotency-Key": key} if key is not None else None
        return request(self.base, "POST", "/api/checkout", headers=h, token=self.token,
                       timeout=timeout)

    def orders(self):
        return self.get("/api/orders")

    def order(self, order_id):
        return self.get(f"/api/orders/{order_id}")


class Results:
    """Counts checks; prints each failure at once and 'N passed, N failed' at the end."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, cond, what, detail=""):
        with self.lock:
            if cond:
                self.passed += 1
            else:
                self.failed += 1
                print(f"FAIL {self.name}: {what}" + (f" -- {detail}" if detail != "" else ""),
                      flush=True)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, what, f"got {got!r}, want {want!r}")

    def status(self, resp, want, what):
        """Checks an HTTP status (want: int or tuple of ints)."""
        ok = resp.status in (want if isinstance(want, tuple) else (want,))
        return self.check(ok, what, f"want {want}, got {resp!r}")

    def error(self, what, exc):
        with self.lock:
            self.failed += 1
        print(f"FAIL {self.name}: {what}: {exc}", flush=True)
        traceback.print_exc()

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


class Timeout(Exception):
    pass


def wait_until(fn, timeout, what, interval=0.05):
    """Calls fn() until it returns a truthy value (returned) or `timeout` seconds pass (raises
    Timeout naming `what` and the last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Timeout(f"{what}: not within {timeout:.1f} s (last: {last!r})")
        time.sleep(interval)


# ---- SSE --------------------------------------------------------------------------------------

class EventReader(threading.Thread):
    """Reads GET /api/events in a thread and keeps every (event, data) pair it sees."""

    def __init__(self, base, token=None, timeout=30.0):
        super().__init__(daemon=True)
        self.base = base
        self.token = token
        self.timeout = timeout
        self.events = []
        self.connected = threading.Event()
        self.status = None
        self.error = None
        self.lock = threading.Lock()
        self._conn = None
        self._stop = threading.Event()

    def run(self):
        u = urllib.parse.urlsplit(self.base)
        hdrs = {"Accept": "text/event-stream"}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        deadline = time.monotonic() + self.timeout
        try:
            self._conn = http.client.HTTPConnection(u.hostname, u.port, timeout=1.0)
            self._conn.request("GET", "/api/events", headers=hdrs)
            r = self._conn.getresponse()
            self.status = r.status
            self.content_type = r.getheader("Content-Type")
            self.connected.set()
            event, data = "message", []
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    line = r.fp.readline()
                except socket.timeout:
                    continue
                except (OSError, ValueError, AttributeError):
                    break
                if not line:
                    break
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if data:
                        with self.lock:
                            self.events.append((event, "\n".join(data)))
                    event, data = "message", []
                elif line.startswith(":"):
                    continue
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
        except Exception as e:  # reported by the test through .error
            self.error = f"{type(e).__name__}: {e}"
            self.connected.set()
        finally:
            try:
                self._conn.close()
            except Exception:
                pass

    def find(self, pred):
        with self.lock:
            for ev in self.events:
                if pred(ev):
                    return ev
        return None

    def stop(self):
        self._stop.set()


# ---- RESP (a minimal client for looking at nodes) ----------------------------------------------

def resp_command(addr, *args, timeout=2.0):
    """Sends one command to host:port and returns the parsed reply (bytes, int, list, None;
    an error reply is returned as an Exception instance)."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
        s.sendall(b"".join(out))
        f = s.makefile("rb")
        return _read_reply(f)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest
    if t == b"-":
        return Exception(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_read_reply(f) for _ in range(n)]
    raise ValueError(f"bad RESP line {line!r}")


def scan_keys(addr, pattern, limit=100000):
    """Every key matching pattern on one node (SCAN, bounded)."""
    keys, cursor = [], b"0"
    for _ in range(10000):
        r = resp_command(addr, "SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
        if isinstance(r, Exception):
            raise r
        cursor, batch = r[0], r[1]
        keys.extend(batch)
        if cursor == b"0" or len(keys) >= limit:
            break
    return keys


def main_guard(results, body):
    """Runs body(results); an exception counts as a failure. Returns the process exit code."""
    try:
        body(results)
    except Exception as e:
        results.error("unexpected exception", e)
    return results.finish()


if __name__ == "__main__":
    sys.exit("shophttp.py is a module for the shop tests")

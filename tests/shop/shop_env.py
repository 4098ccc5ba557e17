#!/usr/bin/env python3
"""ShopEnv: a whole local shop for tests and scripts — a flyshard-cluster (shards, replicas,
sentinels), the catalogue loaded, N `flyshard-shop serve` instances on free loopback ports and
one `flyshard-shop worker` — with helpers to SIGKILL and restart pieces, and a stop() that ends
every process it started by PID (also when a test fails: use it as a context manager).

Children get PR_SET_PDEATHSIG(SIGKILL), so even a SIGKILLed test leaves nothing behind.

As a command:
    python3 tests/shop/shop_env.py --build DIR [--instances N] [--catalog FILE] -- CMD...
runs CMD with SHOP_URL (the first server), SHOP_URLS (all, space-separated), SHOP_TOPOLOGY,
SHOP_RUN_DIR and SHOP_BIN set, then stops everything and exits with CMD's status.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shophttp  # noqa: E402

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NODE_LINE = re.compile(r"^(\S+) (primary|replica|sentinel) (127\.0\.0\.1:\d+) pid (\d+)$")

_libc = None


def _pdeathsig():
    # Runs in the child between fork and exec: die with the parent (the test) no matter how it
    # ends. 1 = PR_SET_PDEATHSIG.
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6", use_errno=True)
        _libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binaries(build):
    build = os.path.abspath(build)
    cluster = os.environ.get("FLYSHARD_CLUSTER_BIN") or os.path.join(build, "flyshard-cluster")
    shop = os.environ.get("FLYSHARD_SHOP_BIN") or os.path.join(build, "examples", "shop",
                                                               "flyshard-shop")
    return cluster, shop


def test_catalog(n=40, stock=50):
    """A small deterministic catalogue: 4 categories, names searchable by a unique word."""
    cats = ["tea", "coffee", "cups", "books"]
    items = []
    for i in range(1, n + 1):
        c = cats[(i - 1) % len(cats)]
        items.append({
            "id": i,
            "name": f"{c.capitalize()} item {i}" + (" Zephyrine" if i == 7 else ""),
            "category": c,
            "price_cents": 100 * i + 50,
            "stock": stock,
            "description": f"Test product {i} in {c}",
        })
    return {"products": items}


class Proc:
    """One supervised child: argv, log file, Popen."""

    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.popen = None
        self.starts = 0

    def start(self, env=None):
        log = open(self.log_path, "ab")
        log.write(f"=== start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, preexec_fn=_pdeathsig, env=env)
        log.close()
        self.starts += 1
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig=signal.SIGKILL, wait=10.0):
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)

    def stop(self, grace=5.0):
        """SIGTERM, then SIGKILL after `grace` seconds."""
        self.kill(signal.SIGTERM, wait=grace)

    def tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""


class ShopEnv:
    def __init__(self, build, instances=1, shards=3, replicas=1, sentinels=3, catalog=None,
                 server_args=(), worker_args=(), worker=True, run_dir=None, keep=None, verbose=True):
        self.build = os.path.abspath(build)
        self.cluster_bin, self.shop_bin = find_binaries(build)
        self.instances = instances
        self.shards, self.replicas, self.sentinels = shards, replicas, sentinels
        self.catalog = catalog
        self.server_args = list(server_args)
        self.worker_args = list(worker_args)
        self.with_worker = worker
        self.keep = keep if keep is not None else bool(os.environ.get("SHOP_KEEP"))
        self.verbose = verbose
        self.own_dir = run_dir is None
        self.run_dir = run_dir or tempfile.mkdtemp(prefix="flyshard-shoptest.")
        os.makedirs(self.run_dir, exist_ok=True)
        self.topology = os.path.join(self.run_dir, "cluster.json")
        self.catalog_path = None
        self.cluster = None
        self.nodes = []   # dicts: name, role, addr, pid
        self.servers = []  # Proc
        self.ports = []
        self.worker = None
        self.consumer = "worker-1"

    # ---- lifecycle ----------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.dump_logs()
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.stop()
        return False

    def log(self, msg):
        if self.verbose:
            print(f"[shop_env] {msg}", flush=True)

    def start(self):
        for b in (self.cluster_bin, self.shop_bin):
            if not os.access(b, os.X_OK):
                raise RuntimeError(f"missing binary {b} (build the targets flyshard-cluster "
                                   f"flyshard-shop first)")
        self.start_cluster()
        self.load_catalog()
        for _ in range(self.instances):
            self.add_server()
        for i in range(self.instances):
            self.wait_server(i)
        if self.with_worker:
            self.start_worker()
        self.log(f"shop up: {' '.join(self.urls)} (run dir {self.run_dir})")

    def start_cluster(self, timeout=90.0):
        ready = os.path.join(self.run_dir, "cluster.ready")
        argv = [self.cluster_bin, "--shards", str(self.shards), "--replicas", str(self.replicas),
                "--sentinels", str(self.sentinels), "--topology", self.topology,
                "--ready-file", ready]
        self.cluster = Proc("cluster", argv, os.path.join(self.run_dir, "cluster.log")).start()
        want = self.shards * (1 + self.replicas) + self.sentinels
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.cluster.alive():
                raise RuntimeError("flyshard-cluster exited:\n" + self.cluster.tail())
            nodes = self._parse_nodes()
            if os.path.exists(ready) and len(nodes) >= want:
                self.nodes = nodes
                self.log(f"cluster ready: {len(nodes)} nodes, topology {self.topology}")
                return
            time.sleep(0.1)
        raise RuntimeError(f"cluster not ready within {timeout} s:\n" + self.cluster.tail())

    def _parse_nodes(self):
        nodes = []
        try:
            with open(self.cluster.log_path, "r", errors="replace") as f:
                for line in f:
                    m = NODE_LINE.match(line.strip())
                    if m:
                        nodes.append({"name": m.group(1), "role": m.group(2),
                                      "addr": m.group(3), "pid": int(m.group(4))})
        except OSError:
            pass
        return nodes

    def load_catalog(self):
        if self.catalog is None:
            path = os.path.join(SOURCE_DIR, "examples", "shop", "catalog.json")
        elif isinstance(self.catalog, str):
            path = self.catalog
        else:
            path = os.path.join(self.run_dir, "catalog.json")
            with open(path, "w") as f:
                json.dump(self.catalog, f)
        self.catalog_path = path
        with open(path) as f:
            self.products = json.load(f)["products"]
        r = self.shop("load", "--catalog", path, "--reset", timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"flyshard-shop load failed ({r.returncode}):\n{r.stdout}")

    def server_argv(self, port, i):
        return [self.shop_bin, "serve", "--config", self.topology, "--host", "127.0.0.1",
                "--port", str(port), "--instance", f"shop-{i + 1}"] + self.server_args

    def add_server(self):
        i = len(self.servers)
        port = free_port()
        p = Proc(f"shop-{i + 1}", self.server_argv(port, i),
                 os.path.join(self.run_dir, f"shop-{i + 1}.log"))
        self.servers.append(p.start())
        self.ports.append(port)
        return i

    def wait_server(self, i, timeout=30.0):
        url = self.urls[i]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.servers[i].alive():
                raise RuntimeError(f"shop server {i + 1} exited:\n" + self.servers[i].tail())
            r = shophttp.request(url, "GET", "/healthz", timeout=2.0)
            if r.status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"shop server {i + 1} not healthy within {timeout} s:\n" +
                           self.servers[i].tail())

    def start_worker(self, consumer=None):
        if consumer:
            self.consumer = consumer
        argv = [self.shop_bin, "worker", "--config", self.topology, "--consumer",
                self.consumer] + self.worker_args
        if self.worker is None:
            self.worker = Proc("worker", argv, os.path.join(self.run_dir, "worker.log"))
        else:
            self.worker.argv = argv
        self.worker.start()
        return self.worker

    def stop(self):
        for p in self.servers + ([self.worker] if self.worker else []):
            try:
                p.stop()
            except Exception:
                pass
        if self.cluster:
            try:
                self.cluster.stop(grace=15.0)
            except Exception:
                pass
        if self.own_dir and not self.keep:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self.keep:
            self.log(f"kept {self.run_dir}")

    def dump_logs(self, n=40):
        for p in ([self.cluster] if self.cluster else []) + self.servers + \
                 ([self.worker] if self.worker else []):
            print(f"---- {p.name} ({p.log_path}), last {n} lines ----")
            print(p.tail(n), flush=True)

    # ---- pieces -------------------------------------------------------------------------------

    @property
    def urls(self):
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    @property
    def url(self):
        return self.urls[0]

    def kill_server(self, i, sig=signal.SIGKILL):
        self.log(f"kill -{int(sig)} shop-{i + 1} (pid {self.servers[i].pid})")
        self.servers[i].kill(sig)

    def restart_server(self, i, timeout=30.0):
        self.servers[i].start()
        self.wait_server(i, timeout)
        self.log(f"restarted shop-{i + 1} (pid {self.servers[i].pid})")

    def kill_worker(self, sig=signal.SIGKILL):
        self.log(f"kill -{int(sig)} worker (pid {self.worker.pid})")
        self.worker.kill(sig)

    def restart_worker(self, consumer=None):
        self.start_worker(consumer)
        self.log(f"restarted worker as {self.consumer} (pid {self.worker.pid})")

    def shop(self, *args, timeout=60):
        """Runs `flyshard-shop ARGS --config TOPOLOGY`; returns CompletedProcess (stdout has
        stderr merged in)."""
        argv = [self.shop_bin, args[0], "--config", self.topology] + list(args[1:])
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout, preexec_fn=_pdeathsig)

    def check(self, wait_ms=10000):
        """Runs `flyshard-shop check`; returns (exit code, parsed JSON report or None, text)."""
        r = self.shop("check", "--wait-ms", str(wait_ms), timeout=wait_ms / 1000 + 60)
        return r.returncode, parse_json_report(r.stdout), r.stdout

    # ---- nodes --------------------------------------------------------------------------------

    def shard_names(self):
        return sorted({n["name"] for n in self.nodes if n["role"] != "sentinel"},
                      key=lambda s: (len(s), s))

    def node(self, addr):
        for n in self.nodes:
            if n["addr"] == addr:
                return n
        return None

    def sentinel_addrs(self):
        return [n["addr"] for n in self.nodes if n["role"] == "sentinel"]

    def current_primary(self, shard):
        """Today's primary of a shard as the sentinels see it (first answering sentinel), else
        the started primary."""
        for s in self.sentinel_addrs():
            try:
                r = shophttp.resp_command(s, "SENTINEL", "get-master-addr-by-name",
                                          f"flyshard-{shard}")
                if isinstance(r, list) and len(r) == 2:
                    return f"{r[0].decode()}:{r[1].decode()}"
            except OSError:
                continue
        for n in self.nodes:
            if n["name"] == shard and n["role"] == "primary":
                return n["addr"]
        return None

    def shard_key_counts(self, pattern):
        """{shard: number of keys matching pattern on its current primary}."""
        out = {}
        for s in self.shard_names():
            addr = self.current_primary(s)
            out[s] = len(shophttp.scan_keys(addr, pattern))
        return out

    def kill_node(self, addr, sig=signal.SIGKILL):
        n = self.node(addr)
        if n is None:
            raise RuntimeError(f"no node at {addr}")
        self.log(f"kill -{int(sig)} {n['name']} node {addr} (pid {n['pid']})")
        os.kill(n["pid"], sig)
        return n


def parse_json_report(text):
    """The last JSON object in `text` (check prints one; logs may precede it)."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for start in [m.start() for m in re.finditer(r"^\{", text, re.M)][::-1]:
        try:
            return json.loads(text[start:])
        except ValueError:
            continue
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--catalog", default=None)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command given after --")
    if a.instances < 1:
        ap.error("--instances must be >= 1")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    rc = 1
    try:
        with ShopEnv(a.build, instances=a.instances, shards=a.shards, replicas=a.replicas,
                     catalog=a.catalog) as env:
            e = dict(os.environ, SHOP_URL=env.url, SHOP_URLS=" ".join(env.urls),
                     SHOP_TOPOLOGY=env.topology, SHOP_RUN_DIR=env.run_dir, SHOP_BIN=env.shop_bin)
            child = subprocess.Popen(cmd, env=e)
            try:
                rc = child.wait()
            except KeyboardInterrupt:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                rc = 130
    except KeyboardInterrupt:
        rc = 130
    return rc


if __name__ == "__main__":
    sys.exit(main())


def run_shop_test(name, run, **env_args):
    """The main of a shop test: `--build BUILD_DIR`, a ShopEnv(BUILD_DIR, **env_args), then
    run(t, env); the processes' logs are printed when a check failed. Returns the exit status."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    a = ap.parse_args()

    def body(t):
        with ShopEnv(a.build, **env_args) as env:
            try:
                run(t, env)
            finally:
                if t.failed:
                    env.dump_logs()
    return shophttp.main_guard(shophttp.Results(name), body)

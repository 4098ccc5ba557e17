"""Grower: grows the running shop's cluster by one shard while the load runs (stress.py
--grow AFTER_S). It starts a new server, has the sentinels monitor it as shard s<N+1>, writes
the grown layout next to the running one, writes the first topology record if there is none
(`flyshard init`), then runs `flyshard migrate --to` it. Meanwhile probe visitors check out
products spread over every shard in a loop; the report gives the migration's time and the
longest run of failed checkouts a probe saw (the issue's bound: no longer than the cutover).
"""

import collections
import json
import os
import shutil
import subprocess
import threading
import time

import shophttp
from shop_env import _pdeathsig, free_port
from shophttp import Visitor


def server_binary():
    for c in (os.environ.get("FLYSHARD_SERVER"), shutil.which("dragonfly"),
              shutil.which("redis-server")):
        if c and os.access(c, os.X_OK):
            return c
    raise RuntimeError("no server binary (redis-server or dragonfly)")


class Grower(threading.Thread):
    def __init__(self, env, after, cli_bin, bound=120.0):
        super().__init__(daemon=True)
        self.env, self.after, self.cli, self.bound = env, after, cli_bin, bound
        self.cancel = threading.Event()
        self.report = {}
        self.server = None
        self.probes = []

    def prepare(self):
        """Starts the new server (from this thread: PR_SET_PDEATHSIG ends the child with the
        thread that forked it, and the grower's own thread ends before the run does) and the
        probe visitors, products spread over the shards."""
        self.port = self.start_server()
        pids = [str(p["id"]) for p in self.env.products]
        for k in range(min(8, len(pids))):
            v = Visitor(self.env.url)
            v.start()
            self.probes.append((v, pids[k * len(pids) // 8]))

    def grown_layout(self, port):
        with open(self.env.topology) as f:
            layout = json.load(f)
        name = f"s{len(layout['shards']) + 1}"
        layout["shards"].append({"name": name, "weight": 1, "primary": f"127.0.0.1:{port}"})
        path = os.path.join(self.env.run_dir, "cluster-grown.json")
        with open(path, "w") as f:
            json.dump(layout, f, indent=2)
        return name, path, layout

    def start_server(self):
        port = free_port()
        data = os.path.join(self.env.run_dir, f"grown-{port}")
        os.makedirs(data, exist_ok=True)
        log = open(os.path.join(data, "server.log"), "wb")
        self.server = subprocess.Popen(
            [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", data, "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_pdeathsig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if shophttp.resp_command(f"127.0.0.1:{port}", "PING") in (b"PONG", "PONG"):
                    return port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the new server did not answer PING")

    def monitor(self, name, port, layout):
        prefix = (layout.get("sentinel") or {}).get("master_prefix", "")
        for s in self.env.sentinel_addrs():
            shophttp.resp_command(s, "SENTINEL", "MONITOR", prefix + name, "127.0.0.1", port, 2)
            shophttp.resp_command(s, "SENTINEL", "SET", prefix + name, "down-after-milliseconds",
                                  1000)

    def run_cli(self, *args, timeout):
        return subprocess.run([self.cli, *args, "-c", self.env.topology], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)

    def probe_loop(self, stop, streaks):
        """Checks out on every probe in turn; records each probe's longest failure streak (s)."""
        failing_since = {}
        n = 0
        while not stop.is_set():
            for v, pid in self.probes:
                n += 1
                r = v.put(pid, 1, timeout=5)
                ok = False
                if r.status == 200:
                    r = v.checkout(key=f"grow-probe-{n}", timeout=10)
                    ok = r.status == 201 or (r.status == 409 and r.err_code() == "out_of_stock")
                now = time.monotonic()
                if ok:
                    since = failing_since.pop(pid, None)
                    if since is not None:
                        streaks[pid] = max(streaks[pid], now - since)
                else:
                    self.report.setdefault("probe_errors", collections.Counter())[
                        str(r.status or r.error)] += 1
                    failing_since.setdefault(pid, now)
            time.sleep(0.05)
        now = time.monotonic()
        for pid, since in failing_since.items():  # still failing at the end: counts in full
            streaks[pid] = max(streaks[pid], now - since)

    def run(self):
        if self.cancel.wait(self.after):
            return
        stop = threading.Event()
        streaks = collections.defaultdict(float)
        prober = threading.Thread(target=self.probe_loop, args=(stop, streaks), daemon=True)
        try:
            port = self.port
            name, grown, layout = self.grown_layout(port)
            self.monitor(name, port, layout)
            self.report.update(shard=name, node=f"127.0.0.1:{port}", grown_layout=grown)
            # The first record (the running layout, epoch 1); refused harmlessly if one exists.
            init = self.run_cli("init", timeout=60)
            self.report["init"] = init.stdout.strip().splitlines()[-1:]
            prober.start()
            t0 = time.monotonic()
            mig = self.run_cli("migrate", "--to", grown, timeout=self.bound)
            self.report.update(migrate_exit=mig.returncode,
                               migrate_s=round(time.monotonic() - t0, 2),
                               migrate_tail=mig.stdout.strip().splitlines()[-3:])
            time.sleep(2)  # probes keep going a little after the flip and cleanup
        except Exception as e:  # reported, and the run fails
            self.report["error"] = repr(e)
        finally:
            stop.set()
            if prober.is_alive():
                prober.join(30)
            self.report["longest_failed_checkout_s"] = round(max(streaks.values(), default=0.0), 2)
            if "probe_errors" in self.report:
                self.report["probe_errors"] = dict(self.report["probe_errors"])

    def ok(self):
        return self.report.get("migrate_exit") == 0 and "error" not in self.report

    def summary(self):
        r = self.report
        return (f"Grow: shard {r.get('shard')} at {r.get('node')} added {self.after} s into the "
                f"run; `flyshard migrate` exit {r.get('migrate_exit')} after {r.get('migrate_s')} "
                f"s; longest failed-checkout streak of a probe {r.get('longest_failed_checkout_s')} "
                f"s; probe errors {r.get('probe_errors', {})}"
                + (f"; error {r['error']}" if "error" in r else ""))

    def stop(self):
        self.cancel.set()
        if self.server and self.server.poll() is None:
            self.server.kill()
            self.server.wait(10)

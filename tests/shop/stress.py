#!/usr/bin/env python3
"""The shop's stress run (scripts/stress.sh calls this): Locust headless for a bounded time
against a local shop it starts (ShopEnv) or against --url, Locust's CSV + HTML report in a
results folder, then `flyshard-shop check`. With --kill-primary AFTER_S it SIGKILLs the primary
of a shard holding products and carts AFTER_S seconds into the run, and reports the errors seen
and the time until checkouts on that shard succeed again. With --grow AFTER_S it adds a shard
AFTER_S seconds in and migrates the data to it with `flyshard migrate` while the load runs
(grow.py), and reports the longest run of failed checkouts a probe saw.

Exit status: 0 when the run finished and `check` passed, 1 otherwise, 2 on bad usage.
"""

import argparse
import collections
import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shophttp import Visitor  # noqa: E402
from shop_env import SOURCE_DIR, ShopEnv  # noqa: E402
from shopload import map_probes  # noqa: E402
from grow import Grower  # noqa: E402

LOCUSTFILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locustfile.py")


def locust_binary():
    for c in ("/usr/bin/locust", shutil.which("locust")):
        if c and os.access(c, os.X_OK):
            return c
    return None


class Killer(threading.Thread):
    """After `after` seconds: picks a shard holding products and a probe visitor's cart, SIGKILLs
    its primary, then checks out on that shard until it is served again (bounded)."""

    def __init__(self, env, after, bound=60.0):
        super().__init__(daemon=True)
        self.env, self.after, self.bound = env, after, bound
        self.cancel = threading.Event()
        self.report = {}

    def prepare(self):
        env = self.env
        pids = [str(p["id"]) for p in env.products]
        probes = []
        for k in range(min(12, len(pids))):
            v = Visitor(env.url)
            v.start()
            v.put(pids[k], 1)
            probes.append(v)
        products_on, carts_on = map_probes(env, probes, pids)
        shard = max(env.shard_names(),
                    key=lambda s: min(len(products_on[s]), len(carts_on[s])))
        if not (products_on[shard] and carts_on[shard]):
            raise RuntimeError("no shard holds both products and probe carts")
        self.shard = shard
        self.probe = carts_on[shard][0]
        self.product = products_on[shard][0]
        self.probe.delete(pids[probes.index(self.probe)])
        for v in probes:
            if v is not self.probe:
                v.delete(pids[probes.index(v)])

    def run(self):
        if self.cancel.wait(self.after):
            return
        env = self.env
        old = env.current_primary(self.shard)
        t0 = time.monotonic()
        env.kill_node(old)
        self.report.update(shard=self.shard, killed=old, killed_after_s=self.after)
        errors = collections.Counter()
        n = 0
        new = None
        while time.monotonic() - t0 < self.bound and not self.cancel.is_set():
            if new is None:
                a = env.current_primary(self.shard)
                if a and a != old:
                    new = a
                    self.report.update(promoted=a, promoted_after_s=round(time.monotonic() - t0, 2))
            n += 1
            r = self.probe.put(self.product, 1, timeout=5)
            if r.status == 200:
                r = self.probe.checkout(key=f"stress-probe-{n}", timeout=10)
                if r.status == 201 or (r.status == 409 and r.err_code() == "out_of_stock"):
                    self.report["recovered_after_s"] = round(time.monotonic() - t0, 2)
                    break
            errors[str(r.status or r.error)] += 1
            time.sleep(0.1)
        if new is None:
            # The probe's checkout (which waits for the promotion) may finish before the loop
            # looks again: ask once more; the promotion then happened at most this long ago.
            a = env.current_primary(self.shard)
            if a and a != old:
                self.report.update(promoted=a, promoted_after_s=round(time.monotonic() - t0, 2))
        self.report["probe_errors"] = dict(errors)
        if "recovered_after_s" not in self.report:
            self.report["recovered_after_s"] = None


def read_stats(prefix):
    rows = []
    try:
        with open(prefix + "_stats.csv") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        pass
    failures = []
    try:
        with open(prefix + "_failures.csv") as f:
            failures = list(csv.DictReader(f))
    except OSError:
        pass
    return rows, failures


def table(rows):
    out = ["| request | count | failures | median ms | p95 ms | p99 ms | req/s |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = (r.get("Type", "") + " " + r.get("Name", "")).strip()
        out.append(f"| {name} | {r.get('Request Count')} | {r.get('Failure Count')} | "
                   f"{r.get('Median Response Time')} | {r.get('95%')} | {r.get('99%')} | "
                   f"{float(r.get('Requests/s') or 0):.1f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(prog="scripts/stress.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SOURCE_DIR, "build"))
    ap.add_argument("--users", "-u", type=int, default=50)
    ap.add_argument("--rate", "-r", type=float, default=10)
    ap.add_argument("--duration", "-t", type=int, default=60, help="seconds (default 60)")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--catalog", default=None, help="catalogue JSON (default the example's)")
    ap.add_argument("--kill-primary", type=float, default=None, metavar="AFTER_S")
    ap.add_argument("--grow", type=float, default=None, metavar="AFTER_S",
                    help="add a shard AFTER_S seconds in and migrate to it under load")
    ap.add_argument("--url", default=None, help="an already running shop (no cluster started)")
    ap.add_argument("--config", default=None, help="with --url: topology for `check`")
    ap.add_argument("--out", default=None, help="results folder (default a new one in /tmp)")
    a = ap.parse_args()
    if a.users < 1 or a.rate <= 0 or a.duration < 1 or a.instances < 1:
        ap.error("--users, --rate, --duration and --instances must be positive")
    if a.url and a.kill_primary is not None:
        ap.error("--kill-primary needs the cluster this script starts (drop --url)")
    if a.kill_primary is not None and not 0 <= a.kill_primary < a.duration:
        ap.error("--kill-primary AFTER_S must be within the run's duration")
    if a.grow is not None and (a.url or a.kill_primary is not None):
        ap.error("--grow needs the cluster this script starts, without --kill-primary")
    if a.grow is not None and not 0 <= a.grow < a.duration:
        ap.error("--grow AFTER_S must be within the run's duration")
    locust = locust_binary()
    if not locust:
        print("stress: locust is missing (scripts/deps.sh installs python3-locust)",
              file=sys.stderr)
        return 1
    out = a.out or time.strftime("/tmp/flyshard-stress.%Y%m%d-%H%M%S")
    os.makedirs(out, exist_ok=True)
    print(f"stress: results in {out}", flush=True)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)

    env = None
    killer = None
    grower = None
    try:
        if a.url:
            urls = [a.url.rstrip("/")]
        else:
            env = ShopEnv(a.build, instances=a.instances, catalog=a.catalog,
                          run_dir=os.path.join(out, "run"))
            env.__enter__()
            urls = env.urls
            if a.kill_primary is not None:
                killer = Killer(env, a.kill_primary)
                killer.prepare()
            if a.grow is not None:
                cli = os.environ.get("FLYSHARD_CLI_BIN") or os.path.join(a.build, "src", "cli",
                                                                         "flyshard")
                grower = Grower(env, a.grow, cli)
                grower.prepare()
        prefix = os.path.join(out, "locust")
        argv = [locust, "-f", LOCUSTFILE, "--headless", "-u", str(a.users), "-r", str(a.rate),
                "-t", f"{a.duration}s", "--host", urls[0], "--csv", prefix,
                "--html", os.path.join(out, "report.html"), "--only-summary",
                "--stop-timeout", "5"]
        print("stress: " + " ".join(argv), flush=True)
        with open(os.path.join(out, "locust.log"), "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, SHOP_URLS=" ".join(urls)))
            if killer:
                killer.start()
            if grower:
                grower.start()
            try:
                locust_rc = proc.wait(timeout=a.duration + 120)
            except subprocess.TimeoutExpired:
                proc.kill()
                locust_rc = proc.wait()
                print("stress: locust did not end in time; killed", file=sys.stderr)
        if killer:
            killer.cancel.set()
            killer.join(70)
        if grower:
            grower.join(grower.bound + 60)  # a migration under way is waited for, not cut

        rows, failures = read_stats(prefix)
        summary = [f"# Stress run: {a.users} users, spawn {a.rate}/s, {a.duration} s, "
                   f"{len(urls)} instance(s)", "", table(rows), ""]
        if failures:
            summary += ["Failures:", ""] + [f"- {f.get('Method')} {f.get('Name')}: "
                                            f"{f.get('Error')} x{f.get('Occurrences')}"
                                            for f in failures] + [""]
        else:
            summary += ["No failed requests.", ""]
        if killer:
            rep = killer.report
            summary += [f"Primary kill: shard {rep.get('shard')} primary {rep.get('killed')} "
                        f"SIGKILLed {rep.get('killed_after_s')} s into the run; promoted "
                        f"{rep.get('promoted')} within {rep.get('promoted_after_s')} s; checkouts on "
                        f"that shard served again after {rep.get('recovered_after_s')} s; probe "
                        f"errors {rep.get('probe_errors')}", ""]
        if grower:
            summary += [grower.summary(), ""]
        check_rc = None
        if env is not None:
            check_rc, _, text = env.check(wait_ms=20000)
        elif a.config:
            shop_bin = (os.environ.get("FLYSHARD_SHOP_BIN") or os.environ.get("SHOP_BIN") or
                        os.path.join(a.build, "examples", "shop", "flyshard-shop"))
            if not os.access(shop_bin, os.X_OK):
                print(f"stress: {shop_bin} is missing: cannot check (give --build-dir)",
                      file=sys.stderr)
                return 1
            r = subprocess.run([shop_bin, "check", "--config", a.config, "--wait-ms", "20000"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=120)
            check_rc, text = r.returncode, r.stdout
        if check_rc is None:
            summary += ["Invariants not checked (give --config with --url)."]
        else:
            with open(os.path.join(out, "check.json"), "w") as f:
                f.write(text)
            summary += [f"flyshard-shop check: {'passed' if check_rc == 0 else 'FAILED'} "
                        f"(exit {check_rc}, report {os.path.join(out, 'check.json')})"]
        summary += ["", f"Locust exit {locust_rc}; CSV {prefix}_*.csv; HTML "
                        f"{os.path.join(out, 'report.html')}"]
        text = "\n".join(summary)
        with open(os.path.join(out, "summary.md"), "w") as f:
            f.write(text + "\n")
        print(text, flush=True)
        ok = bool(rows) and check_rc in (0, None)
        if killer and killer.report.get("recovered_after_s") is None:
            ok = False
        if grower and not grower.ok():
            ok = False
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("stress: interrupted", file=sys.stderr)
        return 130
    finally:
        if killer:
            killer.cancel.set()
        if grower:
            grower.stop()
        if env is not None:
            env.__exit__(None, None, None)
            print(f"stress: logs of the shop and cluster in {os.path.join(out, 'run')}")


if __name__ == "__main__":
    sys.exit(main())

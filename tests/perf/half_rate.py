#!/usr/bin/python3
"""p99 at half the maximum exchange rate (issue 14), with the server's own
view of it: a fresh sitetokend, a closed-loop exchange run for the maximum,
then the open-loop run at half of it, with /metrics read before and after the
latter. Prints the bench's latency quantiles (client side: send to the
answer's last byte), the server's request-duration histogram of the
exchanges route (request read to response sent, on the loop's clock), the
writer's commit-duration and batch-size histograms (transaction start to
durable commit), and the load average before and after.

    /usr/bin/python3 tests/perf/half_rate.py [--build build-rel] [--duration 10]
        [--rounds 1]

A measurement fixture for docs/performance.md, not a test."""

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import run_bench  # noqa: E402


def role(name):
    if name.startswith("st-worker"):
        return "workers"
    return {"st-writer": "writer", "st-checkpoint": "checkpointer"}.get(name, "loop+other")


def schedstat(pid):
    """{role: [CPU ns, run-queue wait ns, slices]} over the server's threads
    (/proc/PID/task/TID/schedstat; the main thread is the loop)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            name = open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip()
            v = [int(x) for x in open("/proc/%d/task/%s/schedstat" % (pid, tid)).read().split()]
        except OSError:
            continue
        r = "loop" if tid == str(pid) else role(name)
        acc = out.setdefault(r, [0, 0, 0])
        for i in range(3):
            acc[i] += v[i]
    return out


class DepthSampler(threading.Thread):
    """sitetoken_writer_queue_depth every 100 ms: ops waiting for the writer."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.samples, self.stop = url, [], threading.Event()

    def run(self):
        while not self.stop.wait(0.1):
            try:
                m = re.search(r"^sitetoken_writer_queue_depth (\d+)", scrape(self.url), re.M)
            except OSError:
                continue
            if m:
                self.samples.append(int(m.group(1)))


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        return r.read().decode()


def hist(text, name, label=None):
    """{upper bound: cumulative count} of one histogram."""
    out = {}
    for m in re.finditer(r"^%s_bucket\{([^}]*)\} (\d+)$" % re.escape(name), text, re.M):
        labels = dict(kv.split("=", 1) for kv in m.group(1).split(","))
        if label and labels.get(label[0], "").strip('"') != label[1]:
            continue
        le = labels["le"].strip('"')
        out[float("inf") if le == "+Inf" else float(le)] = int(m.group(2))
    return out


def delta_quantiles(h0, h1, qs=(0.5, 0.9, 0.99, 0.999)):
    """Quantiles (the upper bound of the bucket each falls in) of the counts
    added between two scrapes, and that count."""
    bounds = sorted(h1)
    cum = [h1[b] - h0.get(b, 0) for b in bounds]
    n = cum[-1] if cum else 0
    res = {}
    for q in qs:
        for b, c in zip(bounds, cum):
            if n and c >= q * n:
                res[q] = b
                break
    return n, res, dict(zip(bounds, cum))


def fmt(res, scale=1e3):
    return " ".join("p%g<=%s" % (q * 100, "inf" if v == float("inf") else "%.3g" % (v * scale))
                    for q, v in res.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=Path("build-rel"))
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    build = a.build.resolve()
    docs = []
    with tempfile.TemporaryDirectory(prefix="sitetoken-half-") as tmp:
        proc, url, admin = run_bench.start_server(build, tmp, "EdDSA")
        try:
            common = ["--url", url, "--admin-socket", admin, "--alg", "EdDSA", "--server-pid",
                      str(proc.pid), "--scenario", "exchange", "--connections", "32",
                      "--duration", str(a.duration), "--warmup", "1"]
            for rnd in range(a.rounds):
                load0 = open("/proc/loadavg").read().split()[:3]
                full = run_bench.bench(build, *common)
                half = max(1.0, full["ok_rate"] / 2)
                m0, s0 = scrape(url), schedstat(proc.pid)
                sampler = DepthSampler(url)
                sampler.start()
                d = run_bench.bench(build, *common, "--rate", "%.0f" % half)
                sampler.stop.set()
                sampler.join()
                m1, s1 = scrape(url), schedstat(proc.pid)
                load1 = open("/proc/loadavg").read().split()[:3]
                req = delta_quantiles(hist(m0, "sitetoken_http_request_duration_seconds",
                                           ("route", "exchanges")),
                                      hist(m1, "sitetoken_http_request_duration_seconds",
                                           ("route", "exchanges")))
                com = delta_quantiles(hist(m0, "sitetoken_writer_commit_duration_seconds"),
                                      hist(m1, "sitetoken_writer_commit_duration_seconds"))
                bat = delta_quantiles(hist(m0, "sitetoken_writer_batch_size"),
                                      hist(m1, "sitetoken_writer_batch_size"))
                lat = d["latency_ms"]
                t = d["server_threads"]
                print("round %d: load %s -> %s; max %.0f/s closed loop (p99 %.1f ms); half rate"
                      " target %.0f/s got %.1f ok/s" % (rnd, " ".join(load0), " ".join(load1),
                                                        full["ok_rate"],
                                                        full["latency_ms"]["p99"], half,
                                                        d["ok_rate"]))
                print("  bench (client) ms: p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f"
                      % (lat["p50"], lat["p90"], lat["p99"], lat["p999"], lat["max"]))
                print("  server exchanges route ms (bucket bounds): n=%d %s"
                      % (req[0], fmt(req[1])))
                print("  writer commit ms (bucket bounds): batches=%d %s"
                      % (com[0], fmt(com[1])))
                print("  writer batch size (bounds): %s" % fmt(bat[1], 1))
                print("  CPU us per exchange: loop %.1f workers %.1f writer %.1f other %.1f"
                      " client %.1f" % (t["loop"]["us"], t["workers"]["us"], t["writer"]["us"],
                                        t["other"]["us"], t["client_us"]))
                n_ex = max(1, req[0])
                wait = {r: (s1[r][1] - s0.get(r, [0, 0, 0])[1]) / 1e3 / n_ex for r in s1}
                print("  run-queue wait us per exchange (runnable, not running): " +
                      " ".join("%s %.1f" % kv for kv in sorted(wait.items())))
                dep = sorted(sampler.samples) or [0]
                print("  writer queue depth (every 100 ms, %d samples): mean %.2f p50 %d p90 %d"
                      " max %d" % (len(dep), sum(dep) / len(dep), dep[len(dep) // 2],
                                   dep[int(len(dep) * 0.9)], dep[-1]))
                docs.append({"run_queue_wait_us": wait, "queue_depth": dep, "load_before": load0, "load_after": load1, "full": full,
                             "half": d, "request_hist": req[2], "commit_hist": com[2],
                             "batch_hist": bat[2]})
        finally:
            run_bench.stop(proc)
    if a.out:
        a.out.write_text(json.dumps(docs, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

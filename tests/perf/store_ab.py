#!/usr/bin/python3
"""A/B of two sitetokend builds on their own stores (issue 14's store
levers): for each round, each side in turn is started on its store, driven by
sitetoken-bench (closed loop exchanges), and stopped; per exchange it reports
the writer's and the checkpointer's CPU (µs, from the bench's server_threads)
and the bytes the server process wrote to disk (/proc/PID/io write_bytes:
WAL frames and checkpoint writes into the database file).

    /usr/bin/python3 tests/perf/store_ab.py --a NAME=BUILD:STOREDIR
        --b NAME=BUILD:STOREDIR [--rounds 3] [--duration 10]

A store directory is one made by a first start of sitetokend (run_bench's
config) and filled by tests/perf/populate.py. A measurement fixture, not a
test."""

import argparse
import json
import os
import re
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import run_bench  # noqa: E402


def io_written(pid):
    """Bytes written to disk by the process, by its WAL writer thread
    (st-writer: WAL frames only) and by its checkpointer (st-checkpoint:
    pages into the database file), from /proc/PID[/task/TID]/io."""
    def wb(path):
        for line in open(path):
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
        return 0
    out = {"all": wb("/proc/%d/io" % pid), "st-writer": 0, "st-checkpoint": 0}
    for tid in os.listdir("/proc/%d/task" % pid):
        name = open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip()
        if name in out:
            out[name] += wb("/proc/%d/task/%s/io" % (pid, tid))
    return out


def writer_ops(url):
    """(batches, ops) the writer has committed (sitetoken_writer_batch_size)."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    n = re.search(r"^sitetoken_writer_batch_size_count (\d+)", text, re.M)
    s = re.search(r"^sitetoken_writer_batch_size_sum (\S+)", text, re.M)
    return (int(n.group(1)) if n else 0, float(s.group(1)) if s else 0.0)


def one(name, build, store, a):
    proc, url, admin = run_bench.start_server(build, store, "EdDSA")
    try:
        w0, (b0, o0) = io_written(proc.pid), writer_ops(url)
        d = run_bench.bench(build, "--url", url, "--admin-socket", admin, "--alg", "EdDSA",
                            "--server-pid", str(proc.pid), "--scenario", "exchange",
                            "--connections", str(a.connections), "--duration", str(a.duration),
                            "--warmup", "1")
        w1, (b1, o1) = io_written(proc.pid), writer_ops(url)
    finally:
        run_bench.stop(proc)
    t = d["server_threads"]
    ops, batches = o1 - o0, b1 - b0
    load = open("/proc/loadavg").read().split()[0]
    r = {"side": name, "ok_rate": d["ok_rate"], "writer_us": t["writer"]["us"],
         "writer_sys": t["writer"]["sys_share"], "other_us": t["other"]["us"],
         "loop_us": t["loop"]["us"], "workers_us": t["workers"]["us"],
         "kb_per_exchange": (w1["all"] - w0["all"]) / 1024 / max(1, ops),
         "wal_kb": (w1["st-writer"] - w0["st-writer"]) / 1024 / max(1, ops),
         "ckpt_kb": (w1["st-checkpoint"] - w0["st-checkpoint"]) / 1024 / max(1, ops), "load": load, "ops": ops,
         "batch": ops / max(1, batches), "p99_ms": d["latency_ms"]["p99"]}
    print("%-8s ok/s %7.1f  writer %6.1f (%.2f)  checkpointer %5.1f  loop %5.1f  workers %6.1f"
          "  written %5.1f KB/op (WAL %5.1f, checkpoint %5.1f)  batch %4.1f  load %s" % (
              name, r["ok_rate"], r["writer_us"], r["writer_sys"], r["other_us"], r["loop_us"],
              r["workers_us"], r["kb_per_exchange"], r["wal_kb"], r["ckpt_kb"], r["batch"],
              load),
          flush=True)
    return r


def side(s):
    name, rest = s.split("=", 1)
    build, store = rest.split(":", 1)
    return name, Path(build).resolve(), store


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, type=side)
    ap.add_argument("--b", required=True, type=side)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    rows = []
    for i in range(a.rounds):
        for s in (a.a, a.b) if i % 2 == 0 else (a.b, a.a):
            rows.append(one(*s, a))
    if a.out:
        a.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

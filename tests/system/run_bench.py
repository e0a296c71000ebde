#!/usr/bin/env python3
"""The standard benchmark suite (issue 6), run by hand or by the `bench` CMake
target, never in CI: starts a fresh sitetokend in a temp dir, measures the
crypto floor, then runs sitetoken-bench scenario by scenario and prints one
table (and, with --out, all the JSON documents). Only the standard library.

The server runs with tokens.renew_after 0s so that renewals are allowed at
once (the threshold is a comparison; nothing else changes), and without the
per-MP failed-exchange limit.

The "pg" section starts a PostgreSQL of its own (tests/system/pg.py: initdb
and pg_ctl as the user postgres, so it needs root) and measures the same
exchanges, renewals and access tokens on one node and on two nodes of one
site (one database, one seal key; the load spread over both), with the CPU
of the postgres processes as a "database" column. The cluster's default
synchronous_commit is set to off for the run: the figures are durable only
because sitetokend sets it on in every session of its own, and the WAL
flushes per commit counted in pg_stat_wal show that it did."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """listen:
  - address: 127.0.0.1
    port: 0
log:
  level: warn
tokens:
  renew_after: 0s
limits:
  failed_exchanges_per_minute: 0
  public_rate: 0  # one host measures public reads: no per-address budget
keys:
  algorithm: {alg}
"""


def start_server(build, workdir, alg, timeout=30, extra=""):
    cfg = Path(workdir) / "sitetoken.yaml"
    cfg.write_text(CONFIG.format(alg=alg) + extra)
    proc = subprocess.Popen([str(build / "server" / "sitetokend"), "-c", str(cfg)], cwd=workdir,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ready = {}
    cond = threading.Condition()

    def reader():
        for line in proc.stderr:
            m = re.match(r"^ready: listening on (.*)$", line.rstrip("\n"))
            if m:
                with cond:
                    ready["line"] = m.group(1)
                    cond.notify_all()
            elif "level=error" in line or "fatal" in line:
                sys.stderr.write("sitetokend: " + line)
        with cond:
            cond.notify_all()

    threading.Thread(target=reader, daemon=True).start()
    with cond:
        cond.wait_for(lambda: "line" in ready or proc.poll() is not None, timeout=timeout)
    if "line" not in ready:
        proc.kill()
        raise SystemExit("sitetokend did not become ready")
    url = re.search(r"(http://[^,\s]+)", ready["line"]).group(1)
    admin = re.search(r"admin ([^,\s]+)", ready["line"]).group(1)
    return proc, url, str(Path(workdir) / admin)


GATEWAY_CONFIG = """authority:
  url: {url}
listen:
  address: 127.0.0.1
  port: 0
log:
  level: warn
replay:
  max_entries: 1000000  # every proof of a run is held for clock_skew
"""


def start_gateway(build, workdir, url, timeout=30):
    """sitetoken-gateway in front of the authority at url, once /readyz says
    it is fresh. Returns (proc, its base URL)."""
    cfg = Path(workdir) / "gateway.yaml"
    cfg.write_text(GATEWAY_CONFIG.format(url=url))
    proc = subprocess.Popen([str(build / "tools" / "sitetoken-gateway"), "-c", str(cfg)],
                            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ready = {}
    cond = threading.Condition()

    def reader():
        for line in proc.stderr:
            m = re.match(r"^ready: listening on (http://\S+)", line)
            if m:
                with cond:
                    ready["url"] = m.group(1)
                    cond.notify_all()
            elif "level=error" in line:
                sys.stderr.write("sitetoken-gateway: " + line)
        with cond:
            cond.notify_all()

    threading.Thread(target=reader, daemon=True).start()
    with cond:
        cond.wait_for(lambda: "url" in ready or proc.poll() is not None, timeout=timeout)
    if "url" not in ready:
        proc.kill()
        raise SystemExit("sitetoken-gateway did not start")
    deadline = time.monotonic() + timeout
    while True:  # listening is not fresh: wait for the keys and the feed
        try:
            with urllib.request.urlopen(ready["url"] + "/readyz", timeout=5) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("sitetoken-gateway did not become fresh")
        time.sleep(0.05)
    return proc, ready["url"]


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def bench(build, *args):
    cmd = [str(build / "tools" / "sitetoken-bench"), "--json", *args]
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    if r.returncode != 0:
        raise SystemExit("sitetoken-bench failed (%d)" % r.returncode)
    return json.loads(r.stdout)


PG_SCENARIOS = ("exchange", "renew", "access")


def pg_wal_stats(cluster, db):
    """(commits of db, WAL flushes of the cluster, WAL bytes) once the
    backends' statistics are in: they flush them at most every second and an
    idle one within 10 s, so poll until two readings 2 s apart agree (15 s
    at most)."""
    sql = ("SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = '%s'), wal_sync,"
           " wal_bytes FROM pg_stat_wal" % db)
    last, deadline = None, time.monotonic() + 15
    while True:
        cur = tuple(int(float(x)) for x in cluster.psql("postgres", sql).strip().split("|"))
        if cur == last or time.monotonic() > deadline:
            return cur
        last = cur
        time.sleep(2)  # the statistics' own flush interval, bounded by the deadline


def writer_commits(url):
    """The writer's committed batches so far (GET /metrics,
    sitetoken_writer_batch_size_count): one transaction each."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(r"^sitetoken_writer_batch_size_count (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def pg_section(a, wanted, tmp, results):
    """PostgreSQL 1 node and 2 nodes; results["pg1_exchange"] etc. Returns
    what the run checked about PostgreSQL (settings, commits, WAL flushes)."""
    sys.path.insert(0, str(ROOT / "tests" / "system"))
    import pg  # noqa: E402 (the system tests' PostgreSQL harness)

    if os.geteuid() != 0 or not (pg.PG_BIN / "initdb").exists():
        print("pg: skipped (needs root for runuser postgres and %s)" % pg.PG_BIN, file=sys.stderr)
        return None
    info = {}
    cluster = pg.Cluster()
    try:
        cluster.psql("postgres", "ALTER SYSTEM SET synchronous_commit = off")
        cluster.psql("postgres", "SELECT pg_reload_conf()")
        info["cluster_default_synchronous_commit"] = cluster.psql(
            "postgres", "SHOW synchronous_commit").strip()
        info["fsync"] = cluster.psql("postgres", "SHOW fsync").strip()
        info["server_version"] = cluster.psql("postgres", "SHOW server_version").strip()
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        for label, n in (("pg1", 1), ("pg2", 2)):
            db = cluster.create_db()
            root = Path(tmp) / label
            extra = 'database: "%s"\nseal_key_file: "%s"\n' % (cluster.uri(db), root / "seal.key")
            nodes = []
            try:
                for i in range(n):  # the first alone: seal key, migrations, first key
                    wd = root / "abcdefgh"[i]
                    wd.mkdir(parents=True)
                    nodes.append(start_server(a.build, str(wd), a.alg, extra=extra))
                sessions = cluster.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE "
                                        "datname = '%s' AND application_name = 'sitetokend'" % db)
                urls = [x for node in nodes for x in ("--url", node[1])]
                pids = [x for node in nodes for x in ("--server-pid", str(node[0].pid))]
                common = [*urls, "--admin-socket", nodes[0][2], "--alg", a.alg, *pids,
                          "--db-pid", str(postmaster)]
                before = pg_wal_stats(cluster, db)
                batches0 = sum(writer_commits(node[1]) for node in nodes)
                for scen in PG_SCENARIOS:
                    if scen in wanted:
                        results["%s_%s" % (label, scen)] = bench(
                            a.build, *common, "--scenario", scen, "--connections",
                            str(a.connections), "--duration", str(a.duration), "--warmup", "1")
                after = pg_wal_stats(cluster, db)
                batches = sum(writer_commits(node[1]) for node in nodes) - batches0
                commits, syncs = after[0] - before[0], after[1] - before[1]
                info[label] = {"nodes": n, "sitetokend_sessions": int(sessions),
                               "commits": commits, "wal_syncs": syncs, "writer_batches": batches,
                               "wal_bytes_per_commit": (after[2] - before[2]) / commits
                               if commits else 0}
            finally:
                for node in nodes:
                    stop(node[0])
    finally:
        cluster.stop()
    return info


def print_pg(results, floors, info):
    print("\nPostgreSQL %s (cluster default synchronous_commit=%s, fsync=%s; sitetokend sets "
          "synchronous_commit=on in its sessions)" % (info["server_version"],
                                                      info["cluster_default_synchronous_commit"],
                                                      info["fsync"]))
    for label in ("pg1", "pg2"):
        if label in info:
            i = info[label]
            print("  %s: %d node(s), %d sitetokend sessions; %d writer batches (write "
                  "transactions), %d WAL flushes (%.2f per batch); %d transactions in all "
                  "(reads included), %.1f KB of WAL per transaction"
                  % (label, i["nodes"], i["sitetokend_sessions"], i["writer_batches"],
                     i["wal_syncs"], i["wal_syncs"] / i["writer_batches"]
                     if i["writer_batches"] else 0, i["commits"],
                     i["wal_bytes_per_commit"] / 1024))
    print("%-16s %-9s %10s %7s %8s %8s  %s" % ("store", "scenario", "ok/s", "ratio", "p50 ms",
                                              "p99 ms", "errors / per URL ok/s"))
    cols = (("sqlite 1 node", ""), ("pg 1 node", "pg1_"), ("pg 2 nodes", "pg2_"))
    for scen in PG_SCENARIOS:
        for name, prefix in cols:
            d = results.get(prefix + scen)
            if not d:
                continue
            f = floors.get(scen)
            per_url = " ".join("%.0f" % u["ok_rate"] for u in d.get("urls", [])) \
                if len(d.get("urls", [])) > 1 else ""
            print("%-16s %-9s %10.1f %7.3f %8.3f %8.3f  %s %s"
                  % (name, scen, d["ok_rate"], d["ok_rate"] / f if f else 0,
                     d["latency_ms"]["p50"], d["latency_ms"]["p99"],
                     json.dumps(d["errors"]) if d["errors"] else "-", per_url))
    print("\nCPU per request (us, all nodes summed; sys = kernel share; database = the postgres "
          "processes)")
    print("%-16s %-9s %14s %14s %14s %14s %14s %8s" % ("store", "scenario", "loop", "workers",
                                                      "writer", "other", "database", "client"))
    for scen in PG_SCENARIOS:
        for name, prefix in cols:
            d = results.get(prefix + scen)
            t = d.get("server_threads") if d else None
            if not t:
                continue
            db = t.get("database")
            print("%-16s %-9s %s %14s %8.1f" % (
                name, scen, " ".join("%7.1f (%.2f)" % (t[r]["us"], t[r]["sys_share"])
                                     for r in ("loop", "workers", "writer", "other")),
                "%7.1f (%.2f)" % (db["us"], db["sys_share"]) if db else "-", t["client_us"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=Path(os.environ.get("SITETOKEN_BUILD",
                                                                       ROOT / "build")))
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--alg", default="EdDSA", choices=["EdDSA", "ES256", "RS256"])
    ap.add_argument("--out", type=Path, help="write every JSON document here")
    ap.add_argument("--scenarios", default="exchange,renew,access,introspect,keys,revocations,"
                    "mixed,half,gateway,pg", help="comma-separated subset (half: p99 at half the exchange"
                    " rate; gateway: forward-auth through a real gateway; pg: exchange, renew and"
                    " access on PostgreSQL, 1 and 2 nodes)")
    ap.add_argument("--workdir", type=Path, help="run sitetokend in this directory (a store"
                    " made by tests/perf/populate.py) instead of a fresh temp dir")
    a = ap.parse_args()
    a.build = a.build.resolve()  # the servers run in their own directories

    results = {}
    wanted = a.scenarios.split(",")
    with tempfile.TemporaryDirectory(prefix="sitetoken-bench-") as tmp:
        workdir = str(a.workdir) if a.workdir else tmp
        proc, url, admin = start_server(a.build, workdir, a.alg)
        try:
            common = ["--url", url, "--admin-socket", admin, "--alg", a.alg,
                      "--server-pid", str(proc.pid)]
            results["floor"] = bench(a.build, "--floor", "--alg", a.alg)
            floor = results["floor"]["floor_rate"]
            for scen in ("exchange", "renew", "access", "introspect", "keys", "revocations",
                         "mixed"):
                if scen not in wanted:
                    continue
                results[scen] = bench(a.build, *common, "--scenario", scen, "--connections",
                                      str(a.connections), "--duration", str(a.duration),
                                      "--warmup", "1")
            # p99 at half the maximum exchange rate, open loop.
            if "half" in wanted and "exchange" in results:
                half = max(1.0, results["exchange"]["ok_rate"] / 2)
                results["exchange_half_rate"] = bench(
                    a.build, *common, "--scenario", "exchange", "--connections",
                    str(a.connections), "--duration", str(a.duration), "--warmup", "1",
                    "--rate", "%.0f" % half)
            # Forward-auth checks through a real gateway, against its own floor
            # (one token verify + one proof verify) measured in the same run.
            if "gateway" in wanted:
                gw, gw_url = start_gateway(a.build, workdir, url)
                try:
                    results["gateway"] = bench(
                        a.build, *common[:-2], "--scenario", "gateway", "--gateway-url", gw_url,
                        "--gateway-pid", str(gw.pid), "--connections", str(a.connections),
                        "--duration", str(a.duration), "--warmup", "1")
                finally:
                    stop(gw)
        finally:
            stop(proc)
        pg_info = pg_section(a, wanted, tmp, results) if "pg" in wanted else None

    print("\nfloor (%s, %d threads): %.0f exchanges/s (through proto parsing %.0f/s)"
          % (a.alg, results["floor"]["floor"]["threads"], floor,
             results["floor"]["floor"]["full_rate"]))
    print("%-20s %10s %7s %8s %8s %8s %9s %9s  %s" % ("scenario", "ok/s", "ratio", "p50 ms",
                                                       "p99 ms", "p99.9", "cpu srv", "cpu cli",
                                                       "errors"))
    # Each scenario's own crypto floor (issue 14): an exchange is one proof
    # verify + one sign; a renewal and an access token also verify the
    # client token (two verifies + one sign); introspection one verify.
    fl = results["floor"]["floor"]
    sign, verify = fl.get("sign_rate") or 0, fl.get("verify_rate") or 0
    floors = {"exchange": floor, "exchange_half_rate": floor}
    if sign and verify:
        floors["renew"] = floors["access"] = 1 / (2 / verify + 1 / sign)
        floors["introspect"] = verify
    print("floors: " + ", ".join("%s %.0f/s" % kv for kv in floors.items()))
    for name, d in results.items():
        if name == "floor" or name.startswith("pg"):
            continue
        f = floors.get(name, floor)
        # The gateway's ratio is to its own floor (token + proof verify).
        ratio = d["ratio"] if name == "gateway" else d["ok_rate"] / f if f else 0
        print("%-20s %10.1f %7.3f %8.3f %8.3f %8.3f %9s %9.2f  %s"
              % (name, d["ok_rate"], ratio, d["latency_ms"]["p50"], d["latency_ms"]["p99"],
                 d["latency_ms"]["p999"], "%.2f" % d["server_cpu_s"]
                 if d["server_cpu_s"] is not None else "-", d["client_cpu_s"],
                 json.dumps(d["errors"]) if d["errors"] else "-"))
    if "gateway" in results:
        g = results["gateway"]
        cpus = g["cpus"] or 1
        dur = g["duration_s"] or 1
        gw_cpu = g["server_cpu_s"] or 0
        # The floor is per CPU-second (bench_gwfloor.c); the gateway's own
        # checks per CPU-second it used say how close it comes per CPU.
        per_cpu = g["ok"] / gw_cpu if gw_cpu else 0
        floor_per_cpu = g["floor_rate"] / g["floor"]["threads"]
        print("gateway floor (%d threads, per CPU-second): %.0f checks/s (token verify %.0f/s, "
              "proof verify %.0f/s; through libsitetoken %.0f/s)"
              % (g["floor"]["threads"], g["floor_rate"], g["floor"]["sign_rate"],
                 g["floor"]["verify_rate"], g["floor"]["full_rate"]))
        print("gateway: ratio %.3f; CPU share of %d CPUs: gateway %.0f%%, bench %.0f%%; "
              "checks per gateway CPU-second %.0f = %.3f of the floor's per CPU"
              % (g["ratio"] or 0, cpus, 100 * gw_cpu / dur / cpus,
                 100 * g["client_cpu_s"] / dur / cpus, per_cpu,
                 per_cpu / floor_per_cpu if floor_per_cpu else 0))
    print("\nCPU per request (us, all threads of a role; sys = kernel share)")
    print("%-20s %14s %14s %14s %14s %8s" % ("scenario", "loop", "workers", "writer", "other",
                                            "client"))
    for name, d in results.items():
        if name.startswith("pg"):
            continue
        t = d.get("server_threads") if isinstance(d, dict) else None
        if not t:
            continue
        print("%-20s %s %8.1f" % (name, " ".join("%7.1f (%.2f)" % (t[r]["us"], t[r]["sys_share"])
                                                  for r in ("loop", "workers", "writer", "other")),
                                  t["client_us"]))
    if pg_info:
        print_pg(results, floors, pg_info)
        results["pg"] = pg_info
    if a.out:
        a.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

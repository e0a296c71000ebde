#!/usr/bin/python3
"""Issue 14's comparison with a Node OIDC provider, measured in one run
(test-only: nothing of it is in the product or CI).

Installs `oidc-provider` (npm) into a cache directory once, starts it
(tests/perf/oidc_provider.mjs: client credentials, EdDSA JWT access tokens,
no persistence) and drives its token endpoint with `wrk` (keep-alive, one
pre-made request); then starts a fresh sitetokend and drives durable bulk
exchanges with sitetoken-bench, the same connections and duration. Prints
both rates, each server's CPU per token (from /proc, so that a busy machine
can be allowed for) and the ratio. Only the standard library, node/npm and wrk.

    /usr/bin/python3 tests/perf/oidc_compare.py --build build-rel [--cache DIR]
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "system"))
import run_bench  # noqa: E402  (start_server)

TICKS = os.sysconf("SC_CLK_TCK")
LUA = """wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=api"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic %s"
"""


def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    total = 0
    for task in Path("/proc/%d/task" % pid).iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def install(cache):
    mod = cache / "node_modules" / "oidc-provider" / "package.json"
    if not mod.exists():
        cache.mkdir(parents=True, exist_ok=True)
        if not (cache / "package.json").exists():
            (cache / "package.json").write_text('{"private": true, "type": "module"}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "oidc-provider@8"],
                       cwd=cache, check=True, stdout=subprocess.DEVNULL)
    (cache / "oidc_provider.mjs").write_text((HERE / "oidc_provider.mjs").read_text())
    return json.loads(mod.read_text())["version"]


def start_node(cache, port, timeout=30):
    proc = subprocess.Popen(["node", "oidc_provider.mjs"], cwd=cache, env={**os.environ,
                            "PORT": str(port)}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()  # "ready PORT" once listening
    if not line.startswith("ready"):
        proc.kill()
        raise SystemExit("oidc-provider did not start")
    return proc


def check_token(url, basic):
    req = urllib.request.Request(url + "/token", data=b"grant_type=client_credentials&scope=api",
                                 headers={"Authorization": "Basic " + basic})
    with urllib.request.urlopen(req, timeout=10) as r:
        doc = json.load(r)
    head = json.loads(base64.urlsafe_b64decode(doc["access_token"].split(".")[0] + "=="))
    assert head["alg"] == "EdDSA" and head["typ"] == "at+jwt", head
    return doc


def run_node(cache, port, connections, duration, threads):
    basic = base64.b64encode(b"bench:bench-secret").decode()
    proc = start_node(cache, port)
    try:
        url = "http://127.0.0.1:%d" % port
        check_token(url, basic)
        lua = cache / "token.lua"
        lua.write_text(LUA % basic)
        subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d1s", "-s", str(lua),
                        url + "/token"], check=True, capture_output=True)  # warm-up (JIT)
        c0 = cpu_seconds(proc.pid)
        out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections,
                              "-d%ds" % duration, "-s", str(lua), url + "/token"],
                             check=True, capture_output=True, text=True).stdout
        c1 = cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    ok_rate = rate * (total - errors) / total if total else 0.0
    return {"ok_per_s": ok_rate, "errors": errors, "requests": total,
            "server_us_per_token": (c1 - c0) * 1e6 / max(total - errors, 1)}


def run_sitetoken(build, connections, duration):
    with tempfile.TemporaryDirectory(prefix="st-oidc-compare-") as wd:
        proc, url, admin = run_bench.start_server(build, wd, "EdDSA")
        try:
            out = subprocess.run([str(build / "tools" / "sitetoken-bench"), "--json", "--url", url,
                                  "--admin-socket", admin, "--alg", "EdDSA", "--server-pid",
                                  str(proc.pid), "--scenario", "exchange", "--connections",
                                  str(connections), "--duration", str(duration), "--warmup", "1"],
                                 check=True, capture_output=True, text=True).stdout
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    doc = json.loads(out)
    st = doc.get("server_threads", {})
    us = sum(st[k]["us"] for k in ("loop", "workers", "writer", "other") if k in st)
    return {"ok_per_s": doc["ok_rate"], "errors": doc["errors_total"],
            "server_us_per_token": us, "client_us": st.get("client_us")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build-rel")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/sitetoken-perf/oidc"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--port", type=int, default=18941)
    a = ap.parse_args()
    cache = Path(a.cache)
    version = install(cache)
    node = run_node(cache, a.port, a.connections, a.duration, a.wrk_threads)
    ours = run_sitetoken(Path(a.build).resolve(), a.connections, a.duration)
    print("oidc-provider %s (Node %s), client credentials, EdDSA JWT access tokens:"
          % (version, subprocess.run(["node", "--version"], capture_output=True,
                                     text=True).stdout.strip()))
    print("  %9.1f tokens/s, %6.1f us server CPU per token, %d non-2xx"
          % (node["ok_per_s"], node["server_us_per_token"], node["errors"]))
    print("sitetokend, durable bulk exchanges (proof verified, fsync'd):")
    print("  %9.1f tokens/s, %6.1f us server CPU per token, client %s us"
          % (ours["ok_per_s"], ours["server_us_per_token"], ours["client_us"]))
    print("ratio sitetokend / oidc-provider: rate %.2f, server CPU per token %.2f"
          % (ours["ok_per_s"] / node["ok_per_s"],
             ours["server_us_per_token"] / node["server_us_per_token"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

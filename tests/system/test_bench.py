"""The load generator (sitetoken-bench) against a real sitetokend: its numbers
add up, its requests really land in the store, and refusals are counted by
their problem `code`. Speeds are never asserted (these machines are noisy)."""

import json
import subprocess

import pytest

from conftest import BUILD, basic_config, bulk_new
from device import MP

SITETOKEN_BENCH = BUILD / "tools" / "sitetoken-bench"


def run_bench(server, *args, timeout=60):
    cmd = [str(SITETOKEN_BENCH), "--url", server.base, "--json", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, "%s -> %d\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def count_tokens(server):
    return len(server.admin_items("/v1/admin/tokens?limit=1000"))


def test_exchange_numbers_add_up(server, mp):
    bulk = bulk_new(server)
    before = count_tokens(server)
    doc = run_bench(server, "--mp-key", mp.api_key, "--bulk-token", bulk["token"],
                    "--scenario", "exchange", "--requests", "200", "--connections", "4")
    assert doc["scenario"] == "exchange"
    assert doc["connections"] == 4
    assert doc["requests"] == 200
    assert doc["ok"] == 200
    assert doc["errors"] == {} and doc["errors_total"] == 0
    assert doc["rate"] > 0 and doc["duration_s"] > 0
    lat = doc["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    assert doc["tokens_verified"] > 0  # the sampled signature checks ran
    assert doc["floor_rate"] is None and doc["ratio"] is None
    assert count_tokens(server) == before + 200


def test_refusals_counted_by_code(start_server):
    # No per-MP failure limit: every refusal must be the bulk token's own.
    server = start_server(basic_config("limits:\n  failed_exchanges_per_minute: 0\n"))
    key = server.ctl("mp", "add", "mp-bench", json_out=True, check=0).doc["api_key"]
    bulk = bulk_new(server, "--max-uses", "10")
    doc = run_bench(server, "--mp-key", key, "--bulk-token", bulk["token"],
                    "--scenario", "exchange", "--requests", "200", "--connections", "4")
    assert doc["requests"] == 200
    assert doc["ok"] == 10
    assert doc["errors"] == {"bulk_token_exhausted": 190}
    assert doc["errors_total"] == 190


def test_keys_and_floor(start_server):
    # One host reads the keys as fast as it can: no per-address public budget.
    server = start_server(basic_config("limits:\n  public_rate: 0\n"))
    mp = MP(server, server.ctl("mp", "add", "mp-bench", json_out=True, check=0).doc["api_key"])
    doc = run_bench(server, "--mp-key", mp.api_key, "--scenario", "keys", "--requests", "500",
                    "--connections", "2", "--floor", "--floor-seconds", "0.2")
    assert doc["requests"] == 500 and doc["ok"] == 500 and doc["errors"] == {}
    assert doc["floor_rate"] > 0 and doc["floor"]["full_rate"] > 0
    assert doc["ratio"] is not None and doc["ratio"] > 0


def test_gateway_scenario_runs(server, mp, tmp_path):
    """The gateway scenario drives a real sitetoken-gateway: every check is a
    fresh proof answered ok, the replay cache really holds them (a second
    use of the same proofs would fail), and the floor it reports in the same
    run is sane. No speed is asserted."""
    from gwkit import Gateway

    bulk = bulk_new(server)
    with Gateway(tmp_path, server.base) as gw:
        gw.wait_ready()
        doc = run_bench(server, "--mp-key", mp.api_key, "--bulk-token", bulk["token"],
                        "--scenario", "gateway", "--gateway-url", gw.base, "--gateway-pid",
                        str(gw.proc.pid), "--requests", "300", "--connections", "4",
                        "--devices", "8", "--floor-seconds", "0.2", timeout=120)
        assert doc["scenario"] == "gateway"
        assert doc["requests"] == 300 and doc["ok"] == 300, doc
        assert doc["errors"] == {} and doc["errors_total"] == 0
        assert doc["premade"] == 300 and not doc["ran_out"]
        lat = doc["latency_ms"]
        assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
        fl = doc["floor"]
        # token verify + proof verify together cannot beat either alone
        assert 0 < fl["rate"] <= 1.2 * min(fl["sign_rate"], fl["verify_rate"])
        assert fl["full_rate"] > 0 and doc["ratio"] is not None and doc["ratio"] > 0
        assert doc["client_cpu_s"] >= 0 and doc["server_cpu_s"] is not None
        # each proof was good once: the gateway counted 300 ok answers
        assert gw.metric('sitetoken_gateway_answers_total{code="ok"}') == 300


def test_gateway_scenario_counts_refusals_by_code(server, mp, tmp_path):
    """A gateway whose clock is an hour ahead refuses every proof (iat outside
    the skew; the 8-hour access tokens still verify): the bench counts each
    refusal under its X-Sitetoken-Code."""
    import requests
    from gwkit import Gateway

    bulk = bulk_new(server)
    with Gateway(tmp_path, server.base) as gw:
        gw.wait_ready()
        r = requests.post(gw.base + "/debug/clock", json={"offset_seconds": 3600}, timeout=5)
        assert r.status_code == 200, r.text
        doc = run_bench(server, "--mp-key", mp.api_key, "--bulk-token", bulk["token"],
                        "--scenario", "gateway", "--gateway-url", gw.base, "--requests", "50",
                        "--connections", "2", "--devices", "2", "--floor-seconds", "0.1",
                        timeout=120)
        assert doc["requests"] == 50 and doc["ok"] == 0
        assert doc["errors_total"] == 50 and set(doc["errors"]) <= {"proof_invalid"}, doc


def feed_token_entries(server):
    r = server.get("/v1/revocations")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e["kind"] == "token"]


def test_concurrent_superseding_renewals_all_reach_the_feed(start_server):
    # Issue 14: a renewal that supersedes an earlier successor adds a feed
    # entry; the writer hands each commit's entries to the feed before the
    # batch's ops come back (no store read in done()). 8 connections renewing the same 10 roots again and again
    # put several superseding renewals in each batch: none may be lost.
    server = start_server(basic_config("tokens:\n  renew_after: 0s\n"
                                       "limits:\n  failed_exchanges_per_minute: 0\n"))
    key = server.ctl("mp", "add", "mp-bench", json_out=True, check=0).doc["api_key"]
    doc = run_bench(server, "--mp-key", key, "--admin-socket", str(server.admin_socket),
                    "--scenario", "renew", "--devices", "10", "--requests", "300",
                    "--connections", "8")
    assert doc["ok"] == 300 and doc["errors"] == {}
    entries = feed_token_entries(server)
    # every renewal of a root after its first supersedes the one before it
    assert len(entries) == 300 - 10, len(entries)
    assert {e["reason"] for e in entries} == {"superseded"}
    assert len({e["id"] for e in entries}) == len(entries)
    # the serials the feed serves are the ones committed, in order, no gaps
    serials = [e["serial"] for e in entries]
    assert serials == sorted(serials)


def test_per_thread_cpu_reported(server, mp):
    bulk = bulk_new(server)
    doc = run_bench(server, "--mp-key", mp.api_key, "--bulk-token", bulk["token"],
                    "--scenario", "exchange", "--requests", "100", "--connections", "2",
                    "--server-pid", str(server.proc.pid))
    t = doc["server_threads"]
    assert set(t) == {"loop", "workers", "writer", "other", "client_us"}
    for role in ("loop", "workers", "writer", "other"):
        assert t[role]["us"] >= 0 and 0 <= t[role]["sys_share"] <= 1
    assert t["workers"]["us"] > 0  # the workers verified and signed 100 proofs


def test_several_urls_split_the_load_and_report_each(server, mp):
    """--url twice: the connections go round-robin over the URLs (here one
    server named twice), and each URL's answers add up to the whole."""
    bulk = bulk_new(server)
    before = count_tokens(server)
    doc = run_bench(server, "--url", server.base, "--mp-key", mp.api_key, "--bulk-token",
                    bulk["token"], "--scenario", "exchange", "--requests", "200",
                    "--connections", "4", "--server-pid", str(server.proc.pid))
    assert doc["requests"] == 200 and doc["ok"] == 200 and doc["errors"] == {}
    urls = doc["urls"]
    assert [u["url"] for u in urls] == [server.base, server.base]
    assert sum(u["requests"] for u in urls) == 200
    assert sum(u["ok"] for u in urls) == 200
    assert all(u["ok"] > 0 and u["errors_total"] == 0 for u in urls), urls
    assert all(0 < u["latency_ms"]["p50"] <= u["latency_ms"]["p99"] for u in urls)
    assert "nodes" not in doc and doc["database_cpu_s"] is None  # one pid, no --db-pid
    assert count_tokens(server) == before + 200


def test_more_urls_than_connections_refused(server, mp):
    cmd = [str(SITETOKEN_BENCH), "--url", server.base, "--url", server.base, "--mp-key",
           mp.api_key, "--scenario", "keys", "--requests", "10", "--connections", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "fewer --connections than --url" in r.stderr, r.stderr
    cmd[2] = "https://127.0.0.1:1"  # the load generator speaks plain HTTP only
    cmd[-1] = "2"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "--url must be http://HOST:PORT" in r.stderr, r.stderr


@pytest.mark.pg_only
def test_two_nodes_one_database(start_server, tmp_path):
    """Two nodes of one site (cluster.py): the bench spreads its exchanges
    over both, reports CPU per node and the database's (the postmaster and
    its children), and every token it got is in the shared database."""
    import pg
    from cluster import Site

    site = Site(start_server, tmp_path, n=2, extra="limits:\n  failed_exchanges_per_minute: 0\n")
    key = site[0].ctl("mp", "add", "mp-bench", json_out=True, check=0).doc["api_key"]
    bulk = bulk_new(site[0])
    postmaster = int((pg.CLUSTER.data / "postmaster.pid").read_text().split()[0])
    before = int(site.psql("SELECT count(*) FROM tokens"))
    doc = run_bench(site[0], "--url", site[1].base, "--mp-key", key, "--bulk-token",
                    bulk["token"], "--scenario", "exchange", "--requests", "200",
                    "--connections", "4", "--server-pid", str(site[0].proc.pid),
                    "--server-pid", str(site[1].proc.pid), "--db-pid", str(postmaster))
    urls = doc["urls"]
    assert [u["url"] for u in urls] == [site[0].base, site[1].base]
    assert all(u["ok"] > 0 for u in urls), urls
    assert doc["ok"] == 200 and doc["errors"] == {}, doc["errors"]
    assert int(site.psql("SELECT count(*) FROM tokens")) == before + 200
    nodes = doc["nodes"]
    assert [n["pid"] for n in nodes] == [site[0].proc.pid, site[1].proc.pid]
    assert all(n["server_threads"]["workers"]["us"] > 0 for n in nodes), nodes
    assert doc["database_cpu_s"] > 0 and doc["server_threads"]["database"]["us"] > 0

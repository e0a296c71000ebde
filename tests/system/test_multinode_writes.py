"""Writes from several sitetokend nodes on one PostgreSQL (cluster.py): one
truth whichever node a request reaches, and faults (a node killed, the
database stopped). The counts and ids are read back with psql and through
the admin API of every node; no fixed sleep: threads start on a barrier,
waits poll with a deadline."""

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import conftest
import pg
from cluster import Site
from conftest import bulk_new
from device import MP, Device

pytestmark = pytest.mark.pg_only

RENEW_NOW = "tokens:\n  renew_after: 0s\n"


def mp_key(node, name="mp-a"):
    return node.ctl("mp", "add", name, json_out=True, check=0).doc["api_key"]


def code_of(r):
    return r.json().get("code")


def post(sess, node, path, body, key, timeout=30):
    return sess.post(node.url(path), json=body, timeout=timeout,
                     headers={"Authorization": "Bearer " + key})


def psql_set(site, sql):
    return set(site.psql(sql).split())


def parallel(n, fn):
    """fn(i) for i in range(n) on n threads released together; the results."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as ex:
        return list(ex.map(run, range(n)))


def test_bulk_cap_holds_across_nodes(start_server, tmp_path):
    """max_uses 20, 64 concurrent exchanges of distinct devices spread over
    both nodes: exactly 20 succeed, the rest bulk_token_exhausted; the row's
    counter and the tokens agree."""
    site = Site(start_server, tmp_path, n=2)
    key = mp_key(site[0])
    bulk = bulk_new(site[1], "--max-uses", "20")

    def exchange(i):
        d = Device()
        r = post(requests.Session(), site[i % 2], "/v1/exchanges", d.exchange_body(bulk["token"]),
                 key)
        return r.status_code, r.json()

    results = parallel(64, exchange)
    ok = [doc for status, doc in results if status == 201]
    refused = [(status, doc.get("code")) for status, doc in results if status != 201]
    assert len(ok) == 20, (len(ok), refused[:5])
    assert set(refused) == {(403, "bulk_token_exhausted")}, set(refused)
    assert len({d["token_id"] for d in ok}) == 20 and len({d["device_id"] for d in ok}) == 20
    assert site.psql("SELECT uses FROM bulk_tokens WHERE id = '%s'" % bulk["id"]).strip() == "20"
    assert psql_set(site, "SELECT jti FROM tokens WHERE bulk_id = '%s'" % bulk["id"]) == {
        d["token_id"] for d in ok}
    for node in site:
        status, doc = node.admin("GET", "/v1/admin/bulk-tokens/%s" % bulk["id"])
        assert status == 200 and doc["uses"] == 20, doc


def test_no_id_issued_twice_on_three_nodes(start_server, tmp_path):
    """A few hundred registrations, exchanges and renewals over three nodes,
    then revocations from all three at once: every jti, device id and
    revocation serial answered is unique and is the database's."""
    site = Site(start_server, tmp_path, n=3, extra=RENEW_NOW)
    key = mp_key(site[0])
    bulk = bulk_new(site[2])["token"]
    per_thread = 25

    def issue(i):
        sess, node, got = requests.Session(), site[i % 3], []
        for k in range(per_thread):
            d = Device()
            if k % 2:
                r = post(sess, node, "/v1/exchanges", d.exchange_body(bulk), key)
            else:
                r = post(sess, node, "/v1/registrations", d.register_body(), key)
            assert r.status_code == 201, r.text
            doc = r.json()
            got.append((doc["token_id"], doc["device_id"]))
            if k % 5 == 0:  # renewed on the next node
                d.token = doc["token"]
                r = post(sess, site[(i + 1) % 3], "/v1/renewals", d.token_body("renew"), key)
                assert r.status_code == 200, r.text
                got.append((r.json()["token_id"], doc["device_id"]))
        return got

    issued = [t for chunk in parallel(12, issue) for t in chunk]
    jtis = [j for j, _ in issued]
    devices = {d for _, d in issued}
    assert len(issued) >= 300 and len(set(jtis)) == len(jtis)
    assert len(devices) == 12 * per_thread
    assert psql_set(site, "SELECT jti FROM tokens") == set(jtis)
    assert psql_set(site, "SELECT id FROM devices") == devices
    for node in site:
        assert {t["jti"] for t in node.admin_items("/v1/admin/tokens?limit=1000")} == set(jtis)

    # revocations from every node at once (one token of each of 60 devices:
    # a revoke takes the whole family): one serial each, none twice
    first = {}
    for j, dev in issued:
        first.setdefault(dev, j)
    picks = list(first.values())[:60]

    def revoke(i):
        status, doc = site[i % 3].admin("POST", "/v1/admin/tokens/%s/revoke" % picks[i],
                                        {"reason": "multi-node"})
        assert status == 200, doc
        return doc["serial"]

    serials = parallel(len(picks), revoke)
    assert len(set(serials)) == len(serials), sorted(serials)
    stored = [int(s) for s in site.psql("SELECT serial FROM revocations ORDER BY serial").split()]
    assert set(serials) <= set(stored) and len(set(stored)) == len(stored)
    assert site.psql("SELECT last FROM revocation_serial").strip() == str(max(stored))
    for node in site:
        listed = {t["jti"]: t for t in node.admin_items("/v1/admin/tokens?limit=1000")}
        assert all(listed[j]["status"] == "revoked" for j in picks)


def test_proof_accepted_on_one_node_is_replayed_on_the_other(start_server, tmp_path):
    """The same request (same body, same proof JWT) accepted on A is
    proof_replayed on B, which writes nothing else for it; after both
    restart, refused on both."""
    site = Site(start_server, tmp_path, n=2, extra=RENEW_NOW)
    key = mp_key(site[0])
    a, b = MP(site[0], key), MP(site[1], key)
    bulk = bulk_new(site[0])["token"]
    d = Device()
    register = d.register_body()
    assert a.post("/v1/registrations", register).status_code == 201
    d.token = None
    e = Device()
    exchange = e.exchange_body(bulk)
    r = a.post("/v1/exchanges", exchange)
    assert r.status_code == 201, r.text
    e.token = r.json()["token"]
    renew = e.token_body("renew")
    assert a.post("/v1/renewals", renew).status_code == 200
    bodies = [("/v1/registrations", register), ("/v1/exchanges", exchange),
              ("/v1/renewals", renew)]
    tokens_before = site.psql("SELECT count(*) FROM tokens").strip()
    devices_before = site.psql("SELECT count(*) FROM devices").strip()
    for path, body in bodies:
        r = b.post(path, body)
        assert r.status_code == 401 and code_of(r) == "proof_replayed", (path, r.text)
    # the refusals wrote nothing of the requests (no token, device, use)
    assert site.psql("SELECT count(*) FROM tokens").strip() == tokens_before
    assert site.psql("SELECT count(*) FROM devices").strip() == devices_before
    assert site.psql("SELECT uses FROM bulk_tokens").strip() == "1"
    refused = site.psql("SELECT detail FROM audit WHERE action LIKE 'refused.%'").splitlines()
    assert len(refused) == 3 and all(json.loads(x)["code"] == "proof_replayed" for x in refused)
    for i in range(2):
        site[i].stop()
    for i in range(2):
        site.restart(i)
    for node in site:
        for path, body in bodies:
            r = MP(node, key).post(path, body)
            assert r.status_code == 401 and code_of(r) == "proof_replayed", (path, r.text)
    assert MP(site[1], key).register(Device()).status_code == 201


ADMIN_OPS = 12  # per thread


def hammer_admin(site, threads_per_node):
    """Admin writes from threads_per_node threads on each node at once:
    MPs, bulk tokens, device blocks and token revokes. -> the number done."""
    key = mp_key(site[0], "mp-seed")
    devs = []
    mp = MP(site[0], key)
    for _ in range(threads_per_node * len(site)):
        d = Device()
        r = mp.register(d)
        assert r.status_code == 201, r.text
        devs.append((r.json()["device_id"], r.json()["token_id"]))

    def work(i):
        node = site[i % len(site)]
        dev_id, jti = devs[i]
        for k in range(ADMIN_OPS):
            op = k % 4
            if op == 0:
                status, doc = node.admin("POST", "/v1/admin/mps", {"name": "mp-%d-%d" % (i, k)})
                assert status == 201, doc
            elif op == 1:
                status, doc = node.admin("POST", "/v1/admin/bulk-tokens", {"max_uses": 5})
                assert status == 201, doc
            elif op == 2 and k == 2:
                status, doc = node.admin("POST", "/v1/admin/tokens/%s/revoke" % jti, {})
                assert status == 200, doc
            elif op == 2 and k == 6:
                status, doc = node.admin("POST", "/v1/admin/devices/%s/block" % dev_id, {})
                assert status == 200, doc
            else:
                status, doc = node.admin("POST", "/v1/admin/bulk-tokens", {"note": "n%d" % k})
                assert status == 201, doc
        return ADMIN_OPS

    return sum(parallel(threads_per_node * len(site), work))


def test_one_audit_chain_from_two_nodes(start_server, tmp_path):
    """Admin writes hammered on both nodes at once all succeed; the records
    of both form one chain that audit verify on either node accepts; an
    edit made with psql behind the nodes' back is caught on both."""
    site = Site(start_server, tmp_path, n=2)
    done = hammer_admin(site, 4)
    assert done == 8 * ADMIN_OPS
    actions = site.psql("SELECT action FROM audit").split()
    assert actions.count("mp.add") >= 8 * ADMIN_OPS // 4
    for node in site:
        r = node.ctl("audit", "verify", json_out=True)
        assert r.returncode == 0, r.stdout + r.stderr
        doc = json.loads(r.stdout)
        assert doc["ok"] is True and doc["records"] == len(actions), doc
    seqs = [int(s) for s in site.psql("SELECT seq FROM audit ORDER BY seq").split()]
    assert seqs == list(range(1, len(seqs) + 1))
    bad = len(seqs) // 2
    site.psql("UPDATE audit SET actor = 'system' WHERE seq = %d" % bad)
    for node in site:
        r = node.ctl("audit", "verify", json_out=True)
        assert r.returncode == 4, r.stdout
        doc = json.loads(r.stdout)
        assert doc["ok"] is False and doc["first_bad_seq"] == bad, doc
        assert "audit_broken" in r.stderr


def test_kill9_of_one_node_under_load(start_server, tmp_path):
    """Exchanges, registrations and renewals from client threads over both
    nodes; node A is killed with SIGKILL mid-run. Every token a client got
    is in the database and introspects active on B; B answered every
    request of the run; A, restarted, serves again."""
    site = Site(start_server, tmp_path, n=2, extra=RENEW_NOW)
    key = mp_key(site[0])
    bulk = bulk_new(site[0])["token"]
    received, lock = {}, threading.Lock()  # token_id -> token
    b_failures = []
    stop, enough, killed = threading.Event(), threading.Event(), threading.Event()

    def client(i):
        node_i = i % 2
        sess = requests.Session()
        while not stop.is_set():
            node = site[node_i]
            d = Device()
            path, body = (("/v1/exchanges", d.exchange_body(bulk)) if i % 4 < 2 else
                          ("/v1/registrations", d.register_body()))
            try:
                r = post(sess, node, path, body, key, timeout=15)
                if r.status_code == 201:
                    d.token = r.json()["token"]
                    with lock:
                        received[r.json()["token_id"]] = d.token
                    r = post(sess, node, "/v1/renewals", d.token_body("renew"), key, timeout=15)
                    if r.status_code == 200:
                        with lock:
                            received[r.json()["token_id"]] = r.json()["token"]
                if node_i == 1 and r.status_code not in (200, 201):
                    b_failures.append(r.text)
            except requests.RequestException as exc:
                if node_i == 1:
                    b_failures.append(repr(exc))
                elif killed.is_set():
                    node_i = 1  # A is gone: this client moves to B
                    sess = requests.Session()
                else:
                    b_failures.append("A failed before the kill: %r" % exc)
            with lock:
                if len(received) >= 60:
                    enough.set()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    assert enough.wait(60), "no load"
    killed.set()
    site[0].proc.send_signal(signal.SIGKILL)
    site[0].wait_exit()
    with lock:
        at_kill = len(received)
    deadline = time.monotonic() + 60
    while True:  # B keeps serving after the kill: 40 more tokens
        with lock:
            if len(received) >= at_kill + 40:
                break
        assert time.monotonic() < deadline, "B stopped serving"
        enough.clear()
        enough.wait(1)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not b_failures, b_failures[:5]
    got = dict(received)
    stored = psql_set(site, "SELECT jti FROM tokens")
    missing = set(got) - stored
    assert not missing, "%d tokens received but not stored" % len(missing)
    sess = requests.Session()
    for jti, token in got.items():
        r = post(sess, site[1], "/v1/introspect", {"token": token}, key)
        assert r.status_code == 200 and r.json()["active"] is True, (jti, r.text)
    a = site.restart(0)
    assert MP(a, key).register(Device()).status_code == 201
    assert a.ctl("audit", "verify", json_out=True).returncode == 0


def assert_unavailable(r):
    assert r.status_code == 503, r.text
    doc = r.json()
    assert doc["code"] == "unavailable" and r.headers["Content-Type"].startswith(
        "application/problem+json"), r.text
    return doc


def test_database_stopped_and_started(start_server, tmp_path):
    """PostgreSQL (a cluster of this test's own) stops under two nodes:
    writes and the reads that need the store answer 503 `unavailable` in
    bounded time, /readyz 503 naming the database, no node dies; PostgreSQL
    starts again and both nodes recover by themselves."""
    cluster = pg.Cluster()
    try:
        site = Site(start_server, tmp_path, n=2, cluster=cluster)
        key = mp_key(site[0])
        for node in site:
            assert MP(node, key).register(Device()).status_code == 201
        cluster.halt()
        for node in site:
            for _ in range(3):
                t0 = time.monotonic()
                assert_unavailable(MP(node, key).register(Device()))
                status, doc = node.admin("GET", "/v1/admin/devices")
                assert status == 503 and doc["code"] == "unavailable", (status, doc)
                doc = assert_unavailable(node.get("/readyz", timeout=30))
                assert "postgresql" in doc["detail"], doc
                # the driver's words (host, port) go to the log, not to anyone
                assert str(cluster.port) not in doc["detail"], doc
                if not conftest.SANITIZED:
                    assert time.monotonic() - t0 < 20
            assert node.proc.poll() is None
        cluster.start_again()
        for i, node in enumerate(site):
            deadline = time.monotonic() + 30
            while MP(node, key).register(Device()).status_code != 201:
                assert time.monotonic() < deadline, "no recovery:\n" + node.log()[-2000:]
                time.sleep(0.1)  # polling for the reconnection, bounded by the deadline
            assert node.get("/readyz").status_code == 200
            status, doc = node.admin("GET", "/v1/admin/devices")
            assert status == 200 and len(doc["items"]) >= 3 + i
        for node in site:
            assert node.stop() == 0, node.log()[-2000:]
    finally:
        cluster.stop()


@pytest.mark.parametrize("run", range(3))
def test_nodes_start_together_on_a_new_database(start_server, tmp_path, run):
    """Three nodes, the first too, start at once on an empty database: the
    migrations race (CREATE TABLE IF NOT EXISTS among them) fails none,
    the schema is there once, and the site works from every node."""
    site = Site(start_server, tmp_path, n=3, cold=True)
    versions = site.psql("SELECT version FROM schema_migrations ORDER BY version").split()
    assert len(versions) == len(set(versions)) and versions
    key = mp_key(site[run % 3])
    for node in site:
        assert MP(node, key).register(Device()).status_code == 201
        status, doc = node.admin("GET", "/v1/admin/status")
        assert status == 200 and doc["schema_version"] == int(versions[-1]), doc

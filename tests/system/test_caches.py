"""The workers' caches (issue 14) never outlive what they cache: an MP's API
key that authenticated is remembered by its hash, and a client token whose
signature verified by its SHA-256 (renew, access); a removed MP, a replaced
key, a revoked or superseded token and a blocked device are refused on the
very next request, cache warm or not, and a cached token's window still
counts."""

import os

import pytest

from conftest import SANITIZED, bulk_new
from device import MP, Device, verify_with_pyjwt, registered

DAY = 86400


def code_of(r):
    return r.json()["code"]



def warm_access(mp, d, n=3):
    """Access tokens from d's client token n times: the cache holds it."""
    for _ in range(n):
        r = mp.access(d)
        assert r.status_code == 200, r.text


def cache_metrics(server):
    text = server.get("/metrics").text
    return {line.split()[0]: int(line.split()[1]) for line in text.splitlines()
            if line.startswith(("sitetoken_mpcache_", "sitetoken_clientcache_"))}


def test_removed_mp_refused_at_once(server, mp):
    add = server.ctl("mp", "add", "mp-gone", json_out=True, check=0).doc
    for _ in range(3):
        r = mp.post("/v1/registrations", Device().register_body(), key=add["api_key"])
        assert r.status_code == 201, r.text
    m = cache_metrics(server)
    assert m["sitetoken_mpcache_hits_total"] >= 2  # the key came from the cache
    assert server.admin("DELETE", "/v1/admin/mps/%s" % add["id"])[0] == 200
    r = mp.post("/v1/registrations", Device().register_body(), key=add["api_key"])
    assert r.status_code == 401 and code_of(r) == "unauthenticated"
    assert "Bearer" in r.headers["WWW-Authenticate"]
    # another MP's cached key is not affected
    assert mp.register(Device()).status_code == 201


def test_rotated_key_refused_at_once_new_key_works(server, mp):
    add = server.ctl("mp", "add", "mp-rot", json_out=True, check=0).doc
    old = add["api_key"]
    for _ in range(3):
        assert mp.post("/v1/registrations", Device().register_body(), key=old).status_code == 201
    new = server.ctl("mp", "rotate-key", "mp-rot", json_out=True, check=0).doc["api_key"]
    r = mp.post("/v1/registrations", Device().register_body(), key=old)
    assert r.status_code == 401 and code_of(r) == "unauthenticated"
    for _ in range(2):
        assert mp.post("/v1/registrations", Device().register_body(), key=new).status_code == 201
    r = mp.post("/v1/registrations", Device().register_body(), key=old)
    assert r.status_code == 401 and code_of(r) == "unauthenticated"


def test_unknown_key_never_cached(server, mp):
    bad = "stmp_" + "A" * 43
    for _ in range(3):
        r = mp.post("/v1/registrations", Device().register_body(), key=bad)
        assert r.status_code == 401 and code_of(r) == "unauthenticated"


def test_revoked_client_token_refused_while_cached(server, mp):
    d = registered(mp)
    warm_access(mp, d)
    assert cache_metrics(server)["sitetoken_clientcache_hits_total"] >= 2
    server.ctl("token", "revoke", d.jti, check=0)
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_revoked", r.text
    server.shift_clock(31 * DAY)
    r = mp.renew(d)
    assert r.status_code == 401 and code_of(r) == "token_revoked", r.text


def test_blocked_device_refused_while_cached(server, mp):
    d = registered(mp)
    warm_access(mp, d)
    server.ctl("device", "block", d.id, check=0)
    r = mp.access(d)
    assert r.status_code == 403 and code_of(r) == "device_blocked", r.text
    server.ctl("device", "unblock", d.id, check=0)
    assert mp.access(d).status_code == 200


def test_superseded_client_token_refused_while_cached(server, mp):
    d = registered(mp)
    first = d.token
    server.shift_clock(31 * DAY)
    assert mp.renew(d).status_code == 200
    second = d.token
    warm_access(mp, d)  # the successor is cached
    d.token = first
    assert mp.renew(d).status_code == 200  # a retry: supersedes `second`
    d.token = second
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_revoked", r.text


def test_cached_client_token_still_expires(server, mp):
    d = registered(mp)
    warm_access(mp, d)
    server.shift_clock(400 * DAY)  # past the client token's 90 days
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_expired", r.text


def test_cached_client_token_other_kind_and_binding(server, mp):
    """A cache hit still checks the proof's key against the token's cnf.jkt
    and the token's kind: an access token is never a client token."""
    d = registered(mp)
    warm_access(mp, d)
    other = Device()
    body = {"token": d.token, "proof": other.proof("access", token=d.token)}
    r = mp.post("/v1/access-tokens", body)
    assert r.status_code == 401 and code_of(r) == "binding_mismatch", r.text
    access = mp.access(d).json()["access_token"]
    body = {"token": access, "proof": d.proof("access", token=access)}
    r = mp.post("/v1/access-tokens", body)
    assert r.status_code == 401 and code_of(r) == "wrong_token_type", r.text


def labelled_device(server):
    """A device enrolled with labels from its MP and its bulk token."""
    r = server.ctl("mp", "add", "mp-lab", "--label", "site=hq", "--label", "zone=z1",
                   json_out=True, check=0)
    mp = MP(server, r.doc["api_key"])
    bulk = bulk_new(server, "--label", "ring=pilot", "--label", "site=lab4")
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201, r.text
    want = {"ring": "pilot", "site": "lab4", "zone": "z1"}
    assert verify_with_pyjwt(server, d.token, "sitetoken-client+jwt")["labels"] == want
    return mp, d, want


def test_labelled_client_token_cached_with_its_labels(server):
    """The cache keeps a labelled token's labels (their canonical text): its
    renewals and access tokens carry the same labels, generation after
    generation, and a cached labelled token is answered from the cache."""
    mp, d, want = labelled_device(server)
    for gen in (1, 2):
        before = cache_metrics(server)
        for _ in range(3):
            r = mp.access(d)
            assert r.status_code == 200, r.text
            claims = verify_with_pyjwt(server, r.json()["access_token"], "sitetoken-access+jwt")
            assert claims["labels"] == want
        after = cache_metrics(server)
        # the first access verifies the signature, the next two are hits
        assert after["sitetoken_clientcache_misses_total"] - \
            before["sitetoken_clientcache_misses_total"] == 1, (before, after)
        assert after["sitetoken_clientcache_hits_total"] - \
            before["sitetoken_clientcache_hits_total"] == 2, (before, after)
        server.shift_clock(gen * 31 * DAY)  # an offset from the real clock
        r = mp.renew(d)  # the cached token, renewed: a hit, the labels kept
        assert r.status_code == 200, r.text
        assert r.json()["gen"] == gen
        assert verify_with_pyjwt(server, d.token, "sitetoken-client+jwt")["labels"] == want
        assert cache_metrics(server)["sitetoken_clientcache_hits_total"] == \
            after["sitetoken_clientcache_hits_total"] + 1


def worker_cpu_ns(pid):
    """CPU time of sitetokend's st-worker-* threads so far (schedstat, ns)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if not f.read().startswith("st-worker"):
                    continue
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread gone meanwhile
            pass
    return total


@pytest.mark.skipif(SANITIZED, reason="CPU time is only meaningful in the plain build")
@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"), reason="no schedstat")
def test_labelled_client_token_verified_once(server, mp):
    """A cached labelled token costs the workers what an unlabelled one does:
    its signature is not checked a second time to read its labels (it was:
    ~1.55x the worker CPU of an unlabelled access token, one more Ed25519
    verification; now ~1.0x). Rounds of each interleaved so a busy machine
    weighs on both alike; the bound has a wide margin either side."""
    lmp, ld, _ = labelled_device(server)
    pd = registered(mp)
    warm_access(lmp, ld, 1)
    warm_access(mp, pd, 1)
    spent = {"labelled": 0, "plain": 0}
    for _ in range(10):
        for key, m, d in (("labelled", lmp, ld), ("plain", mp, pd)):
            t0 = worker_cpu_ns(server.proc.pid)
            warm_access(m, d, 40)
            spent[key] += worker_cpu_ns(server.proc.pid) - t0
    assert spent["labelled"] < 1.3 * spent["plain"], spent

"""The workers' caches (issue 14) never outlive what they cache: an MP's API
key that authenticated is remembered by its hash, and a client token whose
signature verified by its SHA-256 (renew, access); a removed MP, a replaced
key, a revoked or superseded token and a blocked device are refused on the
very next request, cache warm or not, and a cached token's window still
counts."""

import pytest

from device import Device

DAY = 86400


def code_of(r):
    return r.json()["code"]


def register(mp):
    d = Device()
    r = mp.register(d)
    assert r.status_code == 201, r.text
    d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
    return d


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
    d = register(mp)
    warm_access(mp, d)
    assert cache_metrics(server)["sitetoken_clientcache_hits_total"] >= 2
    server.ctl("token", "revoke", d.jti, check=0)
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_revoked", r.text
    server.shift_clock(31 * DAY)
    r = mp.renew(d)
    assert r.status_code == 401 and code_of(r) == "token_revoked", r.text


def test_blocked_device_refused_while_cached(server, mp):
    d = register(mp)
    warm_access(mp, d)
    server.ctl("device", "block", d.id, check=0)
    r = mp.access(d)
    assert r.status_code == 403 and code_of(r) == "device_blocked", r.text
    server.ctl("device", "unblock", d.id, check=0)
    assert mp.access(d).status_code == 200


def test_superseded_client_token_refused_while_cached(server, mp):
    d = register(mp)
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
    d = register(mp)
    warm_access(mp, d)
    server.shift_clock(400 * DAY)  # past the client token's 90 days
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_expired", r.text


def test_cached_client_token_other_kind_and_binding(server, mp):
    """A cache hit still checks the proof's key against the token's cnf.jkt
    and the token's kind: an access token is never a client token."""
    d = register(mp)
    warm_access(mp, d)
    other = Device()
    body = {"token": d.token, "proof": other.proof("access", token=d.token)}
    r = mp.post("/v1/access-tokens", body)
    assert r.status_code == 401 and code_of(r) == "binding_mismatch", r.text
    access = mp.access(d).json()["access_token"]
    body = {"token": access, "proof": d.proof("access", token=access)}
    r = mp.post("/v1/access-tokens", body)
    assert r.status_code == 401 and code_of(r) == "wrong_token_type", r.text

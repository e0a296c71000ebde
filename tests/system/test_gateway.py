"""sitetoken-gateway behind real nginx (auth_request): a device with an
access token and a fresh DPoP proof reaches the upstream with its identity
headers; every refusal is checked by its code, through nginx as the
documented snippet rebuilds it; revocation reaches nginx within a second;
the enrolment path admits only good bulk tokens; the gateway fails closed
when the authority is gone and recovers by itself."""

import time

import jwt
import pytest
import requests

import device
from conftest import SANITIZED, bulk_new
from device import Device
from gwkit import Gateway, Nginx, Upstream, dpop, wait_until


@pytest.fixture
def kit(server, mp, tmp_path):
    with Upstream() as up, Gateway(tmp_path, server.base,
                                   "clock_skew: 60s\nmax_staleness: 6s\nkid_cooldown: 1h\n") as gw:
        gw.wait_ready()
        with Nginx(gw.port, up.port) as ngx:
            yield server, mp, gw, ngx, up


def enrolled(mp, server):
    d = Device()
    r = mp.register(d)
    assert r.status_code == 201, r.text
    d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
    a = mp.access(d)
    assert a.status_code == 200, a.text
    d.access = a.json()["access_token"]
    d.access_jti = jwt.decode(d.access, options={"verify_signature": False})["jti"]
    return d


def call(base, d, method="GET", path="/api/x?q=1", token=None, proof=None, scheme="DPoP",
         htm=None, htu=None, **kw):
    token = token if token is not None else d.access
    headers = {}
    if token:
        headers["Authorization"] = "%s %s" % (scheme, token)
    if proof is None and d is not None:
        proof = dpop(d, htm or method, htu or (base + path.split("?")[0]), token, **kw)
    if proof:
        headers["DPoP"] = proof
    return requests.request(method, base + path, headers=headers, timeout=10)


def code(r):
    assert r.headers.get("Content-Type", "").startswith("application/problem+json"), r.text
    doc = r.json()
    assert doc["code"] == r.headers.get("X-Sitetoken-Code", doc["code"])
    return r.status_code, doc["code"]


def test_device_reaches_upstream_with_identity(kit):
    server, mp, gw, ngx, up = kit
    d = enrolled(mp, server)
    r = call(ngx.base, d, "POST", "/api/things/./a/../b?x=1")
    assert r.status_code == 200, r.text
    h = r.json()["headers"]
    assert h["x-sitetoken-device-id"] == d.id
    assert h["x-sitetoken-token-id"] == d.access_jti
    assert h["x-sitetoken-site"] == "PS1"
    # a client cannot smuggle its own identity header past nginx
    r = requests.get(ngx.base + "/api/y", timeout=10,
                     headers={"Authorization": "DPoP " + d.access, "X-Sitetoken-Device-Id": "GUID:evil",
                              "DPoP": dpop(d, "GET", ngx.base + "/api/y", d.access)})
    assert r.json()["headers"]["x-sitetoken-device-id"] == d.id


def test_refusals_by_code(kit):
    server, mp, gw, ngx, up = kit
    d = enrolled(mp, server)
    other = Device()
    bulk = bulk_new(server)
    hits = len(up.hits)
    cases = [
        ("no token", lambda: requests.get(ngx.base + "/api/x", timeout=10), (401, "unauthenticated")),
        ("bulk token", lambda: call(ngx.base, d, token=bulk["token"]), (401, "wrong_token_type")),
        ("client token", lambda: call(ngx.base, d, token=d.token), (401, "wrong_token_type")),
        ("bearer scheme", lambda: call(ngx.base, d, scheme="Bearer"), (401, "proof_invalid")),
        ("no proof", lambda: call(ngx.base, d, proof=""), (401, "proof_invalid")),
        ("wrong htm", lambda: call(ngx.base, d, "GET", htm="POST"), (401, "proof_invalid")),
        ("wrong htu", lambda: call(ngx.base, d, htu=ngx.base + "/api/other"), (401, "proof_invalid")),
        ("old proof", lambda: call(ngx.base, d, iat=device.now() - 600), (401, "proof_invalid")),
        ("typ", lambda: call(ngx.base, d, typ="sitetoken-proof+jwt"), (401, "proof_invalid")),
        ("another key", lambda: call(ngx.base, d, key=other.key, jwk=other.jwk), (401, "binding_mismatch")),
        ("garbage", lambda: call(ngx.base, d, token="a.b.c"), (400, "invalid_request")),
    ]
    for name, fn, want in cases:
        r = fn()
        assert code(r) == want, (name, r.status_code, r.text)
        if want[0] == 401:
            assert r.headers["WWW-Authenticate"].startswith("DPoP"), name
    # a replayed proof
    p = dpop(d, "GET", ngx.base + "/api/x", d.access)
    assert call(ngx.base, d, proof=p).status_code == 200
    r = call(ngx.base, d, proof=p)
    assert code(r) == (401, "proof_replayed")
    assert 'error="invalid_dpop_proof"' in r.headers["WWW-Authenticate"]
    assert len(up.hits) == hits + 1  # only the one good call reached the upstream
    # the answers of the gateway itself carry the always-present headers
    r = requests.get(gw.base + "/auth", timeout=10)
    assert r.headers["X-Sitetoken-Code"] == "unauthenticated"
    assert r.headers["X-Sitetoken-Device-Id"] == ""
    assert 'DPoP' in r.headers["WWW-Authenticate"]


def test_expired_by_debug_clock(kit):
    server, mp, gw, ngx, up = kit
    d = enrolled(mp, server)
    assert call(ngx.base, d).status_code == 200
    gw.shift_clock(9 * 3600)  # access tokens live 8 h
    assert code(call(ngx.base, d)) == (401, "token_expired")


def test_revoked_and_blocked_within_one_second(kit):
    server, mp, gw, ngx, up = kit
    d, e = enrolled(mp, server), enrolled(mp, server)
    assert call(ngx.base, d).status_code == 200
    t0 = time.monotonic()
    server.ctl("token", "revoke", d.access_jti, check=0)
    r = wait_until(lambda: (lambda r: r if r.status_code != 200 else None)(call(ngx.base, d)), 2.0,
                   "revocation at nginx")
    took = time.monotonic() - t0
    assert code(r) == (401, "token_revoked")
    if not SANITIZED:
        assert took < 1.0, took
    assert call(ngx.base, e).status_code == 200  # only that token
    server.ctl("device", "block", e.id, check=0)
    r = wait_until(lambda: (lambda r: r if r.status_code != 200 else None)(call(ngx.base, e)), 2.0,
                   "device block at nginx")
    assert code(r) == (401, "token_revoked")


def test_revoked_parent_token_family_at_nginx(kit):
    server, mp, gw, ngx, up = kit
    d, e = enrolled(mp, server), enrolled(mp, server)
    assert call(ngx.base, d).status_code == 200
    # the client token the access token was minted from, not the access token
    server.ctl("token", "revoke", d.jti, check=0)
    r = wait_until(lambda: (lambda r: r if r.status_code != 200 else None)(call(ngx.base, d)), 2.0,
                   "family revocation at nginx")
    assert code(r) == (401, "token_revoked")
    assert call(ngx.base, e).status_code == 200  # another family is untouched


def test_gateway_down_is_503_unavailable_at_nginx(kit):
    server, mp, gw, ngx, up = kit
    d = enrolled(mp, server)
    hits = len(up.hits)
    gw.stop()
    for r in [call(ngx.base, d), requests.post(ngx.base + "/enrol/x", timeout=10)]:
        assert code(r) == (503, "unavailable"), (r.status_code, r.text)
        assert r.headers["Retry-After"] == "1"
    assert len(up.hits) == hits


def test_forged_kid_flood_bounded_fetches(kit):
    server, mp, gw, ngx, up = kit
    d = enrolled(mp, server)
    before = gw.metric('sitetoken_gateway_fetches_total{what="keys"}')
    header = jwt.get_unverified_header(d.access)
    for i in range(40):
        forged = jwt.encode({"sub": d.id, "x": i}, d.key, algorithm="EdDSA",
                            headers={"kid": "nope%d" % i, "typ": header["typ"]})
        assert code(call(ngx.base, d, token=forged)) == (401, "unknown_key")
    wait_until(lambda: gw.metric('sitetoken_gateway_fetches_total{what="keys"}') >= before + 1, 5,
               "one refetch")
    assert gw.metric('sitetoken_gateway_fetches_total{what="keys"}') <= before + 1


def test_rotation_reaches_gateway(kit):
    server, mp, gw, ngx, up = kit
    d = enrolled(mp, server)
    server.ctl("key", "rotate", "--now", check=0)
    e = enrolled(mp, server)
    assert jwt.get_unverified_header(e.access)["kid"] != jwt.get_unverified_header(d.access)["kid"]
    wait_until(lambda: call(ngx.base, e).status_code == 200, 3, "new key at the gateway")
    assert call(ngx.base, d).status_code == 200  # the retired key still verifies


def test_enrol_path(kit):
    server, mp, gw, ngx, up = kit
    good, blocked = bulk_new(server), bulk_new(server)
    server.ctl("bulk", "block", blocked["id"], check=0)
    hits = len(up.hits)
    r = requests.post(ngx.base + "/enrol/exchange", json={}, timeout=10,
                      headers={"Authorization": "Bearer " + good["token"]})
    assert r.status_code == 200, r.text
    assert len(up.hits) == hits + 1
    forged = jwt.encode({"iss": "urn:sitetoken:PS1", "aud": "urn:sitetoken:PS1", "exp": 2 ** 40},
                        Device().key, algorithm="EdDSA",
                        headers={"kid": jwt.get_unverified_header(good["token"])["kid"],
                                 "typ": "sitetoken-bulk+jwt"})
    wait_until(lambda: requests.post(
        ngx.base + "/enrol/x", timeout=10,
        headers={"Authorization": "Bearer " + blocked["token"]}).status_code == 403, 3, "block")
    for hdr, want in [(None, (401, "unauthenticated")),
                      ("Bearer " + forged, (401, "bad_signature")),
                      ("Bearer " + blocked["token"], (403, "bulk_token_blocked"))]:
        r = requests.post(ngx.base + "/enrol/x", timeout=10,
                          headers={"Authorization": hdr} if hdr else {})
        assert code(r) == want, r.text
    assert len(up.hits) == hits + 1


def test_enrol_expired_by_debug_clock(kit):
    server, mp, gw, ngx, up = kit
    good = bulk_new(server)
    gw.shift_clock(8 * 86400)
    r = requests.post(ngx.base + "/enrol/x", timeout=10,
                      headers={"Authorization": "Bearer " + good["token"]})
    assert code(r) == (401, "token_expired")


def test_enrol_refusal_budget(server, tmp_path):
    with Gateway(tmp_path, server.base, "enrol:\n  refusals_per_minute: 3\n") as gw:
        gw.wait_ready()
        for i in range(3):
            r = requests.get(gw.base + "/auth/enrol", timeout=5,
                             headers={"X-Forwarded-For": "10.9.8.7"})
            assert r.headers["X-Sitetoken-Code"] == "unauthenticated"
        r = requests.get(gw.base + "/auth/enrol", timeout=5, headers={"X-Forwarded-For": "10.9.8.7"})
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        # another source address has its own budget
        r = requests.get(gw.base + "/auth/enrol", timeout=5, headers={"X-Forwarded-For": "10.9.8.8"})
        assert r.headers["X-Sitetoken-Code"] == "unauthenticated"


def test_authority_stopped_then_back(start_server, tmp_path):
    server = start_server()
    from device import MP

    mp = MP(server, server.ctl("mp", "add", "mp-x", json_out=True, check=0).doc["api_key"])
    d = enrolled(mp, server)
    with Gateway(tmp_path, server.base, "max_staleness: 3s\n") as gw:
        gw.wait_ready()
        port = server.base.rsplit(":", 1)[1]
        r = call(gw.base, d, path="/auth", htu="http://127.0.0.1:%d/" % gw.port)
        assert r.status_code == 200, r.text
        server.stop()
        t0 = time.monotonic()
        # served from cache until max_staleness, then 503 unavailable
        assert call(gw.base, d, path="/auth", htu="http://127.0.0.1:%d/" % gw.port).status_code == 200
        r = wait_until(lambda: (lambda r: r if r.status_code == 503 else None)(
            call(gw.base, d, path="/auth", htu="http://127.0.0.1:%d/" % gw.port)), 10, "503")
        assert time.monotonic() - t0 >= 2.0
        assert r.json()["code"] == "unavailable" and r.headers["Retry-After"]
        assert requests.get(gw.base + "/readyz", timeout=5).status_code == 503
        # the follower logs it on its next turn (within a second)
        wait_until(lambda: "event=stale" in gw.log(), 5, "event=stale in the log")
        # back on the same port: recovers by itself
        cfg = (tmp_path / "sitetoken.yaml").read_text().replace("port: 0", "port: " + port)
        (tmp_path / "sitetoken.yaml").write_text(cfg)
        start_server(cfg)
        gw.wait_ready(15)
        assert call(gw.base, d, path="/auth", htu="http://127.0.0.1:%d/" % gw.port).status_code == 200


def test_config_check(tmp_path):
    from gwkit import GATEWAY
    import subprocess

    bad = tmp_path / "bad.yaml"
    bad.write_text("listen:\n  port: 99999\nnope: 1\nmax_staleness: soon\n")
    r = subprocess.run([str(GATEWAY), "-n", "-c", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "bad.yaml:2: listen.port: out of bounds" in r.stderr
    assert "bad.yaml:3: nope: unknown key" in r.stderr
    assert "bad.yaml:4: max_staleness: not a duration" in r.stderr
    good = tmp_path / "good.yaml"
    good.write_text("audience: urn:x\ntrusted_proxies: [10.0.0.0/8, '::1']\n")
    assert subprocess.run([str(GATEWAY), "-n", "-c", str(good)]).returncode == 0


def test_sitetoken_client_call_through_nginx(kit, tmp_path):
    """The real client (not PyJWT): exchange, then call through nginx to the
    upstream with a fresh DPoP proof each time; refused once revoked."""
    import json
    import subprocess

    from conftest import SITETOKEN_CLIENT

    server, mp, gw, ngx, up = kit
    bulk = bulk_new(server)
    cli = [str(SITETOKEN_CLIENT), "--url", server.base, "--mp-key", mp.api_key]
    r = subprocess.run(cli + ["exchange", bulk["token"]], cwd=tmp_path, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    dev = json.loads(r.stdout)["device_id"]
    for path in ["/api/one?x=1", "/api/two"]:
        r = subprocess.run(cli + ["call", "PUT", ngx.base + path], cwd=tmp_path,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (r.stdout, r.stderr)
        status, body = r.stdout.split("\n", 1)
        assert status == "HTTP 200"
        got = json.loads(body)
        assert got["method"] == "PUT" and got["path"] == path
        assert got["headers"]["x-sitetoken-device-id"] == dev
    server.ctl("device", "block", dev, check=0)
    r = wait_until(lambda: (lambda r: r if r.returncode == 1 else None)(subprocess.run(
        cli + ["call", "GET", ngx.base + "/api/three"], cwd=tmp_path, capture_output=True,
        text=True, timeout=30)), 3, "refused after the block")
    assert r.stdout.startswith("HTTP 401") and '"token_revoked"' in r.stdout


def test_replay_refused_across_loops(server, mp, tmp_path):
    """listen.threads loops share one port and one replay cache: the same
    proof sent at once on many connections (spread over the loops by the
    kernel) is accepted exactly once, and every loop answers /metrics with
    the counts of all."""
    import concurrent.futures

    with Gateway(tmp_path, server.base, "listen:\n  threads: 4\n") as gw:
        gw.wait_ready()
        assert "event=listening loops=4" in gw.log()
        d = enrolled(mp, server)
        url = gw.base + "/auth"
        proof = dpop(d, "GET", url, d.access)
        headers = {"Authorization": "DPoP " + d.access, "DPoP": proof,
                   "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/auth"}

        def once(_):
            with requests.Session() as s:  # a connection of its own
                r = s.get(url, headers=headers, timeout=10)
                return r.headers.get("X-Sitetoken-Code")

        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            got = list(ex.map(once, range(32)))
        assert got.count("ok") == 1, got
        assert got.count("proof_replayed") == 31, got
        assert gw.metric('sitetoken_gateway_answers_total{code="ok"}') == 1
        assert gw.metric('sitetoken_gateway_answers_total{code="proof_replayed"}') == 31


def test_config_reference_matches_the_table():
    """sitetoken-gateway(8) is written from the config table at build time;
    dist/gateway.yaml (the packaged conffile) names every key of the table
    (set or commented out) and passes -n."""
    import re
    import subprocess

    from gwkit import GATEWAY, ROOT

    table = subprocess.run([str(GATEWAY), "--help-config"], capture_output=True, text=True,
                           check=True).stdout
    keys = [line.split()[0] for line in table.splitlines() if line.strip()]
    assert "listen.threads" in keys
    page = (GATEWAY.parents[1] / "man" / "sitetoken-gateway.8").read_text()
    man = subprocess.run([str(GATEWAY), "--man"], capture_output=True, text=True,
                         check=True).stdout
    assert page == man  # the built page is the generator's current output
    conf = (ROOT / "dist" / "gateway.yaml").read_text()
    for k in keys:
        assert ".It Cm %s " % k in page, k
        leaf = k.split(".")[-1]
        assert re.search(r"^\s*#?\s*%s:" % re.escape(leaf), conf, re.M), k
    r = subprocess.run([str(GATEWAY), "-n", "-c", str(ROOT / "dist" / "gateway.yaml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

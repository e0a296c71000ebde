"""The revocation feed: an entry with a growing serial for each token
revocation, device block and bulk block, written with the state change;
?since=N; expiry of entries (a token's at its exp, a device's at its last
token's exp); ETag and 304; unblock removes the entry; ?format=jws verified
by PyJWT against /v1/keys."""

import sqlite3

import jwt
import pytest

from conftest import bulk_new
from device import ISSUER, Device, jwks

DAY = 86400


def feed(server, since=None, **kw):
    r = server.get("/v1/revocations" + ("?since=%d" % since if since is not None else ""), **kw)
    assert r.status_code == 200, r.text
    return r.json()


def exchange(mp, bulk):
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201, r.text
    d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
    return d


def test_entries_and_serials(server, mp, tmp_path):
    assert feed(server) == {"serial": 0, "entries": []}
    bulk = bulk_new(server)
    a, b = exchange(mp, bulk), exchange(mp, bulk)
    server.ctl("token", "revoke", a.jti, "--reason", "lost", check=0)
    server.ctl("device", "block", b.id, check=0)
    server.ctl("bulk", "block", bulk["id"], "--reason", "leaked", check=0)
    doc = feed(server)
    # serials: max(previous + 1, Unix time in microseconds), never reused
    s1, s2, s3 = (e["serial"] for e in doc["entries"])
    assert 0 < s1 < s2 < s3 < 2**53 and doc["serial"] == s3
    assert [(e["kind"], e["id"]) for e in doc["entries"]] == [
        ("token", a.jti), ("device", b.id), ("bulk", bulk["id"])]
    tok = doc["entries"][0]
    assert tok["reason"] == "lost" and tok["revoked_at"].endswith("Z")
    claims = jwt.decode(a.token, options={"verify_signature": False})
    import datetime
    exp = datetime.datetime.fromtimestamp(claims["exp"], datetime.timezone.utc)
    assert tok["expires_at"] == exp.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert doc["entries"][2]["expires_at"] == bulk["expires_at"]
    # since
    assert [e["serial"] for e in feed(server, s1)["entries"]] == [s2, s3]
    assert feed(server, s3) == {"serial": s3, "entries": []}
    # the same transaction: each entry is in the store with its state change
    assert server.token(a.jti)["revoked_at"] is not None
    st, dev = server.admin("GET", "/v1/admin/devices/%s" % b.id)
    assert st == 200 and dev["status"] == "blocked"


def test_etag_and_not_modified(server, mp):
    r = server.get("/v1/revocations")
    etag = r.headers["ETag"]
    assert server.get("/v1/revocations", headers={"If-None-Match": etag}).status_code == 304
    d = exchange(mp, bulk_new(server))
    server.ctl("token", "revoke", d.jti, check=0)
    r = server.get("/v1/revocations", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    r2 = server.get("/v1/revocations?since=0", headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304
    r3 = server.get("/v1/revocations?since=1")
    assert server.get("/v1/revocations?since=1",
                      headers={"If-None-Match": r3.headers["ETag"]}).status_code == 304


def test_expiry_of_entries(server, mp):
    bulk = bulk_new(server, "--lifetime", "60")
    a, b = exchange(mp, bulk), exchange(mp, bulk)
    # b renews later: its device entry lasts until its newest token expires
    server.shift_clock(31 * DAY)
    assert mp.renew(b).status_code == 200
    server.ctl("token", "revoke", a.jti, check=0)
    server.ctl("device", "block", b.id, check=0)
    server.ctl("bulk", "block", bulk["id"], check=0)  # already expired: never listed
    doc = feed(server)
    assert [e["kind"] for e in doc["entries"]] == ["token", "device"]
    last = doc["serial"]
    assert last > doc["entries"][-1]["serial"]  # the bulk entry's, not listed
    server.shift_clock(90 * DAY + 10)  # a's token (issued at day 0) has expired
    doc = feed(server)
    assert [e["kind"] for e in doc["entries"]] == ["device"]
    server.shift_clock(121 * DAY + 10)  # and every token of b
    assert feed(server) == {"serial": last, "entries": []}


def test_unblock_removes_entry(server, mp):
    d = exchange(mp, bulk_new(server))
    server.ctl("device", "block", d.id, check=0)
    assert [e["id"] for e in feed(server)["entries"]] == [d.id]
    first = feed(server)["serial"]
    server.ctl("device", "unblock", d.id, check=0)
    doc = feed(server)
    assert doc == {"serial": first, "entries": []}  # the serial never goes back
    server.ctl("device", "block", d.id, check=0)
    [again] = [e["serial"] for e in feed(server)["entries"]]
    assert again > first


def test_bad_queries(server):
    for q in ("since=-1", "since=x", "since=", "format=xml", "since=99999999999999999999"):
        r = server.get("/v1/revocations?" + q)
        assert r.status_code == 400 and r.json()["code"] == "invalid_request", q


def test_jws_verified_by_pyjwt(server, mp):
    d = exchange(mp, bulk_new(server))
    server.ctl("token", "revoke", d.jti, "--reason", "r", check=0)
    for q in ("?format=jws", "?format=jws&since=0"):
        r = server.get("/v1/revocations" + q)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/jwt"
        token = r.text.strip()
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "sitetoken-revocations+jwt"
        keys = {k["kid"]: k for k in jwks(server)["keys"]}
        k = keys[header["kid"]]
        assert k["status"] == "active"
        doc = jwt.decode(token, jwt.PyJWK(k).key, algorithms=[k["alg"]], issuer=ISSUER,
                         audience="urn:sitetoken:gateway")
        assert doc["exp"] == doc["iat"] + 600  # feed.max_age, default 10 minutes
        assert doc["serial"] == feed(server)["serial"] and doc["entries"] == feed(server)["entries"]
        assert server.get("/v1/revocations" + q,
                          headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    last = feed(server)["serial"]
    r = server.get("/v1/revocations?format=jws&since=%d" % last)
    doc = jwt.decode(r.text.strip(), options={"verify_signature": False})
    assert doc["entries"] == [] and doc["serial"] == last
    # after a rotation the JWS is signed by the new active key
    server.ctl("key", "rotate", "--now", check=0)
    token = server.get("/v1/revocations?format=jws").text.strip()
    active = [k for k in jwks(server)["keys"] if k["status"] == "active"][0]
    assert jwt.get_unverified_header(token)["kid"] == active["kid"]
    jwt.decode(token, jwt.PyJWK(active).key, algorithms=[active["alg"]], issuer=ISSUER,
               audience="urn:sitetoken:gateway")


@pytest.mark.sqlite_only  # the admin API cannot tell a pruned row from an expired one
def test_expired_entries_pruned_serials_kept(server, mp, tmp_path):
    import time

    d = Device()
    doc = mp.register(d).json()
    server.ctl("token", "revoke", doc["token_id"], check=0)
    db = tmp_path / "var" / "sitetoken.db"

    def rows():
        c = sqlite3.connect(db)
        try:
            return c.execute("SELECT count(*) FROM revocations").fetchone()[0]
        finally:
            c.close()

    serial = server.get("/v1/revocations").json()["serial"]
    assert rows() == 1 and serial >= 1
    server.shift_clock(91 * 86400)  # past the token's expiry; the shift runs the timer step
    deadline = time.monotonic() + 10
    while rows() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows() == 0
    feed = server.get("/v1/revocations").json()
    assert feed["entries"] == [] and feed["serial"] == serial

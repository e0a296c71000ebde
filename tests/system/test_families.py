"""Token families (DESIGN.md, after the MP API table): the client tokens
linked by renewal, with the access tokens minted from any of them. A retried
renewal supersedes the successor it was given before and everything that came
from it; an admin's revoke of any member revokes the whole family. Every
revoked member is refused by introspection and by renew/access (401
token_revoked), has its own `token` entry in the feed and on the event stream,
and the token list says what introspection says."""

import json
import sqlite3
import time

import pytest

from conftest import SANITIZED
from device import Device, registered
from test_events import Subscriber

DAY = 86400


@pytest.fixture(autouse=True)
def _clean_exit(server):
    """Each test's server stops cleanly, with nothing from the sanitizers."""
    yield
    assert server.stop() == 0
    log = server.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-3000:]


def code_of(r):
    return r.json()["code"]



def renew(mp, d, token):
    """Renews `token` (not necessarily the device's newest) -> (token, jti)."""
    r = mp.post("/v1/renewals", d.token_body("renew", token=token))
    assert r.status_code == 200, r.text
    return r.json()["token"], r.json()["token_id"]


def access(mp, d, token):
    r = mp.post("/v1/access-tokens", d.token_body("access", token=token))
    assert r.status_code == 200, r.text
    return r.json()["access_token"], r.json()["token_id"]


def jti_of(token):
    import jwt

    return jwt.decode(token, options={"verify_signature": False})["jti"]


def introspect(mp, token):
    r = mp.introspect(token)
    assert r.status_code == 200, r.text
    return r.json()


def feed_tokens(server):
    r = server.get("/v1/revocations")
    assert r.status_code == 200, r.text
    return {e["id"]: e for e in r.json()["entries"] if e["kind"] == "token"}


def listed(server, device_id):
    r = server.ctl("token", "list", "--device", device_id, "--all", json_out=True, check=0)
    return {t["jti"]: t for t in r.doc["items"]}


# What introspection answers for each list status.
INTROSPECTION_OF_STATUS = {
    "active": None,
    "revoked": "token_revoked",
    "superseded": "token_revoked",
    "expired": "token_expired",
    "device_blocked": "device_blocked",
}


def assert_list_tells_truth(server, mp, device_id, tokens):
    """Every token in the list has the status introspection would give it."""
    items = listed(server, device_id)
    for token in tokens:
        item = items[jti_of(token)]
        got = introspect(mp, token)
        want = INTROSPECTION_OF_STATUS[item["status"]]
        if want is None:
            assert got["active"] is True, (item, got)
        else:
            assert got == {"active": False, "reason": want}, (item, got)


def test_retried_renewal_supersedes_earlier_successors(server, mp):
    d = registered(mp)
    root = d.token
    server.shift_clock(31 * DAY)
    s1, s1_jti = renew(mp, d, root)
    server.shift_clock(62 * DAY)  # s1 is renewable now; root is still valid
    s11, s11_jti = renew(mp, d, s1)
    a1, a1_jti = access(mp, d, s1)
    a11, a11_jti = access(mp, d, s11)
    a_root, a_root_jti = access(mp, d, root)  # minted from root: not superseded
    # the device lost the answer and retried, twice
    s2, s2_jti = renew(mp, d, root)
    s3, s3_jti = renew(mp, d, root)

    for t in (s1, a1, s11, a11, s2):
        assert introspect(mp, t) == {"active": False, "reason": "token_revoked"}, t
    for t in (root, s3, a_root):
        assert introspect(mp, t)["active"] is True
    # only the last successor lives: the others can neither renew nor mint
    for t in (s1, s11, s2):
        r = mp.post("/v1/access-tokens", d.token_body("access", token=t))
        assert r.status_code == 401 and code_of(r) == "token_revoked", r.text
        r = mp.post("/v1/renewals", d.token_body("renew", token=t))
        assert r.status_code == 401 and code_of(r) == "token_revoked", r.text
    access(mp, d, s3)

    # one ordinary token entry each, reason superseded
    entries = feed_tokens(server)
    superseded = {s1_jti, a1_jti, s11_jti, a11_jti, s2_jti}
    assert set(entries) == superseded
    assert {e["reason"] for e in entries.values()} == {"superseded"}

    items = listed(server, d.id)
    assert {j for j, t in items.items() if t["status"] == "superseded"} == superseded
    assert items[s3_jti]["status"] == "active" and items[s3_jti]["gen"] == 1
    assert len({t["family"] for t in items.values()}) == 1
    assert "gen" not in items[a1_jti]
    assert_list_tells_truth(server, mp, d.id, [root, s1, a1, s11, a11, s2, s3, a_root])


def test_renewal_audit_names_superseded(server, mp):
    d = registered(mp)
    root = d.token
    server.shift_clock(31 * DAY)
    renew(mp, d, root)
    renew(mp, d, root)
    r = server.ctl("audit", "--all", json_out=True)
    if r.returncode != 0:  # --all is optional in the tool
        r = server.ctl("audit", json_out=True, check=0)
    renewals = [a for a in r.doc["items"] if a["action"] == "token.renew"]
    assert [a["detail"].get("superseded", 0) for a in renewals] == [0, 1]
    assert renewals[1]["detail"]["family"] == jti_of(root)


def test_admin_revoke_of_middle_revokes_family(server, mp):
    d = registered(mp)
    other = registered(mp)
    t0 = d.token
    server.shift_clock(31 * DAY)
    t1, t1_jti = renew(mp, d, t0)
    server.shift_clock(62 * DAY)
    t2, _ = renew(mp, d, t1)
    minted = [access(mp, d, t) for t in (t0, t1, t2)]
    members = [t0, t1, t2] + [a for a, _ in minted]

    r = server.ctl("token", "revoke", t1_jti, "--reason", "stolen laptop", json_out=True, check=0)
    assert r.doc["status"] == "revoked" and r.doc["members_revoked"] == 6
    for t in members:
        assert introspect(mp, t) == {"active": False, "reason": "token_revoked"}
    # no member can renew or mint again
    for t in (t0, t1, t2):
        for path, act in (("/v1/renewals", "renew"), ("/v1/access-tokens", "access")):
            r = mp.post(path, d.token_body(act, token=t))
            assert r.status_code == 401 and code_of(r) == "token_revoked", (path, r.text)
    assert introspect(mp, other.token)["active"] is True

    entries = feed_tokens(server)
    assert set(entries) == {jti_of(t) for t in members}
    assert {e["reason"] for e in entries.values()} == {"stolen laptop"}
    items = listed(server, d.id)
    assert {t["status"] for t in items.values()} == {"revoked"}
    assert_list_tells_truth(server, mp, d.id, members)

    audit = server.ctl("audit", json_out=True, check=0).doc["items"]
    rec = [a for a in audit if a["action"] == "token.revoke"]
    assert len(rec) == 1 and rec[0]["detail"]["members"] == 6
    assert rec[0]["detail"]["family"] == jti_of(t0)

    # nothing left to revoke: a conflict, from any member
    for jti in (t1_jti, jti_of(t0), minted[2][1]):
        r = server.ctl("token", "revoke", jti)
        assert r.returncode == 1 and r.stderr.startswith("conflict"), r.stderr


def test_revoke_of_access_token_takes_family(server, mp):
    d = registered(mp)
    a, a_jti = access(mp, d, d.token)
    r = server.ctl("token", "revoke", a_jti, json_out=True, check=0)
    assert r.doc["members_revoked"] == 2
    assert introspect(mp, d.token) == {"active": False, "reason": "token_revoked"}
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_revoked"


def test_superseded_then_admin_revoke_takes_the_rest(server, mp):
    d = registered(mp)
    root = d.token
    server.shift_clock(31 * DAY)
    _, s1_jti = renew(mp, d, root)
    s2, _ = renew(mp, d, root)  # s1 superseded
    r = server.ctl("token", "revoke", s1_jti, json_out=True, check=0)
    # s1 was already revoked (superseded); root and s2 are revoked now
    assert r.doc["members_revoked"] == 2 and r.doc["status"] == "superseded"
    for t in (root, s2):
        assert introspect(mp, t) == {"active": False, "reason": "token_revoked"}


def test_family_reaches_stream_within_a_second(server, mp):
    d = registered(mp)
    t0 = d.token
    server.shift_clock(31 * DAY)
    t1, t1_jti = renew(mp, d, t0)
    minted = [access(mp, d, t)[1] for t in (t0, t1)]
    want = {jti_of(t0), t1_jti, *minted}
    sub = Subscriber(server)
    t_start = time.monotonic()
    server.ctl("token", "revoke", jti_of(t0), check=0)
    seen = set()
    while seen != want:
        ev = sub.next_event(timeout=5)
        assert ev is not None and ev["event"] == "revocation", ev
        data = json.loads(ev["data"])
        assert data["kind"] == "token"
        seen.add(data["id"])
    elapsed = time.monotonic() - t_start
    sub.close()
    if not SANITIZED:
        assert elapsed < 1.0, elapsed


def test_supersede_reaches_stream(server, mp):
    d = registered(mp)
    root = d.token
    server.shift_clock(31 * DAY)
    _, s1_jti = renew(mp, d, root)
    sub = Subscriber(server)
    renew(mp, d, root)
    ev = sub.next_event(timeout=5)
    data = json.loads(ev["data"])
    assert (data["kind"], data["id"], data["reason"]) == ("token", s1_jti, "superseded")
    sub.close()


def test_families_in_store(server, mp):
    d = registered(mp)
    root = d.token
    server.shift_clock(31 * DAY)
    s1, s1_jti = renew(mp, d, root)
    _, a_jti = access(mp, d, s1)
    fams = {t["jti"]: t["family"] for t in server.admin_items("/v1/admin/tokens?limit=1000")}
    assert fams == {jti_of(root): jti_of(root), s1_jti: jti_of(root), a_jti: jti_of(root)}


@pytest.mark.sqlite_only  # the point is SQLite's query plan
def test_family_revoke_uses_the_family_index(server, tmp_path):
    db = sqlite3.connect(tmp_path / "var" / "sitetoken.db")
    try:
        plan = db.execute("EXPLAIN QUERY PLAN UPDATE tokens SET revoked_at = 1"
                          " WHERE family = 'x' AND expires_at > 0 AND revoked_at IS NULL").fetchall()
    finally:
        db.close()
    assert any("tokens_family" in row[-1] for row in plan), plan

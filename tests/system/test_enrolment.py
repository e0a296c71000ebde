"""Enrolment beyond the anchors (issue 17): a retried first exchange, and the
blast radius of a change shown before it is made (--dry-run). Every refusal
is checked by its `code`; tokens are checked with PyJWT."""

import pytest

from conftest import basic_config, bulk_new, clean_exit
from device import MP, Device, verify_with_pyjwt


def code_of(r):
    return r.json()["code"]


def audit_actions(server, action):
    r = server.ctl("audit", "recent", "--action", action, "--limit", "100", json_out=True, check=0)
    return r.doc["items"]


# Retry-safe first enrolment -------------------------------------------------


def test_retried_first_exchange_burns_no_use(server, mp):
    """max_uses 1: the first answer is lost, the retry (same key, same bulk
    token) gets the same device id and a fresh token, the first try's token
    is superseded, and a second device is refused bulk_token_exhausted."""
    bulk = bulk_new(server, "--max-uses", "1")
    d = Device()
    r1 = mp.exchange(d, bulk["token"])
    assert r1.status_code == 201, r1.text
    first = r1.json()  # the answer the device never saw

    r2 = mp.exchange(d, bulk["token"])
    assert r2.status_code == 201, r2.text
    second = r2.json()
    assert second["device_id"] == first["device_id"]
    assert second["token_id"] != first["token_id"]
    assert second["gen"] == 0 and second["bulk_token_id"] == bulk["id"]
    claims = verify_with_pyjwt(server, second["token"], "sitetoken-client+jwt")
    assert claims["sub"] == first["device_id"] and claims["bulk"] == bulk["id"]

    # the first try's token is superseded; the retry's is live
    r = mp.introspect(first["token"])
    assert r.json() == {"active": False, "reason": "token_revoked"}
    assert mp.introspect(second["token"]).json()["active"] is True
    assert server.token(first["token_id"])["revoke_reason"] == "superseded"
    feed = {e["id"]: e for e in server.get("/v1/revocations").json()["entries"]}
    assert feed[first["token_id"]]["reason"] == "superseded"

    # no use was burnt: one use, and another device is refused
    listed = server.ctl("bulk", "list", json_out=True, check=0).doc["items"]
    assert [b["uses"] for b in listed if b["id"] == bulk["id"]] == [1]
    r = mp.exchange(Device(), bulk["token"])
    assert r.status_code == 403 and code_of(r) == "bulk_token_exhausted", r.text

    # the retry is audited as one, with what it superseded
    ex = audit_actions(server, "token.exchange")
    assert [a["detail"].get("retry") for a in ex].count(True) == 1, ex
    retry = next(a for a in ex if a["detail"].get("retry"))
    assert retry["detail"]["superseded"] == 1
    clean_exit(server)


def test_retry_after_the_window_is_a_new_use(start_server):
    """Past tokens.exchange_retry_window the same key exchanging again takes
    a use (and is refused when there is none left)."""
    server = start_server(basic_config("tokens:\n  exchange_retry_window: 1m\n"))
    mp = MP(server, server.ctl("mp", "add", "mp-w", json_out=True, check=0).doc["api_key"])
    bulk = bulk_new(server, "--max-uses", "1")
    d = Device()
    assert mp.exchange(d, bulk["token"]).status_code == 201
    server.shift_clock(61)
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 403 and code_of(r) == "bulk_token_exhausted", r.text
    clean_exit(server)


def test_retry_of_a_blocked_token_or_device_is_refused(server, mp):
    """A retry burns no use but is no way around a block."""
    bulk = bulk_new(server, "--max-uses", "1")
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201
    server.ctl("bulk", "block", bulk["id"], check=0)
    r2 = mp.exchange(d, bulk["token"])
    assert r2.status_code == 403 and code_of(r2) == "bulk_token_blocked", r2.text
    server.ctl("bulk", "unblock", bulk["id"], check=0)
    server.ctl("device", "block", r.json()["device_id"], check=0)
    r3 = mp.exchange(d, bulk["token"])
    assert r3.status_code == 403 and code_of(r3) == "device_blocked", r3.text
    clean_exit(server)


def test_other_key_same_bulk_token_is_a_new_device(server, mp):
    bulk = bulk_new(server, "--max-uses", "2")
    a, b = Device(), Device()
    ra, rb = mp.exchange(a, bulk["token"]), mp.exchange(b, bulk["token"])
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["device_id"] != rb.json()["device_id"]
    # both kept their tokens: a new device supersedes nothing
    assert mp.introspect(ra.json()["token"]).json()["active"] is True
    r = mp.exchange(Device(), bulk["token"])
    assert r.status_code == 403 and code_of(r) == "bulk_token_exhausted"
    clean_exit(server)


def test_retry_window_zero_turns_it_off(start_server):
    server = start_server(basic_config("tokens:\n  exchange_retry_window: 0s\n"))
    mp = MP(server, server.ctl("mp", "add", "mp-z", json_out=True, check=0).doc["api_key"])
    bulk = bulk_new(server, "--max-uses", "1")
    d = Device()
    assert mp.exchange(d, bulk["token"]).status_code == 201
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 403 and code_of(r) == "bulk_token_exhausted", r.text
    clean_exit(server)


# Blast radius before the blow ---------------------------------------------


def test_dry_run_changes_nothing(server, mp):
    """--dry-run prints the impact numbers (GET /v1/admin/impact) and changes
    nothing; the real command then does what it said."""
    bulk = bulk_new(server, "--max-uses", "5")
    devices = [Device() for _ in range(3)]
    for d in devices:
        assert mp.exchange(d, bulk["token"]).status_code == 201
    dev_id = mp.introspect(devices[0].token).json()["device_id"]
    jti = mp.introspect(devices[0].token).json()["token_id"]
    mp_id = server.ctl("mp", "list", json_out=True, check=0).doc["items"][0]["id"]

    cases = [
        (("bulk", "block", bulk["id"]), 3, 3),
        (("device", "block", dev_id), 1, 1),
        (("token", "revoke", jti), 1, 1),
        (("mp", "remove", mp_id), 3, 0),
    ]
    for argv, devs, toks in cases:
        doc = server.ctl(*argv, "--dry-run", json_out=True, check=0).doc
        assert (doc["devices"], doc["live_tokens"]) == (devs, toks), (argv, doc)
        out = server.ctl(*argv, "--dry-run", check=0).stdout
        assert out.startswith("dry run: nothing changed\n"), out
        assert "would affect %d device(s), %d live token(s)" % (devs, toks) in out, out
    # nothing changed: every token is live, the bulk token and the MP work
    for d in devices:
        assert mp.introspect(d.token).json()["active"] is True
    assert [b["status"] for b in server.ctl("bulk", "list", json_out=True, check=0).doc["items"]] == ["active"]
    assert mp.exchange(Device(), bulk["token"]).status_code == 201
    # a dry run of an unknown id or a bad one: zero, or the route's refusal
    doc = server.ctl("device", "block", "GUID:nope", "--dry-run", check=1)
    assert doc.stderr.startswith("invalid_request:"), doc.stderr
    # and the real commands do it, answering and auditing the same numbers
    st, doc = server.admin("POST", "/v1/admin/devices/%s/block" % dev_id, {})
    assert st == 200 and doc["impact"] == {"devices": 1, "live_tokens": 1}, doc
    assert mp.introspect(devices[0].token).json()["reason"] == "device_blocked"
    rec = audit_actions(server, "device.block")[0]
    assert (rec["detail"]["devices"], rec["detail"]["live_tokens"]) == (1, 1)
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/block" % bulk["id"], {})
    assert st == 200 and doc["impact"] == {"devices": 4, "live_tokens": 4}, doc
    assert audit_actions(server, "bulk.block")[0]["detail"]["devices"] == 4
    jti2 = mp.introspect(devices[1].token).json()["token_id"]
    st, doc = server.admin("POST", "/v1/admin/tokens/%s/revoke" % jti2, {})
    assert st == 200 and doc["impact"] == {"devices": 1, "live_tokens": 1}, doc
    st, doc = server.admin("DELETE", "/v1/admin/mps/%s" % mp_id)
    assert st == 200 and doc["impact"] == {"devices": 4, "live_tokens": 0}, doc
    assert audit_actions(server, "mp.remove")[0]["detail"]["devices"] == 4
    clean_exit(server)


# Labels that travel -----------------------------------------------------------


def labelled_setup(server):
    r = server.ctl("mp", "add", "mp-lab", "--label", "site=hq", "--label", "zone=z1", json_out=True,
                   check=0)
    assert r.doc["labels"] == {"site": "hq", "zone": "z1"}
    mp = MP(server, r.doc["api_key"])
    bulk = bulk_new(server, "--label", "ring=pilot", "--label", "site=lab4")
    assert bulk["labels"] == {"ring": "pilot", "site": "lab4"}
    return mp, bulk


def test_labels_travel_from_bulk_token_and_mp(server):
    mp, bulk = labelled_setup(server)
    want = {"ring": "pilot", "site": "lab4", "zone": "z1"}  # the bulk token's site wins
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201, r.text
    dev_id = r.json()["device_id"]
    assert verify_with_pyjwt(server, d.token, "sitetoken-client+jwt")["labels"] == want
    a = mp.access(d)
    assert a.status_code == 200
    assert verify_with_pyjwt(server, a.json()["access_token"], "sitetoken-access+jwt")["labels"] == want
    # the device shows them; the device list filters by one
    assert server.ctl("device", "show", dev_id, json_out=True, check=0).doc["labels"] == want
    other = Device()
    assert mp.register(other).status_code == 201  # the MP's labels only
    assert verify_with_pyjwt(server, other.token, "sitetoken-client+jwt")["labels"] == {
        "site": "hq", "zone": "z1"}
    items = server.ctl("device", "list", "--label", "ring=pilot", json_out=True, check=0).doc["items"]
    assert [i["id"] for i in items] == [dev_id]
    items = server.ctl("device", "list", "--label", "zone=z1", json_out=True, check=0).doc["items"]
    assert len(items) == 2
    assert server.ctl("device", "list", "--label", "ring=other", json_out=True, check=0).doc["items"] == []
    # the audit record shows both values of the key both set
    rec = server.ctl("audit", "recent", "--action", "token.exchange", json_out=True, check=0).doc["items"][0]
    assert rec["detail"]["labels"] == "ring=pilot,site=lab4,zone=z1"
    assert rec["detail"]["labels_overridden"] == {"site": {"mp": "hq", "bulk": "lab4"}}
    # a token without labels has no claim (not an empty one)
    plain = MP(server, server.ctl("mp", "add", "mp-plain", json_out=True, check=0).doc["api_key"])
    p = Device()
    assert plain.register(p).status_code == 201
    assert "labels" not in verify_with_pyjwt(server, p.token, "sitetoken-client+jwt")
    clean_exit(server)


def test_labels_refused_when_not_labels(server):
    bad = [
        {"Ring": "pilot"},                       # upper case key
        {"ring": "a,b"},                         # ',' in a value
        {"ring": "a=b"},                         # '=' in a value
        {"ring": ""},                            # empty value
        {"ring": "x" * 65},                      # too long
        {"ring": "caf\u00e9"},                   # not ASCII
        {"k" * 65: "v"},                         # key too long
        {"k%d" % i: "v" for i in range(17)},     # more than 16 pairs
        {"ring": 1},                             # not a string
        ["ring=pilot"],                          # not an object
    ]
    for labels in bad:
        st, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"labels": labels})
        assert st == 400 and doc["code"] == "invalid_request", (labels, doc)
        st, doc = server.admin("POST", "/v1/admin/mps", {"name": "m", "labels": labels})
        assert st == 400 and doc["code"] == "invalid_request", (labels, doc)
    for q in ("label=ring", "label=Ring%3Dx", "label=ring%3Da%2Cb", "label=ring%3Dx&status=active"):
        st, doc = server.admin("GET", "/v1/admin/devices?" + q)
        assert st == 400 and doc["code"] == "invalid_request", (q, doc)
    r = server.ctl("bulk", "new", "--label", "noequals", check=2)
    clean_exit(server)


def test_labels_past_sixteen_together_refused(server):
    args = []
    for i in range(10):
        args += ["--label", "m%d=v" % i]
    mp = MP(server, server.ctl("mp", "add", "mp-many", *args, json_out=True, check=0).doc["api_key"])
    args = []
    for i in range(10):
        args += ["--label", "b%d=v" % i]
    bulk = bulk_new(server, *args)
    r = mp.exchange(Device(), bulk["token"])
    assert r.status_code == 409 and code_of(r) == "conflict", r.text
    clean_exit(server)


def test_gateway_passes_labels_on(server, tmp_path):
    from gwkit import Gateway, dpop
    import requests

    mp, bulk = labelled_setup(server)
    d = Device()
    assert mp.exchange(d, bulk["token"]).status_code == 201
    access = mp.access(d).json()["access_token"]
    with Gateway(tmp_path, server.base) as gw:
        gw.wait_ready()
        url = "http://127.0.0.1:%d/auth" % gw.port
        htu = "http://127.0.0.1:%d/" % gw.port  # /auth's own prefix is not the request's
        r = requests.get(url, timeout=5, headers={"Authorization": "DPoP " + access,
                                                  "DPoP": dpop(d, "GET", htu, access)})
        assert r.status_code == 200, r.text
        assert r.headers["X-Sitetoken-Labels"] == "ring=pilot, site=lab4, zone=z1"
        # no labels: the header is there, empty
        plain_mp = MP(server, server.ctl("mp", "add", "mp-q", json_out=True, check=0).doc["api_key"])
        q = Device()
        assert plain_mp.register(q).status_code == 201
        qa = plain_mp.access(q).json()["access_token"]
        r = requests.get(url, timeout=5, headers={"Authorization": "DPoP " + qa,
                                                  "DPoP": dpop(q, "GET", htu, qa)})
        assert r.status_code == 200 and r.headers["X-Sitetoken-Labels"] == ""
    clean_exit(server)


# Bulk tokens bound to where and how fast ------------------------------------


def exchange_from(mp, d, bulk_token, address=None):
    body = d.exchange_body(bulk_token)
    if address is not None:
        body["client_address"] = address
    r = mp.post("/v1/exchanges", body)
    if r.status_code == 201:
        d.token = r.json()["token"]
    return r


def test_cidr_bound_bulk_token(server, mp):
    bulk = bulk_new(server, "--cidr", "10.1.0.0/16,2001:db8::/32", "--max-uses", "10")
    assert bulk["cidrs"] == ["10.1.0.0/16", "2001:db8::/32"]
    listed = server.ctl("bulk", "list", json_out=True, check=0).doc["items"][0]
    assert listed["cidrs"] == ["10.1.0.0/16", "2001:db8::/32"] and listed["rate_per_second"] is None
    for addr in ("10.1.2.3", "2001:db8:1::7", "::ffff:10.1.0.9"):
        r = exchange_from(mp, Device(), bulk["token"], addr)
        assert r.status_code == 201, (addr, r.text)
    # outside: forbidden, audited with the address; no use taken
    r = exchange_from(mp, Device(), bulk["token"], "10.2.0.1")
    assert r.status_code == 403 and code_of(r) == "forbidden", r.text
    r = exchange_from(mp, Device(), bulk["token"], "2001:db9::1")
    assert r.status_code == 403 and code_of(r) == "forbidden", r.text
    recs = audit_actions(server, "refused.exchange")
    assert [a["detail"]["code"] for a in recs][:2] == ["forbidden", "forbidden"]
    assert recs[0]["detail"]["client_address"] == "2001:db9::1"
    # required, and an address
    r = exchange_from(mp, Device(), bulk["token"])
    assert r.status_code == 400 and code_of(r) == "invalid_request", r.text
    r = exchange_from(mp, Device(), bulk["token"], "not-an-address")
    assert r.status_code == 400 and code_of(r) == "invalid_request", r.text
    assert server.ctl("bulk", "list", json_out=True, check=0).doc["items"][0]["uses"] == 3
    # an unbound token takes any address, or none
    free = bulk_new(server)
    assert exchange_from(mp, Device(), free["token"], "192.0.2.1").status_code == 201
    assert exchange_from(mp, Device(), free["token"]).status_code == 201
    clean_exit(server)


def test_bad_ranges_and_rates_refused(server):
    for cidrs in (["10.1.0.1/16"], ["10.1.0.0/33"], ["nonsense"], [], ["10.0.0.0/8"] * 17,
                  "10.0.0.0/8", [7], ["2001:db8::/129"], ["10.1.0.0/016"]):
        st, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"cidrs": cidrs})
        assert st == 400 and doc["code"] == "invalid_request", (cidrs, doc)
    for rate in (0, -1, 1000001, "5", 1.5):
        st, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"rate_per_second": rate})
        assert st == 400 and doc["code"] == "invalid_request", (rate, doc)
    server.ctl("bulk", "new", "--rate", "five", check=2)
    server.ctl("bulk", "new", "--rate", "3/min", check=2)
    # contradictory: a lifetime past bulk_max_lifetime is refused, not clamped
    r = server.ctl("bulk", "new", "--lifetime", "10081", check=2)
    assert "out of range" in r.stderr, r.stderr
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"lifetime_minutes": 10081})
    assert st == 400 and doc["code"] == "invalid_request", doc
    clean_exit(server)


def test_rate_capped_bulk_token(server, mp):
    """--rate 2/s: at most two successful exchanges in one second of the
    (debug) clock, then 429 rate_limited with Retry-After; refusals do not
    count; the next second admits again."""
    bulk = bulk_new(server, "--rate", "2/s")
    assert bulk["rate_per_second"] == 2
    import time

    t0 = time.monotonic()
    codes = []
    for _ in range(8):
        r = mp.exchange(Device(), bulk["token"])
        codes.append(r.status_code)
        if r.status_code == 429:
            assert code_of(r) == "rate_limited" and r.headers["Retry-After"] == "1", r.text
    spanned = int(time.monotonic() - t0) + 2  # the burst touched at most this many seconds
    assert 2 <= codes.count(201) <= 2 * spanned and codes.count(429) >= 8 - 2 * spanned, codes
    assert set(codes) <= {201, 429}
    server.shift_clock(5)
    assert mp.exchange(Device(), bulk["token"]).status_code == 201
    clean_exit(server)


def test_impact_counts_by_index_for_bulk_and_key(server, mp):
    """The bulk token's live tokens are counted by the bulk_id the tokens
    carry (access tokens too, since migration 11), the key's grouped by
    device; both agree with what the devices hold."""
    bulk = bulk_new(server)
    devs = [Device() for _ in range(2)]
    for d in devs:
        assert mp.exchange(d, bulk["token"]).status_code == 201
        assert mp.access(d).status_code == 200
    intranet = Device()
    assert mp.register(intranet).status_code == 201
    st, doc = server.admin("GET", "/v1/admin/impact?bulk_id=" + bulk["id"])
    assert (doc["devices"], doc["live_tokens"]) == (2, 4), doc
    kid = next(k["kid"] for k in server.get("/v1/keys").json()["keys"] if k["status"] == "active")
    st, doc = server.admin("GET", "/v1/admin/impact?kid=" + kid)
    assert (doc["devices"], doc["live_tokens"]) == (3, 5), doc
    # a revoked family no longer counts
    server.ctl("token", "revoke", mp.introspect(devs[0].token).json()["token_id"], check=0)
    st, doc = server.admin("GET", "/v1/admin/impact?bulk_id=" + bulk["id"])
    assert doc["live_tokens"] == 2, doc
    st, doc = server.admin("GET", "/v1/admin/impact?kid=" + kid)
    assert (doc["devices"], doc["live_tokens"]) == (2, 3), doc
    clean_exit(server)

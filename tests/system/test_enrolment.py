"""Enrolment beyond the anchors (issue 17): a retried first exchange, and the
blast radius of a change shown before it is made (--dry-run). Every refusal
is checked by its `code`; tokens are checked with PyJWT."""

import pytest

from conftest import basic_config, bulk_new
from device import MP, Device, verify_with_pyjwt


def clean_exit(server):
    assert server.stop() == 0
    log = server.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-3000:]


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
    # and the real command does it
    server.ctl("device", "block", dev_id, check=0)
    assert mp.introspect(devices[0].token).json()["reason"] == "device_blocked"
    clean_exit(server)

"""Recovering from a leaked signing key (issue 17): key taint promotes
another key at once and lets every token the key signed renew regardless of
renew_after; key revoke (refused for the active key) takes it out of the
JWKS, sends `event: keys`, and its tokens are told token_revoked. The
runbook of docs/operations.md is run as printed. Tokens checked with PyJWT."""

import os
import re
import subprocess

import jwt

from conftest import BUILD, ROOT, SANITIZED, clean_exit
from device import Device, jwks, verify_with_pyjwt
from test_events import Subscriber


def code_of(r):
    return r.json()["code"]


def active_kid(server):
    return next(k["kid"] for k in jwks(server)["keys"] if k["status"] == "active")


def enrol(mp, n):
    devices = []
    for _ in range(n):
        d = Device()
        r = mp.register(d)
        assert r.status_code == 201, r.text
        devices.append(d)
    return devices


def test_taint_renew_revoke_leaves_no_device_stranded(server, mp):
    devices = enrol(mp, 4)
    leaked = active_kid(server)

    # the active key cannot be revoked: taint it first
    r = server.ctl("key", "revoke", leaked, check=1)
    assert r.stderr.startswith("conflict:"), r.stderr
    # the dry run names the blast radius and changes nothing
    dry = server.ctl("key", "revoke", leaked, "--dry-run", json_out=True, check=0).doc
    assert dry["kind"] == "kid" and dry["devices"] == 4 and dry["live_tokens"] == 4
    assert active_kid(server) == leaked

    # renewing before renew_after is refused while the key is untainted
    r = mp.renew(devices[0])
    assert r.status_code == 409 and code_of(r) == "conflict"

    sub = Subscriber(server)
    t = server.ctl("key", "taint", leaked, json_out=True, check=0).doc
    assert t["kid"] == leaked and t["devices"] == 4 and t["live_tokens"] == 4
    assert sub.next_event()["event"] == "keys"
    sub.close()
    keys = {k["kid"]: k for k in jwks(server)["keys"]}
    assert keys[leaked]["status"] == "tainted"
    fresh = active_kid(server)
    assert fresh != leaked
    assert {k["kid"]: k for k in t["items"]}[leaked]["status"] == "tainted"
    # tainting twice is a conflict; an unknown key is not found
    r = server.ctl("key", "taint", leaked, check=1)
    assert r.stderr.startswith("conflict:")
    r = server.ctl("key", "taint", "nosuchkid", check=1)
    assert r.stderr.startswith("not_found:")

    old_tokens = [d.token for d in devices]
    # every device renews at once, and the renewals are signed by another key
    for d in devices:
        r = mp.renew(d)
        assert r.status_code == 200, r.text
        assert jwt.get_unverified_header(d.token)["kid"] == fresh
        verify_with_pyjwt(server, d.token, "sitetoken-client+jwt")
    # a renewal of a renewal (fresh key) is held to renew_after again
    r = mp.renew(devices[0])
    assert r.status_code == 409 and code_of(r) == "conflict"

    sub = Subscriber(server)
    rv = server.ctl("key", "revoke", leaked, json_out=True, check=0).doc
    assert rv["devices"] == 4 and rv["live_tokens"] == 4
    assert sub.next_event(timeout=1)["event"] == "keys"
    sub.close()
    assert leaked not in {k["kid"] for k in jwks(server)["keys"]}
    listed = {k["kid"]: k for k in server.ctl("key", "list", json_out=True, check=0).doc["items"]}
    assert listed[leaked]["status"] == "revoked" and listed[leaked]["revoked_at"]

    # the leaked key's tokens are revoked; every device still has a valid one
    for tok in old_tokens:
        assert mp.introspect(tok).json() == {"active": False, "reason": "token_revoked"}
    for d in devices:
        assert mp.introspect(d.token).json()["active"] is True
        r = mp.access(d)
        assert r.status_code == 200, r.text
    # a token of the revoked key cannot renew either
    stale = Device()
    stale.key, stale.jwk = devices[1].key, devices[1].jwk
    r = mp.post("/v1/renewals", devices[1].token_body("renew", token=old_tokens[1]))
    assert r.status_code == 401 and code_of(r) == "token_revoked", r.text
    # revoking again is a conflict
    r = server.ctl("key", "revoke", leaked, check=1)
    assert r.stderr.startswith("conflict:")
    # the audit trail has both, with the numbers
    for action in ("keys.taint", "keys.revoke"):
        recs = server.ctl("audit", "recent", "--action", action, json_out=True, check=0).doc["items"]
        assert recs and recs[0]["subject"] == leaked and recs[0]["detail"]["devices"] == 4
    clean_exit(server)


def test_taint_of_a_next_key_retires_it(server):
    server.ctl("key", "rotate", check=0)
    nxt = next(k["kid"] for k in jwks(server)["keys"] if k["status"] == "next")
    before = active_kid(server)
    server.ctl("key", "taint", nxt, check=0)
    keys = {k["kid"]: k for k in jwks(server)["keys"]}
    assert keys[nxt]["status"] == "tainted"
    assert active_kid(server) == before  # the active key signs on
    # a tainted, non-active key may be revoked straight away
    server.ctl("key", "revoke", nxt, check=0)
    assert nxt not in {k["kid"] for k in jwks(server)["keys"]}
    clean_exit(server)


def test_key_routes_refuse_bad_input(server):
    status, doc = server.admin("POST", "/v1/admin/keys/%2E%2E/taint", {})
    assert status == 404 and doc["code"] == "not_found"
    status, doc = server.admin("POST", "/v1/admin/keys/" + "a" * 65 + "/revoke", {})
    assert status == 404 and doc["code"] == "not_found"
    status, doc = server.admin("POST", "/v1/admin/keys/abc/taint", {"x": 1})
    assert status == 400 and doc["code"] == "invalid_request"
    status, doc = server.admin("GET", "/v1/admin/impact?kid=nosuch")
    assert status == 200 and doc["devices"] == 0 and doc["live_tokens"] == 0
    clean_exit(server)


def runbook_blocks():
    text = (ROOT / "docs/operations.md").read_text()
    section = text.split("### Signing key compromised", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def test_runbook_as_printed(server, mp):
    blocks = runbook_blocks()
    assert len(blocks) == 2, blocks
    devices = enrol(mp, 3)
    leaked = active_kid(server)
    env = dict(os.environ, SITETOKEN_ADMIN_SOCKET=server.admin_socket, KID=leaked,
               PATH=str(BUILD / "tools") + os.pathsep + os.environ["PATH"])

    def run(block):
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, cwd=server.workdir,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, "%s\n%s%s" % (block, r.stdout, r.stderr)
        return r.stdout

    out = run(blocks[0])
    assert "would affect 3 device(s)" in out, out
    assert active_kid(server) != leaked
    # the devices renew on their next contact (here: now)
    for d in devices:
        assert mp.renew(d).status_code == 200
    run(blocks[1])
    assert leaked not in {k["kid"] for k in jwks(server)["keys"]}
    for d in devices:
        assert mp.introspect(d.token).json()["active"] is True
    clean_exit(server)


def test_gateway_refuses_a_revoked_keys_tokens_within_a_second(server, mp, tmp_path):
    """Tainted: the gateway still accepts the key's access tokens (it verifies);
    revoked: `event: keys`, the gateway refetches and refuses them within a
    second, while the renewed device's new access token passes."""
    import time

    import requests
    from gwkit import Gateway, dpop, wait_until

    d = enrol(mp, 1)[0]
    old_access = mp.access(d).json()["access_token"]
    leaked = active_kid(server)
    with Gateway(tmp_path, server.base, "max_staleness: 60s\nkid_cooldown: 1h\n") as gw:
        gw.wait_ready()
        url = "http://127.0.0.1:%d/auth" % gw.port
        htu = "http://127.0.0.1:%d/" % gw.port

        def call(access):
            return requests.get(url, timeout=5, headers={"Authorization": "DPoP " + access,
                                                         "DPoP": dpop(d, "GET", htu, access)})

        assert call(old_access).status_code == 200
        server.ctl("key", "taint", leaked, check=0)
        assert call(old_access).status_code == 200  # a tainted key still verifies
        assert mp.renew(d).status_code == 200
        new_access = mp.access(d).json()["access_token"]
        wait_until(lambda: call(new_access).status_code == 200, 5, "the new key at the gateway")
        server.ctl("key", "revoke", leaked, check=0)
        t0 = time.monotonic()
        r = wait_until(lambda: (lambda r: r if r.status_code == 401 else None)(call(old_access)),
                       5, "the revoked key's token refused")
        assert time.monotonic() - t0 < 1.0 + (4.0 if SANITIZED else 0.0)
        assert r.headers["X-Sitetoken-Code"] in ("unknown_key", "token_revoked"), r.headers
        assert call(new_access).status_code == 200
    clean_exit(server)


def test_token_list_says_what_introspection_says_for_a_revoked_key(server, mp):
    """A token signed by a revoked key is listed `revoked` (introspection:
    token_revoked), computed from the key's state without touching its row;
    the renewed device's new token stays `active`."""
    stuck, renewed = enrol(mp, 2)
    leaked = active_kid(server)
    server.ctl("key", "taint", leaked, check=0)
    assert mp.renew(renewed).status_code == 200
    server.ctl("key", "revoke", leaked, check=0)
    assert mp.introspect(stuck.token).json() == {"active": False, "reason": "token_revoked"}
    info = mp.introspect(renewed.token).json()
    assert info["active"] is True and info["kid"] != leaked
    items = server.ctl("token", "list", json_out=True, check=0).doc["items"]
    by_kid = {}
    for t in items:
        by_kid.setdefault(t["kid"], set()).add(t["status"])
        if t["kid"] == leaked:
            assert t["revoked_at"] is None  # nothing marked: the key's state says it
    assert by_kid[leaked] == {"revoked"}, by_kid
    assert "active" in by_kid[info["kid"]], by_kid
    # token show and the device's own list agree
    jti = jwt.decode(stuck.token, options={"verify_signature": False})["jti"]
    assert server.ctl("token", "show", jti, json_out=True, check=0).doc["status"] == "revoked"
    dev_id = jwt.decode(stuck.token, options={"verify_signature": False})["sub"]
    shown = server.ctl("device", "show", dev_id, json_out=True, check=0).doc
    assert {t["status"] for t in shown["tokens"]} == {"revoked"}, shown
    clean_exit(server)

"""sitetokenctl, command by command: tables for people, --json for scripts,
exit codes 0 (ok), 1 (the server refused; its code on stderr) and 2 (usage);
bulk token, device and token administration and their semantics; admin
routes are not reachable from a TCP listener."""

import json
import subprocess

import pytest

from conftest import SITETOKENCTL, bulk_new
from device import Device

DAY = 86400


def code_of(r):
    return r.json()["code"]


def devices_from_bulk(mp, server, n, *args):
    bulk = bulk_new(server, *args)
    devs = []
    for _ in range(n):
        d = Device()
        r = mp.exchange(d, bulk["token"])
        assert r.status_code == 201, r.text
        d.id = r.json()["device_id"]
        d.jti = r.json()["token_id"]
        devs.append(d)
    return bulk, devs


# --- bulk tokens ---------------------------------------------------------------


def test_bulk_new_table_and_list(server):
    r = server.ctl("bulk", "new", "--max-uses", "3", "--note", "lab 4", check=0)
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("Bulk token ") and lines[1].startswith("valid until ")
    bulk_id = lines[0].split()[-1]
    assert lines[2].count(".") == 2  # the token, shown once
    doc = server.ctl("bulk", "list", json_out=True, check=0).doc
    assert doc["next"] is None
    [b] = doc["items"]
    assert b["id"] == bulk_id and b["status"] == "active" and b["uses"] == 0
    assert b["max_uses"] == 3 and b["note"] == "lab 4" and b["last_used_at"] is None
    assert "token" not in b
    table = server.ctl("bulk", "list", check=0).stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "STATUS", "USES"]
    assert bulk_id in table and "active" in table


def test_bulk_status_exhausted_expired_and_paging(server, mp):
    _, _ = devices_from_bulk(mp, server, 1, "--max-uses", "1")
    short = bulk_new(server, "--lifetime", "1")
    for _ in range(3):
        bulk_new(server)
    items = server.ctl("bulk", "list", "--all", json_out=True, check=0).doc["items"]
    assert len(items) == 5
    by_id = {b["id"]: b for b in items}
    assert sorted(b["status"] for b in items) == ["active"] * 4 + ["exhausted"]
    exhausted = [b for b in items if b["status"] == "exhausted"][0]
    assert exhausted["uses"] == 1 and exhausted["last_used_at"] is not None
    # pages of 2, newest first, each id once
    page = server.ctl("bulk", "list", "--limit", "2", json_out=True, check=0).doc
    seen = [b["id"] for b in page["items"]]
    while page["next"]:
        page = server.ctl("bulk", "list", "--limit", "2", "--after", page["next"],
                          json_out=True, check=0).doc
        seen += [b["id"] for b in page["items"]]
    assert seen == [b["id"] for b in items]
    assert "(more: --after" in server.ctl("bulk", "list", "--limit", "2", check=0).stdout
    server.shift_clock(120)
    items = server.ctl("bulk", "list", json_out=True, check=0).doc["items"]
    assert {b["id"]: b["status"] for b in items}[short["id"]] == "expired"
    assert by_id[short["id"]]["status"] == "active"


def test_bulk_block_unblock(server, mp):
    bulk, [early] = devices_from_bulk(mp, server, 1)
    r = server.ctl("bulk", "block", bulk["id"], "--reason", "leaked", check=0)
    assert bulk["id"] in r.stdout and "blocked" in r.stdout
    # a blocked bulk token is refused ...
    r = mp.exchange(Device(), bulk["token"])
    assert r.status_code == 403 and code_of(r) == "bulk_token_blocked"
    # ... but the device that already exchanged it keeps working: past
    # tokens.renew_after (30 days) it renews, and the new token works
    server.shift_clock(31 * DAY)
    r = mp.renew(early)
    assert r.status_code == 200, r.text
    assert r.json()["gen"] == 1 and r.json()["device_id"] == early.id
    r = mp.introspect(early.token)
    assert r.json()["active"] is True and r.json()["gen"] == 1
    assert mp.access(early).status_code == 200
    server.shift_clock(0)  # back inside the bulk token's window
    listed = server.ctl("bulk", "list", json_out=True, check=0).doc["items"]
    assert listed[0]["status"] == "blocked"
    # blocking twice is a conflict (exit 1, code on stderr)
    r = server.ctl("bulk", "block", bulk["id"])
    assert r.returncode == 1 and r.stderr.startswith("conflict")
    doc = server.ctl("bulk", "unblock", bulk["id"], json_out=True, check=0).doc
    assert doc["status"] == "active"
    assert mp.exchange(Device(), bulk["token"]).status_code == 201
    r = server.ctl("bulk", "unblock", bulk["id"])
    assert r.returncode == 1 and r.stderr.startswith("conflict")


def test_bulk_block_unknown(server):
    r = server.ctl("bulk", "block", "3f0c6f5e-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
    assert r.returncode == 1 and r.stderr.startswith("not_found")
    r = server.ctl("bulk", "block", "not-a-uuid")
    assert r.returncode == 1 and r.stderr.startswith("not_found")


# --- devices -------------------------------------------------------------------


def test_device_list_show_filters(server, mp):
    _, devs = devices_from_bulk(mp, server, 3)
    lab = Device(name="lab-printer")
    assert mp.register(lab).status_code == 201
    doc = server.ctl("device", "list", json_out=True, check=0).doc
    assert len(doc["items"]) == 4 and doc["next"] is None
    d0 = {d["id"]: d for d in doc["items"]}[devs[0].id]
    assert d0["status"] == "active" and d0["reg"] == "bulk" and d0["jkt"] == devs[0].jkt
    assert server.ctl("device", "list", "--name", "lab-", json_out=True,
                      check=0).doc["items"][0]["name"] == "lab-printer"
    assert server.ctl("device", "list", "--name", "zzz", json_out=True, check=0).doc["items"] == []
    # paging by id
    ids = []
    page = server.ctl("device", "list", "--limit", "3", json_out=True, check=0).doc
    ids += [d["id"] for d in page["items"]]
    assert page["next"] == ids[-1]
    page = server.ctl("device", "list", "--limit", "3", "--after", page["next"], json_out=True,
                      check=0).doc
    ids += [d["id"] for d in page["items"]]
    assert page["next"] is None and sorted(ids) == ids and len(set(ids)) == 4
    # show: the device with its tokens
    mp.access(devs[0])
    show = server.ctl("device", "show", devs[0].id, json_out=True, check=0).doc
    assert show["id"] == devs[0].id and show["jkt"] == devs[0].jkt
    assert [t["kind"] for t in show["tokens"]] == ["access", "client"]
    assert show["tokens_next"] is None
    table = server.ctl("device", "show", devs[0].id, check=0).stdout
    assert "key thumbprint" in table and devs[0].jti in table
    r = server.ctl("device", "show", "GUID:3f0c6f5e-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
    assert r.returncode == 1 and r.stderr.startswith("not_found")
    table = server.ctl("device", "list", "--status", "active", check=0).stdout
    assert table.splitlines()[0].split()[:2] == ["ID", "STATUS"] and len(table.splitlines()) == 5


def test_device_block_unblock(server, mp):
    _, [d, other] = devices_from_bulk(mp, server, 2)
    r = server.ctl("device", "block", d.id, "--reason", "stolen", json_out=True, check=0)
    assert r.doc["status"] == "blocked" and r.doc["serial"] >= 1
    # its tokens are all refused ...
    assert mp.introspect(d.token).json() == {"active": False, "reason": "device_blocked"}
    r = mp.access(d)
    assert r.status_code == 403 and code_of(r) == "device_blocked"
    # ... it cannot come back with the same key ...
    r = mp.register(d)
    assert r.status_code == 403 and code_of(r) == "device_blocked"
    # ... and the others are untouched
    assert mp.introspect(other.token).json()["active"] is True
    blocked = server.ctl("device", "list", "--status", "blocked", json_out=True, check=0).doc
    assert [x["id"] for x in blocked["items"]] == [d.id]
    r = server.ctl("device", "block", d.id)
    assert r.returncode == 1 and r.stderr.startswith("conflict")
    out = server.ctl("device", "unblock", d.id, check=0).stdout
    assert d.id in out and "active" in out
    assert mp.introspect(d.token).json()["active"] is True
    assert mp.access(d).status_code == 200


# --- tokens --------------------------------------------------------------------


def test_token_list_and_revoke(server, mp):
    _, [d, other] = devices_from_bulk(mp, server, 2)
    old = d.token
    listed = server.ctl("token", "list", "--device", d.id, json_out=True, check=0).doc["items"]
    assert [t["jti"] for t in listed] == [d.jti] and listed[0]["status"] == "active"
    assert len(server.ctl("token", "list", json_out=True, check=0).doc["items"]) == 2
    r = server.ctl("token", "revoke", d.jti, "--reason", "lost laptop", json_out=True, check=0)
    assert r.doc["status"] == "revoked" and r.doc["revoke_reason"] == "lost laptop"
    assert mp.introspect(old).json() == {"active": False, "reason": "token_revoked"}
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_revoked"
    assert mp.introspect(other.token).json()["active"] is True
    table = server.ctl("token", "list", "--device", d.id, check=0).stdout
    assert "revoked" in table and table.splitlines()[0].split()[0] == "JTI"
    r = server.ctl("token", "revoke", d.jti)
    assert r.returncode == 1 and r.stderr.startswith("conflict")
    r = server.ctl("token", "revoke", "AAAAAAAAAAAAAAAAAAAAAA")
    assert r.returncode == 1 and r.stderr.startswith("not_found")


def test_token_list_tells_what_introspection_would(server, mp):
    """Item 17: a blocked device's tokens are listed device_blocked (as
    introspection answers), access tokens have no gen, and a token is
    expired only once introspection says so (exp + clock skew)."""
    _, [d, other] = devices_from_bulk(mp, server, 2)
    r = mp.access(d)
    assert r.status_code == 200, r.text
    acc, acc_jti = r.json()["access_token"], r.json()["token_id"]
    items = {t["jti"]: t for t in server.ctl("token", "list", "--device", d.id, json_out=True,
                                             check=0).doc["items"]}
    assert items[d.jti]["gen"] == 0 and items[d.jti]["kind"] == "client"
    assert "gen" not in items[acc_jti] and items[acc_jti]["kind"] == "access"
    assert "gen" not in mp.introspect(acc).json()
    assert mp.introspect(d.token).json()["gen"] == 0
    table = server.ctl("token", "list", "--device", d.id, check=0).stdout.splitlines()
    head = table[0].split()
    gen_col = head.index("GEN")
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows[acc_jti][gen_col] == "-" and rows[d.jti][gen_col] == "0"

    server.ctl("device", "block", d.id, check=0)
    items = server.ctl("token", "list", "--device", d.id, json_out=True, check=0).doc["items"]
    assert {t["status"] for t in items} == {"device_blocked"}
    for t in (d.token, acc):
        assert mp.introspect(t).json() == {"active": False, "reason": "device_blocked"}
    assert "device_blocked" in server.ctl("token", "list", "--device", d.id, check=0).stdout
    shown = server.ctl("device", "show", d.id, json_out=True, check=0).doc["tokens"]
    assert {t["status"] for t in shown} == {"device_blocked"}
    server.ctl("device", "unblock", d.id, check=0)
    items = server.ctl("token", "list", "--device", d.id, json_out=True, check=0).doc["items"]
    assert {t["status"] for t in items} == {"active"}

    # the access token is 8 hours; the skew is 5 minutes
    server.shift_clock(8 * 3600 + 60)
    assert mp.introspect(acc).json()["active"] is True
    items = {t["jti"]: t for t in server.ctl("token", "list", "--device", d.id, json_out=True,
                                             check=0).doc["items"]}
    assert items[acc_jti]["status"] == "active"
    server.shift_clock(8 * 3600 + 301)
    assert mp.introspect(acc).json() == {"active": False, "reason": "token_expired"}
    items = {t["jti"]: t for t in server.ctl("token", "list", "--device", d.id, json_out=True,
                                             check=0).doc["items"]}
    assert items[acc_jti]["status"] == "expired" and items[d.jti]["status"] == "active"
    assert mp.introspect(other.token).json()["active"] is True


def test_key_list_columns_named_for_what_they_show(server):
    server.ctl("key", "rotate", "--now", check=0)
    doc = server.ctl("key", "list", json_out=True, check=0).doc
    retired = [k for k in doc["items"] if k["status"] == "retired"]
    assert len(retired) == 1 and retired[0]["retired_at"] and retired[0]["removed_after"]
    lines = server.ctl("key", "list", check=0).stdout.splitlines()
    head = lines[0].split()
    assert "RETIRES" not in head
    assert head[head.index("RETIRED") + 1] == "REMOVED_AFTER"
    row = [line.split() for line in lines[1:] if line.split()[0] == retired[0]["kid"]][0]
    assert row[head.index("RETIRED")] == retired[0]["retired_at"]
    assert row[head.index("REMOVED_AFTER")] == retired[0]["removed_after"]
    active = [line.split() for line in lines[1:] if "active" in line.split()][0]
    assert active[head.index("RETIRED")] == "-" and active[head.index("REMOVED_AFTER")] == "-"


# --- the tool itself -----------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["bogus"], ["bulk"], ["bulk", "list", "extra"], ["bulk", "list", "--limit", "0"],
    ["bulk", "block"], ["bulk", "unblock", "x", "--reason", "r"], ["device", "list", "--status", "x"],
    ["device", "show"], ["token", "revoke"], ["token", "list", "--nope"], ["audit", "--after", "x"],
    ["audit", "verify", "x"], ["bulk", "new", "--lifetime", "abc"],
])
def test_usage_errors_exit_2(server, args):
    r = server.ctl(*args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert "usage" in r.stderr


def test_server_gone_exits_3(tmp_path):
    r = subprocess.run([str(SITETOKENCTL), "-s", str(tmp_path / "none.sock"), "status"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 3 and "none.sock" in r.stderr


def test_every_command_json_is_one_document(server, mp):
    _, [d] = devices_from_bulk(mp, server, 1)
    bulk = server.ctl("bulk", "list", json_out=True, check=0).doc["items"][0]
    for args in (["status"], ["bulk", "list"], ["device", "list"], ["device", "show", d.id],
                 ["token", "list"], ["token", "list", "--device", d.id], ["key", "list"],
                 ["mp", "list"], ["audit"], ["audit", "verify"], ["bulk", "block", bulk["id"]],
                 ["bulk", "unblock", bulk["id"]], ["device", "block", d.id],
                 ["device", "unblock", d.id], ["token", "revoke", d.jti]):
        r = server.ctl(*args, json_out=True)
        assert r.returncode == 0, (args, r.stderr)
        json.loads(r.stdout)


def test_admin_routes_not_on_tcp(server, mp):
    for method, path in (("GET", "/v1/admin/devices"), ("GET", "/v1/admin/bulk-tokens"),
                         ("GET", "/v1/admin/tokens"), ("GET", "/v1/admin/audit"),
                         ("GET", "/v1/admin/audit/verify"),
                         ("POST", "/v1/admin/tokens/AAAAAAAAAAAAAAAAAAAAAA/revoke"),
                         ("POST", "/v1/admin/devices/GUID:x/block")):
        r = server.get(path) if method == "GET" else server.post(path, json={})
        assert r.status_code == 404 and code_of(r) == "not_found", path


def test_admin_list_bad_queries(server):
    for path in ("/v1/admin/devices?limit=0", "/v1/admin/devices?limit=1001",
                 "/v1/admin/devices?status=gone", "/v1/admin/audit?after=x",
                 "/v1/admin/tokens?device_id=nope", "/v1/admin/bulk-tokens?limit=-1"):
        status, doc = server.admin("GET", path)
        assert status == 400 and doc["code"] == "invalid_request", path
    status, doc = server.admin("POST", "/v1/admin/devices/GUID:3f0c6f5e-1a2b-4c3d-8e9f-0a1b2c3d4e5f/block",
                               {"reason": "x", "extra": 1})
    assert status == 400 and doc["code"] == "invalid_request"

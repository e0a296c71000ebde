"""The audit trail: admin actions, issuance, renewal, revocation, blocks and
refused exchanges each leave a record with the right actor; `sitetokenctl
audit` pages through it; `audit verify` passes on an untouched trail and
fails (exit 1, first bad seq) on one edited, deleted from or reordered in the
SQLite file with the server stopped."""

import os
import sqlite3

import pytest

from conftest import bulk_new
from device import Device


def populate(server, mp):
    bulk = bulk_new(server, "--max-uses", "1")
    d = Device()
    assert mp.exchange(d, bulk["token"]).status_code == 201
    assert mp.exchange(Device(), bulk["token"]).status_code == 403  # exhausted: refused
    jti = server.ctl("token", "list", json_out=True, check=0).doc["items"][0]["jti"]
    server.ctl("token", "revoke", jti, "--reason", "test", check=0)
    dev = server.ctl("device", "list", json_out=True, check=0).doc["items"][0]["id"]
    server.ctl("device", "block", dev, check=0)
    server.ctl("bulk", "block", bulk["id"], check=0)
    return bulk, dev, jti


def test_records_and_actors(server, mp):
    bulk, dev, jti = populate(server, mp)
    items = server.ctl("audit", "--all", json_out=True, check=0).doc["items"]
    actions = [(a["actor"].split(":")[0], a["action"], a["subject"]) for a in items]
    uid = str(os.getuid())
    assert any(a["action"] == "mp.add" and a["actor"] == "admin:" + uid for a in items)
    assert ("admin", "bulk.create", bulk["id"]) in actions
    assert ("mp", "token.exchange", dev) in actions
    assert any(a["action"] == "refused.exchange" and a["detail"]["code"] == "bulk_token_exhausted"
               for a in items)
    assert ("admin", "token.revoke", jti) in actions
    assert ("admin", "device.block", dev) in actions
    assert ("admin", "bulk.block", bulk["id"]) in actions
    assert any(a["actor"] == "system" and a["action"] == "keys.lifecycle" for a in items)
    assert all(a["actor"] == "admin:" + uid for a in items if a["actor"].startswith("admin"))
    assert [a["seq"] for a in items] == list(range(1, len(items) + 1))
    for prev, cur in zip(items, items[1:]):
        assert cur["prev_hash"] == prev["hash"]
    # paging
    page = server.ctl("audit", "--limit", "3", json_out=True, check=0).doc
    assert [a["seq"] for a in page["items"]] == [1, 2, 3] and page["next"] == "3"
    page = server.ctl("audit", "--after", "3", "--limit", "2", json_out=True, check=0).doc
    assert [a["seq"] for a in page["items"]] == [4, 5]
    table = server.ctl("audit", check=0).stdout
    assert table.splitlines()[0].split()[:4] == ["SEQ", "TIME", "ACTOR", "ACTION"]
    assert "token.revoke" in table


def test_verify_intact(server, mp):
    populate(server, mp)
    r = server.ctl("audit", "verify", json_out=True, check=0)
    assert r.doc["ok"] is True and r.doc["records"] >= 8 and len(r.doc["head"]) == 64
    last = server.ctl("audit", "--all", json_out=True, check=0).doc["items"][-1]
    assert r.doc["head"] == last["hash"]
    assert "intact" in server.ctl("audit", "verify", check=0).stdout


def tamper(server, tmp_path, sql):
    assert server.stop() == 0
    db = sqlite3.connect(tmp_path / "var" / "sitetoken.db")
    db.executescript(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize("sql, bad", [
    ("UPDATE audit SET detail = '{\"reason\":\"nothing to see\"}' WHERE seq = 4", 4),
    ("UPDATE audit SET actor = 'system' WHERE seq = 3", 3),
    ("DELETE FROM audit WHERE seq = 5", 5),
    # swap two records' content (seq stays in order): the lower one shows
    ("UPDATE audit SET seq = -1 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = 7;"
     " UPDATE audit SET seq = 7 WHERE seq = -1", 6),
])
@pytest.mark.sqlite_only  # tampers with the audit rows in the file
def test_verify_catches_tampering(start_server, tmp_path, sql, bad):
    server = start_server()
    from device import MP

    mp = MP(server, server.ctl("mp", "add", "mp-a", json_out=True, check=0).doc["api_key"])
    populate(server, mp)
    tamper(server, tmp_path, sql)
    server = start_server()
    r = server.ctl("audit", "verify", json_out=True)
    assert r.returncode == 4, r.stdout
    doc = __import__("json").loads(r.stdout)
    assert doc["ok"] is False and doc["first_bad_seq"] == bad
    assert "audit_broken" in r.stderr
    r = server.ctl("audit", "verify")
    assert r.returncode == 4 and "BROKEN at seq %d" % bad in r.stdout

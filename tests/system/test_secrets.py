"""Secrets stay secret: no token, bulk token or MP key the server handed out
(or was shown) appears in its log or in any database file; and the process
drops root to the configured user after binding."""

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
import conftest

from conftest import Server, basic_config, bulk_new, write_config
from device import MP, Device


def assert_clean_exit(server):
    """Stops the server: exit 0, and no sanitizer report (ASan/UBSan builds)."""
    rc = server.stop()
    log = server.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-3000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, log[-2000:])


def secret_parts(token):
    """A JWS is findable by its signature; an API key by its random part."""
    if token.count(".") == 2:
        return [token, token.split(".")[2]]
    return [token, token.split("_", 1)[-1]]


@pytest.mark.sqlite_only  # scans the database file and its raw rows
def test_tokens_and_keys_never_logged_or_stored(server):
    keys = [server.ctl("mp", "add", "mp-%d" % i, json_out=True, check=0).doc["api_key"] for i in range(2)]
    mp = MP(server, keys[0])
    bulk = bulk_new(server)["token"]
    secrets = list(keys) + [bulk]
    devices = []
    for i in range(4):
        d = Device()
        r = mp.register(d) if i % 2 else mp.exchange(d, bulk)
        assert r.status_code == 201, r.text
        secrets.append(d.token)
        devices.append(d)
    for d in devices:
        r = mp.access(d)
        assert r.status_code == 200
        secrets.append(r.json()["access_token"])
        assert mp.introspect(d.token).json()["active"] is True
    # renewals (the debug clock moves past renew_after), then access again
    server.shift_clock(31 * 86400)
    for d in devices:
        r = mp.renew(d)
        assert r.status_code == 200, r.text
        secrets.append(d.token)
        r = mp.access(d)
        assert r.status_code == 200, r.text
        secrets.append(r.json()["access_token"])
    # refused requests carry secrets too: a wrong key, a forged bulk token
    wrong_key = "stmp_" + "Z" * 43
    assert MP(server, wrong_key).register(Device()).status_code == 401
    assert mp.exchange(Device(), bulk[:-4] + "AAAA").status_code == 401
    secrets.append(wrong_key)
    server.ctl("token", "revoke", mp.introspect(devices[0].token).json()["token_id"], check=0)
    server.ctl("device", "block", mp.introspect(devices[1].token).json()["device_id"], check=0)
    audit = server.ctl("audit", "--all", json_out=True, check=0).stdout
    assert "revoke" in audit
    # the database files while the server runs (the WAL holds the recent
    # writes) and again after it stopped (checkpointed into the main file)
    var = server.workdir / "var"
    blobs = {"audit (sitetokenctl)": audit.encode()}
    for p in var.iterdir():
        if p.is_file() and p.name.startswith("sitetoken.db"):
            blobs["running " + p.name] = p.read_bytes()
    assert "running sitetoken.db-wal" in blobs
    assert_clean_exit(server)

    log = server.log()
    assert "event=issue" in log  # the log did record the issuance (by id)
    assert "level=debug" in log  # at the most talkative level
    blobs["stderr log"] = log.encode()
    for p in var.iterdir():
        if p.is_file() and p.name.startswith("sitetoken.db"):
            blobs[p.name] = p.read_bytes()
    assert "sitetoken.db" in blobs
    con = sqlite3.connect(str(var / "sitetoken.db"))
    rows = con.execute("SELECT * FROM audit").fetchall()
    con.close()
    assert len(rows) >= 10
    blobs["audit table"] = repr(rows).encode()
    for secret in secrets:
        for part in secret_parts(secret):
            for where, data in blobs.items():
                assert part.encode() not in data, "a secret (%s...) is in %s" % (part[:12], where)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_drops_root_to_the_configured_user(start_server):
    import pwd
    nobody = pwd.getpwnam("nobody")
    wd = Path(tempfile.mkdtemp(prefix="sitetoken-user-", dir="/tmp"))
    try:
        wd.chmod(0o755)  # the unprivileged process must reach its state
        s = start_server(basic_config("user: nobody\n"), workdir=wd)
        with open("/proc/%d/status" % s.proc.pid) as f:
            status = dict(l.split(":", 1) for l in f if ":" in l)
        uids = status["Uid"].split()
        gids = status["Gid"].split()
        assert all(int(u) == nobody.pw_uid for u in uids), uids
        assert all(int(g) == nobody.pw_gid for g in gids), gids
        assert status["Groups"].split() in ([str(nobody.pw_gid)], [])
        assert "event=privileges_dropped user=nobody" in s.log()
        # the writer still writes, the admin socket still answers root
        mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
        assert mp.register(Device()).status_code == 201
        assert s.get("/readyz").status_code == 200
        if conftest.STORE_BACKEND == "sqlite":  # a database server's files are its own
            st = (wd / "var" / "sitetoken.db").stat()
            assert st.st_uid == nobody.pw_uid
        assert (wd / "var").stat().st_uid == nobody.pw_uid
        assert_clean_exit(s)
        # and it starts again (as root, dropping again) on the same state
        s = start_server(basic_config("user: nobody\n"), workdir=wd)
        assert mp.server is not s
        assert MP(s, mp.api_key).register(Device()).status_code == 201
        assert_clean_exit(s)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def test_unknown_user_stops_start_up(start_server):
    s = start_server(basic_config("user: no-such-user-here\n"), wait=False)
    assert s.wait_exit() == 1
    assert "no such user" in s.log()

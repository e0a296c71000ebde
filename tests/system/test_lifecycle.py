"""Issue 10, items 7-12: rotations, restarts and restores never break the
authority. Published-key cap and retired keys leaving, one server per
database, the seal key a database needs, serials that survive a restore,
nothing created before a fatal start-up error, and no symlink followed."""

import base64
import calendar
import json
import os
import re
import shutil
import socket
import sqlite3
import time

import pytest

from conftest import basic_config, bulk_new, run_sitetokend, write_config


def _kid_of(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def _rotate_now(server):
    return server.admin("POST", "/v1/admin/keys/rotate", {"now": True})


def _published(server):
    return {k["kid"]: k["status"] for k in server.get("/v1/keys").json()["keys"]}


def _listed(server):
    status, doc = server.admin("GET", "/v1/admin/keys")
    assert status == 200, doc
    return {k["kid"]: k["status"] for k in doc["items"]}


def test_300_rotations_then_restart(start_server, tmp_path):
    """Item 7: 300 `rotate --now`: past the cap a refusal (409 conflict saying
    when a slot frees) that changes nothing; moving the debug clock there lets
    the next one through; every success is in force; a restart succeeds and
    the JWKS and key list tell the same truth."""
    # it reads the JWKS after every rotation: past the public read budget
    server = start_server(basic_config("limits:\n  public_rate: 0\n", level="warn"))
    bulk = bulk_new(server, "--lifetime", "60")
    pinned = _kid_of(bulk["token"])
    offset = refusals = 0
    for i in range(300):
        status, doc = _rotate_now(server)
        if status == 409:
            refusals += 1
            assert doc["code"] == "conflict", doc
            m = re.search(r"frees at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", doc["detail"])
            assert m, doc
            before = _published(server)
            assert len(before) == 32
            frees = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ"))
            offset = max(offset, frees - int(time.time()) + 1)
            server.shift_clock(offset)
            continue
        assert status == 200, doc
        active = re.search(r"activated:(\S+)", doc["changed"]).group(1)
        keys = _published(server)
        assert keys[active] == "active" and len(keys) <= 32
        assert list(keys.values()).count("active") == 1
        assert _listed(server) == keys
        if offset < 3600:
            assert pinned in keys  # its bulk token is still valid
        assert _kid_of(bulk_new(server)["token"]) == active  # in force at once
    assert refusals > 0
    final = _published(server)
    assert server.stop() == 0
    again = start_server(basic_config(level="warn"))
    assert "too many keys" not in again.log()
    keys = _published(again)
    assert _listed(again) == keys and set(keys) == set(final)
    assert list(keys.values()).count("active") == 1 and len(keys) <= 32
    active = [k for k, v in keys.items() if v == "active"][0]
    assert _kid_of(bulk_new(again)["token"]) == active


@pytest.mark.sqlite_only  # the database lock file
def test_second_server_on_one_database_refused(start_server, tmp_path):
    """Item 8: a second sitetokend on the same database (own admin socket and
    port) is refused, naming the lock file and the first one's pid."""
    first = start_server(basic_config(level="warn"))
    other = tmp_path / "other"
    other.mkdir()
    cfg = write_config(
        other / "sitetoken.yaml",
        basic_config(
            "state_dir: %s\nadmin_socket: %s\n" % (tmp_path / "var", other / "admin.sock"),
            level="warn",
        ),
    )
    r = run_sitetokend(["-c", str(cfg)], cwd=other)
    assert r.returncode == 1, r.stderr
    assert "sitetoken.db.lock" in r.stderr and "pid %d" % first.proc.pid in r.stderr, r.stderr
    assert not (other / "admin.sock").exists()
    assert first.get("/healthz").status_code == 200


def _db_keys(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT kid FROM keys ORDER BY kid").fetchall()
    finally:
        db.close()


@pytest.mark.sqlite_only  # the sealed key rows in the file
def test_seal_key_missing_or_wrong_refused(start_server, tmp_path):
    """Item 9: with sealed keys in the database, a missing seal key file is a
    start-up error saying what to restore (and no new one is made), and one
    that does not unseal them is refused before any key is added."""
    s = start_server(basic_config(level="warn"))
    assert s.stop() == 0
    var = tmp_path / "var"
    keys = _db_keys(var / "sitetoken.db")
    assert keys
    os.rename(var / "seal.key", tmp_path / "seal.key.saved")
    before = sorted(os.listdir(var))
    r = run_sitetokend(["-c", str(tmp_path / "sitetoken.yaml")], cwd=tmp_path)
    assert r.returncode == 1 and "restore the seal key file" in r.stderr, r.stderr
    assert not (var / "seal.key").exists()
    assert sorted(os.listdir(var)) == before
    fd = os.open(var / "seal.key", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)
    r = run_sitetokend(["-c", str(tmp_path / "sitetoken.yaml")], cwd=tmp_path)
    assert r.returncode == 1 and "does not unseal" in r.stderr, r.stderr
    assert "restore the seal key file" in r.stderr
    assert _db_keys(var / "sitetoken.db") == keys
    os.replace(tmp_path / "seal.key.saved", var / "seal.key")
    start_server(basic_config(level="warn"))


@pytest.mark.sqlite_only  # a backup is a copy of the file
def test_serials_never_reused_after_restore(start_server, tmp_path):
    """Item 10: back up, revoke, restore, revoke: the new serial is above every
    serial given out before, and a gateway resuming at the lost one sees it."""
    s = start_server(basic_config(level="warn"))
    b1, b2, b3 = bulk_new(s), bulk_new(s), bulk_new(s)
    assert s.admin("POST", "/v1/admin/bulk-tokens/%s/block" % b1["id"])[0] == 200
    first = s.get("/v1/revocations?since=0").json()["serial"]
    assert s.stop() == 0
    var = tmp_path / "var"
    shutil.copy(var / "sitetoken.db", tmp_path / "backup.db")  # clean stop: no WAL left
    s = start_server(basic_config(level="warn"))
    assert s.admin("POST", "/v1/admin/bulk-tokens/%s/block" % b2["id"])[0] == 200
    lost = s.get("/v1/revocations?since=0").json()["serial"]
    assert lost > first
    assert s.stop() == 0
    for suffix in ("-wal", "-shm"):
        if (var / ("sitetoken.db" + suffix)).exists():
            os.unlink(var / ("sitetoken.db" + suffix))
    shutil.copy(tmp_path / "backup.db", var / "sitetoken.db")
    s = start_server(basic_config(level="warn"))
    assert s.get("/v1/revocations?since=0").json()["serial"] == first
    assert s.admin("POST", "/v1/admin/bulk-tokens/%s/block" % b3["id"])[0] == 200
    doc = s.get("/v1/revocations?since=%d" % lost).json()  # the gateway's resume point
    assert [e["id"] for e in doc["entries"]] == [b3["id"]]
    assert doc["entries"][0]["serial"] > lost and doc["serial"] < 2**53


def _free_port_taken():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


def test_port_taken_creates_nothing(tmp_path):
    """Item 11: the port taken -> exit 1, and the state dir gets no file."""
    sock, port = _free_port_taken()
    try:
        (tmp_path / "var").mkdir()
        cfg = write_config(
            tmp_path / "sitetoken.yaml",
            "listen:\n  - address: 127.0.0.1\n    port: %d\nlog:\n  level: warn\n" % port,
        )
        r = run_sitetokend(["-c", str(cfg)], cwd=tmp_path)
        assert r.returncode == 1 and "listen 127.0.0.1 port %d" % port in r.stderr, r.stderr
        assert os.listdir(tmp_path / "var") == []
    finally:
        sock.close()


def test_unknown_user_creates_nothing(tmp_path):
    """Item 11: `user:` unknown -> exit 1 before anything is created; -n says
    FILE:LINE: user: message."""
    (tmp_path / "var").mkdir()
    cfg = write_config(tmp_path / "sitetoken.yaml", basic_config("user: no-such-user-x\n"))
    r = run_sitetokend(["-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 1 and "no-such-user-x" in r.stderr, r.stderr
    assert os.listdir(tmp_path / "var") == []
    r = run_sitetokend(["-n", "-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 1
    assert re.search(r"sitetoken\.yaml:\d+: user: no such user: no-such-user-x", r.stderr), r.stderr


def test_check_only_tls_files(tmp_path):
    """Item 11: -n checks that TLS files exist and parse."""
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    for cert in (tmp_path / "missing.pem", tmp_path / "junk.pem"):
        cfg = write_config(
            tmp_path / "sitetoken.yaml",
            "listen:\n  - address: 127.0.0.1\n    port: 0\n    tls:\n"
            "      certificate: %s\n      key: %s\n" % (cert, cert),
        )
        r = run_sitetokend(["-n", "-c", str(cfg)], cwd=tmp_path)
        assert r.returncode == 1, r.stderr
        assert re.search(r"sitetoken\.yaml:5: listen\[0\]\.tls\.certificate: .+", r.stderr), r.stderr
        assert not (tmp_path / "var").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("name", [
    pytest.param("sitetoken.db", marks=pytest.mark.sqlite_only), "seal.key",
    pytest.param("sitetoken.db-wal", marks=pytest.mark.sqlite_only)])
def test_symlinked_state_file_refused(start_server, tmp_path, name):
    """Item 12: a state file replaced by a symbolic link (what the service
    account could do) is refused at a root start; its target is untouched."""
    s = start_server(basic_config("user: nobody\n", level="warn"))
    assert s.stop() == 0
    var = tmp_path / "var"
    target = tmp_path / "target"
    target.write_bytes(b"root's own file\n")
    os.chmod(target, 0o600)
    if (var / name).exists():
        os.unlink(var / name)
    os.symlink(target, var / name)
    r = run_sitetokend(["-c", str(tmp_path / "sitetoken.yaml")], cwd=tmp_path)
    assert r.returncode == 1 and "symbolic link" in r.stderr, r.stderr
    st = os.stat(target)
    assert target.read_bytes() == b"root's own file\n"
    assert st.st_uid == 0 and (st.st_mode & 0o777) == 0o600

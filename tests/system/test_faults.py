"""Store faults: a database another process holds locked, a database that
cannot be written (read-only), and a full disk. Affected requests get
`unavailable` (503, Retry-After), never a token without its record; /readyz
says so; and the server recovers by itself when the fault clears."""

import os
import sqlite3
import subprocess
import time

import pytest

from conftest import basic_config
from device import MP, Device

FAST_BUSY = "store:\n  busy_timeout: 200ms\n"


def stored(server, jtis, db=None):
    con = sqlite3.connect("file:%s?mode=ro" % (db or server.workdir / "var" / "sitetoken.db"),
                          uri=True, timeout=30)
    try:
        return {r[0] for j in jtis for r in con.execute("SELECT jti FROM tokens WHERE jti = ?", (j,))}
    finally:
        con.close()


def wait_until(pred, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def assert_unavailable(r):
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "unavailable"
    assert r.headers.get("Retry-After", "").isdigit()
    assert "token" not in r.json()


def test_locked_database(start_server):
    s = start_server(basic_config(FAST_BUSY))
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    assert mp.register(Device()).status_code == 201
    assert s.get("/readyz").status_code == 200

    locker = sqlite3.connect(str(s.workdir / "var" / "sitetoken.db"), isolation_level=None, timeout=5)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        for _ in range(3):
            assert_unavailable(mp.register(Device()))
        assert_unavailable(s.get("/readyz"))
        # reads that need no write still work
        assert s.get("/v1/keys").status_code == 200
        assert s.get("/healthz").status_code == 200
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    wait_until(lambda: s.get("/readyz").status_code == 200, what="readyz after unlock")
    d = Device()
    r = mp.register(d)
    assert r.status_code == 201, r.text
    assert stored(s, [r.json()["token_id"]]) == {r.json()["token_id"]}


def test_read_only_database(start_server):
    s = start_server(basic_config(FAST_BUSY))
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    assert mp.register(Device()).status_code == 201
    var = s.workdir / "var"
    files = [p for p in (var / "sitetoken.db", var / "sitetoken.db-wal") if p.exists()]
    # chmod is what an operator would do; root ignores modes, so the files
    # are also made immutable, which refuses writes even through open fds
    for p in files:
        p.chmod(0o444)
    if os.geteuid() == 0:
        rc = subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True)
        if rc.returncode != 0:
            for p in files:
                p.chmod(0o644)
            pytest.skip("cannot make the database read-only here: %s" % rc.stderr)
    got = []
    try:
        for _ in range(5):
            r = mp.register(Device())
            if r.status_code == 201:  # only while the WAL still had room in place
                got.append(r.json()["token_id"])
                continue
            assert_unavailable(r)
        assert_unavailable(mp.register(Device()))
        assert_unavailable(s.get("/readyz"))
        assert s.get("/healthz").status_code == 200
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *map(str, files)])
        for p in files:
            p.chmod(0o644)
    wait_until(lambda: s.get("/readyz").status_code == 200, what="readyz after chmod back")
    r = mp.register(Device())
    assert r.status_code == 201, r.text
    got.append(r.json()["token_id"])
    assert stored(s, got) == set(got)
    s.stop()
    con = sqlite3.connect(str(var / "sitetoken.db"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


@pytest.fixture
def small_fs(tmp_path):
    """A 4 MiB tmpfs for the state directory; skipped where mount is not allowed."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small file system here: %s" % r.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


def test_full_disk(start_server, small_fs):
    state = small_fs / "var"
    s = start_server(basic_config(FAST_BUSY + "state_dir: %s\n" % state))
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    assert mp.register(Device()).status_code == 201
    filler = small_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)
    got, refused = [], 0
    try:
        # the WAL may still have room in place for a few commits
        for _ in range(400):
            r = mp.register(Device())
            if r.status_code == 201:
                got.append(r.json()["token_id"])
                continue
            assert_unavailable(r)
            refused += 1
            if refused >= 3:
                break
        assert refused >= 3, "a full disk never made a write fail"
        assert_unavailable(s.get("/readyz"))
        assert s.get("/healthz").status_code == 200
    finally:
        filler.unlink()
    wait_until(lambda: s.get("/readyz").status_code == 200, what="readyz after space returns")
    r = mp.register(Device())
    assert r.status_code == 201, r.text
    got.append(r.json()["token_id"])
    assert stored(s, got, db=state / "sitetoken.db") == set(got)
    s.stop()
    con = sqlite3.connect(str(state / "sitetoken.db"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

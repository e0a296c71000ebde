"""Store faults: a database another process holds locked, a database that
cannot be written (read-only), a full disk and a file size limit. Affected requests get
`unavailable` (503, Retry-After), never a token without its record; /readyz
says so; and the server recovers by itself when the fault clears."""

import os
import sqlite3
import subprocess
import time

import pytest
import requests

from conftest import basic_config
from device import MP, Device

# every test here is about the SQLite file: its locks, modes, disk and size
pytestmark = pytest.mark.sqlite_only

FAST_BUSY = "store:\n  busy_timeout: 200ms\n"


def assert_clean_exit(server):
    """Stops the server: exit 0, and no sanitizer report (ASan/UBSan builds)."""
    rc = server.stop()
    log = server.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-3000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, log[-2000:])


def stored(server, jtis, db=None):
    con = sqlite3.connect("file:%s?mode=ro" % (db or server.workdir / "var" / "sitetoken.db"),
                          uri=True, timeout=30)
    try:
        return {r[0] for j in jtis for r in con.execute("SELECT jti FROM tokens WHERE jti = ?", (j,))}
    finally:
        con.close()


def counts(server, db=None, jkts=()):
    """(token rows, bulk uses summed, device rows with any of these key thumbprints)."""
    con = sqlite3.connect("file:%s?mode=ro" % (db or server.workdir / "var" / "sitetoken.db"),
                          uri=True, timeout=30)
    try:
        n = con.execute("SELECT count(*) FROM tokens").fetchone()[0]
        uses = con.execute("SELECT coalesce(sum(uses), 0) FROM bulk_tokens").fetchone()[0]
        devs = sum(con.execute("SELECT count(*) FROM devices WHERE jkt = ?", (j,)).fetchone()[0] for j in jkts)
        return n, uses, devs
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


def test_locked_database_exchange(start_server):
    """An exchange while another process holds the write lock: 503, and
    nothing of it is stored (no token, no device, no bulk use)."""
    s = start_server(basic_config(FAST_BUSY))
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    bulk = s.ctl("bulk", "new", json_out=True, check=0).doc["token"]
    assert mp.exchange(Device(), bulk).status_code == 201
    before = counts(s)
    refused = []
    locker = sqlite3.connect(str(s.workdir / "var" / "sitetoken.db"), isolation_level=None, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        for _ in range(3):
            d = Device()
            assert_unavailable(mp.exchange(d, bulk))
            refused.append(d)
        assert_unavailable(s.get("/readyz"))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert counts(s, jkts=[d.jkt for d in refused]) == before
    # the next exchange succeeds, no restart
    d = Device()
    r = mp.exchange(d, bulk)
    assert r.status_code == 201, r.text
    assert stored(s, [r.json()["token_id"]]) == {r.json()["token_id"]}
    n, uses, devs = counts(s, jkts=[x.jkt for x in refused])
    assert (n, uses, devs) == (before[0] + 1, before[1] + 1, 0)
    # a retried request with a fresh proof, for a refused device, works too
    assert mp.exchange(refused[0], bulk).status_code == 201
    assert s.get("/readyz").status_code == 200


def test_read_only_database(start_server):
    # the server holds the files open: a mode change alone refuses nothing
    # through its open fds, only immutability does, and that takes root
    if os.geteuid() != 0:
        pytest.skip("needs root to make the database immutable (chattr +i)")
    s = start_server(basic_config(FAST_BUSY))
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    assert mp.register(Device()).status_code == 201
    var = s.workdir / "var"
    files = [p for p in (var / "sitetoken.db", var / "sitetoken.db-wal") if p.exists()]
    # chmod is what an operator would do; root ignores modes, so the files
    # are also made immutable, which refuses writes even through open fds
    for p in files:
        p.chmod(0o444)
    rc = subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True)
    if rc.returncode != 0:
        for p in files:
            p.chmod(0o644)
        pytest.skip("cannot make the database read-only here: %s" % rc.stderr)
    got, refused = [], []
    try:
        for _ in range(5):
            d = Device()
            r = mp.register(d)
            if r.status_code == 201:  # only while the WAL still had room in place
                got.append(r.json()["token_id"])
                continue
            assert_unavailable(r)
            refused.append(d)
        d = Device()
        assert_unavailable(mp.register(d))
        refused.append(d)
        assert_unavailable(s.get("/readyz"))
        assert s.get("/healthz").status_code == 200
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)])
        for p in files:
            p.chmod(0o644)
    wait_until(lambda: s.get("/readyz").status_code == 200, what="readyz after chmod back")
    r = mp.register(Device())
    assert r.status_code == 201, r.text
    got.append(r.json()["token_id"])
    assert stored(s, got) == set(got)
    assert counts(s, jkts=[d.jkt for d in refused])[2] == 0, "a refused registration left a device"
    assert_clean_exit(s)
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
    got, refused = [], []
    try:
        # the WAL may still have room in place for a few commits
        for _ in range(400):
            d = Device()
            r = mp.register(d)
            if r.status_code == 201:
                got.append(r.json()["token_id"])
                continue
            assert_unavailable(r)
            refused.append(d)
            if len(refused) >= 3:
                break
        assert len(refused) >= 3, "a full disk never made a write fail"
        assert_unavailable(s.get("/readyz"))
        assert s.get("/healthz").status_code == 200
    finally:
        filler.unlink()
    wait_until(lambda: s.get("/readyz").status_code == 200, what="readyz after space returns")
    r = mp.register(Device())
    assert r.status_code == 201, r.text
    got.append(r.json()["token_id"])
    assert stored(s, got, db=state / "sitetoken.db") == set(got)
    assert counts(s, db=state / "sitetoken.db", jkts=[d.jkt for d in refused])[2] == 0
    assert_clean_exit(s)
    con = sqlite3.connect(str(state / "sitetoken.db"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()



WRAPPER = """#!%s
import os, resource, signal, sys
limit = int(os.environ["ST_TEST_FSIZE"])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
# Python ignores SIGXFSZ; give the server the default (fatal) disposition, so
# that it must ignore the signal itself
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
os.execv(%r, [%r] + sys.argv[1:])
"""


def test_file_size_limit(start_server, tmp_path, monkeypatch):
    """A full disk without mount rights: RLIMIT_FSIZE caps the files the
    server may grow. The server must survive SIGXFSZ (ignore it, so a write
    fails with EFBIG); writes that need more room get 503 and leave nothing
    behind; raising the limit on the running process (prlimit) clears the
    fault and the server recovers by itself."""
    import resource
    import sys

    import conftest

    real = str(conftest.SITETOKEND)
    wrapper = tmp_path / "capped-sitetokend"
    wrapper.write_text(WRAPPER % (sys.executable, real, real))
    wrapper.chmod(0o755)
    monkeypatch.setattr(conftest, "SITETOKEND", wrapper)
    s = start_server(basic_config(FAST_BUSY, level="info"), env={"ST_TEST_FSIZE": str(512 * 1024)})
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    got, refused, run = [], [], 0
    for _ in range(8000):
        d = Device(name="n" * 250, hardware_id="h" * 250)
        try:
            r = mp.register(d)
        except requests.ConnectionError:
            try:  # a crash: let its exit status and last lines arrive
                s.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            raise AssertionError("no answer at the file size limit; server exit status %s:\n%s"
                                 % (s.proc.poll(), s.log()[-2000:]))
        if r.status_code == 201:
            got.append(r.json()["token_id"])
            run = 0
            continue
        assert_unavailable(r)
        refused.append(d)
        # a full WAL can pass again once a checkpoint lets it start over; the
        # fault lasts once the database file itself is at the limit
        run += 1
        if run >= 5:
            break
    assert run >= 5, "the file size limit never made writes fail for good (%d issued)" % len(got)
    # (/readyz is not asserted here: its probe rewrites a page the database
    # already has, which still fits; the tmpfs test covers /readyz on a full disk)
    assert s.get("/healthz").status_code == 200
    assert stored(s, got) == set(got), "a token was answered without its record"
    assert counts(s, jkts=[d.jkt for d in refused])[2] == 0
    # the fault clears: the running process may grow its files again
    resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    wait_until(lambda: s.get("/readyz").status_code == 200, what="readyz after the limit is raised")
    r = mp.register(refused[0])
    assert r.status_code == 201, r.text
    assert stored(s, [r.json()["token_id"]]) == {r.json()["token_id"]}
    assert_clean_exit(s)
    con = sqlite3.connect(str(s.workdir / "var" / "sitetoken.db"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

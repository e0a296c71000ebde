"""Crash safety: concurrent exchanges while sitetokend is killed with SIGKILL
at random moments. After each restart every token any client received is in
the store (by its id, so it can be revoked), the database is intact, the
audit chain verifies, and the revocation serial never goes back."""

import random
import signal
import sqlite3
import threading

import pytest
import requests

from conftest import basic_config
from device import MP, Device

ROUNDS = 6
CLIENTS = 6


def assert_clean_exit(server):
    """Stops the server: exit 0, and no sanitizer report (ASan/UBSan builds)."""
    rc = server.stop()
    log = server.log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-3000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, log[-2000:])


def db_path(server):
    return server.workdir / "var" / "sitetoken.db"


def stored_jtis(server, jtis):
    con = sqlite3.connect("file:%s?mode=ro" % db_path(server), uri=True, timeout=30)
    try:
        found = set()
        jl = list(jtis)
        for i in range(0, len(jl), 500):
            chunk = jl[i:i + 500]
            q = "SELECT jti FROM tokens WHERE jti IN (%s)" % ",".join("?" * len(chunk))
            found.update(r[0] for r in con.execute(q, chunk))
        return found
    finally:
        con.close()


def integrity_ok(server):
    con = sqlite3.connect("file:%s?mode=ro" % db_path(server), uri=True, timeout=30)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def unrevoked_one(server, jtis):
    con = sqlite3.connect("file:%s?mode=ro" % db_path(server), uri=True, timeout=30)
    try:
        for j in list(jtis):
            row = con.execute("SELECT revoked_at FROM tokens WHERE jti = ?", (j,)).fetchone()
            if row is not None and row[0] is None:
                return j
        return None
    finally:
        con.close()


def issue_until(s, key, bulk, n, stop, received, lock):
    """One client thread of a crash test: exchanges (odd n) or registrations
    (even n) until stop is set or the server is gone; every token id it got
    back (201) goes into received."""
    sess = requests.Session()
    while not stop.is_set():
        d = Device()
        body = d.exchange_body(bulk) if n % 2 else d.register_body()
        path = "/v1/exchanges" if n % 2 else "/v1/registrations"
        try:
            r = sess.post(s.url(path), json=body, timeout=10,
                          headers={"Authorization": "Bearer " + key})
        except requests.RequestException:
            return  # the server is gone
        if r.status_code == 201:
            with lock:
                received.add(r.json()["token_id"])


def revocation_serial(server):
    r = server.get("/v1/revocations?since=0")
    assert r.status_code == 200, r.text
    return r.json()["serial"]


@pytest.mark.sqlite_only  # the database file's integrity after SIGKILL
def test_sigkill_loses_no_issued_token(start_server):
    rng = random.Random(7)
    cfg = basic_config(level="warn", clock=False)
    s = start_server(cfg)
    key = s.ctl("mp", "add", "mp-crash", json_out=True, check=0).doc["api_key"]
    bulk = s.ctl("bulk", "new", json_out=True, check=0).doc["token"]
    received = set()  # token ids clients got back
    revoked = set()  # of those, the ones revoked (moved out of received)
    lock = threading.Lock()
    max_serial = 0
    total_kills = 0

    for rnd in range(ROUNDS):
        mp = MP(s, key)
        stop = threading.Event()

        def client(n):
            issue_until(s, key, bulk, n, stop, received, lock)

        def revoker():
            nonlocal max_serial
            while not stop.is_set():
                with lock:
                    pick = next(iter(received), None)
                if pick is None:
                    stop.wait(0.02)
                    continue
                try:
                    st, _ = s.admin("POST", "/v1/admin/tokens/%s/revoke" % pick, {"reason": "crash test"})
                    if st == 200:
                        serial = revocation_serial(s)
                        with lock:
                            max_serial = max(max_serial, serial)
                            received.discard(pick)
                            revoked.add(pick)
                except Exception:
                    return

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        threads.append(threading.Thread(target=revoker, daemon=True))
        for t in threads:
            t.start()
        # kill at a random moment while requests are in flight
        stop.wait(rng.uniform(0.2, 1.0))
        s.proc.send_signal(signal.SIGKILL)
        total_kills += 1
        stop.set()
        for t in threads:
            t.join(timeout=15)
        s.wait_exit()

        s = start_server(cfg)
        all_ids = received | revoked
        missing = all_ids - stored_jtis(s, all_ids)
        assert not missing, "round %d: %d tokens issued but not stored: %s" % (
            rnd, len(missing), sorted(missing)[:5])
        serial = revocation_serial(s)
        assert serial >= max_serial, "revocation serial went back: %d < %d" % (serial, max_serial)
        max_serial = serial
        assert integrity_ok(s) == "ok", "round %d" % rnd
        r = s.ctl("audit", "verify")
        assert r.returncode == 0, "round %d: audit verify: %s%s" % (rnd, r.stdout, r.stderr)
        # one revocation per round through the admin tool: the serial moves on
        # (a revocation whose answer the kill swallowed may have committed:
        # pick a token the store has not revoked)
        pick = unrevoked_one(s, received)
        if pick is not None:
            s.ctl("token", "revoke", pick, "--reason", "round %d" % rnd, check=0)
            with lock:
                received.discard(pick)
                revoked.add(pick)
            serial = revocation_serial(s)
            assert serial > max_serial, "revoke did not advance the serial: %d <= %d" % (serial, max_serial)
            max_serial = serial

    issued = len(received | revoked)
    assert issued > 50, "too few tokens issued (%d) to mean anything" % issued
    assert total_kills >= 5
    assert len(revoked) >= ROUNDS
    r = s.ctl("audit", "verify", json_out=True, check=0)
    assert r.doc["ok"] is True, r.doc
    # revoked ones are still revoked after all the crashes
    # (every one acknowledged is revoked; any other revoked one is a token a
    # client received whose revoke answer a kill swallowed)
    all_ids = received | revoked
    tokens = {t["jti"]: t for t in s.admin_items("/v1/admin/tokens?limit=1000")}
    assert all_ids <= tokens.keys()
    not_revoked = sorted(j for j in revoked if tokens[j]["revoked_at"] is None)
    assert not not_revoked, "acknowledged revocations lost: %s" % not_revoked[:5]
    assert all(tokens[j]["status"] == "revoked" for j in revoked)
    stray = sorted(j for j, t in tokens.items() if t["revoked_at"] is not None and j not in all_ids)
    assert not stray, "revoked but never picked: %s" % stray[:5]
    assert_clean_exit(s)
    assert integrity_ok(s) == "ok"
    print("crash: %d rounds, %d tokens received, %d revoked, final serial %d"
          % (ROUNDS, issued, len(revoked), max_serial))

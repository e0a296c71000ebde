"""The PostgreSQL backend's own promises (SITETOKEN_TEST_DB=postgresql; skipped
on SQLite): the counterparts of the SQLite-only tests whose promise is the
same (tamper detection on the audit chain, no secret at rest), the
connection (no password in the URI, database_password_file, synchronous
commit, no lock or state files), and a lost connection: 503 `unavailable`,
never a crash, and back by itself."""

import json
import time
from pathlib import Path

import pytest

import conftest
import pg
from conftest import basic_config, bulk_new, run_sitetokend, write_config
from device import MP, Device
from test_audit import populate
from test_crash import assert_clean_exit, issue_until
from test_secrets import secret_parts

pytestmark = pytest.mark.pg_only


def db_name(server):
    return pg.database_of(server.workdir).rsplit("/", 1)[1]


@pytest.mark.parametrize("sql, bad", [
    ("UPDATE audit SET detail = '{\"reason\":\"nothing to see\"}' WHERE seq = 4", 4),
    ("UPDATE audit SET actor = 'system' WHERE seq = 3", 3),
    ("DELETE FROM audit WHERE seq = 5", 5),
    ("UPDATE audit SET seq = -1 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = 7;"
     " UPDATE audit SET seq = 7 WHERE seq = -1", 6),
])
def test_verify_catches_tampering_behind_the_nodes_back(start_server, sql, bad):
    """An edit made with psql, as anyone with the database's credentials
    could, while the server runs: audit verify finds it."""
    server = start_server()
    mp = MP(server, server.ctl("mp", "add", "mp-a", json_out=True, check=0).doc["api_key"])
    populate(server, mp)
    assert server.ctl("audit", "verify", json_out=True).returncode == 0
    pg.CLUSTER.psql(db_name(server), sql)
    r = server.ctl("audit", "verify", json_out=True)
    assert r.returncode == 4, r.stdout
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["first_bad_seq"] == bad
    assert "audit_broken" in r.stderr


def test_tokens_and_keys_never_stored(server):
    """No token, API key or private key in the database (pg_dump of all of
    it) nor in the log: only hashes, ids and sealed keys."""
    keys = [server.ctl("mp", "add", "mp-%d" % i, json_out=True, check=0).doc["api_key"]
            for i in range(2)]
    mp = MP(server, keys[0])
    bulk = bulk_new(server)["token"]
    secrets = list(keys) + [bulk]
    for i in range(4):
        d = Device()
        r = mp.register(d) if i % 2 else mp.exchange(d, bulk)
        assert r.status_code == 201, r.text
        secrets.append(d.token)
        r = mp.access(d)
        assert r.status_code == 200
        secrets.append(r.json()["access_token"])
    db = db_name(server)
    dump = pg.CLUSTER.dump(db)
    assert b"COPY public.tokens" in dump and b"COPY public.keys" in dump
    log = server.log()
    assert "event=issue" in log
    for secret in secrets:
        for part in secret_parts(secret):
            assert part.encode() not in dump, "a secret (%s...) is in the database" % part[:12]
            assert part not in log, "a secret (%s...) is in the log" % part[:12]
    # the signing keys: public JWK in clear (no private member), private sealed
    rows = pg.CLUSTER.psql(db, "SELECT public_jwk, length(sealed_private) FROM keys").splitlines()
    assert rows
    for row in rows:
        jwk, sealed = row.rsplit("|", 1)
        assert "\"d\"" not in jwk and "\"p\"" not in jwk and int(sealed) > 32
    assert_clean_exit(server)


def test_session_settings_and_no_files(server):
    """Every session says who it is; a database server leaves no database,
    WAL or lock file in the state directory."""
    db = db_name(server)
    rows = pg.CLUSTER.psql(db, "SELECT application_name FROM pg_stat_activity"
                               " WHERE datname = current_database() AND pid <> pg_backend_pid()")
    assert rows.split() and set(rows.split()) == {"sitetokend"}, rows
    # (synchronous_commit=on in every session whatever the database's
    # default: tests/unit/store/test_pg.c, which can ask its own session)
    var = server.workdir / "var"
    names = {p.name for p in var.iterdir()}
    assert not any(n.startswith("sitetoken.db") for n in names), names
    r = server.ctl("status", json_out=True, check=0)
    assert r.doc["database"].startswith("postgresql://")
    assert r.doc["schema_version"] == r.doc["schema_latest"]


def test_uri_with_password_refused(tmp_path):
    uri = pg.CLUSTER.uri(pg.CLUSTER.create_db()).replace("postgres@", "postgres:hunter2secret@")
    cfg = write_config(tmp_path / "c.yaml", basic_config('database: "%s"\n' % uri))
    r = run_sitetokend(["-c", str(cfg)], tmp_path)
    assert r.returncode == 1
    assert "password" in r.stderr and "refused" in r.stderr
    assert "hunter2secret" not in r.stderr


def test_password_file(tmp_path, start_server):
    """database_password_file: the password comes from the file (scram on
    loopback for this role), is never logged; a wrong one is refused."""
    role, secret = pg.PASSWORD_ROLE, "pw-%d-Zq8" % time.monotonic_ns()
    pg.CLUSTER.psql("postgres", "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                                "'%s') THEN CREATE ROLE %s LOGIN; END IF; END$$" % (role, role))
    pg.CLUSTER.psql("postgres", "ALTER ROLE %s PASSWORD '%s'" % (role, secret))
    db = pg.CLUSTER.create_db()
    pg.CLUSTER.psql("postgres", "ALTER DATABASE %s OWNER TO %s" % (db, role))
    pg.CLUSTER.psql(db, "ALTER SCHEMA public OWNER TO %s" % role)
    uri = "postgresql://%s@127.0.0.1:%d/%s" % (role, pg.CLUSTER.port, db)
    pwfile = tmp_path / "db.pw"
    pwfile.write_text("wrong\n")
    text = basic_config('database: "%s"\ndatabase_password_file: %s\n' % (uri, pwfile))
    cfg = write_config(tmp_path / "c.yaml", text)
    r = run_sitetokend(["-c", str(cfg)], tmp_path)
    assert r.returncode == 1 and "password authentication failed" in r.stderr, r.stderr
    pwfile.write_text(secret + "\n")
    s = start_server(text)
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    assert mp.register(Device()).status_code == 201
    assert secret not in s.log()
    assert_clean_exit(s)


def test_lost_connections_come_back(server):
    """Every session of the server ended behind its back (a failover, a
    restart of the database): requests get 503 `unavailable` or succeed,
    never a crash or another 5xx, and the server reconnects by itself."""
    mp = MP(server, server.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    assert mp.register(Device()).status_code == 201
    db = db_name(server)
    for _ in range(2):
        pg.CLUSTER.psql(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ok = 0
        deadline = time.monotonic() + 20
        while ok < 3 and time.monotonic() < deadline:
            r = mp.register(Device())
            if r.status_code == 201:
                ok += 1
                continue
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "unavailable"
        assert ok == 3, "no recovery"
        assert server.get("/readyz").status_code == 200
        assert server.ctl("device", "list", json_out=True, check=0).doc["items"]
    assert server.proc.poll() is None
    assert_clean_exit(server)


def test_readyz_reports_unwritable_store(start_server):
    """Another session holds a lock the probe's write needs: /readyz answers
    503 `unavailable` within the busy timeout (lock_timeout), then 200 again."""
    import subprocess

    server = start_server(basic_config("store:\n  busy_timeout: 1s\n"))
    db = db_name(server)
    holder = subprocess.Popen(
        [pg.PSQL, "-X", "-q", "-h", str(pg.CLUSTER.sock), "-p", str(pg.CLUSTER.port),
         "-U", "postgres", "-d", db], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True)
    try:
        holder.stdin.write("BEGIN; LOCK TABLE meta IN ACCESS EXCLUSIVE MODE;\n")
        holder.stdin.flush()
        deadline = time.monotonic() + 20
        while not pg.CLUSTER.psql(db, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON"
                                      " c.oid = l.relation WHERE c.relname = 'meta' AND"
                                      " l.mode = 'AccessExclusiveLock' AND l.granted").strip() == "1":
            assert time.monotonic() < deadline, "the lock was never taken"
            time.sleep(0.05)  # polling pg_locks, bounded by the deadline
        t0 = time.monotonic()
        r = server.get("/readyz", timeout=30)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable"
        assert "Retry-After" in r.headers
        if not conftest.SANITIZED:
            assert time.monotonic() - t0 < 10
    finally:
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(timeout=20)
    assert server.get("/readyz").status_code == 200


# Counterparts of SQLite-only tests whose promise is the same, the rows read
# with psql (test_crash.py, test_revocation.py, test_hostile.py).


def psql_count(server, sql):
    return int(pg.CLUSTER.psql(db_name(server), sql).strip())


def stored_jtis(server, jtis):
    rows = pg.CLUSTER.psql(db_name(server), "SELECT jti FROM tokens").split()
    return set(rows) & set(jtis)


def test_sigkill_loses_no_issued_token(start_server):
    """SIGKILL at random moments under concurrent issuance and revocation:
    after each restart every token a client received is in the database,
    the audit chain verifies and the revocation serial never goes back."""
    import random
    import signal
    import threading

    import requests

    rng = random.Random(7)
    cfg = basic_config(level="warn", clock=False)
    s = start_server(cfg)
    key = s.ctl("mp", "add", "mp-crash", json_out=True, check=0).doc["api_key"]
    bulk = s.ctl("bulk", "new", json_out=True, check=0).doc["token"]
    received, revoked, lock = set(), set(), threading.Lock()
    max_serial = 0
    for rnd in range(4):
        stop = threading.Event()

        def client(n):
            issue_until(s, key, bulk, n, stop, received, lock)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
        for t in threads:
            t.start()
        stop.wait(rng.uniform(0.3, 1.0))  # a random moment while requests are in flight
        s.proc.send_signal(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(timeout=15)
        s.wait_exit()
        s = start_server(cfg)
        missing = (received | revoked) - stored_jtis(s, received | revoked)
        assert not missing, "round %d: %d tokens issued but not stored" % (rnd, len(missing))
        serial = s.get("/v1/revocations?since=0").json()["serial"]
        assert serial >= max_serial, "revocation serial went back: %d < %d" % (serial, max_serial)
        r = s.ctl("audit", "verify")
        assert r.returncode == 0, "round %d: audit verify: %s%s" % (rnd, r.stdout, r.stderr)
        pick = next(iter(received))
        s.ctl("token", "revoke", pick, "--reason", "round %d" % rnd, check=0)
        received.discard(pick)
        revoked.add(pick)
        new = s.get("/v1/revocations?since=0").json()["serial"]
        assert new > serial, "revoke did not advance the serial: %d <= %d" % (new, serial)
        max_serial = new
    assert len(received | revoked) > 30
    tokens = {t["jti"]: t for t in s.admin_items("/v1/admin/tokens?limit=1000")}
    assert all(tokens[j]["status"] == "revoked" for j in revoked)
    assert_clean_exit(s)


def test_revocation_serial_continues_after_restart(start_server, tmp_path):
    """The serial is the database's: after a restart the next revocation
    gets a higher one, and pruned expired entries keep the serial."""
    cfg = basic_config()
    s = start_server(cfg)
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    docs = [mp.register(Device()).json() for _ in range(2)]
    s.ctl("token", "revoke", docs[0]["token_id"], check=0)
    first = s.get("/v1/revocations").json()["serial"]
    assert first >= 1 and psql_count(s, "SELECT count(*) FROM revocations") == 1
    s.stop()
    s = start_server(cfg)
    assert s.get("/v1/revocations").json()["serial"] == first
    s.ctl("token", "revoke", docs[1]["token_id"], check=0)
    second = s.get("/v1/revocations").json()["serial"]
    assert second > first
    # past the tokens' expiry the entries are pruned; the serial stays
    s.shift_clock(91 * 86400)
    deadline = time.monotonic() + 10
    while psql_count(s, "SELECT count(*) FROM revocations"):
        assert time.monotonic() < deadline, "expired entries never pruned"
        time.sleep(0.05)  # polling the table, bounded by the deadline
    feed = s.get("/v1/revocations").json()
    assert feed["entries"] == [] and feed["serial"] == second
    assert int(pg.CLUSTER.psql(db_name(s), "SELECT last FROM revocation_serial")) == second


def test_persisted_proofs_are_pruned(start_server):
    """Rows of proofs past the window are pruned by the writer; recent ones stay."""
    s = start_server(basic_config("tokens:\n  clock_skew: 1m\n"))
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    for _ in range(5):
        assert mp.register(Device()).status_code == 201
    assert psql_count(s, "SELECT count(*) FROM proof_jtis") == 5
    s.shift_clock(300)  # past the window (2 x 1 min + 1 s): the next batches prune
    deadline = time.monotonic() + 10
    while True:
        assert mp.register(Device()).status_code == 201
        n = psql_count(s, "SELECT count(*) FROM proof_jtis")
        if n == 1 or time.monotonic() > deadline:
            break
    assert n <= 1, n  # only the proof made after the shift (or none) is left


def test_uri_connect_timeout_is_the_operators(tmp_path):
    """A `connect_timeout` in the database URI is the one libpq uses (the
    server's own 10 s is only the default): a listener that never answers
    the startup packet fails the start after the URI's 2 s, not 10."""
    import socket
    import threading

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(lsock.accept()[0])  # never answered
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        uri = "postgresql://postgres@127.0.0.1:%d/x?connect_timeout=2" % lsock.getsockname()[1]
        cfg = write_config(tmp_path / "c.yaml", basic_config('database: "%s"\n' % uri))
        t0 = time.monotonic()
        r = run_sitetokend(["-c", str(cfg)], tmp_path, timeout=60)
        took = time.monotonic() - t0
        assert r.returncode != 0, r.stderr
        assert "timeout" in r.stderr.lower(), r.stderr
        if not conftest.SANITIZED:
            assert took < 8, took
    finally:
        stop.set()
        t.join(timeout=5)
        for c in held:
            c.close()
        lsock.close()

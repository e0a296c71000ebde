"""Moving a site from SQLite to PostgreSQL (issue 13, "Moving a site"):
`sitetokend -c CONFIG --migrate-to postgresql://...` copies a stopped,
populated SQLite site into an empty PostgreSQL database. The site then runs
on PostgreSQL with the same seal key: the same JWKS, old tokens introspect
and renew, revocations keep their serials and new ones come after them, the
audit chain verifies across the move, the lists match, and no private key is
in a pg_dump. And every refusal (running source, non-empty or newer target,
old source schema, a password in the URI, a copy that fails half way: all or
nothing), with its message. docs/operations.md's "Moving a site to
PostgreSQL" runs as printed.

Runs in both passes: on the session's PostgreSQL when the run is on it
(pg.CLUSTER), else on a PostgreSQL of this module's own (pg.Cluster). The
source is always a SQLite file (its config names `database:`, so the
harness leaves it alone)."""

import json
import shutil
import sqlite3
import subprocess
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import pg
from conftest import ROOT, SITETOKEND, basic_config, bulk_new, clean_exit, write_config
from device import MP, Device, registered
from test_docs import free_port, run_blocks, section, sh_blocks, tree
from test_secrets import secret_parts

# renewals at any age, so the families need no clock shift (the debug
# offset would not survive the restart on PostgreSQL)
EXTRA = "tokens:\n  renew_after: 0s\n"


@pytest.fixture(scope="module")
def cluster():
    if pg.CLUSTER is not None:
        yield pg.CLUSTER
        return
    c = pg.Cluster()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def target(cluster):
    """A new, empty database -> (name, URI)."""
    name = cluster.create_db()
    return name, cluster.uri(name)


def sqlite_config(extra=""):
    return basic_config('database: var/sitetoken.db\n' + EXTRA + extra)


def pg_config(uri):
    return basic_config('database: "%s"\n' % uri + EXTRA)


def migrate(workdir, uri, config="sitetoken.yaml"):
    return subprocess.run([str(SITETOKEND), "-c", str(workdir / config), "--migrate-to", uri],
                          cwd=workdir, capture_output=True, text=True, timeout=120)


def refused(r, *words):
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("sitetokend: --migrate-to: "), r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


def tables_of(cluster, db):
    """The sitetoken tables of db with their row counts ({} before any)."""
    names = cluster.psql(db, "SELECT table_name FROM information_schema.tables WHERE"
                             " table_schema = 'public' ORDER BY 1").split()
    return {n: int(cluster.psql(db, "SELECT count(*) FROM %s" % n)) for n in names}


def assert_empty(cluster, db):
    counts = tables_of(cluster, db)
    counts.pop("schema_migrations", None)
    counts.pop("revocation_serial", None)
    assert not any(counts.values()), counts



def exchange(mp, bulk, address=None, **kw):
    d = Device(**kw)
    body = d.exchange_body(bulk["token"])
    if address is not None:
        body["client_address"] = address
    r = mp.post("/v1/exchanges", body)
    assert r.status_code == 201, r.text
    d.token = r.json()["token"]
    d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
    return d


def renew(mp, d):
    r = mp.renew(d)
    assert r.status_code == 200, r.text
    d.jti = r.json()["token_id"]
    return d.token


def populate(s, tmp_path):
    """A site with a bit of everything; -> what the checks after the move need."""
    a = s.ctl("mp", "add", "mp-a", "--label", "site=hq", json_out=True, check=0).doc
    b = s.ctl("mp", "add", "mp-b", json_out=True, check=0).doc
    s.ctl("mp", "add", "mp-gone", check=0)
    s.ctl("mp", "remove", "mp-gone", check=0)
    mp_a, mp_b = MP(s, a["api_key"]), MP(s, b["api_key"])
    used = bulk_new(s, "--max-uses", "5", "--label", "ring=pilot", "--note", "used")
    blocked = bulk_new(s, "--note", "blocked")
    ids = tmp_path / "serials.txt"
    ids.write_text("SN-0001\nSN-0002\nSN-0003\n")
    bound = bulk_new(s, "--allow-file", str(ids), "--cidr", "10.1.0.0/16", "--max-uses", "3")
    assert bound["allow_total"] == 3
    # devices, with labels from the MP and the bulk token
    d1 = registered(mp_a)
    d2 = registered(mp_b)
    d3 = exchange(mp_b, used)
    d4 = exchange(mp_a, bound, address="10.1.2.3", hardware_id="SN-0002")
    d5 = registered(mp_a)
    d6 = registered(mp_b)
    old_key_token = d6.token  # signed by the key the rotation retires
    # families: d1 renewed twice (its first two tokens superseded), an access token
    first = d1.token
    renew(mp_a, d1)
    renew(mp_a, d1)
    assert mp_a.access(d1).status_code == 200
    # revocations: a token, a device, a device unblocked, a bulk token
    s.ctl("token", "revoke", d2.jti, "--reason", "lost", check=0)
    s.ctl("device", "block", d3.id, check=0)
    s.ctl("device", "block", d5.id, check=0)
    s.ctl("device", "unblock", d5.id, check=0)
    s.ctl("bulk", "block", blocked["id"], "--reason", "leaked", check=0)
    # a key rotation: retired + active, then a next key
    st, doc = s.admin("POST", "/v1/admin/keys/rotate", {"now": True})
    assert st == 200, doc
    st, doc = s.admin("POST", "/v1/admin/keys/rotate", {})
    assert st == 200, doc
    statuses = sorted(k["status"] for k in s.admin("GET", "/v1/admin/keys")[1]["items"])
    assert statuses == ["active", "next", "retired"], statuses
    renew(mp_a, d1)  # signed by the new active key
    secrets = [a["api_key"], b["api_key"], used["token"], blocked["token"], bound["token"],
               first, old_key_token] + [d.token for d in (d1, d2, d3, d4, d5, d6)]
    return dict(mp_a=mp_a, mp_b=mp_b, d1=d1, d2=d2, d3=d3, d4=d4, d5=d5, d6=d6, first=first,
                secrets=secrets, bound=bound)


def snapshot(s):
    """What must read the same before and after the move."""
    return dict(
        jwks=s.get("/v1/keys").json(),
        feed=s.get("/v1/revocations").json(),
        devices=s.admin_items("/v1/admin/devices?limit=1000"),
        mps=s.ctl("mp", "list", json_out=True, check=0).doc,
        bulk=s.admin_items("/v1/admin/bulk-tokens?limit=1000"),
        tokens=s.admin_items("/v1/admin/tokens?limit=1000"),
        keys=s.admin("GET", "/v1/admin/keys")[1]["items"],
        audit=s.ctl("audit", "verify", json_out=True, check=0).doc,
        labelled=s.ctl("device", "list", "--label", "site=hq", json_out=True, check=0).doc,
    )


def unsealed_keys(workdir):
    """The private keys (DER) in the SQLite source, unsealed here with the
    seal key (AES-256-GCM, the kid as AAD: server/seal.c) -> {kid: (sealed, der)}."""
    seal = (workdir / "var" / "seal.key").read_bytes()
    db = sqlite3.connect(str(workdir / "var" / "sitetoken.db"))
    try:
        rows = db.execute("SELECT kid, sealed_private FROM keys").fetchall()
    finally:
        db.close()
    out = {}
    for kid, blob in rows:
        assert blob[0] == 1
        out[kid] = (bytes(blob), AESGCM(seal).decrypt(blob[1:13], blob[13:], kid.encode()))
    return out


def test_populated_site_moves_and_keeps_every_promise(start_server, tmp_path, cluster, target):
    db, uri = target
    src = start_server(sqlite_config())
    facts = populate(src, tmp_path)
    before = snapshot(src)
    tokens = [facts["first"]] + [facts[k].token for k in ("d1", "d2", "d3", "d4", "d5", "d6")]
    said = [facts["mp_a"].introspect(t).json() for t in tokens]
    assert [x["active"] for x in said] == [True, True, False, False, True, True, True], said
    assert len(before["feed"]["entries"]) == 3  # token, device, bulk (d5's went with the unblock)
    clean_exit(src)
    keys = unsealed_keys(tmp_path)
    assert len(keys) == 3

    r = migrate(tmp_path, uri)
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert "\n" not in line and line.startswith("migrated var/sitetoken.db (schema "), line
    counts = dict(kv.split("=") for kv in line.split(uri + ":", 1)[1].split(";")[0].split())
    assert counts["keys"] == "3" and counts["mps"] == "3" and counts["bulk_tokens"] == "3"
    assert counts["devices"] == "6" and counts["revocations"] == "3"
    assert counts["bulk_allow"] == "3" and int(counts["proof_jtis"]) >= 10
    assert int(counts["audit"]) == before["audit"]["records"]
    assert "audit chain verified (%d records" % before["audit"]["records"] in line
    assert ("revocation serials continue after %d" % before["feed"]["serial"]) in line, line
    for table, n in counts.items():
        assert tables_of(cluster, db)[table] == int(n), table

    # keys stay sealed: the same bytes as the source's; no private key in clear
    dump = cluster.dump(db)
    for kid, (sealed, der) in keys.items():
        assert cluster.psql(db, "SELECT encode(sealed_private, 'hex') FROM keys WHERE kid = '%s'"
                            % kid).strip() == sealed.hex()
        assert der not in dump and der.hex().encode() not in dump, kid
    for secret in facts["secrets"]:
        for part in secret_parts(secret):
            assert part.encode() not in dump

    # the site on PostgreSQL: the same config but database:, the same seal key
    cfg = write_config(tmp_path / "pg.yaml", pg_config(uri))
    s = start_server(args=["-c", str(cfg)])
    after = snapshot(s)
    for k in ("jwks", "feed", "devices", "mps", "bulk", "tokens", "keys", "labelled"):
        assert after[k] == before[k], k
    assert after["audit"] == before["audit"]
    assert len(after["labelled"]["items"]) == 3  # mp-a's devices: d1, d4, d5

    mp_a, mp_b, d1 = facts["mp_a"], facts["mp_b"], facts["d1"]
    mp_a.server = mp_b.server = s
    # tokens issued before the move: active, renewable; revoked ones still revoked
    # (d6's signed by the retired key, d2's revoked, d3 blocked, d5 unblocked)
    assert [mp_a.introspect(t).json() for t in tokens] == said
    renew(mp_a, d1)
    renew(mp_b, facts["d6"])
    assert mp_a.access(d1).status_code == 200
    # the allow-list moved: SN-0002 is claimed, SN-0001 still free
    r = mp_a.post("/v1/exchanges", dict(Device(hardware_id="SN-0002").exchange_body(
        facts["bound"]["token"]), client_address="10.1.9.9"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    exchange(mp_a, facts["bound"], address="10.1.9.9", hardware_id="SN-0001")
    # a new device and a new MP get rows after the old ones (rowid sequences)
    registered(mp_b)
    assert s.ctl("mp", "add", "mp-new", check=0).returncode == 0
    newest = s.admin("GET", "/v1/admin/tokens?limit=1")[1]["items"][0]
    assert newest["jti"] not in {t["jti"] for t in before["tokens"]}

    # revoking an old token: its serial comes after every old serial
    old_serials = [e["serial"] for e in before["feed"]["entries"]]
    s.ctl("token", "revoke", facts["d4"].jti, check=0)
    feed = s.get("/v1/revocations").json()
    assert feed["entries"][:3] == before["feed"]["entries"]
    (new,) = feed["entries"][3:]
    assert new["id"] == facts["d4"].jti and new["serial"] > max(old_serials)
    assert mp_a.introspect(facts["d4"].token).json() == {"active": False,
                                                         "reason": "token_revoked"}

    # one audit chain: the records before the move and after it
    doc = s.ctl("audit", "verify", json_out=True, check=0).doc
    assert doc["ok"] is True and doc["records"] > before["audit"]["records"], doc
    clean_exit(s)

    # a second move into the now non-empty target is refused, and changes nothing
    rows = tables_of(cluster, db)
    refused(migrate(tmp_path, uri), "is not empty", "a site moves only into an empty database")
    assert tables_of(cluster, db) == rows


def small_site(start_server, tmp_path):
    s = start_server(sqlite_config())
    mp = MP(s, s.ctl("mp", "add", "mp-a", json_out=True, check=0).doc["api_key"])
    registered(mp)
    return s


def test_running_source_refused(start_server, tmp_path, cluster, target):
    db, uri = target
    s = small_site(start_server, tmp_path)
    r = migrate(tmp_path, uri)
    refused(r, "is in use by another sitetokend (pid %d" % s.proc.pid, "stop it first")
    assert tables_of(cluster, db) == {}  # nothing created in the target
    clean_exit(s)
    assert migrate(tmp_path, uri).returncode == 0


def test_target_refusals(start_server, tmp_path, cluster, target):
    """Not PostgreSQL, a password in the URI (never echoed), a schema newer
    than this binary's, rows already there: refused, the target untouched."""
    db, uri = target
    clean_exit(small_site(start_server, tmp_path))
    refused(migrate(tmp_path, str(tmp_path / "other.db")), "needs a postgresql:// URI")
    assert not (tmp_path / "other.db").exists()
    r = migrate(tmp_path, uri.replace("postgres@", "postgres:hunter2secret@"))
    refused(r, "carries a password: refused")
    assert "hunter2secret" not in r.stderr
    cluster.psql(db, "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT"
                     " NOT NULL, applied_at BIGINT NOT NULL);"
                     " INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    refused(migrate(tmp_path, uri), "schema version 99, newer than this sitetokend knows")
    assert set(tables_of(cluster, db)) == {"schema_migrations"}
    # a target some site already wrote to
    other = cluster.create_db()
    other_uri = cluster.uri(other)
    (tmp_path / "o").mkdir()
    s = start_server(args=["-c", str(write_config(tmp_path / "o" / "c.yaml",
                                                  pg_config(other_uri)))],
                     workdir=tmp_path / "o")
    clean_exit(s)
    rows = tables_of(cluster, other)
    assert rows["keys"] >= 1
    # the first table found with rows is named (meta: the audit chain's lock row)
    refused(migrate(tmp_path, other_uri), "is not empty (table meta has rows)")
    assert tables_of(cluster, other) == rows


def test_source_refusals(start_server, tmp_path, cluster, target):
    """No database, an older schema (start it once with this sitetokend), a
    PostgreSQL source, a broken audit chain: refused, the source unchanged."""
    db, uri = target
    write_config(tmp_path / "sitetoken.yaml", sqlite_config())
    refused(migrate(tmp_path, uri), "var/sitetoken.db: no such file")
    assert not (tmp_path / "var" / "sitetoken.db").exists()
    clean_exit(small_site(start_server, tmp_path))
    path = tmp_path / "var" / "sitetoken.db"
    saved = tmp_path / "saved.db"
    shutil.copy(path, saved)
    con = sqlite3.connect(str(path))
    latest = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    con.execute("DELETE FROM schema_migrations WHERE version = ?", (latest,))
    con.commit()
    con.close()
    refused(migrate(tmp_path, uri), "schema version %d, this sitetokend's is %d" %
            (latest - 1, latest), "start the site once with this sitetokend")
    con = sqlite3.connect(str(path))
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == latest - 1
    con.close()  # the source was not migrated in place
    shutil.copy(saved, path)
    con = sqlite3.connect(str(path))
    con.execute("UPDATE audit SET actor = 'system' WHERE seq = 2")
    con.commit()
    con.close()
    refused(migrate(tmp_path, uri), "the source's audit chain is broken at seq 2")
    shutil.copy(saved, path)
    # the seal key must go with the database (the migrator never reads it)
    seal = tmp_path / "var" / "seal.key"
    seal.rename(tmp_path / "seal.key.aside")
    refused(migrate(tmp_path, uri), "seal key file var/seal.key is missing")
    (tmp_path / "seal.key.aside").rename(seal)
    write_config(tmp_path / "p.yaml", pg_config(uri))
    refused(migrate(tmp_path, uri, config="p.yaml"), "the source must be a SQLite site")
    assert tables_of(cluster, db) == {}


def test_copy_failing_half_way_leaves_nothing(start_server, tmp_path, cluster, target):
    """A row PostgreSQL refuses (text that is not UTF-8, in a table copied
    after the keys, MPs and bulk tokens): the whole copy is rolled back; once
    the row is mended, the same target takes the site."""
    db, uri = target
    clean_exit(small_site(start_server, tmp_path))
    con = sqlite3.connect(str(tmp_path / "var" / "sitetoken.db"))
    (name,) = con.execute("SELECT name FROM devices").fetchone()
    con.execute("UPDATE devices SET name = CAST(X'ff' AS TEXT)")
    con.commit()
    r = migrate(tmp_path, uri)
    refused(r, "copy devices")
    assert_empty(cluster, db)
    con.execute("UPDATE devices SET name = ?", (name,))
    con.commit()
    con.close()
    # The schema the failed copy left (empty tables) may take the site; but
    # an audit record changed on its way in (a trigger, as a hostile database
    # could) fails the chain on the target: rolled back too.
    cluster.psql(db, "CREATE FUNCTION st_twist() RETURNS trigger AS $$ BEGIN IF NEW.seq = 2"
                     " THEN NEW.actor := 'system'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;"
                     " CREATE TRIGGER st_twist BEFORE INSERT ON audit FOR EACH ROW"
                     " EXECUTE FUNCTION st_twist()")
    refused(migrate(tmp_path, uri), "the audit chain does not verify on the target (broken at"
            " seq 2", "rolled back")
    assert_empty(cluster, db)
    cluster.psql(db, "DROP TRIGGER st_twist ON audit")
    r = migrate(tmp_path, uri)
    assert r.returncode == 0, r.stderr
    assert "devices=1" in r.stdout


def test_docs_recipe_as_printed(start_server, tmp_path, cluster, target):
    """docs/operations.md, "Moving a site to PostgreSQL": its blocks run by
    bash in a tree-like temp dir, after the site there was stopped; the URI
    and the port are this run's."""
    db, uri = target
    port = free_port()
    cwd = tree(tmp_path)
    text = section(ROOT / "docs" / "operations.md", "\n## Moving a site to PostgreSQL\n",
                   "\n## ")
    example = "postgresql://sitetoken@db1.example:5432/sitetoken"
    blocks = [b.replace(example, uri).replace("8080", str(port)) for b in sh_blocks(text)]
    assert len(blocks) == 4 and "--migrate-to" in blocks[1] and blocks[2].endswith(" &\n")
    src = start_server("listen:\n  - address: 127.0.0.1\n    port: %d\n"
                       "database: var/sitetoken.db\n" % port + EXTRA, workdir=cwd)
    mp = MP(src, src.ctl("mp", "add", "mp-a", json_out=True, check=0).doc["api_key"])
    registered(mp)
    records = src.ctl("audit", "verify", json_out=True, check=0).doc["records"]
    clean_exit(src)
    outs = run_blocks(blocks, cwd)
    assert (cwd / "backup" / "before-postgresql" / "sitetoken.db").is_file()
    assert outs[1].startswith("migrated var/sitetoken.db (schema "), outs
    assert "audit chain verified (%d records" % records in outs[1]
    assert 'database: "%s"' % uri in (cwd / "sitetoken.yaml").read_text()
    ready, verify, status = outs[2].split("\n", 2)
    assert json.loads(ready)["status"] == "ready", outs[2]
    assert verify.startswith("audit trail intact: %d records" % records), verify
    status = json.loads(status)
    assert status["database"] == uri and status["devices"] == 1 and status["mps"] == 1
    assert status["schema_version"] == status["schema_latest"]
    assert tables_of(cluster, db)["devices"] == 1

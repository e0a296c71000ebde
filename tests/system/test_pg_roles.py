"""docs/operations.md, "More than one node": the database roles as the
chapter prints them. An owner role runs the migrations (the first start and
every upgrade); the nodes run as a runtime role with only SELECT, INSERT,
UPDATE, DELETE on the tables and USAGE on the sequences, which can register
a device but cannot drop, alter or empty a table, and it needs no CREATE on
the schema (a node reads the version before any DDL)."""

import re
import subprocess
from pathlib import Path

import pytest

import pg
from conftest import basic_config
from device import MP, Device

pytestmark = pytest.mark.pg_only

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def chapter_block(marker):
    """The fenced block that follows the line `<!-- marker -->` in the doc."""
    text = DOC.read_text()
    m = re.search(r"<!-- %s -->\n```\w*\n(.*?)```" % re.escape(marker), text, re.S)
    assert m, "docs/operations.md lost its %s block" % marker
    return m.group(1)


def psql_as(user, db, sql, check=True):
    c = pg.CLUSTER
    r = subprocess.run([pg.PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(c.sock),
                        "-p", str(c.port), "-U", user, "-d", db],
                       input=sql, capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, "psql as %s: %s%s" % (user, r.stdout, r.stderr)
    return r


@pytest.fixture
def roles():
    # The chapter's block as printed, run by the superuser through psql.
    psql_as("postgres", "postgres", chapter_block("roles"))
    yield
    psql_as("postgres", "postgres", "DROP DATABASE IF EXISTS sitetoken WITH (FORCE);\n"
            "DROP ROLE IF EXISTS sitetoken_app;\nDROP ROLE IF EXISTS sitetoken_owner;\n",
            check=False)


def node(start_server, workdir, role):
    uri = "postgresql://%s@127.0.0.1:%d/sitetoken" % (role, pg.CLUSTER.port)
    workdir.mkdir(exist_ok=True)
    cfg = workdir / "sitetoken.yaml"
    cfg.write_text(basic_config('database: "%s"\nseal_key_file: "%s"\n'
                                % (uri, workdir.parent / "seal.key")))
    return start_server(args=["-c", str(cfg)], workdir=workdir)


def test_runtime_role_runs_a_node_and_cannot_change_the_schema(start_server, tmp_path, roles):
    # First start (and every upgrade) as the owner: the migrations run.
    owner = node(start_server, tmp_path / "migrate", "sitetoken_owner")
    owner.stop()
    version = psql_as("postgres", "sitetoken", "SELECT max(version) FROM schema_migrations;")
    assert int(version.stdout) > 0
    # Every node as the runtime role: it starts on the migrated schema, and a
    # registration (MP, bulk counter, device, token, audit, proof jti) works.
    app = node(start_server, tmp_path / "a", "sitetoken_app")
    key = app.ctl("mp", "add", "mp-roles", json_out=True, check=0).doc["api_key"]
    r = MP(app, key).register(Device())
    assert r.status_code == 201, r.text
    sessions = psql_as("postgres", "sitetoken", "SELECT DISTINCT usename FROM pg_stat_activity "
                       "WHERE application_name = 'sitetokend' AND datname = 'sitetoken';")
    assert sessions.stdout.split() == ["sitetoken_app"]
    # ... and it cannot drop, alter or empty a table of the owner's.
    for sql, why in (("DROP TABLE tokens;", "must be owner of table tokens"),
                     ("ALTER TABLE audit DROP COLUMN hash;", "must be owner of table audit"),
                     ("ALTER TABLE tokens ADD COLUMN x int;", "must be owner of table tokens"),
                     ("TRUNCATE audit;", "permission denied for table audit"),
                     ("DROP TABLE schema_migrations;",
                      "must be owner of table schema_migrations")):
        r = psql_as("sitetoken_app", "sitetoken", sql, check=False)
        assert r.returncode != 0 and why in r.stderr, (sql, r.stderr)
    r = MP(app, key).register(Device())  # and the node still works
    assert r.status_code == 201, r.text


def test_runtime_role_without_create_on_the_schema(start_server, tmp_path, roles):
    """The chapter grants no CREATE on the schema: a node starts and serves,
    and a table of its own is refused."""
    owner = node(start_server, tmp_path / "migrate", "sitetoken_owner")
    owner.stop()
    app = node(start_server, tmp_path / "a", "sitetoken_app")
    key = app.ctl("mp", "add", "mp-roles", json_out=True, check=0).doc["api_key"]
    assert MP(app, key).register(Device()).status_code == 201
    r = psql_as("sitetoken_app", "sitetoken", "CREATE TABLE x (a int);", check=False)
    assert r.returncode != 0 and "permission denied for schema public" in r.stderr


def test_runtime_role_on_a_database_that_needs_a_migration(tmp_path, roles):
    """A runtime-role node started on a database the owner has not migrated
    stops at start saying why (run that start as the owner)."""
    from conftest import run_sitetokend

    wd = tmp_path / "fresh"
    wd.mkdir()
    uri = "postgresql://sitetoken_app@127.0.0.1:%d/sitetoken" % pg.CLUSTER.port
    cfg = wd / "sitetoken.yaml"
    cfg.write_text(basic_config('database: "%s"\nseal_key_file: "%s"\n' % (uri, wd / "seal.key")))
    r = run_sitetokend(["-c", str(cfg)], wd)
    assert r.returncode != 0
    assert "permission denied for schema public" in r.stderr, r.stderr

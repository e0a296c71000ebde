"""The PostgreSQL the system suite runs on when SITETOKEN_TEST_DB=postgresql.

One real PostgreSQL 15 for the session: initdb and pg_ctl run as the user
`postgres` (initdb refuses root) in a temp directory that user owns, on a
free loopback port and a Unix socket directory of its own; readiness is
pg_isready polled with a deadline, never a fixed sleep. Every sitetokend the
harness starts gets a database of its own (CREATE DATABASE per state
directory, so a restart finds its records again) through `database:`.
Nothing here is a password: the cluster trusts loopback connections."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("SITETOKEN_PG_BIN", "/usr/lib/postgresql/15/bin"))
PSQL = shutil.which("psql") or str(PG_BIN / "psql")
ENABLED = os.environ.get("SITETOKEN_TEST_DB", "sqlite") == "postgresql"
START_TIMEOUT = 60.0
PASSWORD_ROLE = "st_pw"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], **kw)


class Cluster:
    """One running PostgreSQL; stop() at the end of the session."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="st-pg-"))
        self.data = self.dir / "data"
        self.sock = self.dir / "sock"
        self.sock.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        os.chmod(self.dir, 0o755)
        self.port = _free_port()
        self.log = self.dir / "postgres.log"
        self.seq = 0
        self.copies = 0
        self.dbs = {}
        r = _as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
                         capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stdout + r.stderr)
        # Loopback is trusted, except the role PASSWORD_ROLE: its password is
        # checked (scram), for the tests of database_password_file.
        hba = self.data / "pg_hba.conf"
        hba.write_text("local all all trust\n"
                       "host all %s 127.0.0.1/32 scram-sha-256\n"
                       "host all all 127.0.0.1/32 trust\n"
                       "host all all ::1/128 trust\n" % PASSWORD_ROLE)
        shutil.chown(hba, "postgres", "postgres")
        self._pg_ctl_start()

    def _pg_ctl_start(self):
        opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=400"
                " -c shared_buffers=32MB" % (self.port, self.sock))
        r = _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                         "-o", opts, "-W", "start", capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stdout + r.stderr + self.log_text())
        self.wait_ready()

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            r = subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1",
                                "-p", str(self.port), "-t", "2"])
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL not ready after %ss: %s" % (timeout, self.log_text()))
            time.sleep(0.05)  # polling pg_isready, bounded by the deadline

    def uri(self, db):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)

    def psql(self, db, sql, check=True):
        """Runs SQL through psql (the client tests tamper with, as an
        attacker with the database would); the output, unaligned, no header."""
        r = subprocess.run([PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                            "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("psql %s: %s" % (sql, r.stderr))
        return r.stdout

    def dump(self, db):
        """The whole database as pg_dump writes it (data and schema)."""
        r = subprocess.run([str(PG_BIN / "pg_dump"), "-h", str(self.sock), "-p", str(self.port),
                            "-U", "postgres", db], capture_output=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("pg_dump: %s" % r.stderr.decode(errors="replace"))
        return r.stdout

    def create_db(self):
        self.seq += 1
        name = "st_%d_%d" % (os.getpid(), self.seq)
        self.psql("postgres", "CREATE DATABASE %s" % name)
        return name

    def db_for(self, key):
        """The database of one state directory (made on first use)."""
        if key not in self.dbs:
            self.dbs[key] = self.create_db()
        return self.dbs[key]

    def halt(self):
        """Stops PostgreSQL (fast: sessions are ended) and keeps its data,
        for start_again(). Only on a cluster of a test's own."""
        r = _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-W",
                         "stop", capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl stop failed: " + r.stdout + r.stderr)
        deadline = time.monotonic() + 30
        while (self.data / "postmaster.pid").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not stop: " + self.log_text())
            time.sleep(0.05)  # polling the pid file, bounded by the deadline

    def start_again(self):
        self._pg_ctl_start()

    def stop(self):
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-W",
                     "stop", capture_output=True)
        # wait for the postmaster to be gone (its pid file goes last)
        deadline = time.monotonic() + 30
        while (self.data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.dir, ignore_errors=True)


CLUSTER = None


def start():
    global CLUSTER
    if ENABLED and CLUSTER is None:
        CLUSTER = Cluster()
    return CLUSTER


def stop():
    global CLUSTER
    if CLUSTER is not None:
        CLUSTER.stop()
        CLUSTER = None


_DATABASE_RE = re.compile(r"^database\s*:", re.M)
_STATE_RE = re.compile(r"^state_dir\s*:\s*[\"']?([^\"'\s#]+)", re.M)


def database_of(workdir):
    """The database URI of the server whose config lives in workdir (its
    state_dir), for tests that read or tamper with its rows."""
    return CLUSTER.uri(CLUSTER.db_for(str(Path(workdir).resolve() / "var")))


def rewrite_args(args, cwd):
    """With PostgreSQL on: a config given with -c that names no database gets
    its state directory's own PostgreSQL database (appended to the file)."""
    if CLUSTER is None:
        return args
    args = list(args)
    for i, a in enumerate(args[:-1]):
        if a != "-c":
            continue
        path = Path(args[i + 1])
        if not path.is_absolute():
            path = Path(cwd) / path
        try:
            text = path.read_text()
        except OSError:
            return args
        if _DATABASE_RE.search(text):
            return args  # named by the test (a SQLite file, or already ours)
        m = _STATE_RE.search(text)
        state = Path(m.group(1) if m else "var")
        if not state.is_absolute():
            state = Path(cwd) / state
        db = CLUSTER.db_for(str(state.resolve()))
        sep = "" if text.endswith("\n") or not text else "\n"
        text += sep + "database: \"%s\"\n" % CLUSTER.uri(db)
        if not _is_scratch(path):
            # a file of the tree (docs/examples): never edited, a copy is run
            CLUSTER.copies += 1
            path = CLUSTER.dir / ("config-%d-%s" % (CLUSTER.copies, path.name))
            args[i + 1] = str(path)
        path.write_text(text)
    return args


_TREE = Path(__file__).resolve().parents[2]


def _is_scratch(path):
    """Whether path is a test's own file rather than one of the tree's
    (docs/examples): the tree itself may sit in a temporary directory (a CI
    clone under /tmp), so "under the tree" is the test, not "under /tmp"."""
    try:
        Path(path).resolve().relative_to(_TREE)
        return False
    except ValueError:
        return True


if __name__ == "__main__":
    # pg.py -- CMD...: runs CMD with a PostgreSQL of its own for the store's
    # unit tests (SITETOKEN_TEST_PG_URI names its admin database), then stops it.
    import sys

    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit("usage: pg.py -- CMD [ARG...]")
    cluster = Cluster()
    try:
        rc = subprocess.call(argv, env={**os.environ, "SITETOKEN_TEST_PG_URI": cluster.uri("postgres")})
    finally:
        cluster.stop()
    sys.exit(rc)

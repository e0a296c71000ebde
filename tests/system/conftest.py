"""System-test harness: starts the real sitetokend in a temp dir on a free
loopback port, waits for its ready line (never a fixed sleep), and offers the
admin tool and HTTP helpers the tests talk through."""

import http.client
import json
import os
import socket
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

import openapi_check
import pg

# Every response from a sitetokend is checked against docs/openapi.yaml.
openapi_check.install()

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SITETOKEN_BUILD", ROOT / "build"))
SITETOKEND = BUILD / "server" / "sitetokend"
SITETOKENCTL = BUILD / "tools" / "sitetokenctl"
SITETOKEN_CLIENT = BUILD / "tools" / "sitetoken-client"
READY_TIMEOUT = float(os.environ.get("SITETOKEN_READY_TIMEOUT", "20"))
READY_RE = re.compile(r"^ready: listening on (.*)$")
# Set by .ci/run for the ASan+UBSan pass: tests that assert a latency, rate or
# memory bound skip the bound there (sanitizers change both by large factors).
SANITIZED = os.environ.get("SITETOKEN_SANITIZED", "") == "1"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


class Server:
    """One running sitetokend. stderr is collected line by line by a reader
    thread; the ready line is awaited through a condition variable."""

    def __init__(self, workdir, args, env=None):
        self.workdir = Path(workdir)
        self.args = args
        self.lines = []
        self.cond = threading.Condition()
        self.ready = None
        args = pg.rewrite_args(args, self.workdir)
        self.args = args
        self.proc = subprocess.Popen(
            [str(SITETOKEND), *args],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            with self.cond:
                self.lines.append(line)
                m = READY_RE.match(line)
                if m and self.ready is None:
                    self.ready = m.group(1)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.ready is None:
                if self.proc.poll() is not None and not self.reader.is_alive():
                    raise AssertionError(
                        "sitetokend exited %s before ready:\n%s"
                        % (self.proc.returncode, self.log())
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("sitetokend not ready in %ss:\n%s" % (timeout, self.log()))
                self.cond.wait(min(left, 0.5))
        openapi_check.register(self.ready, self.proc)
        m = re.search(r"http://([^,\s]+)", self.ready)
        self.base = "http://" + m.group(1) if m else None
        a = re.search(r"admin ([^,\s]+)", self.ready)
        self.admin_socket = str(self.workdir / a.group(1)) if a else None
        return self

    def wait_exit(self, timeout=20):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return rc

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.get(self.url(path), **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.post(self.url(path), **kw)

    def ctl(self, *args, json_out=False, check=None):
        cmd = [str(SITETOKENCTL), "-s", self.admin_socket]
        if json_out:
            cmd.append("--json")
        cmd.extend(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if check is not None:
            assert r.returncode == check, "%s -> %d\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr)
        if json_out and r.returncode == 0:
            r.doc = json.loads(r.stdout)
        return r

    def admin(self, method, path, body=None):
        """One request over the admin Unix socket -> (status, document)."""
        conn = UnixHTTPConnection(self.admin_socket)
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        openapi_check.record(method, path.split("?")[0], resp.status, resp.headers, raw, admin=True)
        return resp.status, (json.loads(raw) if raw else None)

    def admin_items(self, path):
        """Every item of a paged admin list (follows `next`) -> list."""
        items, after = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page = path if after is None else "%s%safter=%s" % (path, sep, after)
            status, doc = self.admin("GET", page)
            assert status == 200, doc
            items.extend(doc["items"])
            after = doc.get("next")
            if not after:
                return items

    def token(self, jti):
        """The admin token list's item for one jti, or None."""
        return next((t for t in self.admin_items("/v1/admin/tokens?limit=1000") if t["jti"] == jti), None)

    def shift_clock(self, seconds):
        """Moves the server's debug clock (needs debug.clock_override)."""
        import device

        status, doc = self.admin("POST", "/v1/admin/debug/clock", {"offset_seconds": seconds})
        assert status == 200, doc
        device.CLOCK["offset"] = seconds
        return doc

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout)


def stop_quietly(server):
    """Cleanup on every path out of a fixture: stops the server if it still
    runs (SIGKILL if it ignores SIGTERM), asserts nothing."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def write_config(path, text):
    path = Path(path)
    path.write_text(text)
    return path


def basic_config(extra="", clock=True, level="debug"):
    """A config on a free loopback port with state in ./var, the debug clock
    on (unless clock=False), plus extra YAML."""
    return (
        "listen:\n"
        "  - address: 127.0.0.1\n"
        "    port: 0\n"
        "log:\n"
        "  level: %s\n" % level + ("debug:\n  clock_override: true\n" if clock else "") + extra
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "sqlite_only: the test's point is the SQLite file itself (tamper, crash, sealing, WAL,"
        " locks, symlinks, permissions); a run on another store backend skips it",
    )
    config.addinivalue_line(
        "markers", "pg_only: the PostgreSQL counterpart of a sqlite_only test")


# SITETOKEN_TEST_DB=postgresql: the whole suite on one real PostgreSQL (pg.py).
STORE_BACKEND = "postgresql" if pg.ENABLED else "sqlite"


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="the store backend of this run is " + STORE_BACKEND)
    for item in items:
        if (STORE_BACKEND != "sqlite" and "sqlite_only" in item.keywords) or (
                STORE_BACKEND != "postgresql" and "pg_only" in item.keywords):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _store_backend():
    """Starts the session's PostgreSQL when the run is on it; stops it at the end."""
    cluster = pg.start()
    yield cluster
    pg.stop()


@pytest.fixture(autouse=True)
def _openapi_responses():
    """Fails the test when a response it received does not fit docs/openapi.yaml."""
    openapi_check.take_failures()
    yield
    failures = openapi_check.take_failures()
    assert not failures, "responses not as docs/openapi.yaml says:\n" + "\n".join(failures[:20])


@pytest.fixture(autouse=True)
def _device_clock():
    import device

    device.CLOCK["offset"] = 0
    yield
    device.CLOCK["offset"] = 0


@pytest.fixture
def start_server(tmp_path):
    """start_server(config_text=None, args=None) -> ready Server in tmp_path.
    Every server started is stopped (SIGKILL if it ignores SIGTERM) at the end."""
    started = []

    def start(config_text=None, args=None, wait=True, env=None, workdir=None):
        wd = Path(workdir or tmp_path)
        if args is None:
            cfg = write_config(wd / "sitetoken.yaml", config_text if config_text is not None else basic_config())
            args = ["-c", str(cfg)]
        s = Server(wd, args, env=env)
        started.append(s)
        if wait:
            s.wait_ready()
        return s

    yield start
    for s in started:
        stop_quietly(s)


@pytest.fixture
def server(start_server):
    return start_server()


def run_sitetokend(args, cwd, timeout=20):
    """Runs sitetokend to completion (for -n and start-up failures)."""
    return subprocess.run(
        [str(SITETOKEND), *pg.rewrite_args(args, cwd)], cwd=cwd, capture_output=True, text=True,
        timeout=timeout
    )


@pytest.fixture
def mp(server):
    """An MP registered through sitetokenctl, talking to `server`."""
    from device import MP

    r = server.ctl("mp", "add", "mp-test", json_out=True, check=0)
    return MP(server, r.doc["api_key"])


def clean_exit(server):
    """Stops the server and asserts a clean exit with no sanitizer report."""
    rc = server.stop()
    log = server.log()
    assert rc == 0, log[-3000:]
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-3000:]


def bulk_new(server, *args):
    r = server.ctl("bulk", "new", *args, json_out=True, check=0)
    return r.doc


def port_in_use(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError:
            return True

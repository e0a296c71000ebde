"""System-test harness: starts the real sitetokend in a temp dir on a free
loopback port, waits for its ready line (never a fixed sleep), and offers the
admin tool and HTTP helpers the tests talk through."""

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SITETOKEN_BUILD", ROOT / "build"))
SITETOKEND = BUILD / "server" / "sitetokend"
SITETOKENCTL = BUILD / "tools" / "sitetokenctl"
READY_TIMEOUT = float(os.environ.get("SITETOKEN_READY_TIMEOUT", "20"))
READY_RE = re.compile(r"^ready: listening on (.*)$")


class Server:
    """One running sitetokend. stderr is collected line by line by a reader
    thread; the ready line is awaited through a condition variable."""

    def __init__(self, workdir, args, env=None):
        self.workdir = Path(workdir)
        self.args = args
        self.lines = []
        self.cond = threading.Condition()
        self.ready = None
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

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout)


def write_config(path, text):
    path = Path(path)
    path.write_text(text)
    return path


def basic_config(extra=""):
    """A config on a free loopback port with state in ./var, plus extra YAML."""
    return (
        "listen:\n"
        "  - address: 127.0.0.1\n"
        "    port: 0\n"
        "log:\n"
        "  level: debug\n" + extra
    )


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
        if s.proc.poll() is None:
            s.proc.send_signal(signal.SIGTERM)
            try:
                s.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait()


@pytest.fixture
def server(start_server):
    return start_server()


def run_sitetokend(args, cwd, timeout=20):
    """Runs sitetokend to completion (for -n and start-up failures)."""
    return subprocess.run(
        [str(SITETOKEND), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )

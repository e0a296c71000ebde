"""Harness for the gateway kit's system tests: sitetoken-gateway, a small
upstream that echoes the X-Sitetoken-* headers it got, real nginx
(auth_request) and real Caddy (forward_auth) on free loopback ports, and a
device that makes RFC 9449 DPoP proofs with PyJWT."""

import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import jwt
import requests

import device
from conftest import BUILD, stop_quietly

GATEWAY = BUILD / "tools" / "sitetoken-gateway"
ROOT = Path(__file__).resolve().parents[2]


class Stopped:
    """`with Thing(...) as t:` stops t on every way out (a failed check, a
    failed start of the next piece); a constructor that fails after starting
    its process stops it before raising (started_or_stop)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def started_or_stop(self, wait):
        try:
            wait()
        except BaseException:
            self.stop()
            raise


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got is not None and got is not False:  # a refused Response is falsy
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def dpop(dev, method, url, access, iat=None, jti=None, key=None, jwk=None, typ="dpop+jwt",
         alg=None):
    claims = {"jti": jti or uuid.uuid4().hex, "htm": method, "htu": url,
              "iat": device.now() if iat is None else iat,
              "ath": device.b64u(hashlib.sha256(access.encode()).digest())}
    return jwt.encode(claims, key or dev.key, algorithm=alg or dev.alg,
                      headers={"typ": typ, "jwk": jwk or dev.jwk})


class Gateway(Stopped):
    def __init__(self, workdir, authority, extra="", authority_extra="", issuer="urn:sitetoken:PS1"):
        """issuer pins authority.issuer (None: from discovery alone);
        authority_extra: more YAML lines under authority:."""
        self.port = free_port()
        self.cfg = Path(workdir) / "gateway.yaml"
        self.cfg.write_text(
            "authority:\n  url: %s\n%s%s"
            "listen:\n  address: 127.0.0.1\n  port: %d\n"
            "log:\n  level: debug\ndebug:\n  clock_override: true\n%s"
            % (authority, "  issuer: %s\n" % issuer if issuer else "",
               "".join("  %s\n" % l for l in authority_extra.splitlines()), self.port, extra))
        self.lines = []
        self.proc = subprocess.Popen([str(GATEWAY), "-c", str(self.cfg)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.started_or_stop(self._started)
        self.base = "http://127.0.0.1:%d" % self.port

    def _started(self):
        with self.cond:
            self.cond.wait_for(lambda: any(l.startswith("ready:") for l in self.lines)
                               or self.proc.poll() is not None, timeout=20)
        assert self.proc.poll() is None, self.log()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def ready(self):
        return requests.get(self.base + "/readyz", timeout=5).status_code == 200

    def wait_ready(self, timeout=10):
        wait_until(self.ready, timeout, "gateway /readyz")

    def metric(self, name):
        for line in requests.get(self.base + "/metrics", timeout=5).text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        raise KeyError(name)

    def shift_clock(self, seconds):
        r = requests.post(self.base + "/debug/clock", json={"offset_seconds": seconds}, timeout=5)
        assert r.status_code == 200, r.text
        device.CLOCK["offset"] = seconds

    def stop(self):
        stop_quietly(self)


class Upstream(Stopped):
    """Echoes the request's method, path and X-Sitetoken-* headers as JSON."""

    def __init__(self):
        self.hits = []
        hits = self.hits

        class H(http.server.BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                got = {k.lower(): v for k, v in self.headers.items()
                       if k.lower().startswith("x-sitetoken-")}
                hits.append({"method": self.command, "path": self.path, "headers": got})
                body = json.dumps({"method": self.command, "path": self.path,
                                   "headers": got}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def snippet(name):
    """A configuration snippet from docs/gateway.md, between the markers
    `<!-- test:NAME -->` and the end of the code block that follows."""
    text = (ROOT / "docs" / "gateway.md").read_text()
    start = text.index("<!-- test:%s -->" % name)
    body = text[start:].split("```", 2)[1]
    return body.split("\n", 1)[1]


def fill(text, **ports):
    for k, v in ports.items():
        text = text.replace("{%s}" % k, str(v))
    return text


class Nginx(Stopped):
    def __init__(self, gw_port, up_port):
        self.port = free_port()
        # Workers run as nobody when nginx starts as root: every path they
        # touch lives in a directory nobody can reach.
        self.dir = Path(tempfile.mkdtemp(prefix="st-nginx-"))
        os.chmod(self.dir, 0o755)
        site = fill(snippet("nginx"), GATEWAY_PORT=gw_port, UPSTREAM_PORT=up_port,
                    LISTEN_PORT=self.port)
        d = self.dir
        conf = ("daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log info;\n"
                "events { worker_connections 256; }\nhttp {\n  access_log off;\n"
                "  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n"
                "  fastcgi_temp_path %s/fcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n"
                "%s\n}\n" % (d, d, d, d, d, d, d, site))
        (d / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(["nginx", "-p", str(d), "-c", str(d / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.started_or_stop(lambda: wait_until(self._up, 10, "nginx listening"))
        self.base = "http://127.0.0.1:%d" % self.port

    def _up(self):
        assert self.proc.poll() is None, self.proc.stderr.read()
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Caddy(Stopped):
    def __init__(self, gw_port, up_port):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="st-caddy-"))
        cfg = fill(snippet("caddy"), GATEWAY_PORT=gw_port, UPSTREAM_PORT=up_port,
                   LISTEN_PORT=self.port)
        (self.dir / "Caddyfile").write_text(cfg)
        env = {**os.environ, "HOME": str(self.dir), "XDG_DATA_HOME": str(self.dir),
               "XDG_CONFIG_HOME": str(self.dir)}
        self.logfile = self.dir / "caddy.log"
        with open(self.logfile, "wb") as log:
            self.proc = subprocess.Popen(["caddy", "run", "--config", str(self.dir / "Caddyfile"),
                                          "--adapter", "caddyfile"], cwd=self.dir, env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.started_or_stop(lambda: wait_until(self._up, 15, "caddy listening"))
        self.base = "http://127.0.0.1:%d" % self.port

    def _up(self):
        assert self.proc.poll() is None, "caddy exited: " + self.logfile.read_text(errors="replace")[-3000:]
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

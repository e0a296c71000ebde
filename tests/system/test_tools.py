"""The tools' HTTP client (tools/httpc.c on libcurl) as their users meet it:
sitetokenctl's exit codes (0 ok, 1 refused, 2 usage, 3 unreachable, 4 audit
broken) and --timeout against a socket that accepts and never answers;
sitetoken-client's exit 3 and --timeout; and `sitetoken-client call`,
checked by an independent RFC 9449 verifier (PyJWT) in a small HTTP server."""

import hashlib
import http.server
import json
import os
import socket
import subprocess
import threading
import time

import jwt
import pytest

from conftest import SANITIZED, SITETOKEN_CLIENT, SITETOKENCTL, bulk_new
from device import CLOCK, b64u, now, thumbprint, verify_with_pyjwt

DEFAULT_RULE = "var/admin.sock relative to the current directory; set -s or SITETOKEN_ADMIN_SOCKET"


def ctl(*args, cwd=None, env=None, timeout=60):
    return subprocess.run([str(SITETOKENCTL), *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


# -- sitetokenctl exit codes ------------------------------------------------

def test_ctl_unreachable_exits_3_naming_the_socket_and_the_default_rule(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SITETOKEN_ADMIN_SOCKET"}
    r = subprocess.run([str(SITETOKENCTL), "status"], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=30)
    assert r.returncode == 3, r.stderr
    assert "var/admin.sock (the default)" in r.stderr and DEFAULT_RULE in r.stderr
    assert "No such file" in r.stderr
    r = ctl("status", cwd=tmp_path, env={"SITETOKEN_ADMIN_SOCKET": str(tmp_path / "env.sock")})
    assert r.returncode == 3 and "env.sock (from SITETOKEN_ADMIN_SOCKET)" in r.stderr
    r = ctl("-s", str(tmp_path / "opt.sock"), "status", cwd=tmp_path)
    assert r.returncode == 3 and "opt.sock (from -s)" in r.stderr and DEFAULT_RULE in r.stderr


def test_ctl_stopped_server_exits_3(start_server):
    s = start_server()
    sock = s.admin_socket
    assert s.ctl("status").returncode == 0
    assert s.stop() == 0
    r = ctl("-s", sock, "status")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert sock in r.stderr and DEFAULT_RULE in r.stderr
    # a list command (paged) and audit verify report it the same way
    assert ctl("-s", sock, "bulk", "list", "--all").returncode == 3
    assert ctl("-s", sock, "audit", "verify").returncode == 3


def test_ctl_refusal_exits_1_with_the_code(server):
    r = server.ctl("device", "show", "GUID:00000000-0000-0000-0000-000000000000")
    assert r.returncode == 1 and r.stderr.startswith("not_found"), r.stderr
    r = server.ctl("token", "revoke", "nosuchjti")
    assert r.returncode == 1 and r.stderr.split(":")[0] in ("not_found", "invalid_request")


@pytest.mark.parametrize("args", [
    ["--timeout", "abc", "status"],
    ["--timeout", "0", "status"],
    ["--timeout", "-1", "status"],
    ["--timeout"],
    ["frobnicate"],
    ["status", "extra"],
])
def test_ctl_usage_exits_2(server, args):
    r = ctl("-s", server.admin_socket, *args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)


def test_ctl_timeout_option_is_accepted(server):
    r = ctl("-s", server.admin_socket, "--timeout", "2.5", "--json", "status")
    assert r.returncode == 0 and json.loads(r.stdout)["site_code"] == "PS1"


class SilentListener:
    """Accepts connections and never answers (holds them until closed)."""

    def __init__(self, family, address):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(address)
        self.sock.listen(16)
        self.address = self.sock.getsockname()
        self.held = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)
            self.accepted.set()

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def silent_unix(tmp_path):
    lst = SilentListener(socket.AF_UNIX, str(tmp_path / "silent.sock"))
    yield lst
    lst.close()


@pytest.fixture
def silent_tcp():
    lst = SilentListener(socket.AF_INET, ("127.0.0.1", 0))
    yield lst
    lst.close()


def test_ctl_timeout_against_a_socket_that_never_answers(silent_unix, tmp_path):
    t0 = time.monotonic()
    r = ctl("-s", str(tmp_path / "silent.sock"), "--timeout", "1", "status")
    took = time.monotonic() - t0
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "timed out" in r.stderr and "silent.sock" in r.stderr
    assert silent_unix.accepted.is_set()
    if not SANITIZED:
        assert 0.9 <= took < 4, took


# -- sitetoken-client -------------------------------------------------------

def client(*args, env=None, cwd=None, timeout=60):
    return subprocess.run([str(SITETOKEN_CLIENT), *args], capture_output=True, text=True,
                          cwd=cwd, env={"PATH": "/usr/bin:/bin", **(env or {})}, timeout=timeout)


def test_client_timeout_against_a_server_that_never_answers(silent_tcp, tmp_path):
    url = "http://127.0.0.1:%d" % silent_tcp.address[1]
    t0 = time.monotonic()
    r = client("--url", url, "--mp-key", "stmp_x", "--timeout", "1", "introspect", "a.b.c",
               cwd=tmp_path)
    took = time.monotonic() - t0
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "timed out" in r.stderr and url in r.stderr
    if not SANITIZED:
        assert 0.9 <= took < 4, took


def test_client_unreachable_exits_3(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = client("--url", "http://127.0.0.1:%d" % port, "--mp-key", "stmp_x", "introspect", "a.b.c",
               cwd=tmp_path)
    assert r.returncode == 3 and "cannot connect" in r.stderr, r.stderr


@pytest.mark.parametrize("args", [
    ["--url", "ftp://127.0.0.1:21", "introspect", "x"],
    ["--url", "127.0.0.1:8080", "introspect", "x"],
    ["--url", "http://127.0.0.1:99999", "introspect", "x"],
    ["--url", "http://u:p@127.0.0.1:8080", "introspect", "x"],
    ["--timeout", "soon", "introspect", "x"],
    ["--cert-key", "k.pem", "introspect", "x"],
    ["call", "GET"],
    ["call", "get", "http://127.0.0.1:1/"],
    ["call", "GET", "gopher://127.0.0.1/"],
])
def test_client_usage_exits_2(tmp_path, args):
    r = client("--mp-key", "stmp_x", "--key", str(tmp_path / "k"), *args, cwd=tmp_path)
    assert r.returncode == 2, (args, r.stdout, r.stderr)


def test_client_refusal_exits_1_with_the_code(server, tmp_path):
    r = client("--url", server.base, "--mp-key", "stmp_" + "x" * 40, "introspect", "a.b.c",
               cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("unauthenticated"), r.stderr


# -- call: an RFC 9449 client, checked by an independent verifier -----------

class Gateway:
    """A stand-in gateway: verifies Authorization: DPoP and the DPoP proof
    with PyJWT as RFC 9449 says, records what it saw, and answers 200 (403
    on /forbidden)."""

    def __init__(self, authority):
        self.authority = authority
        self.seen = []
        gw = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = {"method": self.command, "path": self.path, "body": body}
                try:
                    rec.update(gw.check(self.command, self.path, self.headers))
                    rec["ok"] = True
                except Exception as e:  # recorded, and asserted by the test
                    rec["ok"] = False
                    rec["error"] = repr(e)
                gw.seen.append(rec)
                status = 403 if self.path.startswith("/forbidden") else (200 if rec["ok"] else 401)
                out = json.dumps({"ok": rec["ok"], "sub": rec.get("sub")}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_DELETE = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def check(self, method, path, headers):
        auth = headers["Authorization"]
        assert auth.startswith("DPoP "), auth
        at = auth[5:]
        claims = verify_with_pyjwt(self.authority, at, "sitetoken-access+jwt")
        proof = headers["DPoP"]
        h = jwt.get_unverified_header(proof)
        assert h["typ"] == "dpop+jwt" and "d" not in h["jwk"] and "kid" not in h
        key = jwt.PyJWK(h["jwk"], algorithm=h["alg"])
        p = jwt.decode(proof, key.key, algorithms=[h["alg"]], leeway=abs(CLOCK["offset"]),
                       options={"require": ["jti", "htm", "htu", "iat", "ath"]})
        assert p["htm"] == method
        assert p["htu"] == self.base + path.split("?")[0]
        assert abs(p["iat"] - now()) < 60
        assert p["ath"] == b64u(hashlib.sha256(at.encode()).digest())
        assert thumbprint(h["jwk"]) == claims["cnf"]["jkt"]
        return {"sub": claims["sub"], "jti": p["jti"], "at_jti": claims["jti"]}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def gateway(server):
    g = Gateway(server)
    yield g
    g.close()


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_call_sends_a_valid_dpop_proof_and_reuses_the_access_token(mp, gateway, tmp_path, alg):
    bulk = bulk_new(mp.server)
    env = {"SITETOKEN_MP_KEY": mp.api_key}
    base = ["--url", mp.server.base, "--alg", alg, "--key", str(tmp_path / "dev.key"),
            "--token-file", str(tmp_path / "dev.token"), "--access-file", str(tmp_path / "dev.at")]
    r = client(*base, "exchange", bulk["token"], env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    device_id = json.loads(r.stdout)["device_id"]

    r = client(*base, "call", "GET", gateway.base + "/things/1?q=x#frag", env=env, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    first = gateway.seen[-1]
    assert first["ok"], first
    assert first["sub"] == device_id and first["path"] == "/things/1?q=x"
    status, body = r.stdout.split("\n", 1)
    assert status == "HTTP 200" and json.loads(body)["sub"] == device_id
    assert (tmp_path / "dev.at").stat().st_mode & 0o077 == 0

    # the second call reuses the cached access token with a fresh proof
    r = client(*base, "--data", '{"n": 2}', "call", "POST", gateway.base + "/things", env=env,
               cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    second = gateway.seen[-1]
    assert second["ok"], second
    assert second["method"] == "POST" and json.loads(second["body"]) == {"n": 2}
    assert second["at_jti"] == first["at_jti"] and second["jti"] != first["jti"]


def test_call_exit_codes_and_a_new_access_token_after_renewal(mp, gateway, tmp_path):
    bulk = bulk_new(mp.server)
    env = {"SITETOKEN_MP_KEY": mp.api_key}
    base = ["--url", mp.server.base, "--key", str(tmp_path / "dev.key"),
            "--token-file", str(tmp_path / "dev.token"), "--access-file", str(tmp_path / "dev.at")]
    # no client token yet: refused locally
    r = client(*base, "call", "GET", gateway.base + "/", env=env, cwd=tmp_path)
    assert r.returncode == 1 and "dev.token" in r.stderr
    assert client(*base, "exchange", bulk["token"], env=env, cwd=tmp_path).returncode == 0
    # a non-2xx answer: status printed, exit 1
    r = client(*base, "call", "DELETE", gateway.base + "/forbidden", env=env, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout.startswith("HTTP 403"), (r.stdout, r.stderr)
    assert gateway.seen[-1]["ok"], gateway.seen[-1]
    at1 = gateway.seen[-1]["at_jti"]
    # the gateway gone: exit 3
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d/" % s.getsockname()[1]
    r = client(*base, "call", "GET", dead, env=env, cwd=tmp_path)
    assert r.returncode == 3 and "cannot connect" in r.stderr, r.stderr
    # a cache file that is not ours is ignored, not trusted
    (tmp_path / "dev.at").write_text("garbage")
    r = client(*base, "call", "GET", gateway.base + "/", env=env, cwd=tmp_path)
    assert r.returncode == 0 and gateway.seen[-1]["ok"], (r.stderr, gateway.seen[-1])
    at2 = gateway.seen[-1]["at_jti"]
    assert at2 != at1
    # after a renewal the cached access token (of the old client token) is not reused
    mp.server.shift_clock(31 * 86400)
    base += ["--clock-offset", str(31 * 86400)]
    assert client(*base, "renew", env=env, cwd=tmp_path).returncode == 0
    r = client(*base, "call", "GET", gateway.base + "/", env=env, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr, gateway.seen[-1])
    assert gateway.seen[-1]["at_jti"] not in (at1, at2)


def test_call_with_the_authority_down_exits_3(tmp_path, gateway, mp):
    bulk = bulk_new(mp.server)
    env = {"SITETOKEN_MP_KEY": mp.api_key}
    base = ["--key", str(tmp_path / "dev.key"), "--token-file", str(tmp_path / "dev.token"),
            "--access-file", str(tmp_path / "dev.at")]
    assert client("--url", mp.server.base, *base, "exchange", bulk["token"], env=env,
                  cwd=tmp_path).returncode == 0
    url = mp.server.base
    assert mp.server.stop() == 0
    r = client("--url", url, *base, "call", "GET", gateway.base + "/", env=env, cwd=tmp_path)
    assert r.returncode == 3 and url in r.stderr, r.stderr
    assert gateway.seen == []


class OneAnswer:
    """Answers every request with the given raw bytes, then closes."""

    def __init__(self, raw):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.raw = raw
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.recv(65536)
                try:
                    c.sendall(self.raw)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("raw, says", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n{}", "response larger than"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "bad HTTP exchange"),
    (b"", "bad HTTP exchange"),
])
def test_client_bad_answers_exit_3_saying_what_failed(tmp_path, raw, says):
    srv = OneAnswer(raw)
    try:
        r = client("--url", srv.url, "--mp-key", "stmp_x", "introspect", "a.b.c", cwd=tmp_path)
    finally:
        srv.close()
    assert r.returncode == 3 and says in r.stderr, r.stderr

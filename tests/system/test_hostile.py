"""Hostile input: well over a hundred malformed, oversized, forged or replayed
requests, each answered with the right 4xx (and our problem `code` wherever
the request reached the dispatcher). Afterwards the server must still be
healthy, with bounded memory."""

import base64
import hashlib
import hmac
import json
import socket
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from conftest import Server, basic_config, stop_quietly, write_config
from device import AUDIENCE, ISSUER, MP, Device, b64u, b64u_decode, public_jwk

MAX_RSS_KB = 200 * 1024


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    wd = tmp_path_factory.mktemp("hostile")
    # a short read timeout, so that a request that never completes (a lying
    # Content-Length, endless chunks) is cut off within the test's time
    cfg = write_config(wd / "sitetoken.yaml",
                       basic_config("limits:\n  read_timeout: 2s\n", level="info", clock=False))
    s = Server(wd, ["-c", str(cfg)])
    try:
        s.wait_ready()
        key = s.ctl("mp", "add", "mp-hostile", json_out=True, check=0).doc["api_key"]
        mp = MP(s, key)
        d = Device()
        assert mp.register(d).status_code == 201
        bulk = s.ctl("bulk", "new", json_out=True, check=0).doc
        access = mp.access(d).json()["access_token"]
        yield {"server": s, "mp": mp, "device": d, "bulk": bulk["token"], "access": access}
        # After everything: alive, and memory bounded.
        assert s.get("/healthz").status_code == 200
        rss = rss_kb(s)
        print("hostile: server RSS after the suite %d kB" % rss)
        assert rss < MAX_RSS_KB
        # no hostile request made the server fail: no 5xx answer (logged at warn
        # with its status), nothing logged at error level, no 5xx in the metrics
        log = s.log()
        assert "level=error" not in log, [l for l in log.splitlines() if "level=error" in l][:5]
        assert " status=5" not in log, [l for l in log.splitlines() if " status=5" in l][:5]
        metrics = s.get("/metrics").text
        fives = [l for l in metrics.splitlines() if 'code="5' in l or 'status="5' in l]
        assert all(l.rstrip().endswith(" 0") for l in fives), fives
        s.stop()
        # under ASan/UBSan: no report at exit either (leaks included)
        log = s.log()
        assert "Sanitizer" not in log and "runtime error:" not in log, log[-3000:]
    finally:
        stop_quietly(s)


def rss_kb(server):
    with open("/proc/%d/status" % server.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- raw HTTP ------------------------------------------------------------------


def hostport(server):
    host, port = server.base[len("http://"):].rsplit(":", 1)
    return host, int(port)


def raw(server, data, half_close=False, timeout=5):
    """bytes in -> (status or None when closed unanswered, body bytes)."""
    with socket.create_connection(hostport(server), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                head, sep, body = out.partition(b"\r\n\r\n")
                if sep:
                    cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                    if cl and len(body) >= int(cl[0].split(b":")[1]):
                        break
        except (socket.timeout, ConnectionResetError):
            pass
    if not out.startswith(b"HTTP/1."):
        return None, out
    head, _, body = out.partition(b"\r\n\r\n")
    return int(out.split(b" ", 2)[1]), body


CLOSED = None
# name -> (request bytes, acceptable statuses, our problem code or None)
RAW = {
    "garbage line": (b"GARBAGE\r\n\r\n", {400}, None),
    "method only": (b"GET\r\n\r\n", {400}, None),
    "http/9.9": (b"GET /healthz HTTP/9.9\r\n\r\n", {400, 505}, None),
    "extra token in line": (b"GET /healthz HTTP/1.1 x\r\n\r\n", {400}, None),
    "nul in request line": (b"GET /hea\x00lthz HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}, None),
    "nul in header": (b"GET /healthz HTTP/1.1\r\nHost: x\x00y\r\nX: \x00\r\n\r\n", {400, 200}, None),
    "header without colon": (b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", {400}, None),
    "header name with space": (b"GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n", {400, 200}, None),
    "obs-fold header": (b"GET /healthz HTTP/1.1\r\nX-A: a\r\n  folded\r\n\r\n", {400, 200}, None),
    "content-length negative": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", {400}, None),
    "content-length letters": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", {400}, None),
    "content-length huge": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", {400, 413}, None),
    # past evhttp's hard cap (1 MiB): libevent answers 413 itself (docs/security.md)
    "content-length over max": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", {413}, None),
    # past limits.max_body but under the hard cap: our problem document
    "70 KB body": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 70000\r\nConnection: close\r\n\r\n" + b" " * 70000, {413}, "payload_too_large"),
    "content-length too short": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 5\r\nConnection: close\r\n\r\n{\"token\": \"a.b.c\"}", {400, 401}, None),
    "content-length conflicting": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                   b"Content-Length: 40\r\n\r\n{}", {400, 401}, None),
    "chunk size bomb": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"FFFFFFFFFFFFFFFF\r\naaaa\r\n", {400, 413}, None),
    "chunk size negative": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"-5\r\naaaaa\r\n0\r\n\r\n", {400, 413}, None),
    "chunk size not hex": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"zz\r\naaaaa\r\n0\r\n\r\n", {400, 413}, None),
    "chunks past the body limit": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   + b"4000\r\n" + b"a" * 0x4000 + b"\r\n" + b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
                                   + b"4000\r\n" + b"a" * 0x4000 + b"\r\n" + b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
                                   + b"4000\r\n" + b"a" * 0x4000 + b"\r\n0\r\n\r\n", {413}, None),
    "many tiny chunks": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n" + b"1\r\na\r\n" * 2000 + b"0\r\n\r\n", {400, 401}, None),
    "chunked and content-length": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                   b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", {400, 401}, None),
    "unknown transfer coding": (b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
                                b"Connection: close\r\n\r\nxxxx", {400, 401, 411, 501}, None),
    "unknown method": (b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", {400, 405, 501}, None),
    "put on mp route": (b"PUT /v1/registrations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", {405}, "method_not_allowed"),
    "options": (b"OPTIONS /v1/keys HTTP/1.1\r\nHost: x\r\n\r\n", {405}, "method_not_allowed"),
    "dot-dot path": (b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}, None),
    "encoded nul in path": (b"GET /v1/keys%00 HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}, None),
    "bad percent escape": (b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}, None),
    "absolute uri to elsewhere": (b"GET http://evil.example/v1/admin/mps HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}, None),
    "admin route over tcp": (b"GET /v1/admin/mps HTTP/1.1\r\nHost: x\r\n\r\n", {404}, "not_found"),
    # any method: a 405 would say the path exists
    "admin route over tcp, wrong method": (b"DELETE /v1/admin/mps HTTP/1.1\r\nHost: x\r\n\r\n", {404}, "not_found"),
    "admin route over tcp, put": (b"PUT /v1/admin/keys/rotate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                                  {404}, "not_found"),
    "admin route over tcp, options": (b"OPTIONS /v1/admin/bulk-tokens HTTP/1.1\r\nHost: x\r\n\r\n", {404}, "not_found"),
    "admin route over tcp, post on get": (b"POST /v1/admin/audit/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                                          {404}, "not_found"),
    "huge header": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", {400, 413, 431}, None),
    "huge request line": (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {400, 413, 414}, None),
    "thousands of headers": (b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(4000)) + b"\r\n", {400, 413, 431}, None),
    "http/0.9": (b"GET /healthz\r\n\r\n", {400}, None),
    "binary noise": (bytes(range(256)) * 4, {400}, None),
    "tls hello on plain port": (bytes.fromhex("16030100a5010000a10303") + b"\x00" * 150 + b"\r\n\r\n", {400}, None),
    "huge query": (b"GET /v1/revocations?since=" + b"9" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {400}, "invalid_request"),
    "negative since": (b"GET /v1/revocations?since=-5 HTTP/1.1\r\nHost: x\r\n\r\n", {400}, "invalid_request"),
}


@pytest.mark.parametrize("name", list(RAW))
def test_raw_http(env, name):
    data, statuses, code = RAW[name]
    status, body = raw(env["server"], data)
    assert status in statuses, (name, status, body[:300])
    if code is not None:
        assert json.loads(body)["code"] == code, body


def test_lying_content_length_then_close(env):
    # promises 100 bytes, sends 10 and closes: no answer, no harm
    status, _ = raw(env["server"], b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
                    half_close=True)
    assert status is None
    assert env["server"].get("/healthz").status_code == 200


def held_open_until_closed(server, head, trickle=None, limit=8):
    """Sends head, then (optionally) one trickle piece every 0.2 s, never
    finishing the request; returns the seconds until the server answered or
    closed. Meanwhile a good client must be served at once."""
    with socket.create_connection(hostport(server), timeout=limit) as c:
        c.sendall(head)
        c.settimeout(0.2)
        t0 = time.monotonic()
        good = None
        while time.monotonic() - t0 < limit:
            if good is None and time.monotonic() - t0 > 0.5:
                g0 = time.monotonic()
                assert server.get("/healthz", timeout=2).status_code == 200
                good = time.monotonic() - g0
            try:
                if trickle is not None:
                    c.sendall(trickle)
                data = c.recv(65536)
                if not data or data.startswith(b"HTTP/1."):
                    break
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                break
        else:
            raise AssertionError("the server kept a request that never completes open for %ss" % limit)
        took = time.monotonic() - t0
    assert good is None or good < 1.0, good
    return took


def test_lying_content_length_held_open_is_cut_off(env):
    # promises 100 bytes, sends 10 and waits: read_timeout (2 s) closes it
    took = held_open_until_closed(env["server"], b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"token\":")
    assert 1.0 < took < 6, took
    assert env["server"].get("/healthz").status_code == 200


def test_endless_chunks_are_cut_off(env):
    # a chunk every 0.2 s, never the last one: cut off by read_timeout
    took = held_open_until_closed(env["server"], b"POST /v1/introspect HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                                  trickle=b"1\r\n \r\n")
    assert took < 6, took
    assert env["server"].get("/healthz").status_code == 200


def test_header_trickle_is_cut_off(env):
    # headers that never end (slowloris on one connection)
    took = held_open_until_closed(env["server"], b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
                                  trickle=b"X-a: b\r\n")
    assert took < 6, took


# --- JSON bodies -----------------------------------------------------------------


def post_raw(env, path, data, ctype="application/json", auth=True):
    headers = {"Content-Type": ctype} if ctype else {}
    if auth:
        headers["Authorization"] = "Bearer " + env["mp"].api_key
    import requests
    return requests.post(env["server"].url(path), data=data, headers=headers, timeout=10)


def deep(n, opener=b"[", closer=b"]"):
    return opener * n + closer * n


BODIES = {
    "not json": b"{",
    "array": b"[]",
    "string": b'"x"',
    "number": b"42",
    "null": b"null",
    "empty object": b"{}",
    "empty body": b"",
    "trailing garbage": b'{"token": "a.b.c"} x',
    "two documents": b'{"token": "a.b.c"}{"token": "a.b.c"}',
    "deep arrays": b'{"token": ' + deep(5000) + b"}",
    "deep objects": b'{"token": ' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}",
    "deep 17": b'{"x": ' + deep(17) + b"}",
    "deep 1000 arrays": deep(1000),
    "deep 1000 objects": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "deep 1000 in a field": b'{"token": "a.b.c", "x": ' + deep(1000) + b"}",
    "huge array of numbers": b'{"token": [' + b",".join([b"1"] * 8000) + b"]}",
    "huge array of empty objects": b'{"token": "a.b.c", "x": [' + b",".join([b"{}"] * 5000) + b"]}",
    "huge array of strings": b'{"token": [' + b",".join([b'""'] * 5000) + b"]}",
    "huge array at the top": b"[" + b",".join([b"0"] * 8000) + b"]",
    "duplicate keys": b'{"token": "a.b.c", "token": "d.e.f"}',
    "duplicate keys differ in escapes": b'{"token": "a.b.c", "t\\u006fken": "d.e.f"}',
    "invalid utf-8": b'{"token": "\xff\xfe"}',
    "overlong utf-8": b'{"token": "\xc0\xaf"}',
    "lone surrogate": b'{"token": "\\ud800"}',
    "escaped nul": b'{"token": "a\\u0000b"}',
    "raw nul": b'{"token": "a\x00b"}',
    "raw nul outside strings": b'{"token"\x00: "a.b.c"}',
    "bom": b'\xef\xbb\xbf{"token": "a.b.c"}',
    "nan": b'{"token": NaN}',
    "infinity": b'{"token": Infinity}',
    "huge number": b'{"token": 1e999999}',
    "huge integer": b'{"token": 123456789012345678901234567890}',
    "token is number": b'{"token": 5}',
    "token is object": b'{"token": {"a": 1}}',
    "token is array": b'{"token": ["a.b.c"]}',
    "token is true": b'{"token": true}',
    "token empty": b'{"token": ""}',
    "token with spaces": b'{"token": "a b.c d.e"}',
    "token with newline": b'{"token": "a.b\\n.c"}',
    "token not base64url": b'{"token": "a+/=.b.c"}',
    "token too long": b'{"token": "' + b"a" * 9000 + b'.b.c"}',
    "unknown member": b'{"token": "a.b.c", "admin": true}',
    "missing member": b'{"tokens": "a.b.c"}',
    "many members": b"{" + b",".join(b'"k%d": 1' % i for i in range(1500)) + b"}",
    "single quotes": b"{'token': 'a.b.c'}",
    "comments": b'{/* c */ "token": "a.b.c"}',
    "unterminated string": b'{"token": "a.b.c}',
    "control char in string": b'{"token": "a\x01.b.c"}',
}


@pytest.mark.parametrize("name", list(BODIES))
def test_hostile_json_body(env, name):
    r = post_raw(env, "/v1/introspect", BODIES[name])
    assert r.status_code in (400, 413), (name, r.status_code, r.text)
    assert r.json()["code"] in ("invalid_request", "payload_too_large"), r.text


REG_BODIES = {
    "hardware_id control chars": {"hardware_id": "a\x07b", "name": "n"},
    "hardware_id too long": {"hardware_id": "h" * 300, "name": "n"},
    "name too long": {"hardware_id": "h", "name": "n" * 300},
    "name empty": {"hardware_id": "h", "name": ""},
    "name c1 control": {"hardware_id": "h", "name": "a\u0085b"},
    "name is number": {"hardware_id": "h", "name": 7},
    "proof missing": {"hardware_id": "h", "name": "n", "proof": None},
}


@pytest.mark.parametrize("name", list(REG_BODIES))
def test_hostile_registration_fields(env, name):
    d = Device()
    body = {"proof": d.proof("register")}
    body.update(REG_BODIES[name])
    r = env["mp"].post("/v1/registrations", body)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request", (name, r.text)


def test_wrong_content_type(env):
    r = post_raw(env, "/v1/introspect", b'{"token": "a.b.c"}', ctype="text/plain")
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


# --- MP credentials --------------------------------------------------------------


AUTHS = {
    "none": None,
    "basic": "Basic bXA6a2V5",
    "bearer empty": "Bearer ",
    "bearer wrong": "Bearer stmp_" + "A" * 43,
    "bearer too long": "Bearer " + "a" * 400,
    "lower-case scheme, wrong key": "bearer nope",
    "key of another shape": "Bearer ' OR 1=1 --",
}


@pytest.mark.parametrize("name", list(AUTHS))
def test_hostile_mp_credentials(env, name):
    import requests
    headers = {"Content-Type": "application/json"}
    if AUTHS[name] is not None:
        headers["Authorization"] = AUTHS[name]
    r = requests.post(env["server"].url("/v1/registrations"), headers=headers, timeout=10,
                      data=json.dumps(Device().register_body()))
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated", r.text
    assert "WWW-Authenticate" in r.headers


# --- forged and mangled tokens -----------------------------------------------------


def seg(obj):
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def mangle(token, header=None, claims=None, sig=None):
    h, p, s = token.split(".")
    hd = json.loads(b64u_decode(h))
    cl = json.loads(b64u_decode(p))
    if header:
        hd.update(header)
        hd = {k: v for k, v in hd.items() if v is not None}
    if claims:
        cl.update(claims)
    return seg(hd) + "." + seg(cl) + "." + (s if sig is None else sig)


def hs256_with_public_key(token, pub_bytes):
    h, p, _ = token.split(".")
    hd = json.loads(b64u_decode(h))
    hd["alg"] = "HS256"
    signing_input = (seg(hd) + "." + p).encode()
    return signing_input.decode() + "." + b64u(hmac.new(pub_bytes, signing_input, hashlib.sha256).digest())


def token_cases(env):
    t = env["device"].token
    jwks = env["server"].get("/v1/keys").json()["keys"]
    active = [k for k in jwks if k["status"] == "active"][0]
    x = b64u_decode(active["x"]) if "x" in active else b""
    pem = jwt.PyJWK(active).key.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    other = ed25519.Ed25519PrivateKey.generate()
    h, p, s = t.split(".")
    claims = json.loads(b64u_decode(p))
    forged_other_key = jwt.encode(claims, other, algorithm="EdDSA",
                                  headers={"kid": active["kid"], "typ": "sitetoken-client+jwt"})
    return {
        "alg none": (mangle(t, header={"alg": "none"}, sig=""), {"bad_signature", "invalid_request", "unknown_key"}),
        "alg None": (mangle(t, header={"alg": "None"}, sig=""), {"bad_signature", "invalid_request", "unknown_key"}),
        "alg none with signature": (mangle(t, header={"alg": "none"}), {"bad_signature", "unknown_key"}),
        "hs256 with raw public key": (hs256_with_public_key(t, x), {"bad_signature", "unknown_key"}),
        "hs256 with pem public key": (hs256_with_public_key(t, pem), {"bad_signature", "unknown_key"}),
        "hs256 with jwk json": (hs256_with_public_key(t, json.dumps(active).encode()), {"bad_signature", "unknown_key"}),
        "alg switched to ES256": (mangle(t, header={"alg": "ES256"}), {"bad_signature", "unknown_key"}),
        "alg switched to RS256": (mangle(t, header={"alg": "RS256"}), {"bad_signature", "unknown_key"}),
        "unknown kid": (mangle(t, header={"kid": "no-such-kid"}), {"unknown_key"}),
        "kid missing": (mangle(t, header={"kid": None}), {"unknown_key", "bad_signature"}),
        "kid is a path": (mangle(t, header={"kid": "../../etc/passwd"}), {"unknown_key"}),
        "kid huge": (mangle(t, header={"kid": "k" * 3000}), {"unknown_key", "invalid_request"}),
        "typ swapped to bulk": (mangle(t, header={"typ": "sitetoken-bulk+jwt"}), {"wrong_token_type", "bad_signature"}),
        "typ swapped to access": (mangle(t, header={"typ": "sitetoken-access+jwt"}), {"wrong_token_type", "bad_signature"}),
        "typ JWT": (mangle(t, header={"typ": "JWT"}), {"wrong_token_type", "bad_signature"}),
        "typ missing": (mangle(t, header={"typ": None}), {"wrong_token_type", "bad_signature"}),
        "bulk token as client token": (env["bulk"], {"wrong_token_type"}),
        "access token as client token": (env["access"], {"wrong_token_type"}),
        "proof as client token": (env["device"].proof("access"), {"wrong_token_type", "unknown_key", "bad_signature"}),
        "claims changed (exp)": (mangle(t, claims={"exp": claims["exp"] + 10 ** 6}), {"bad_signature"}),
        "claims changed (sub)": (mangle(t, claims={"sub": "GUID:" + str(uuid.uuid4())}), {"bad_signature"}),
        "signature truncated": (h + "." + p + "." + s[:20], {"bad_signature"}),
        "signature empty": (h + "." + p + ".", {"bad_signature", "invalid_request"}),
        "signature of another key": (forged_other_key, {"bad_signature"}),
        "signature not base64url": (h + "." + p + "." + "*" * len(s), {"bad_signature", "invalid_request"}),
        "header segment truncated": (h[:-5] + "." + p + "." + s, {"invalid_request", "bad_signature"}),
        "payload segment truncated": (h + "." + p[:-7] + "." + s, {"invalid_request", "bad_signature"}),
        "payload segment halved": (h + "." + p[:len(p) // 2] + "." + s, {"invalid_request", "bad_signature"}),
        "oversized payload segment": (h + "." + seg(dict(claims, pad="x" * 9000)) + "." + s,
                                      {"invalid_request", "bad_signature"}),
        "oversized signature segment": (h + "." + p + "." + "A" * 9000, {"invalid_request", "bad_signature"}),
        "two segments": (h + "." + p, {"invalid_request", "bad_signature"}),
        "four segments": (t + ".x", {"invalid_request", "bad_signature"}),
        "empty segments": ("..", {"invalid_request", "bad_signature"}),
        "header not json": (b64u(b"{not json") + "." + p + "." + s, {"invalid_request", "bad_signature"}),
        "header is array": (b64u(b"[1,2]") + "." + p + "." + s, {"invalid_request", "bad_signature"}),
        "payload not json": (h + "." + b64u(b"\xff\xfe") + "." + s, {"invalid_request", "bad_signature"}),
        "oversized header segment": (b64u(json.dumps({"alg": "EdDSA", "kid": active["kid"], "typ": "sitetoken-client+jwt",
                                                      "pad": "x" * 4000}).encode()) + "." + p + "." + s,
                                     {"invalid_request", "bad_signature"}),
        "oversized token": (t + "A" * 8000, {"invalid_request", "bad_signature"}),
        "crit header": (mangle(t, header={"crit": ["exp"]}), {"bad_signature", "invalid_request"}),
        "jwk in header": (mangle(t, header={"jwk": env["device"].jwk}), {"bad_signature"}),
        "b64 false": (mangle(t, header={"b64": False}), {"bad_signature", "invalid_request"}),
    }


TOKEN_CASE_NAMES = [
    "alg none", "alg None", "alg none with signature", "hs256 with raw public key",
    "hs256 with pem public key", "hs256 with jwk json", "alg switched to ES256",
    "alg switched to RS256", "unknown kid", "kid missing", "kid is a path", "kid huge",
    "typ swapped to bulk", "typ swapped to access", "typ JWT", "typ missing",
    "bulk token as client token", "access token as client token", "proof as client token",
    "claims changed (exp)", "claims changed (sub)", "signature truncated", "signature empty",
    "signature of another key", "signature not base64url", "header segment truncated",
    "payload segment truncated", "payload segment halved", "oversized payload segment",
    "oversized signature segment", "two segments", "four segments",
    "empty segments", "header not json", "header is array", "payload not json",
    "oversized header segment", "oversized token", "crit header", "jwk in header", "b64 false",
]


@pytest.mark.parametrize("name", TOKEN_CASE_NAMES)
def test_forged_client_token_refused(env, name):
    token, codes = token_cases(env)[name]
    d = env["device"]
    body = {"token": token, "proof": d.proof("access", token=token)}
    r = env["mp"].post("/v1/access-tokens", body)
    assert 400 <= r.status_code < 500, (name, r.text)
    assert r.json()["code"] in codes, (name, r.text)
    # introspection never calls a forgery active
    if name in ("bulk token as client token", "access token as client token"):
        return  # genuine tokens of another kind
    r = env["mp"].introspect(token)
    if r.status_code == 200:
        assert r.json()["active"] is False
    else:
        assert r.json()["code"] == "invalid_request"


def test_bulk_token_forged_with_hs256(env):
    jwks = env["server"].get("/v1/keys").json()["keys"]
    active = [k for k in jwks if k["status"] == "active"][0]
    forged = hs256_with_public_key(env["bulk"], b64u_decode(active["x"]))
    r = env["mp"].exchange(Device(), forged)
    assert r.status_code == 401 and r.json()["code"] in ("bad_signature", "unknown_key")


# --- proofs ------------------------------------------------------------------------


def proof_cases(env):
    d = Device()
    other = Device()
    now = int(time.time())
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak_jwk = public_jwk(weak)
    hdr = seg({"typ": "sitetoken-proof+jwt", "alg": "none", "jwk": d.jwk})
    pay = seg({"aud": ISSUER, "iat": now, "jti": uuid.uuid4().hex, "act": "register"})
    hs_hdr = seg({"typ": "sitetoken-proof+jwt", "alg": "HS256", "jwk": d.jwk})
    hs_sig = b64u(hmac.new(b64u_decode(d.jwk["x"]), (hs_hdr + "." + pay).encode(), hashlib.sha256).digest())
    return d, {
        "future dated": (d.proof("register", iat=now + 3600), "proof_invalid"),
        "slightly too far ahead": (d.proof("register", iat=now + 400), "proof_invalid"),
        "stale": (d.proof("register", iat=now - 3600), "proof_invalid"),
        "iat as string": (d.proof("register", iat=str(now)), "proof_invalid"),
        "mismatched jwk": (d.proof("register", jwk=other.jwk), "proof_invalid"),
        "signed by another key": (d.proof("register", key=other.key), "proof_invalid"),
        "wrong act": (d.proof("exchange"), "proof_invalid"),
        "wrong aud": (d.proof("register", aud="urn:sitetoken:EVIL"), "proof_invalid"),
        "typ JWT": (d.proof("register", typ="JWT"), "proof_invalid"),
        "typ client": (d.proof("register", typ="sitetoken-client+jwt"), "proof_invalid"),
        "alg none": (hdr + "." + pay + ".", "proof_invalid"),
        "hs256 with the jwk": (hs_hdr + "." + pay + "." + hs_sig, "proof_invalid"),
        "rsa 1024": (d.proof("register", key=weak, alg="RS256", jwk=weak_jwk), "proof_invalid"),
        "jwk with private part": (d.proof("register", jwk=dict(d.jwk, d=b64u(b"\0" * 32))), "proof_invalid"),
        "jwk unknown kty": (d.proof("register", jwk={"kty": "oct", "k": "AAAA"}), "proof_invalid"),
        "jwk wrong curve": (d.proof("register", jwk=dict(d.jwk, crv="X25519")), "proof_invalid"),
        "jwk x truncated": (d.proof("register", jwk=dict(d.jwk, x=d.jwk["x"][:10])), "proof_invalid"),
        "ath on register": (d.proof("register", extra={"ath": "x"}), None),
        "jti huge": (d.proof("register", jti="j" * 3000), "proof_invalid"),
    }


PROOF_CASE_NAMES = [
    "future dated", "slightly too far ahead", "stale", "iat as string", "mismatched jwk",
    "signed by another key", "wrong act", "wrong aud", "typ JWT", "typ client", "alg none",
    "hs256 with the jwk", "rsa 1024", "jwk with private part", "jwk unknown kty",
    "jwk wrong curve", "jwk x truncated", "jti huge",
]


@pytest.mark.parametrize("name", PROOF_CASE_NAMES)
def test_hostile_proof_refused(env, name):
    d, cases = proof_cases(env)
    proof, code = cases[name]
    r = env["mp"].post("/v1/registrations", {"hardware_id": d.hardware_id, "name": d.name, "proof": proof})
    # DESIGN.md: every proof failure but a replay is proof_invalid (401),
    # never invalid_request
    assert (r.status_code, r.json()["code"]) == (401, code), (name, r.text)


def test_proof_cases_all_run(env):
    """Every case proof_cases defines runs: refused ones through the
    parametrized test above, the accepted ones (code None) below."""
    _, cases = proof_cases(env)
    refused = sorted(n for n, (_, code) in cases.items() if code is not None)
    assert refused == sorted(PROOF_CASE_NAMES)
    assert sorted(n for n, (_, code) in cases.items() if code is None) == sorted(PROOF_CASES_ACCEPTED)


PROOF_CASES_ACCEPTED = ["ath on register"]


@pytest.mark.parametrize("name", PROOF_CASES_ACCEPTED)
def test_hostile_proof_extra_claims_ignored(env, name):
    """`ath` binds only renew and access proofs (token-format.md): on a
    register proof it is an unknown extra claim, and the proof is good."""
    d, cases = proof_cases(env)
    proof, code = cases[name]
    assert code is None
    r = env["mp"].post("/v1/registrations", {"hardware_id": d.hardware_id, "name": d.name, "proof": proof})
    assert r.status_code == 201, (name, r.text)
    assert r.json()["device_id"].startswith("GUID:")


def test_replayed_proofs_refused(env):
    d = Device()
    body = d.register_body()
    assert env["mp"].post("/v1/registrations", body).status_code == 201
    for _ in range(3):
        r = env["mp"].post("/v1/registrations", body)
        assert r.status_code == 401 and r.json()["code"] == "proof_replayed"
    # the same proof jti with a fresh signature is still a replay
    jti = uuid.uuid4().hex
    assert env["mp"].post("/v1/registrations", Device().register_body(jti=jti)).status_code == 201
    r = env["mp"].post("/v1/registrations", Device().register_body(jti=jti))
    assert r.status_code == 401 and r.json()["code"] == "proof_replayed"


def test_proof_from_another_device_on_access(env):
    d = env["device"]
    thief = Device()
    body = {"token": d.token, "proof": thief.proof("access", token=d.token)}
    r = env["mp"].post("/v1/access-tokens", body)
    assert r.status_code == 401 and r.json()["code"] == "binding_mismatch"


def test_proof_ath_of_another_token(env):
    d = env["device"]
    body = {"token": d.token, "proof": d.proof("access", token=env["access"])}
    r = env["mp"].post("/v1/access-tokens", body)
    assert r.status_code == 401 and r.json()["code"] == "proof_invalid"


def test_proof_for_renew_replayed_on_access(env):
    d = env["device"]
    body = {"token": d.token, "proof": d.proof("renew", token=d.token)}
    r = env["mp"].post("/v1/access-tokens", body)
    assert r.status_code == 401 and r.json()["code"] == "proof_invalid"


# proofs presented with a client token: (route, act, how the proof is made) -> code
TOKEN_PROOFS = {
    "access without ath": ("/v1/access-tokens", lambda d: d.proof("access"), "proof_invalid"),
    "renew without ath": ("/v1/renewals", lambda d: d.proof("renew"), "proof_invalid"),
    "access with ath not base64url": ("/v1/access-tokens", lambda d: d.proof("access", extra={"ath": "!!"}),
                                      "proof_invalid"),
    "access with ath of empty": ("/v1/access-tokens", lambda d: d.proof("access", token=""), "proof_invalid"),
    "renew with act access": ("/v1/renewals", lambda d: d.proof("access", token=d.token), "proof_invalid"),
    "renew with act register": ("/v1/renewals", lambda d: d.proof("register", token=d.token), "proof_invalid"),
    "access with wrong aud": ("/v1/access-tokens", lambda d: d.proof("access", token=d.token, aud="urn:x"),
                              "proof_invalid"),
    "access future dated": ("/v1/access-tokens",
                            lambda d: d.proof("access", token=d.token, iat=int(time.time()) + 3600),
                            "proof_invalid"),
    "access past dated": ("/v1/access-tokens",
                          lambda d: d.proof("access", token=d.token, iat=int(time.time()) - 3600),
                          "proof_invalid"),
    "access by another key with the right jwk": ("/v1/access-tokens",
                                                 lambda d: d.proof("access", token=d.token, key=Device().key),
                                                 "proof_invalid"),
    "access with the jwk's private part": ("/v1/access-tokens",
                                           lambda d: d.proof("access", token=d.token,
                                                             jwk=dict(d.jwk, d=b64u(b"\1" * 32))),
                                           "proof_invalid"),
}


@pytest.mark.parametrize("name", list(TOKEN_PROOFS))
def test_hostile_proof_with_token_refused(env, name):
    path, make, code = TOKEN_PROOFS[name]
    d = env["device"]
    r = env["mp"].post(path, {"token": d.token, "proof": make(d)})
    assert r.status_code in (400, 401), (name, r.text)
    assert r.json()["code"] == code, (name, r.text)


def test_replayed_access_proof_refused(env):
    d = env["device"]
    body = d.token_body("access")
    assert env["mp"].post("/v1/access-tokens", body).status_code == 200
    r = env["mp"].post("/v1/access-tokens", body)
    assert r.status_code == 401 and r.json()["code"] == "proof_replayed"


EXCHANGE_PROOFS = {
    "mismatched jwk": lambda d: d.proof("exchange", jwk=Device().jwk),
    "wrong act": lambda d: d.proof("register"),
    "future dated": lambda d: d.proof("exchange", iat=int(time.time()) + 3600),
    "past dated": lambda d: d.proof("exchange", iat=int(time.time()) - 3600),
    "wrong aud": lambda d: d.proof("exchange", aud="urn:sitetoken:gateway"),
    "swapped typ": lambda d: d.proof("exchange", typ="sitetoken-bulk+jwt"),
}


@pytest.mark.parametrize("name", list(EXCHANGE_PROOFS))
def test_hostile_exchange_proof_refused(env, name):
    d = Device()
    body = {"bulk_token": env["bulk"], "hardware_id": d.hardware_id, "name": d.name,
            "proof": EXCHANGE_PROOFS[name](d)}
    r = env["mp"].post("/v1/exchanges", body)
    assert r.status_code in (400, 401, 429), (name, r.text)
    assert r.json()["code"] in ("proof_invalid", "invalid_request", "rate_limited"), (name, r.text)


def test_replayed_exchange_proof_refused(env):
    d = Device()
    body = d.exchange_body(env["bulk"])
    assert env["mp"].post("/v1/exchanges", body).status_code == 201
    r = env["mp"].post("/v1/exchanges", body)
    assert r.status_code == 401 and r.json()["code"] == "proof_replayed", r.text


def test_proof_replayed_across_restart(start_server):
    """Proof jtis are persisted in the writer's transaction: a proof captured
    before a restart is still refused after it, through any MP, and for every
    route (a refused request's proof too); a fresh proof still passes."""
    s = start_server(basic_config())
    key = s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"]
    other = s.ctl("mp", "add", "other", json_out=True, check=0).doc["api_key"]
    mp = MP(s, key)
    d = Device()
    body = d.register_body()
    assert mp.post("/v1/registrations", body).status_code == 201
    assert mp.post("/v1/registrations", body).json()["code"] == "proof_replayed"
    d.token = mp.register(d).json()["token"]
    access = d.token_body("access")
    assert mp.post("/v1/access-tokens", access).status_code == 200
    bulk = s.ctl("bulk", "new", "--max-uses", "1", json_out=True, check=0).doc["token"]
    exchange = Device().exchange_body(bulk)
    assert mp.post("/v1/exchanges", exchange).status_code == 201
    refused = Device().exchange_body(bulk)  # the bulk token is used up: refused by the writer
    r = mp.post("/v1/exchanges", refused)
    assert r.status_code == 403 and r.json()["code"] == "bulk_token_exhausted", r.text
    s.stop()
    s = start_server(basic_config())
    for path, b in (("/v1/registrations", body), ("/v1/access-tokens", access),
                    ("/v1/exchanges", exchange), ("/v1/exchanges", refused)):
        for k in (key, other):
            r = MP(s, k).post(path, b)
            assert r.status_code == 401 and r.json()["code"] == "proof_replayed", (path, r.text)
    assert MP(s, key).register(Device()).status_code == 201


@pytest.mark.sqlite_only  # the admin API does not show the proof_jtis rows
def test_persisted_proofs_are_pruned(start_server, tmp_path):
    """Rows of proofs past the window are pruned by the writer; recent ones stay."""
    import sqlite3

    s = start_server(basic_config("tokens:\n  clock_skew: 1m\n"))
    mp = MP(s, s.ctl("mp", "add", "m", json_out=True, check=0).doc["api_key"])
    for _ in range(5):
        assert mp.register(Device()).status_code == 201
    db = tmp_path / "var" / "sitetoken.db"

    def rows():
        with sqlite3.connect(db) as c:
            return c.execute("SELECT count(*) FROM proof_jtis").fetchone()[0]

    assert rows() == 5
    # the clock moves past the window (2 x 1 min + 1 s): the next batches prune
    s.shift_clock(300)
    deadline = time.monotonic() + 10
    while True:
        assert mp.register(Device()).status_code == 201
        n = rows()
        if n == 1 or time.monotonic() > deadline:
            break
    assert n <= 1, n  # only the proof made after the shift (or none) is left

"""The public read path cannot be stalled (issue 10, items 1-3 and 13): the
feed is served from memory at the cost of its answer, slow readers share one
copy of it, event streams have their own budgets apart from connections,
/readyz never touches the store on the loop, and every source address has a
budget of public reads and of failed MP authentications. Per-address tests
use their own 127.x.y.z source addresses."""

import base64
import hashlib
import http.client
import json
import resource
import socket
import sqlite3
import statistics
import threading
import time

import jwt
import pytest

from conftest import SANITIZED, basic_config
from device import MP, Device, jwks

GATEWAY_AUD = "urn:sitetoken:gateway"


def hostport(server):
    host, port = server.base[len("http://"):].rsplit(":", 1)
    return host, int(port)


def call(server, method, path, src="127.0.0.1", headers=None, body=None, timeout=30):
    """One request from source address src -> (status, headers, body bytes)."""
    host, port = hostport(server)
    conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(src, 0))
    data = json.dumps(body) if body is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def assert_problem(status, headers, body, want_status, code):
    assert status == want_status, (status, body)
    assert headers["content-type"] == "application/problem+json"
    doc = json.loads(body)
    assert doc["code"] == code and doc["status"] == want_status, doc
    if code in ("rate_limited", "unavailable"):
        assert headers.get("retry-after", "").isdigit() and int(headers["retry-after"]) >= 1


def open_stream(server, src="127.0.0.1", last_event_id=None):
    """Opens GET /v1/events (HTTP/1.0) from src -> (status, socket, text
    read so far). The socket stays open for a 200."""
    host, port = hostport(server)
    s = socket.create_connection((host, port), timeout=10, source_address=(src, 0))
    head = "GET /v1/events HTTP/1.0\r\nHost: %s\r\n" % host
    if last_event_id is not None:
        head += "Last-Event-ID: %s\r\n" % last_event_id
    s.sendall((head + "\r\n").encode())
    out = b""
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in out and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    status = int(out.split(b" ", 2)[1])
    if status != 200:  # a problem document then close: read it all
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
    return status, s, out


def read_until(s, needle, timeout=10):
    out = b""
    deadline = time.monotonic() + timeout
    s.settimeout(0.2)
    while needle not in out:
        assert time.monotonic() < deadline, out
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        assert chunk, out
        out += chunk
    return out


def split_answer(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split(" ", 2)[1]), headers, body


def wait_until(pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def add_mp(server, name="edge"):
    return MP(server, server.ctl("mp", "add", name, json_out=True, check=0).doc["api_key"])


def revoke_through_api(start_server, n, extra=""):
    """A server with n revocations made as an admin makes them (a device
    registered, its token revoked) -> (server, mp)."""
    s = start_server(basic_config(extra))
    mp = add_mp(s)
    for _ in range(n):
        r = mp.register(Device())
        assert r.status_code == 201, r.text
        st, doc = s.admin("POST", "/v1/admin/tokens/%s/revoke" % r.json()["token_id"], {"reason": "edge"})
        assert st == 200, doc
    return s, mp


def seed_revocations(start_server, tmp_path, n, extra=""):
    """A server whose store holds n unexpired revocations (written straight
    into the stopped server's database, the only way to make thousands
    quickly: tests using it are sqlite_only), restarted -> (server, mp)."""
    s = start_server(basic_config(extra))
    mp = add_mp(s)
    s.stop()
    db = sqlite3.connect(tmp_path / "var" / "sitetoken.db")
    now = int(time.time())
    with db:
        db.executemany(
            "INSERT INTO revocations (kind, id, revoked_at, expires_at, reason) VALUES (?,?,?,?,?)",
            [("token", "tok%019d" % i, now, now + 30 * 86400, "seeded for the edge tests")
             for i in range(n)])
    db.close()
    s = start_server(basic_config(extra))
    return s, MP(s, mp.api_key)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def metric(server, name, labels):
    _, _, body = call(server, "GET", "/metrics", src="127.0.99.99")
    total = 0
    for line in body.decode().splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- item 1: the feed costs what its answer costs -----------------------------

def test_since_slices_etags_and_jws_etag(start_server, tmp_path):
    s, mp = revoke_through_api(start_server, 50)
    full = json.loads(call(s, "GET", "/v1/revocations")[2])
    serials = [e["serial"] for e in full["entries"]]
    assert len(serials) == 50 and serials == sorted(set(serials)) and full["serial"] == serials[-1]
    for since in (0, serials[0], serials[16], serials[48], serials[49], serials[49] + 10**12):
        st, h, body = call(s, "GET", "/v1/revocations?since=%d" % since)
        doc = json.loads(body)
        assert st == 200 and doc["serial"] == serials[-1]
        assert doc["entries"] == [e for e in full["entries"] if e["serial"] > since]
        # If-None-Match answered before any work, per suffix
        st, h2, _ = call(s, "GET", "/v1/revocations?since=%d" % since,
                         headers={"If-None-Match": h["etag"]})
        assert st == 304 and h2["etag"] == h["etag"]
    # two suffixes with different content never share an ETag
    e1 = call(s, "GET", "/v1/revocations?since=%d" % serials[0])[1]["etag"]
    e2 = call(s, "GET", "/v1/revocations?since=%d" % serials[1])[1]["etag"]
    assert e1 != e2
    # the JWS ETag names the signed bytes
    st, h, body = call(s, "GET", "/v1/revocations?since=%d&format=jws" % serials[9])
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()[:16]).rstrip(b"=").decode()
    assert st == 200 and h["etag"] == '"j%s"' % digest
    doc = jwt.decode(body.decode(), options={"verify_signature": False})
    assert [e["serial"] for e in doc["entries"]] == serials[10:]
    # a new revocation changes every ETag
    d = Device()
    tok = mp.register(d).json()["token_id"]
    s.ctl("token", "revoke", tok, check=0)
    st, _, _ = call(s, "GET", "/v1/revocations?since=%d" % serials[0], headers={"If-None-Match": e1})
    assert st == 200


def test_jws_resigned_every_half_max_age(start_server):
    s = start_server(basic_config("feed:\n  max_age: 2m\n"))
    key = {k["kid"]: k for k in jwks(s)["keys"]}

    def fetch(etag=None):
        st, h, body = call(s, "GET", "/v1/revocations?format=jws",
                           headers={"If-None-Match": etag} if etag else None)
        if st == 304:
            return st, h["etag"], None
        k = key[jwt.get_unverified_header(body.decode())["kid"]]
        doc = jwt.decode(body.decode(), jwt.PyJWK(k).key, algorithms=[k["alg"]],
                         audience=GATEWAY_AUD, options={"verify_exp": False, "verify_iat": False})
        return st, h["etag"], doc

    st, etag, doc = fetch()
    assert st == 200 and doc["exp"] - doc["iat"] == 120 and doc["aud"] == GATEWAY_AUD
    s.shift_clock(30)  # under max_age / 2: the same signed bytes
    assert fetch(etag)[0] == 304
    s.shift_clock(61)  # past max_age / 2: signed again, a new ETag
    st, etag2, doc2 = fetch(etag)
    assert st == 200 and etag2 != etag and doc2["iat"] >= doc["iat"] + 60
    assert doc2["exp"] == doc2["iat"] + 120


@pytest.mark.sqlite_only  # seeds thousands of revocations into the file
def test_feed_hammer_does_not_stall_mps(start_server, tmp_path):
    """4,000 revocations, two clients hammering since=1&format=jws and
    hanging up at once: MP registrations stay fast."""
    s, mp = seed_revocations(start_server, tmp_path, 4000, "limits:\n  public_rate: 0\n")
    host, port = hostport(s)
    st, _, body = call(s, "GET", "/v1/revocations?since=1&format=jws")
    assert st == 200 and len(body) > 400_000
    stop = threading.Event()
    sent = [0, 0]

    def hammer(i):
        req = ("GET /v1/revocations?since=1&format=jws HTTP/1.1\r\nHost: x\r\n\r\n").encode()
        while not stop.is_set():
            try:
                c = socket.create_connection((host, port), timeout=5,
                                             source_address=("127.0.3.%d" % (i + 1), 0))
                c.sendall(req)
                c.close()
                sent[i] += 1
            except OSError:
                pass

    threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: min(sent) >= 50, "the hammer to start")
        lat = []
        for _ in range(40):
            t0 = time.monotonic()
            r = mp.register(Device())
            lat.append(time.monotonic() - t0)
            assert r.status_code == 201, r.text
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert min(sent) >= 50
    # the server is still whole and the feed still right
    doc = json.loads(call(s, "GET", "/v1/revocations?since=1")[2])
    assert len(doc["entries"]) == 3999
    if not SANITIZED:
        assert statistics.median(lat) < 0.050, sorted(lat)


# --- item 3: slow readers share one copy, and what they may pin is bounded ----

@pytest.mark.sqlite_only  # seeds thousands of revocations into the file
def test_slow_readers_share_one_copy(start_server, tmp_path):
    """5,000 clients that never read a ~600 KB feed keep RSS under 200 MB."""
    n = 5000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 200:
        pytest.skip("RLIMIT_NOFILE hard limit %d too low" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 200), hard))
    s, _ = seed_revocations(start_server, tmp_path, 4000,
                            "limits:\n  max_connections: 6000\n  public_rate: 0\n")
    st, _, body = call(s, "GET", "/v1/revocations")
    assert st == 200 and 500_000 < len(body) < 900_000
    host, port = hostport(s)
    before = metric(s, "sitetoken_http_requests_total", ['route="revocations"'])
    socks = []
    try:
        req = b"GET /v1/revocations HTTP/1.1\r\nHost: x\r\n\r\n"
        for i in range(n):
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing
            c.bind(("127.0.4.%d" % (1 + i % 200), 0))
            c.connect((host, port))
            c.sendall(req)
            socks.append(c)
        wait_until(lambda: metric(s, "sitetoken_http_requests_total",
                                  ['route="revocations"']) >= before + n,
                   "every request answered", timeout=120)
        rss = rss_bytes(s.proc.pid)
        if not SANITIZED:
            assert rss < 200 * 1024 * 1024, rss
        # many answers went out whole (the kernel holds part of each); once
        # limits.max_queued_bytes (1 GiB) were queued the rest were told to
        # come back, never dropped silently
        ok = metric(s, "sitetoken_http_requests_total", ['route="revocations"', 'status="200"'])
        assert ok >= 1000, ok
        st, h, body2 = call(s, "GET", "/v1/revocations", src="127.0.4.250")
        if st == 200:
            assert body2 == body
        else:
            assert_problem(st, h, body2, 503, "unavailable")
    finally:
        for c in socks:
            c.close()


@pytest.mark.sqlite_only  # seeds thousands of revocations into the file
def test_queued_bytes_bound_gives_503(start_server, tmp_path):
    """Past limits.max_queued_bytes a big answer waits: 503 with Retry-After,
    never a silent close; small answers still go out. (A ~3.7 MB feed: on
    loopback the kernel takes about 2.8 MB of a reader that never reads, so a
    600 KB one would never stay queued in the server.)"""
    s, _ = seed_revocations(start_server, tmp_path, 25000,
                            "limits:\n  max_queued_bytes: 8388608\n  public_rate: 0\n")
    host, port = hostport(s)
    socks, refused = [], None
    try:
        for i in range(60):
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.bind(("127.0.5.1", 0))
            c.connect((host, port))
            c.sendall(b"GET /v1/revocations HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(c)
            st, h, body = call(s, "GET", "/v1/revocations", src="127.0.5.2")
            if st != 200:
                refused = (st, h, body)
                break
        assert refused is not None, "the bound never applied"
        assert_problem(*refused, 503, "unavailable")
        st, _, body = call(s, "GET", "/v1/revocations?since=24990", src="127.0.5.3")
        assert st == 200 and len(json.loads(body)["entries"]) == 10
    finally:
        for c in socks:
            c.close()
    # once the slow readers are gone, the big answer goes out again
    wait_until(lambda: call(s, "GET", "/v1/revocations", src="127.0.5.4")[0] == 200,
               "the queue to drain")


# --- item 2: streams have their own budgets -----------------------------------

STREAM_CONFIG = ("limits:\n  max_connections: 4\n  max_streams: 8\n"
                 "  max_streams_per_address: 5\n")


def test_streams_apart_from_connections(start_server):
    s = start_server(basic_config(STREAM_CONFIG))
    mp = add_mp(s)
    streams = []
    try:
        for _ in range(5):  # more streams than max_connections
            st, sock, _ = open_stream(s, src="127.0.6.1")
            assert st == 200
            streams.append(sock)
        # an MP still connects and registers
        assert mp.register(Device()).status_code == 201
        # the address is at its cap: a clear 429, never a silent close
        st, _, raw = open_stream(s, src="127.0.6.1")
        assert_problem(*split_answer(raw), 429, "rate_limited")
        # other addresses fill the rest of the stream budget ...
        for _ in range(3):
            st, sock, _ = open_stream(s, src="127.0.6.2")
            assert st == 200
            streams.append(sock)
        # ... and then the budget is full for everyone: 503
        st, _, raw = open_stream(s, src="127.0.6.3")
        assert_problem(*split_answer(raw), 503, "unavailable")
        assert mp.register(Device()).status_code == 201
        # a stream that ends gives its place back
        streams.pop(0).close()
        wait_until(lambda: open_stream(s, src="127.0.6.1")[0] == 200, "a freed stream place")
    finally:
        for sock in streams:
            sock.close()


def test_stream_reset_and_keys(start_server):
    s = start_server()
    mp = add_mp(s)
    d = Device()
    doc = mp.register(d).json()
    # a Last-Event-ID this authority never issued: event: reset
    st, sock, out = open_stream(s, last_event_id="999999999")
    assert st == 200
    out += read_until(sock, b"event: reset", timeout=5) if b"event: reset" not in out else b""
    sock.close()
    # a resumable one replays from memory
    s.ctl("token", "revoke", doc["token_id"], check=0)
    st, sock, out = open_stream(s, last_event_id="0")
    tok = doc["token_id"].encode()
    out += read_until(sock, tok) if tok not in out else b""
    assert b"event: revocation" in out
    # the published keys change: event: keys
    s.ctl("key", "rotate", check=0)
    read_until(sock, b"event: keys")
    sock.close()


def test_unblock_sends_reset(start_server):
    s = start_server()
    mp = add_mp(s)
    d = Device()
    dev = mp.register(d).json()["device_id"]
    s.ctl("device", "block", dev, check=0)
    st, sock, _ = open_stream(s)
    assert st == 200
    s.ctl("device", "unblock", dev, check=0)  # an entry goes away: no event says so
    read_until(sock, b"event: reset")
    sock.close()
    assert json.loads(call(s, "GET", "/v1/revocations")[2])["entries"] == []


# --- per-address budgets --------------------------------------------------------

def test_failed_auth_budget_per_address(start_server):
    s = start_server(basic_config("limits:\n  failed_auth_per_minute: 5\n"))
    mp = add_mp(s)
    body = Device().register_body()
    for i in range(5):
        st, h, b = call(s, "POST", "/v1/registrations", src="127.0.7.1", body=body,
                        headers={"Authorization": "Bearer stmp_madeup%d" % i})
        assert_problem(st, h, b, 401, "unauthenticated")
    # over budget: refused before any work, even with a good key
    for key in ("stmp_madeup_more", mp.api_key):
        st, h, b = call(s, "POST", "/v1/registrations", src="127.0.7.1",
                        body=Device().register_body(), headers={"Authorization": "Bearer " + key})
        assert_problem(st, h, b, 429, "rate_limited")
        assert int(h["retry-after"]) <= 60
    # another address is unaffected
    st, h, b = call(s, "POST", "/v1/registrations", src="127.0.7.2",
                    body=Device().register_body(), headers={"Authorization": "Bearer " + mp.api_key})
    assert st == 201, b
    st, h, b = call(s, "POST", "/v1/registrations", src="127.0.7.2", body=body,
                    headers={"Authorization": "Bearer stmp_madeup_other"})
    assert_problem(st, h, b, 401, "unauthenticated")


def test_public_read_budget_per_address(start_server):
    s = start_server(basic_config("limits:\n  public_rate: 60\n  public_burst: 5\n"))
    for _ in range(5):
        assert call(s, "GET", "/v1/keys", src="127.0.8.1")[0] == 200
    st, h, b = call(s, "GET", "/v1/revocations", src="127.0.8.1")
    assert_problem(st, h, b, 429, "rate_limited")
    assert call(s, "GET", "/v1/keys", src="127.0.8.2")[0] == 200


def test_default_budgets_fit_a_polling_gateway(start_server):
    """A gateway that polls every few seconds with its stream open never hits
    the defaults: 200 polls in a burst (far more than one would make) pass."""
    s = start_server()
    st, sock, _ = open_stream(s, src="127.0.8.9")
    assert st == 200
    etag = None
    for _ in range(100):
        st, h, _ = call(s, "GET", "/v1/revocations",
                        src="127.0.8.9", headers={"If-None-Match": etag} if etag else None)
        assert st in (200, 304)
        etag = h["etag"]
    sock.close()


# --- item 13: /readyz never touches the store on the loop ---------------------

@pytest.mark.sqlite_only  # another process holds the SQLite write lock
def test_readyz_does_not_block_the_loop(start_server, tmp_path):
    """Another process holds the write lock: /readyz probes wait in the
    writer (and answer 503 after its busy timeout) while /healthz, sent after
    them, is answered at once."""
    s = start_server(basic_config("store:\n  busy_timeout: 2s\n"))
    assert call(s, "GET", "/readyz")[0] == 200
    host, port = hostport(s)
    locker = sqlite3.connect(str(tmp_path / "var" / "sitetoken.db"), isolation_level=None,
                             timeout=5)
    locker.execute("BEGIN EXCLUSIVE")
    probes = []
    try:
        for i in range(10):  # in the server's socket queue before the healthz below
            c = socket.create_connection((host, port), timeout=30,
                                         source_address=("127.0.9.%d" % (i + 1), 0))
            c.sendall(b"GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n")
            probes.append(c)
        lat = []
        for _ in range(20):
            t0 = time.monotonic()
            assert call(s, "GET", "/healthz", src="127.0.9.100")[0] == 200
            lat.append(time.monotonic() - t0)
        if not SANITIZED:
            assert max(lat) < 0.5, lat
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    for c in probes:
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
        c.close()
        st, h, body = split_answer(out)
        if st != 200:
            assert_problem(st, h, body, 503, "unavailable")
    assert call(s, "GET", "/readyz")[0] == 200

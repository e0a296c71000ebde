"""Limits: connections, header and request-line size, body size, the read
timeout that closes idle and slow clients (a slowloris must not delay a good
client), the per-MP request rate and the failed-exchange budgets."""

import os
import resource
import socket
import statistics
import threading
import time

import pytest

from conftest import basic_config, bulk_new
from device import MP, Device


def hostport(server):
    host, port = server.base[len("http://"):].rsplit(":", 1)
    return host, int(port)


def raw_request(server, data, timeout=5):
    """Sends bytes, returns everything the server answers until it closes
    (or the timeout), as bytes."""
    with socket.create_connection(hostport(server), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and b"Connection: close" not in out:
                    # keep-alive answer: read the declared body and stop
                    head, _, body = out.partition(b"\r\n\r\n")
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            if len(body) >= int(line.split(b":")[1]):
                                return out
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def status_of(answer):
    if not answer.startswith(b"HTTP/1."):
        return None
    return int(answer.split(b" ", 2)[1])


def closed_within(sock, seconds):
    """True when the server closes sock (EOF or reset) within seconds."""
    sock.settimeout(0.05)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def good_get_ms(server):
    """Time for GET /healthz on a fresh connection, in ms."""
    t0 = time.perf_counter()
    with socket.create_connection(hostport(server), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    assert status_of(out) == 200, out
    return (time.perf_counter() - t0) * 1000


def test_max_connections(start_server):
    s = start_server(basic_config("limits:\n  max_connections: 8\n"))
    held = [socket.create_connection(hostport(s), timeout=5) for _ in range(8)]
    extra = socket.create_connection(hostport(s), timeout=5)
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert closed_within(extra, 3), "a connection beyond max_connections was served"
    extra.close()
    for h in held:
        h.close()
    # the slots come back once the server has seen them go
    deadline = time.monotonic() + 5
    while True:
        try:
            good_get_ms(s)
            break
        except (AssertionError, ConnectionResetError, OSError):
            assert time.monotonic() < deadline, "connections never freed"
            time.sleep(0.05)


def test_oversized_headers_and_request_line(server):
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert status_of(raw_request(server, big)) in (400, 413, 431, None)
    line = b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_of(raw_request(server, line)) in (400, 413, 414, None)
    many = b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(3000)) + b"\r\n"
    assert status_of(raw_request(server, many)) in (400, 413, 431, None)
    assert server.get("/healthz").status_code == 200


def test_body_size_limits(server, mp):
    r = mp.post("/v1/introspect", {"token": "a" * 17000})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    huge = b"x" * (16384 * 4 + 10)
    r = server.post("/v1/introspect", data=huge, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert server.get("/healthz").status_code == 200


def test_read_timeout_closes_idle_and_trickling_clients(start_server):
    s = start_server(basic_config("limits:\n  read_timeout: 500ms\n"))
    idle = socket.create_connection(hostport(s), timeout=5)
    trickle = socket.create_connection(hostport(s), timeout=5)
    stop = threading.Event()

    def drip():
        msg = b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200
        for i in range(len(msg)):
            if stop.is_set():
                return
            try:
                trickle.sendall(msg[i:i + 1])
            except OSError:
                return
            time.sleep(0.05)

    t = threading.Thread(target=drip, daemon=True)
    t0 = time.monotonic()
    t.start()
    assert closed_within(idle, 3)
    assert closed_within(trickle, 3), "a client trickling bytes is never cut off"
    # closed by the deadline, not by its own inactivity
    assert time.monotonic() - t0 < 2.5
    stop.set()
    idle.close()
    trickle.close()
    assert s.get("/healthz").status_code == 200


def test_slowloris_does_not_delay_a_good_client(start_server):
    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 3 * n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * n), hard))
    s = start_server(basic_config(level="info"))
    baseline = [good_get_ms(s) for _ in range(10)]
    socks = []
    for _ in range(n):
        c = socket.create_connection(hostport(s), timeout=5)
        c.sendall(b"GET /healthz HT")
        socks.append(c)
    stop = threading.Event()

    def slow():
        i = 0
        while not stop.is_set():
            for c in socks:
                try:
                    c.send(b"T" if i == 0 else b"x")
                except OSError:
                    pass
            i += 1
            stop.wait(0.5)

    t = threading.Thread(target=slow, daemon=True)
    t.start()
    try:
        during = []
        for _ in range(30):  # spread over ~1.5 s, three rounds of trickling
            during.append(good_get_ms(s))
            stop.wait(0.05)
        open_fds = len(os.listdir("/proc/%d/fd" % s.proc.pid))
        assert open_fds > n, "the slow connections were not all held open (%d fds)" % open_fds
    finally:
        stop.set()
        t.join()
        for c in socks:
            c.close()
    print("slowloris n=%d baseline median %.2f ms; during median %.2f ms max %.2f ms"
          % (n, statistics.median(baseline), statistics.median(during), max(during)))
    assert max(during) < 100, during
    assert s.get("/healthz").status_code == 200


def test_mp_rate_limit(start_server):
    s = start_server(basic_config("limits:\n  mp_rate: 5\n"))
    a = MP(s, s.ctl("mp", "add", "a", json_out=True, check=0).doc["api_key"])
    b = MP(s, s.ctl("mp", "add", "b", json_out=True, check=0).doc["api_key"])
    codes = [a.introspect("x.y.z").status_code for _ in range(12)]
    assert 429 in codes, codes
    r = a.introspect("x.y.z")
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert r.headers["Retry-After"] == "1"  # 5 a second: one back within 200 ms
    assert len(r.raw.headers.getlist("Retry-After")) == 1
    # another MP has its own bucket
    assert b.introspect("x.y.z").status_code == 200
    # and the bucket refills
    deadline = time.monotonic() + 5
    while a.introspect("x.y.z").status_code == 429:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_failed_exchanges_are_limited_per_bulk_token_and_per_mp(start_server):
    s = start_server(basic_config("limits:\n  failed_exchanges_per_minute: 3\n"))
    a = MP(s, s.ctl("mp", "add", "a", json_out=True, check=0).doc["api_key"])
    b = MP(s, s.ctl("mp", "add", "b", json_out=True, check=0).doc["api_key"])
    b1 = bulk_new(s)["token"]
    b2 = bulk_new(s)["token"]
    for _ in range(3):
        r = a.exchange(Device(), b1, typ="JWT")  # a bad proof: refused
        assert r.status_code == 401, r.text
    r = a.exchange(Device(), b1)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    # 3 a minute: the next one is allowed about 20 s later, and it says so
    assert 15 <= int(r.headers["Retry-After"]) <= 20, r.headers["Retry-After"]
    # the bulk token is spent for everyone...
    r = b.exchange(Device(), b1)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    # ...MP b may still use another one, MP a may not
    assert b.exchange(Device(), b2).status_code == 201
    assert a.exchange(Device(), b2).status_code == 429
    # registrations are not exchanges
    assert a.register(Device()).status_code == 201


def test_low_open_file_limit_lowers_max_connections(start_server, tmp_path, monkeypatch):
    """With a hard RLIMIT_NOFILE below max_connections the server lowers the
    limit (and says so) instead of running out of descriptors in accept()."""
    import conftest
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 700:
        pytest.skip("needs 700 descriptors for the client side")
    wrapper = tmp_path / "sitetokend-nofile"
    wrapper.write_text('#!/bin/sh\nulimit -n 400 || exit 3\nexec "%s" "$@"\n' % conftest.SITETOKEND)
    wrapper.chmod(0o755)
    monkeypatch.setattr(conftest, "SITETOKEND", wrapper)
    s = start_server(basic_config(level="info"))
    assert "nofile=400 max_connections=10000 lowered_to=108 max_streams=36" in s.log(), s.log()
    socks = []
    try:
        for _ in range(600):
            try:
                c = socket.create_connection(hostport(s), timeout=5)
                c.sendall(b"GET /healthz HT")
                socks.append(c)
            except OSError:
                break
        assert len(os.listdir("/proc/%d/fd" % s.proc.pid)) < 400
    finally:
        for c in socks:
            c.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            good_get_ms(s)
            break
        except (AssertionError, OSError):
            assert time.monotonic() < deadline, "server did not recover:\n" + s.log()
            time.sleep(0.05)
    assert s.proc.poll() is None
    assert "Too many open files" not in s.log()

"""The event stream (GET /v1/events, Server-Sent Events): a revocation
reaches a subscriber within a second of the admin command; a subscriber that
reconnects with Last-Event-ID misses nothing; keys events on rotation; many
subscribers at once; a subscriber that goes away is forgotten."""

import queue
import socket
import threading
import time

import requests

from conftest import bulk_new
from device import Device


class Subscriber:
    """Reads one event stream on a thread, over a plain socket (HTTP/1.0, so
    the body is the stream itself and close() takes effect at once); events
    land in a queue as dicts {event, id, data}, comments as {"comment": ...}."""

    def __init__(self, server, last_event_id=None, query=""):
        host, port = server.base[len("http://"):].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        head = "GET /v1/events%s HTTP/1.0\r\nHost: %s\r\nAccept: text/event-stream\r\n" % (
            query, host)
        if last_event_id is not None:
            head += "Last-Event-ID: %s\r\n" % last_event_id
        self.sock.sendall((head + "\r\n").encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline().decode()
        assert " 200 " in status, status
        headers = {}
        while True:
            line = self.file.readline().decode().strip()
            if not line:
                break
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        assert headers["content-type"] == "text/event-stream"
        self.q = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        hello = self.next(timeout=5)
        assert hello.get("comment", "").startswith("serial"), hello

    def _read(self):
        ev = {}
        try:
            for raw in self.file:
                raw = raw.decode().rstrip("\n")
                if raw == "":
                    if "data" in ev:  # (a lone "retry:" is no event)
                        self.q.put(ev)
                    ev = {}
                elif raw.startswith(":"):
                    self.q.put({"comment": raw[1:].strip()})
                else:
                    k, _, v = raw.partition(":")
                    ev[k] = v[1:] if v.startswith(" ") else v
        except Exception:
            pass
        self.q.put(None)

    def next(self, timeout=5):
        return self.q.get(timeout=timeout)

    def next_event(self, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if ev is None or "comment" not in ev:
                return ev

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def exchange(mp, bulk):
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201, r.text
    d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
    return d


def test_revocation_within_one_second(server, mp):
    import json

    d = exchange(mp, bulk_new(server))
    sub = Subscriber(server)
    t0 = time.monotonic()
    server.ctl("token", "revoke", d.jti, "--reason", "stolen", check=0)
    ev = sub.next_event(timeout=5)
    elapsed = time.monotonic() - t0
    data = json.loads(ev["data"])
    assert ev["event"] == "revocation" and ev["id"] == str(data["serial"]) and data["serial"] > 0
    assert data["kind"] == "token" and data["id"] == d.jti
    assert data["reason"] == "stolen"
    assert elapsed < 1.0, elapsed
    sub.close()


def test_resume_with_last_event_id(server, mp):
    import json

    bulk = bulk_new(server)
    devs = [exchange(mp, bulk) for _ in range(5)]
    sub = Subscriber(server)
    server.ctl("token", "revoke", devs[0].jti, check=0)
    server.ctl("device", "block", devs[1].id, check=0)
    # serials: max(previous + 1, Unix time in microseconds), increasing
    s1, s2 = int(sub.next_event()["id"]), int(sub.next_event()["id"])
    assert 0 < s1 < s2
    sub.close()
    # missed while away
    server.ctl("token", "revoke", devs[2].jti, check=0)
    server.ctl("device", "block", devs[3].id, check=0)
    sub = Subscriber(server, last_event_id=s2)
    got = [sub.next_event(), sub.next_event()]
    s3, s4 = (int(e["id"]) for e in got)
    assert s2 < s3 < s4
    assert json.loads(got[1]["data"])["id"] == devs[3].id
    # and live after the replay, without repeats
    server.ctl("token", "revoke", devs[4].jti, check=0)
    s5 = int(sub.next_event()["id"])
    assert s5 > s4
    sub.close()
    # ?since= is the same for clients that cannot set headers
    sub = Subscriber(server, query="?since=%d" % s3)
    assert [sub.next_event()["id"], sub.next_event()["id"]] == [str(s4), str(s5)]
    sub.close()


def test_no_replay_without_last_event_id(server, mp):
    import json

    d = exchange(mp, bulk_new(server))
    server.ctl("token", "revoke", d.jti, check=0)
    first = server.get("/v1/revocations").json()["serial"]
    sub = Subscriber(server)
    d2 = exchange(mp, bulk_new(server))
    server.ctl("device", "block", d2.id, check=0)
    ev = sub.next_event()
    assert int(ev["id"]) > first and json.loads(ev["data"])["id"] == d2.id
    sub.close()


def test_keys_event_on_rotation(server):
    import json

    sub = Subscriber(server)
    server.ctl("key", "rotate", "--now", check=0)
    ev = sub.next_event()
    assert ev["event"] == "keys" and "id" not in ev
    assert json.loads(ev["data"])["etag"] == server.get("/v1/keys").headers["ETag"]
    sub.close()


def test_many_subscribers(server, mp):
    d = exchange(mp, bulk_new(server))
    subs = [Subscriber(server) for _ in range(50)]
    t0 = time.monotonic()
    server.ctl("token", "revoke", d.jti, check=0)
    serial = None
    for s in subs:
        ev = s.next_event()
        assert serial is None or ev["id"] == serial
        serial = ev["id"]
    assert time.monotonic() - t0 < 2.0
    for s in subs:
        s.close()


def test_closed_subscriber_is_forgotten_and_server_stops(server, mp):
    subs = [Subscriber(server) for _ in range(3)]
    for s in subs[:2]:
        s.close()
    # raw clients that vanish mid-stream
    for _ in range(3):
        host, port = server.base[len("http://"):].split(":")
        c = socket.create_connection((host, int(port)))
        c.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200" in c.recv(100)
        c.close()
    d = exchange(mp, bulk_new(server))
    server.ctl("token", "revoke", d.jti, check=0)
    assert subs[2].next_event()["id"] == str(server.get("/v1/revocations").json()["serial"])
    assert server.admin("GET", "/v1/admin/status")[0] == 200
    # shutdown ends the open stream instead of waiting for it
    t0 = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - t0 < 5
    assert subs[2].next(timeout=5) is None


def test_bad_last_event_id(server):
    r = requests.get(server.url("/v1/events"), headers={"Last-Event-ID": "abc"}, timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"

"""What one node commits, every other node knows (issue 13, cluster.py):
revocations and removals reach the other node's feed and event stream at
once (LISTEN/NOTIFY wakes it; the marker poll, cluster.poll, is the path
that must be correct); serials become visible in order on every node; one
key lifecycle for the site (a lease row decides who rotates; every node
reloads what it commits); MP changes and key revocations hold everywhere."""

import json
import signal
import threading
import time

import pytest

from cluster import Site
from device import MP, Device, registered
from conftest import clean_exit
from test_events import Subscriber

pytestmark = pytest.mark.pg_only


def code_of(r):
    return r.json().get("code")


def wait_for(pred, timeout, what):
    """Polls pred until it is true; returns the seconds it took."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        if pred():
            return time.monotonic() - t0
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.02)


def add_mp(node, name="mp-a"):
    return node.ctl("mp", "add", name, json_out=True, check=0).doc["api_key"]



def feed_serials(node, since=0):
    r = node.get("/v1/revocations?since=%d" % since)
    assert r.status_code == 200, r.text
    return [e["serial"] for e in r.json()["entries"]]


def test_revocation_on_a_reaches_b_at_once(start_server, tmp_path):
    """Registered on A, renewed on B, blocked on A: B's introspection and
    renewal refuse it at once, B's stream has the event within a second;
    the unblock on A reaches B's stream as `event: reset` and B's feed."""
    site = Site(start_server, tmp_path, n=2)
    key = add_mp(site[0])
    mp_a, mp_b = MP(site[0], key), MP(site[1], key)
    d = registered(mp_a)
    for node in site:
        node.shift_clock(31 * 86400)  # renewable now (the leader may rotate meanwhile)
    r = mp_b.renew(d)
    assert r.status_code == 200, r.text
    renewed = r.json()["token_id"]
    sub = Subscriber(site[1])
    try:
        t0 = time.monotonic()
        site[0].ctl("token", "revoke", renewed, check=0)
        assert mp_b.introspect(d.token).json() == {"active": False, "reason": "token_revoked"}
        r = mp_b.renew(d)
        assert r.status_code in (401, 403) and code_of(r) == "token_revoked", r.text
        ev = sub.next_event(timeout=5)
        took = time.monotonic() - t0
        assert ev is not None and ev["event"] == "revocation", ev
        entry = json.loads(ev["data"])
        assert entry["kind"] == "token" and entry["id"] == renewed
        assert took < 1.0, "the event took %.3f s" % took
        assert entry["serial"] in feed_serials(site[1])
        # a removal (unblock) on A: `event: reset` on B, gone from B's feed
        site[0].ctl("device", "block", d.id, check=0)
        wait_for(lambda: feed_serials(site[1]) == feed_serials(site[0]), 3, "the block on B")
        assert len(feed_serials(site[1])) > 1
        site[0].ctl("device", "unblock", d.id, check=0)
        deadline = time.monotonic() + 5
        while True:  # the block's own entries may come first
            ev = sub.next_event(timeout=max(0.01, deadline - time.monotonic()))
            assert ev is not None, "no reset"
            if ev["event"] == "reset":
                break
            assert ev["event"] == "revocation", ev
        assert feed_serials(site[1]) == feed_serials(site[0])
        kinds = [e["kind"] for e in site[1].get("/v1/revocations").json()["entries"]]
        assert "device" not in kinds and entry["serial"] in feed_serials(site[1])
    finally:
        sub.close()


def test_removal_reaches_b_by_the_poll_alone(start_server, tmp_path):
    """A notification only wakes: with none (a NOTIFY cannot reach B when it
    is sent by hand, so here the unblock is done behind the nodes' back in
    SQL plus the counter bump, as a node would), B's poll still finds a
    removal and a revocation within the poll interval."""
    site = Site(start_server, tmp_path, n=2, extra="cluster:\n  poll: 300ms\n")
    key = add_mp(site[0])
    d = registered(MP(site[0], key))
    site[0].ctl("device", "block", d.id, check=0)
    wait_for(lambda: len(feed_serials(site[1])) == 1, 3, "the entry on B")
    site.psql("BEGIN; DELETE FROM revocations WHERE id = '%s';"
              " INSERT INTO meta(key, value, updated_at) VALUES ('changes.removals', '1', 0)"
              " ON CONFLICT(key) DO UPDATE SET"
              " value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT); COMMIT;" % d.id)
    took = wait_for(lambda: feed_serials(site[1]) == [], 3, "the removal on B")
    assert took < 2.0


def test_serials_become_visible_in_order_on_every_node(start_server, tmp_path):
    """Concurrent revokes on both nodes while readers poll both feeds: a
    reader never sees a serial below one it saw before appear later (N+1
    visible while N was not), and both nodes end with the same list."""
    site = Site(start_server, tmp_path, n=2, extra="limits:\n  public_rate: 0\n")
    key = add_mp(site[0])
    mps = [MP(site[0], key), MP(site[1], key)]
    devices = [registered(mps[i % 2]) for i in range(40)]
    stop = threading.Event()
    errors = []

    def reader(node):
        seen = set()
        top = 0
        while not stop.is_set():
            try:
                serials = feed_serials(node)
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append("read: %r" % e)
                return
            new = [s for s in serials if s not in seen]
            for s in new:
                if s < top:
                    errors.append("serial %d appeared after %d" % (s, top))
            seen.update(new)
            if serials:
                top = max(top, max(serials))

    def revoker(i):
        node = site[i]
        for d in devices[i::2]:
            node.ctl("token", "revoke", d.jti, check=0)

    readers = [threading.Thread(target=reader, args=(site[i % 2],)) for i in range(6)]
    revokers = [threading.Thread(target=revoker, args=(i,)) for i in range(2)]
    for t in readers + revokers:
        t.start()
    for t in revokers:
        t.join()
    wait_for(lambda: len(feed_serials(site[0])) == 40 and len(feed_serials(site[1])) == 40, 5,
             "every entry on both nodes")
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert feed_serials(site[0]) == feed_serials(site[1])


def jwks_of(node):
    r = node.get("/v1/keys")
    assert r.status_code == 200, r.text
    return r.json()


def test_rotation_on_a_is_served_by_b_at_once(start_server, tmp_path):
    """rotate --now on A: B serves the same JWKS well within 5 s (the
    notification), B's stream gets `event: keys`, and tokens signed with the
    new key by either node introspect on both."""
    site = Site(start_server, tmp_path, n=2)
    key = add_mp(site[0])
    mp_a, mp_b = MP(site[0], key), MP(site[1], key)
    sub = Subscriber(site[1])
    try:
        t0 = time.monotonic()
        site[0].ctl("key", "rotate", "--now", check=0)
        took = wait_for(lambda: jwks_of(site[1]) == jwks_of(site[0]), 5, "the same JWKS on B")
        assert took < 2.0, "B served the new keys after %.3f s" % took
        ev = sub.next_event(timeout=5)
        assert ev is not None and ev["event"] == "keys", ev
        assert time.monotonic() - t0 < 5
    finally:
        sub.close()
    active = [k["kid"] for k in site[0].ctl("key", "list", json_out=True, check=0).doc["items"]
              if k["status"] == "active"]
    for signer, other in ((mp_a, mp_b), (mp_b, mp_a)):
        d = registered(signer)
        info = other.introspect(d.token).json()
        assert info["active"] is True and info["kid"] in active, info
    for node in site:  # the listener thread stops with the node
        clean_exit(node)


def leader(site):
    out = site.psql("SELECT value FROM meta WHERE key = 'keys.leader'")
    return out.strip()


def test_one_node_leads_the_key_lifecycle_and_b_takes_over(start_server, tmp_path):
    """The lease row names one holder; while it holds it the other node does
    not take it; once the leader is killed, B takes the lease after it
    expires (cluster.key_lease 3 s: ticks every second)."""
    site = Site(start_server, tmp_path, n=2, extra="cluster:\n  key_lease: 3s\n")
    wait_for(lambda: leader(site) != "", 5, "a leader")
    first = leader(site)
    # it stays with one holder over several ticks
    t_end = time.monotonic() + 2.5
    while time.monotonic() < t_end:
        assert leader(site) == first
        time.sleep(0.1)
    ids = [str((site.workdir(i) / "var").resolve()) for i in range(2)]
    assert first.split(":", 1)[1] in ids, first
    lead = ids.index(first.split(":", 1)[1])
    other = 1 - lead
    t0 = time.monotonic()
    site[lead].proc.send_signal(signal.SIGKILL)
    site[lead].wait_exit()
    took = wait_for(lambda: leader(site).endswith(":" + ids[other]), 10,
                    "the other node to take the lease")
    assert took < 3 + 1 + 2.5, took
    # the survivor now runs the lifecycle: a rotation on it is its own
    site[other].ctl("key", "rotate", "--now", check=0)
    key = add_mp(site[other], "mp-b")
    d = registered(MP(site[other], key))
    assert MP(site[other], key).introspect(d.token).json()["active"] is True


def test_mp_changes_on_a_hold_on_b(start_server, tmp_path):
    """mp rotate-key on A: B refuses the old key at once (the notification;
    the poll, within cluster.poll, otherwise) and takes the new one; mp
    remove on A: B refuses the MP's key."""
    site = Site(start_server, tmp_path, n=2)
    old = add_mp(site[0], "mp-rot")
    mp_b = MP(site[1], old)
    d = registered(mp_b)  # B's credential cache now holds the old key
    assert mp_b.introspect(d.token).status_code == 200
    new = site[0].ctl("mp", "rotate-key", "mp-rot", json_out=True, check=0).doc["api_key"]
    took = wait_for(lambda: mp_b.introspect(d.token).status_code == 401, 3,
                    "B refusing the old key")
    assert took < 1.0, "B took the old key for %.3f s" % took
    r = mp_b.introspect(d.token)
    assert code_of(r) == "unauthenticated", r.text
    assert MP(site[1], new).introspect(d.token).status_code == 200
    mp_new_b = MP(site[1], new)
    site[0].ctl("mp", "remove", "mp-rot", check=0)
    took = wait_for(lambda: mp_new_b.introspect(d.token).status_code == 401, 3,
                    "B refusing a removed MP")
    assert took < 1.0


def test_key_revoked_on_a_is_refused_on_b(start_server, tmp_path):
    """A token B verified (and cached) stops verifying on B once A tainted
    and revoked its key: B reloads on the notification."""
    site = Site(start_server, tmp_path, n=2)
    key = add_mp(site[0])
    mp_a, mp_b = MP(site[0], key), MP(site[1], key)
    d = registered(mp_a)
    assert mp_b.introspect(d.token).json()["active"] is True
    r = mp_b.access(d)  # cached as verified on B
    assert r.status_code == 200, r.text
    leaked = mp_b.introspect(d.token).json()["kid"]
    site[0].ctl("key", "taint", leaked, check=0)
    site[0].ctl("key", "revoke", leaked, check=0)
    wait_for(lambda: mp_b.introspect(d.token).json().get("active") is False, 3,
             "B refusing the revoked key's token")
    assert mp_b.introspect(d.token).json() == {"active": False, "reason": "token_revoked"}
    r = mp_b.access(d)
    assert r.status_code in (401, 403) and code_of(r) == "token_revoked", r.text

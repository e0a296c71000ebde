"""The gateway kit: sitetoken-gateway (libsitetoken with its revocation
cache, fed by the signed feed and the event stream) answers locally, refuses
a revoked token within a second of `sitetokenctl token revoke` and a blocked
device's tokens likewise, takes an unblock at its next full refetch, learns a
rotated key, and does not refetch the keys for every unknown kid."""

import queue
import subprocess
import threading
import time

import jwt

from conftest import BUILD, bulk_new
from device import Device

GATEWAY = BUILD / "tools" / "sitetoken-gateway"


class Gateway:
    def __init__(self, server, *args):
        self.proc = subprocess.Popen([str(GATEWAY), "--url", server.base, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.err = queue.Queue()
        threading.Thread(target=self._errs, daemon=True).start()
        line = self.err.get(timeout=10)
        assert line.startswith("ready:"), line

    def _errs(self):
        for line in self.proc.stderr:
            self.err.put(line.strip())

    def check(self, token):
        self.proc.stdin.write(token + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def wait_for(self, token, want, timeout):
        deadline = time.monotonic() + timeout
        while True:
            got = self.check(token)
            if got.startswith(want) or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def exchange(mp, bulk):
    """A device with its client token and an access token: only the access
    token is a gateway credential (its aud is the gateway audience; a client
    token's is the issuer, DESIGN.md "The tokens")."""
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201, r.text
    d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
    r = mp.access(d)
    assert r.status_code == 200, r.text
    d.access, d.access_jti = r.json()["access_token"], r.json()["token_id"]
    return d


def test_revoked_within_one_second(server, mp):
    bulk = bulk_new(server)
    d, other = exchange(mp, bulk), exchange(mp, bulk)
    gw = Gateway(server)
    assert gw.check(d.access) == "ok access %s %s" % (d.id, d.access_jti)
    # a client token is not a gateway credential
    assert gw.check(d.token) == "refused wrong_token_type"
    assert gw.check("not-a-token") == "refused invalid_request"
    t0 = time.monotonic()
    server.ctl("token", "revoke", d.access_jti, check=0)
    assert gw.wait_for(d.access, "refused", 1.0) == "refused token_revoked"
    assert time.monotonic() - t0 < 1.0
    # nothing of another family
    assert gw.check(other.access).startswith("ok access")
    # a blocked device: all of its tokens
    t0 = time.monotonic()
    server.ctl("device", "block", other.id, check=0)
    assert gw.wait_for(other.access, "refused", 1.0) == "refused token_revoked"
    assert time.monotonic() - t0 < 1.0
    # a blocked bulk token does not touch devices that exchanged it
    late = exchange(mp, bulk)
    server.ctl("bulk", "block", bulk["id"], check=0)
    time.sleep(0.2)
    assert gw.check(late.access).startswith("ok access")
    gw.close()


def test_starts_with_revocations_and_takes_unblock_on_refresh(server, mp):
    d = exchange(mp, bulk_new(server))
    server.ctl("device", "block", d.id, check=0)
    gw = Gateway(server, "--refresh", "1")
    assert gw.check(d.access) == "refused token_revoked"
    server.ctl("device", "unblock", d.id, check=0)
    # the unblock removes the entry; the next full refetch (every second
    # here, 60 s by default) brings that to the gateway
    assert gw.wait_for(d.access, "ok", 5.0).startswith("ok access")
    gw.close()


def test_rotation_and_unknown_kid_cooldown(server, mp):
    d = exchange(mp, bulk_new(server))
    gw = Gateway(server, "--kid-cooldown", "3600")
    assert gw.check(d.access).startswith("ok")
    # forged kids: refused without a fetch storm (one refetch at most)
    header = jwt.get_unverified_header(d.access)
    forger = Device().key
    for i in range(50):
        forged = jwt.encode({"x": i}, forger, algorithm="EdDSA",
                            headers={"kid": "nope%d" % i, "typ": header["typ"]})
        assert gw.check(forged) == "refused unknown_key"
    metrics = server.get("/metrics").text
    keys_fetches = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                       if line.startswith("sitetoken_http_requests_total") and 'route="keys"' in line)
    assert 1 <= keys_fetches <= 2, keys_fetches  # the start, and one refetch
    # a rotation reaches the gateway as a keys event: tokens of the new key verify
    server.ctl("key", "rotate", "--now", check=0)
    d2 = exchange(mp, bulk_new(server))
    assert jwt.get_unverified_header(d2.access)["kid"] != header["kid"]
    assert gw.wait_for(d2.access, "ok", 2.0).startswith("ok access")
    assert gw.check(d.access).startswith("ok access")  # the retired key still verifies
    gw.close()

"""The contract's finer points, tried as an ordinary client would: audiences
(a gateway's JWT library refuses bulk and client tokens), the metadata
document, time-ordered ids, proofs by RFC 7515/9864 rules (typ spelling,
`Ed25519` as an alg), the key rules for new devices (RSA 2048-4096 with e =
65537, no small-order Ed25519 point), problem documents for every error our
code answers, admin paths that do not exist over TCP, and MP names quoted in
the log."""

import hashlib
import json
import re
import sqlite3
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import basic_config, bulk_new
from device import AUDIENCE, ISSUER, MP, Device, b64u, b64u_decode, jwks, now, public_jwk, verify_with_pyjwt

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def seg(obj):
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def raw_proof(key, header, claims):
    """A compact JWS signed with an Ed25519 key, header taken as given (PyJWT
    2.6 knows no `Ed25519` alg name)."""
    signing_input = seg(header) + "." + seg(claims)
    return signing_input + "." + b64u(key.sign(signing_input.encode()))


def claims(act, **kw):
    c = {"aud": ISSUER, "iat": now(), "jti": uuid.uuid4().hex, "act": act}
    c.update(kw)
    return c


def pyjwt_key(server, token):
    keys = {k["kid"]: k for k in jwks(server)["keys"]}
    k = keys[jwt.get_unverified_header(token)["kid"]]
    return jwt.PyJWK(k).key, k["alg"]


# --- audiences ---------------------------------------------------------------------


def test_gateway_audience_accepts_only_access_tokens(server, mp):
    bulk = bulk_new(server)
    d = Device()
    assert mp.exchange(d, bulk["token"]).status_code == 201
    access = mp.access(d).json()["access_token"]
    for token in (bulk["token"], d.token):
        key, alg = pyjwt_key(server, token)
        # a gateway configured as any JWT library would be: refused
        with pytest.raises(jwt.InvalidAudienceError):
            jwt.decode(token, key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
        # the authority's own audience
        assert jwt.decode(token, key, algorithms=[alg], audience=ISSUER, issuer=ISSUER)["aud"] == ISSUER
    key, alg = pyjwt_key(server, access)
    assert jwt.decode(access, key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)["aud"] == AUDIENCE
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(access, key, algorithms=[alg], audience=ISSUER, issuer=ISSUER)
    # and the authority still takes them: renew is refused only for age
    assert mp.introspect(d.token).json()["active"] is True
    assert mp.introspect(access).json()["active"] is True


def server_signing_key(workdir, kid):
    """The authority's own private key, unsealed as signer.c seals it
    (version, 12-byte nonce, AES-256-GCM with the kid as AAD): the way to make
    a token as an older authority would have."""
    seal = (workdir / "var" / "seal.key").read_bytes()
    db = sqlite3.connect(workdir / "var" / "sitetoken.db")
    blob = db.execute("SELECT sealed_private FROM keys WHERE kid = ?", (kid,)).fetchone()[0]
    db.close()
    return serialization.load_der_private_key(AESGCM(seal).decrypt(blob[1:13], blob[13:], kid.encode()), None)


@pytest.mark.sqlite_only  # unseals a signing key from the file to forge an old token
def test_client_token_with_the_old_audience_still_accepted(start_server, tmp_path):
    """Client tokens issued before the audience rule carry the gateway
    audience; the authority accepts them until they expire."""
    s = start_server()
    mp = MP(s, s.ctl("mp", "add", "mp-old", json_out=True, check=0).doc["api_key"])
    d = Device()
    assert mp.register(d).status_code == 201
    header = jwt.get_unverified_header(d.token)
    old = dict(jwt.decode(d.token, options={"verify_signature": False}), aud=AUDIENCE)
    key = server_signing_key(tmp_path, header["kid"])
    old_token = jwt.encode(old, key, algorithm="EdDSA", headers={"kid": header["kid"], "typ": header["typ"]})
    assert mp.introspect(old_token).json()["active"] is True
    r = mp.access(d, token=old_token)
    assert r.status_code == 200, r.text
    # a foreign audience is not one of the two
    foreign = jwt.encode(dict(old, aud="urn:someone-else"), key, algorithm="EdDSA",
                         headers={"kid": header["kid"], "typ": header["typ"]})
    assert mp.introspect(foreign).json() == {"active": False, "reason": "wrong_token_type"}
    r = mp.access(d, token=foreign)
    assert r.status_code == 401 and r.json()["code"] == "wrong_token_type"


# --- metadata ----------------------------------------------------------------------


def test_metadata_document(server):
    r = server.get("/.well-known/sitetoken")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert "max-age=" in r.headers["Cache-Control"]
    doc = r.json()
    host = server.base.split("//", 1)[1]
    assert doc == {
        "issuer": ISSUER,
        "gateway_audience": AUDIENCE,
        "jwks_uri": "http://%s/.well-known/jwks.json" % host,
        "revocations_uri": "http://%s/v1/revocations" % host,
        "events_uri": "http://%s/v1/events" % host,
        "algorithms_supported": ["EdDSA", "ES256", "RS256"],
        "dpop_signing_alg_values_supported": ["EdDSA", "Ed25519", "ES256", "RS256"],
        "feed_max_age": 600,
    }
    # the URIs work
    assert requests.get(doc["jwks_uri"], timeout=10).json()["keys"]
    assert requests.get(doc["revocations_uri"] + "?since=0", timeout=10).status_code == 200
    # ETag and 304
    etag = r.headers["ETag"]
    r2 = server.get("/.well-known/sitetoken", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.headers["ETag"] == etag
    # another Host: its own URIs (and its own ETag)
    r3 = server.get("/.well-known/sitetoken", headers={"Host": "auth.example:8443"})
    assert r3.json()["jwks_uri"] == "http://auth.example:8443/.well-known/jwks.json"
    assert r3.headers["ETag"] != etag
    assert "Host" in r3.headers.get("Vary", "")


def test_metadata_refuses_a_hostile_host(server):
    for host in ("evil.example/path", 'a"b', "x" * 300, "a b"):
        r = server.get("/.well-known/sitetoken", headers={"Host": host})
        assert r.status_code == 400, (host, r.status_code)
        assert r.json()["code"] == "invalid_request"


def test_metadata_with_public_url(start_server):
    s = start_server(basic_config("site:\n  public_url: https://auth.example.org\n"))
    doc = s.get("/.well-known/sitetoken", headers={"Host": "ignored.example"}).json()
    assert doc["jwks_uri"] == "https://auth.example.org/.well-known/jwks.json"
    assert doc["events_uri"] == "https://auth.example.org/v1/events"


# --- time-ordered ids ---------------------------------------------------------------


def test_issued_ids_are_time_ordered(server, mp):
    t0 = int(time.time() * 1000)
    bulk = bulk_new(server)
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201, r.text
    doc = r.json()
    t1 = int(time.time() * 1000)
    assert UUID7.match(bulk["id"]), bulk["id"]
    assert verify_with_pyjwt(server, bulk["token"], "sitetoken-bulk+jwt")["jti"] == bulk["id"]
    assert doc["bulk_token_id"] == bulk["id"]
    assert doc["device_id"].startswith("GUID:") and UUID7.match(doc["device_id"][5:]), doc["device_id"]
    jti = doc["token_id"]
    raw = b64u_decode(jti)
    assert len(jti) == 22 and len(raw) == 16
    for ms in (int.from_bytes(raw[:6], "big"), int(bulk["id"].replace("-", "")[:12], 16),
               int(doc["device_id"][5:].replace("-", "")[:12], 16)):
        assert t0 - 5 <= ms <= t1 + 5, (t0, ms, t1)
    # later ids sort later
    later = mp.access(d).json()["token_id"]
    assert b64u_decode(later)[:6] >= raw[:6]
    # the admin routes take the new ids
    assert server.ctl("bulk", "block", bulk["id"]).returncode == 0
    assert server.ctl("device", "show", doc["device_id"]).returncode == 0


# --- proofs -----------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["application/sitetoken-proof+jwt", "SITETOKEN-PROOF+JWT",
                                 "Application/SiteToken-Proof+JWT"])
def test_proof_typ_compared_as_rfc7515_says(mp, typ):
    d = Device()
    r = mp.register(d, typ=typ)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("typ", ["text/sitetoken-proof+jwt", "sitetoken-proof", "dpop+jwt"])
def test_proof_typ_of_another_kind_refused(mp, typ):
    r = mp.register(Device(), typ=typ)
    assert r.status_code == 401 and r.json()["code"] == "proof_invalid", r.text


def test_proof_with_ed25519_alg_name(mp):
    """RFC 9864: WebCrypto and the dpop library send alg Ed25519."""
    d = Device()
    jwk = dict(d.jwk, alg="Ed25519")
    proof = raw_proof(d.key, {"typ": "sitetoken-proof+jwt", "alg": "Ed25519", "jwk": jwk}, claims("register"))
    r = mp.post("/v1/registrations", {"hardware_id": d.hardware_id, "name": d.name, "proof": proof})
    assert r.status_code == 201, r.text
    d.token = r.json()["token"]
    # and on a bound route too
    token = d.token
    proof = raw_proof(d.key, {"typ": "sitetoken-proof+jwt", "alg": "Ed25519", "jwk": d.jwk},
                      claims("access", ath=b64u(hashlib.sha256(token.encode()).digest())))
    r = mp.post("/v1/access-tokens", {"token": token, "proof": proof})
    assert r.status_code == 200, r.text


SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


@pytest.mark.parametrize("x", SMALL_ORDER)
def test_small_order_ed25519_key_refused(mp, x):
    """The identity point verifies R = identity, s = 0 for any message: a
    "device" with no private key at all."""
    raw = bytes.fromhex(x)
    header = {"typ": "sitetoken-proof+jwt", "alg": "EdDSA",
              "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}}
    signing_input = seg(header) + "." + seg(claims("register"))
    proof = signing_input + "." + b64u(raw + b"\0" * 32)
    r = mp.post("/v1/registrations", {"hardware_id": "hw-x", "name": "n", "proof": proof})
    assert r.status_code == 401 and r.json()["code"] == "proof_invalid", r.text


def test_rsa_new_device_keys(mp):
    ok = Device(alg="RS256")
    ok.key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    ok.jwk = public_jwk(ok.key)
    assert mp.register(ok).status_code == 201
    for e, bits in ((3, 2048), (3, 4096)):
        d = Device(alg="RS256")
        d.key = rsa.generate_private_key(public_exponent=e, key_size=bits)
        d.jwk = public_jwk(d.key)
        r = mp.register(d)
        assert r.status_code == 401 and r.json()["code"] == "proof_invalid", (e, r.text)
    # an 8192-bit modulus: refused (never verified); n is junk, it need not be a key
    d = Device()
    n = b"\xc3" + b"\xa5" * 1022 + b"\x01"
    jwk = {"kty": "RSA", "n": b64u(n), "e": "AQAB"}
    hdr = {"typ": "sitetoken-proof+jwt", "alg": "RS256", "jwk": jwk}
    proof = seg(hdr) + "." + seg(claims("register")) + "." + b64u(b"\x01" * 1024)
    r = mp.post("/v1/registrations", {"hardware_id": "hw", "name": "n", "proof": proof})
    assert r.status_code == 401 and r.json()["code"] == "proof_invalid", r.text


# --- clean errors ----------------------------------------------------------------------


def test_cut_utf8_key_still_gets_a_problem_document(mp):
    """issue 10 item 15: `%.64s` cut a multi-byte key in half, and the 400
    went out with an empty body."""
    for key in ("a" * 63 + "\u00e9\u00e9", "a" * 62 + "\U0001F600", "\u20ac" * 30):
        r = mp.post("/v1/introspect", {key: 1})
        assert r.status_code == 400, r.text
        doc = r.json()
        assert doc["code"] == "invalid_request"
        assert doc["type"] == "urn:sitetoken:error:invalid_request" and doc["status"] == 400
        assert "unknown field" in doc["detail"]


def test_bodies_under_the_hard_cap_reach_our_code(mp):
    for size in (17 * 1024, 70 * 1000, 1000 * 1000):
        r = mp.post("/v1/introspect", {"token": "a" * size})
        assert r.status_code == 413, (size, r.status_code)
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/v1/admin/mps", "/v1/admin/keys/rotate", "/v1/admin/status",
                                  "/v1/admin/devices/GUID:0f8fad5b-d9cb-469f-a165-70867728950e/block"])
def test_admin_paths_do_not_exist_over_tcp(server, method, path):
    r = requests.request(method, server.url(path), timeout=10)
    assert r.status_code == 404, (method, path, r.status_code)
    assert r.json()["code"] == "not_found"


def test_405_names_the_allowed_methods(server):
    r = requests.put(server.url("/v1/keys"), timeout=10)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET"
    r = requests.get(server.url("/v1/registrations"), timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


def test_mp_name_is_quoted_in_the_log(server):
    name = 'evil name=x "q"'
    key = server.ctl("mp", "add", name, json_out=True, check=0).doc["api_key"]
    mp = MP(server, key)
    assert mp.register(Device()).status_code == 201
    deadline = time.monotonic() + 10
    line = None
    while time.monotonic() < deadline and line is None:
        line = next((l for l in server.log().splitlines() if "event=issue" in l), None)
        if line is None:
            time.sleep(0.05)
    assert line is not None, server.log()
    assert 'actor="mp:evil name=x \\"q\\""' in line, line
    assert "actor=mp:evil " not in server.log()

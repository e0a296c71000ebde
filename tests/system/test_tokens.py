"""Tokens and keys: each algorithm interoperates with PyJWT both ways, the
JWKS is cached correctly, rotation keeps old tokens verifiable, tampered
tokens are refused with the right code, and private keys never appear
unsealed in the database."""

import base64
import json
import sqlite3
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import basic_config, bulk_new
from device import MP, Device, b64u, b64u_decode, jwks, verify_with_pyjwt

ALGS = ["EdDSA", "ES256", "RS256"]


def start_with_alg(start_server, alg, extra=""):
    s = start_server(basic_config("keys:\n  algorithm: %s\n" % alg + extra))
    key = s.ctl("mp", "add", "mp-1", json_out=True, check=0).doc["api_key"]
    return s, MP(s, key)


@pytest.mark.parametrize("alg", ALGS)
def test_tokens_verify_in_pyjwt_and_proofs_verify_here(start_server, alg):
    s, mp = start_with_alg(start_server, alg)
    keys = jwks(s)["keys"]
    assert len(keys) == 1
    k = keys[0]
    assert k["alg"] == alg and k["use"] == "sig" and k["status"] == "active"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k)
    bulk = bulk_new(s)
    claims = verify_with_pyjwt(s, bulk["token"], "sitetoken-bulk+jwt")
    assert claims["jti"] == bulk["id"] and claims["site"] == "PS1"
    for dev_alg in ALGS:  # device proofs made by PyJWT, verified by proto
        d = Device(dev_alg)
        r = mp.exchange(d, bulk["token"])
        assert r.status_code == 201, r.text
        c = verify_with_pyjwt(s, d.token, "sitetoken-client+jwt")
        assert c["cnf"]["jkt"] == d.jkt
        a = mp.access(d).json()["access_token"]
        verify_with_pyjwt(s, a, "sitetoken-access+jwt")
    assert jwt.get_unverified_header(d.token)["alg"] == alg


def test_jwks_etag_and_cache_control(server):
    r = server.get("/v1/keys")
    etag = r.headers["ETag"]
    assert r.headers["Content-Type"].startswith("application/json")
    max_age = int(r.headers["Cache-Control"].split("max-age=")[1])
    assert 0 < max_age <= 24 * 3600
    assert server.get("/.well-known/jwks.json").json() == r.json()
    r304 = server.get("/v1/keys", headers={"If-None-Match": etag})
    assert r304.status_code == 304 and r304.content == b""
    assert server.get("/v1/keys", headers={"If-None-Match": '"other"'}).status_code == 200


def test_rotation_publishes_next_then_activates(start_server):
    s, mp = start_with_alg(start_server, "EdDSA")
    d = Device()
    mp.register(d)
    old_kid = jwt.get_unverified_header(d.token)["kid"]
    etag = s.get("/v1/keys").headers["ETag"]
    r = s.ctl("key", "rotate", json_out=True, check=0)
    statuses = {k["kid"]: k["status"] for k in r.doc["items"]}
    assert statuses[old_kid] == "active" and sorted(statuses.values()) == ["active", "next"]
    published = {k["kid"]: k["status"] for k in jwks(s)["keys"]}
    assert published == statuses, "the next key is published before it signs"
    assert s.get("/v1/keys", headers={"If-None-Match": etag}).status_code == 200
    # still signed by the old key until the next one is due (prepublish 24 h)
    d2 = Device()
    mp.register(d2)
    assert jwt.get_unverified_header(d2.token)["kid"] == old_kid
    s.shift_clock(25 * 3600)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = {k["kid"]: k["status"] for k in jwks(s)["keys"]}
        if st.get(old_kid) == "retired":
            break
        time.sleep(0.05)
    assert st[old_kid] == "retired" and "active" in st.values()
    d3 = Device()
    mp.register(d3)
    new_kid = jwt.get_unverified_header(d3.token)["kid"]
    assert new_kid != old_kid and st[new_kid] == "active"
    # the old token still verifies, in PyJWT and here
    verify_with_pyjwt(s, d.token, "sitetoken-client+jwt")
    assert mp.introspect(d.token).json()["active"] is True


def test_rotate_now_and_algorithm_change(start_server, tmp_path):
    s, mp = start_with_alg(start_server, "EdDSA")
    d = Device()
    mp.register(d)
    s.ctl("key", "rotate", "--now", check=0)
    st = {k["kid"]: (k["alg"], k["status"]) for k in jwks(s)["keys"]}
    assert sorted(v[1] for v in st.values()) == ["active", "retired"]
    assert mp.introspect(d.token).json()["active"] is True
    assert s.stop() == 0
    # a new algorithm in the config rotates in a key of that algorithm
    s = start_server(basic_config("keys:\n  algorithm: ES256\n  prepublish: 0s\n"))
    s.shift_clock(1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        active = [k for k in jwks(s)["keys"] if k["status"] == "active"]
        if active and active[0]["alg"] == "ES256":
            break
        time.sleep(0.05)
    assert active[0]["alg"] == "ES256"
    mp2 = MP(s, mp.api_key)
    assert mp2.introspect(d.token).json()["active"] is True, "old EdDSA token still verifies"
    d2 = Device()
    assert mp2.register(d2).status_code == 201
    assert jwt.get_unverified_header(d2.token)["alg"] == "ES256"
    out = s.ctl("key", "list", check=0).stdout
    assert "ES256" in out and "EdDSA" in out and "KID" in out


def tamper_cases(token, other_token):
    h, p, s = token.split(".")
    header = json.loads(b64u_decode(h))
    claims = json.loads(b64u_decode(p))

    def enc(obj):
        return b64u(json.dumps(obj).encode())

    cases = {
        "flipped signature": (h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:], "bad_signature"),
        "changed claim": (h + "." + enc(dict(claims, sub="GUID:00000000-0000-4000-8000-000000000000")) + "." + s, "bad_signature"),
        "alg none": (enc(dict(header, alg="none")) + "." + p + ".", "bad_signature"),
        "alg swapped": (enc(dict(header, alg="HS256")) + "." + p + "." + s, "bad_signature"),
        "unknown kid": (enc(dict(header, kid="nokey")) + "." + p + "." + s, "unknown_key"),
        "truncated": (h + "." + p + "." + s[:-10], "bad_signature"),
        "padded": (h + "." + p + "." + s + "==", "invalid_request"),
        "two segments": (h + "." + p, "invalid_request"),
        "bulk as client": (other_token, "wrong_token_type"),
    }
    return cases


@pytest.mark.parametrize("alg", ALGS)
def test_tampered_tokens_refused(start_server, alg):
    s, mp = start_with_alg(start_server, alg)
    d = Device()
    mp.register(d)
    bulk = bulk_new(s)
    for name, (tok, code) in tamper_cases(d.token, bulk["token"]).items():
        r = mp.introspect(tok)
        if r.status_code == 400:
            assert r.json()["code"] == code == "invalid_request", name
            continue
        assert r.json() == {"active": False, "reason": code}, (name, r.text)
        r = mp.access(d, token=tok)
        assert r.status_code in (400, 401) and r.json()["code"] == code, (name, r.text)


@pytest.mark.sqlite_only  # reads the sealed key rows and the file bytes
def test_private_keys_sealed_at_rest(start_server, tmp_path):
    s, mp = start_with_alg(start_server, "EdDSA")
    s.ctl("key", "rotate", check=0)
    assert s.stop() == 0
    seal = (tmp_path / "var" / "seal.key").read_bytes()
    db = sqlite3.connect(tmp_path / "var" / "sitetoken.db")
    rows = db.execute("SELECT kid, sealed_private, public_jwk FROM keys").fetchall()
    db.close()
    assert len(rows) == 2
    raw = b"".join(p.read_bytes() for p in (tmp_path / "var").iterdir() if p.name.startswith("sitetoken.db"))
    for kid, blob, pub in rows:
        assert blob[0] == 1
        der = AESGCM(seal).decrypt(blob[1:13], blob[13:], kid.encode())
        key = serialization.load_der_private_key(der, None)
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        assert der not in raw and seed not in raw and b64u(seed).encode() not in raw
        x = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert json.loads(pub)["x"] == b64u(x)
    # the wrong seal key refuses to start rather than sign with garbage
    (tmp_path / "var" / "seal.key").write_bytes(bytes(32))
    from conftest import run_sitetokend
    r = run_sitetokend(["-c", str(tmp_path / "sitetoken.yaml")], cwd=tmp_path)
    assert r.returncode == 1 and "unseal" in r.stderr

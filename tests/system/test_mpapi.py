"""The MP API: MP authentication, registration, bulk exchange, renewal,
access tokens, introspection, proof rules, limits and durability. The device
is PyJWT/cryptography; issued tokens are checked with PyJWT against the JWKS."""

import concurrent.futures
import json
import subprocess
import time

import pytest
import requests

from conftest import SITETOKEN_CLIENT, bulk_new
from device import AUDIENCE, ISSUER, MP, Device, b64u, b64u_decode, verify_with_pyjwt

DAY = 86400


def code_of(r):
    assert r.headers["Content-Type"] == "application/problem+json", r.text
    return r.json()["code"]


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def bulk_item(server, bulk_id):
    return next(b for b in server.admin_items("/v1/admin/bulk-tokens?limit=1000") if b["id"] == bulk_id)


def audit_items(server):
    return server.admin_items("/v1/admin/audit?limit=1000")


# --- MP authentication ------------------------------------------------------


@pytest.mark.sqlite_only  # reads the database file's bytes
def test_mp_key_shown_once_stored_as_hash(server, tmp_path):
    r = server.ctl("mp", "add", "mp-east", json_out=True, check=0)
    key = r.doc["api_key"]
    assert len(key) >= 27 and r.doc["name"] == "mp-east"
    listed = server.ctl("mp", "list", json_out=True, check=0).doc["items"]
    assert [m["name"] for m in listed] == ["mp-east"]
    assert "api_key" not in listed[0]
    raw = (tmp_path / "var" / "sitetoken.db").read_bytes()
    wal = tmp_path / "var" / "sitetoken.db-wal"
    if wal.exists():
        raw += wal.read_bytes()
    assert key.encode() not in raw
    r = server.ctl("mp", "add", "mp-east")
    assert r.returncode == 1 and "conflict" in r.stderr


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic Zm9vOmJhcg==", "Bearer ", "Bearer " + "x" * 5000])
def test_mp_auth_refused(mp, header):
    headers = {"Authorization": header} if header is not None else {}
    r = requests.post(mp.server.url("/v1/registrations"), json=Device().register_body(),
                      headers=headers, timeout=10)
    assert r.status_code == 401 and code_of(r) == "unauthenticated"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_removed_mp_key_stops_at_once(server):
    r = server.ctl("mp", "add", "mp-gone", json_out=True, check=0)
    m = MP(server, r.doc["api_key"])
    assert m.register(Device()).status_code == 201
    server.ctl("mp", "remove", r.doc["id"], check=0)
    r2 = m.register(Device())
    assert r2.status_code == 401 and code_of(r2) == "unauthenticated"
    assert server.ctl("mp", "remove", r.doc["id"]).returncode == 1


# --- registration ------------------------------------------------------------


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_register_issues_bound_client_token(mp, tmp_path, alg):
    d = Device(alg)
    r = mp.register(d)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["device_id"].startswith("GUID:") and len(doc["device_id"]) == 41
    claims = verify_with_pyjwt(mp.server, doc["token"], "sitetoken-client+jwt")
    assert claims["sub"] == doc["device_id"]
    assert claims["cnf"] == {"jkt": d.jkt}
    assert claims["reg"] == "intranet" and claims["gen"] == 0 and claims["site"] == "PS1"
    assert "bulk" not in claims
    assert claims["jti"] == doc["token_id"]
    assert claims["exp"] - claims["iat"] == 90 * DAY
    assert doc["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))
    # durable record before the answer
    tok = mp.server.token(doc["token_id"])
    assert (tok["kind"], tok["device_id"], tok["expires_at"], tok["kid"]) == (
        "client", doc["device_id"], rfc3339(claims["exp"]), __import__("jwt").get_unverified_header(doc["token"])["kid"])


def test_register_again_same_key_same_device(mp):
    d = Device()
    first = mp.register(d).json()
    d.name = "renamed"
    second = mp.register(d).json()
    assert first["device_id"] == second["device_id"]
    assert first["token_id"] != second["token_id"]
    other = mp.register(Device()).json()
    assert other["device_id"] != first["device_id"]


# --- proof rules ---------------------------------------------------------------


def proof_cases():
    now = int(time.time())
    other = Device()
    return {
        "wrong typ": dict(typ="JWT"),
        "wrong act": dict(act_override="exchange"),
        "wrong aud": dict(aud="urn:sitetoken:XX9"),
        "too old": dict(iat=now - 3600),
        "future": dict(iat=now + 3600),
        "jwk not the signer": dict(key=other.key),
        "private jwk": dict(jwk_private=True),
    }


@pytest.mark.parametrize("case", list(proof_cases()))
def test_bad_proofs_refused(mp, case):
    d = Device()
    kw = dict(proof_cases()[case])
    act = kw.pop("act_override", "register")
    if kw.pop("jwk_private", False):
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa
        jwk = dict(d.jwk)
        jwk["d"] = b64u(b"\x00" * 32)
        kw["jwk"] = jwk
    body = {"hardware_id": d.hardware_id, "name": d.name, "proof": d.proof(act, **kw)}
    r = mp.post("/v1/registrations", body)
    assert r.status_code == 401 and code_of(r) == "proof_invalid", (case, r.text)


def test_proof_alg_none_refused(mp):
    d = Device()
    header = b64u(json.dumps({"typ": "sitetoken-proof+jwt", "alg": "none", "jwk": d.jwk}).encode())
    payload = b64u(json.dumps({"aud": ISSUER, "iat": int(time.time()), "jti": "x1", "act": "register"}).encode())
    r = mp.post("/v1/registrations", {"hardware_id": "h", "name": "n", "proof": header + "." + payload + "."})
    assert r.status_code in (400, 401)
    assert code_of(r) in ("proof_invalid", "invalid_request")


def test_replayed_proof_refused(mp):
    d = Device()
    body = d.register_body()
    assert mp.post("/v1/registrations", body).status_code == 201
    r = mp.post("/v1/registrations", body)
    assert r.status_code == 401 and code_of(r) == "proof_replayed"


# --- bulk exchange -------------------------------------------------------------


def test_exchange_issues_bulk_client_token(mp, tmp_path):
    bulk = bulk_new(mp.server, "--note", "lab 4")
    d = Device()
    r = mp.exchange(d, bulk["token"])
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["bulk_token_id"] == bulk["id"]
    claims = verify_with_pyjwt(mp.server, doc["token"], "sitetoken-client+jwt")
    assert claims["reg"] == "bulk" and claims["bulk"] == bulk["id"] and claims["gen"] == 0
    assert claims["cnf"]["jkt"] == d.jkt
    item = bulk_item(mp.server, bulk["id"])
    assert item["uses"] == 1 and item["last_used_at"] is not None
    # many devices may use one bulk token
    assert mp.exchange(Device(), bulk["token"]).status_code == 201


def test_exchange_cap_exhausted(mp):
    bulk = bulk_new(mp.server, "--max-uses", "2")
    assert mp.exchange(Device(), bulk["token"]).status_code == 201
    assert mp.exchange(Device(), bulk["token"]).status_code == 201
    r = mp.exchange(Device(), bulk["token"])
    assert r.status_code == 403 and code_of(r) == "bulk_token_exhausted"


def test_exchange_cap_holds_under_concurrency(mp, tmp_path):
    bulk = bulk_new(mp.server, "--max-uses", "5")
    devices = [Device() for _ in range(24)]
    bodies = [d.exchange_body(bulk["token"]) for d in devices]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda b: mp.post("/v1/exchanges", b), bodies))
    ok = [r for r in results if r.status_code == 201]
    refused = [code_of(r) for r in results if r.status_code != 201]
    assert len(ok) == 5
    assert refused == ["bulk_token_exhausted"] * 19
    assert bulk_item(mp.server, bulk["id"])["uses"] == 5
    issued = [t for t in mp.server.admin_items("/v1/admin/tokens?limit=1000") if t["bulk_id"] == bulk["id"]]
    assert sorted(t["jti"] for t in issued) == sorted(r.json()["token_id"] for r in ok)


def test_exchange_expired_bulk_token(mp, tmp_path):
    bulk = bulk_new(mp.server, "--lifetime", "1")
    mp.server.shift_clock(120)
    for _ in range(2):  # the second answer comes from the verified-token cache
        r = mp.exchange(Device(), bulk["token"])
        assert r.status_code == 401 and code_of(r) == "token_expired"
    rows = [a for a in audit_items(mp.server) if a["action"] == "refused.exchange"]
    assert len(rows) == 2
    for a in rows:
        d = a["detail"]
        assert d["code"] == "token_expired" and d["bulk"] == bulk["id"]


def test_exchange_forged_and_wrong_type(mp):
    bulk = bulk_new(mp.server)
    h, p, s = bulk["token"].split(".")
    claims = json.loads(b64u_decode(p))
    claims["exp"] += 10 * DAY
    forged = h + "." + b64u(json.dumps(claims).encode()) + "." + s
    r = mp.exchange(Device(), forged)
    assert r.status_code == 401 and code_of(r) == "bad_signature"
    d = Device()
    mp.register(d)
    r = mp.exchange(Device(), d.token)  # a client token is not a bulk token
    assert r.status_code == 401 and code_of(r) == "wrong_token_type"
    r = mp.exchange(Device(), "abc.def")
    assert r.status_code == 400 and code_of(r) == "invalid_request"


def test_bulk_lifetime_bounds(server):
    for bad in ("0", "10081"):
        r = server.ctl("bulk", "new", "--lifetime", bad)
        assert r.returncode in (1, 2)
    status, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"lifetime_minutes": 10081})
    assert status == 400 and doc["code"] == "invalid_request" and "lifetime_minutes" in doc["detail"]
    status, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"lifetime_minutes": 10080})
    assert status == 201
    claims = verify_with_pyjwt(server, doc["token"], "sitetoken-bulk+jwt")
    assert claims["exp"] - claims["iat"] == 10080 * 60 and claims["jti"] == doc["id"]
    status, doc = server.admin("POST", "/v1/admin/bulk-tokens", {})
    claims = verify_with_pyjwt(server, doc["token"], "sitetoken-bulk+jwt")
    assert claims["exp"] - claims["iat"] == 4320 * 60


# --- renewal and access ----------------------------------------------------------


def test_renew_too_early_conflict(mp):
    d = Device()
    mp.register(d)
    r = mp.renew(d)
    assert r.status_code == 409 and code_of(r) == "conflict"


def test_renew_after_30_days(mp, tmp_path):
    d = Device()
    first = mp.register(d).json()
    mp.server.shift_clock(31 * DAY)
    old = d.token
    r = mp.renew(d)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["device_id"] == first["device_id"] and doc["gen"] == 1
    claims = verify_with_pyjwt(mp.server, doc["token"], "sitetoken-client+jwt")
    assert claims["gen"] == 1 and claims["sub"] == first["device_id"]
    # the old token stays valid until it expires
    assert mp.introspect(old).json()["active"] is True
    assert mp.introspect(d.token).json()["active"] is True
    tok = mp.server.token(doc["token_id"])
    assert (tok["gen"], tok["prev_jti"]) == (1, first["token_id"])


def test_renew_binding_and_ath(mp):
    d = Device()
    mp.register(d)
    mp.server.shift_clock(31 * DAY)
    thief = Device()
    r = mp.post("/v1/renewals", {"token": d.token, "proof": thief.proof("renew", token=d.token)})
    assert r.status_code == 401 and code_of(r) == "binding_mismatch"
    r = mp.post("/v1/renewals", {"token": d.token, "proof": d.proof("renew")})  # no ath
    assert r.status_code == 401 and code_of(r) == "proof_invalid"
    r = mp.post("/v1/renewals", {"token": d.token, "proof": d.proof("renew", token="other")})
    assert r.status_code == 401 and code_of(r) == "proof_invalid"
    r = mp.post("/v1/renewals", {"token": d.token, "proof": d.proof("access", token=d.token)})
    assert r.status_code == 401 and code_of(r) == "proof_invalid"


def test_access_token(mp):
    d = Device("ES256")
    mp.register(d)
    r = mp.access(d)
    assert r.status_code == 200, r.text
    doc = r.json()
    claims = verify_with_pyjwt(mp.server, doc["access_token"], "sitetoken-access+jwt")
    assert claims["cnf"]["jkt"] == d.jkt and claims["sub"] == doc["device_id"]
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert "reg" not in claims and "gen" not in claims
    intro = mp.introspect(doc["access_token"]).json()
    assert intro["active"] is True and intro["type"] == "access"
    # an access token cannot be renewed or exchanged for another
    r = mp.post("/v1/access-tokens", d.token_body("access", token=doc["access_token"]))
    assert r.status_code == 401 and code_of(r) == "wrong_token_type"


def test_expired_client_token(mp):
    d = Device()
    mp.register(d)
    mp.server.shift_clock(91 * DAY)
    r = mp.access(d)
    assert r.status_code == 401 and code_of(r) == "token_expired"
    assert mp.introspect(d.token).json() == {"active": False, "reason": "token_expired"}


# --- introspection -------------------------------------------------------------


def test_introspect(mp):
    d = Device()
    doc = mp.register(d).json()
    intro = mp.introspect(d.token).json()
    assert intro["active"] is True and intro["type"] == "client"
    assert intro["device_id"] == doc["device_id"] and intro["token_id"] == doc["token_id"]
    assert intro["expires_at"] == doc["expires_at"]
    h, p, s = d.token.split(".")
    tampered = h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:]
    assert mp.introspect(tampered).json() == {"active": False, "reason": "bad_signature"}
    bulk = bulk_new(mp.server)
    assert mp.introspect(bulk["token"]).json() == {"active": False, "reason": "wrong_token_type"}
    assert mp.introspect("a.b.c").json()["active"] is False


# --- limits and shapes -----------------------------------------------------------


@pytest.mark.parametrize(
    "body,field",
    [
        ({"hardware_id": "h" * 257, "name": "n"}, "hardware_id"),
        ({"hardware_id": "h", "name": "bad\x01name"}, "name"),
        ({"hardware_id": "h", "name": 7}, "name"),
        ({"hardware_id": "h"}, "name"),
        ({"hardware_id": "h", "name": "n", "colour": "red"}, "colour"),
        ({"hardware_id": "h", "name": "n", "proof": "not a jws!"}, "proof"),
    ],
)
def test_field_errors_name_the_field(mp, body, field):
    body = dict(body)
    body.setdefault("proof", Device().proof("register"))
    r = mp.post("/v1/registrations", body)
    assert r.status_code == 400 and code_of(r) == "invalid_request"
    assert field in r.json()["detail"]


def test_utf8_names_accepted(mp):
    d = Device(name="Ordinateur de Zoë – 東京")
    assert mp.register(d).status_code == 201


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'{"a":1,"a":2}', b"\xff\xfe", b"{" * 40 + b"}" * 40])
def test_bad_json_refused(mp, raw):
    r = requests.post(mp.server.url("/v1/registrations"), data=raw,
                      headers={"Authorization": "Bearer " + mp.api_key,
                               "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and code_of(r) == "invalid_request"


def test_body_too_large(mp):
    body = {"hardware_id": "h", "name": "n", "proof": "a" * 17000}
    r = mp.post("/v1/registrations", body)
    assert r.status_code == 413 and code_of(r) == "payload_too_large"
    assert mp.server.get("/healthz").status_code == 200


# --- audit and the client tool -----------------------------------------------------


def test_issuance_and_refusals_audited_without_tokens(mp, tmp_path):
    bulk = bulk_new(mp.server, "--max-uses", "1")
    d = Device()
    mp.exchange(d, bulk["token"])
    r = mp.exchange(Device(), bulk["token"])
    assert code_of(r) == "bulk_token_exhausted"
    rows = audit_items(mp.server)
    assert [a["seq"] for a in rows] == sorted(a["seq"] for a in rows)
    actions = [a["action"] for a in rows]
    assert "token.exchange" in actions and "refused.exchange" in actions
    assert ("mp:mp-test", "token.exchange") in [(a["actor"], a["action"]) for a in rows]
    text = json.dumps(rows)
    assert d.token not in text and bulk["token"] not in text
    r = mp.server.ctl("audit", "verify", json_out=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.doc["ok"] is True and r.doc["records"] == len(rows)


def test_client_tool_walkthrough(mp, tmp_path):
    bulk = bulk_new(mp.server)
    env = {"SITETOKEN_MP_KEY": mp.api_key, "PATH": "/usr/bin:/bin"}
    base = [str(SITETOKEN_CLIENT), "--url", mp.server.base, "--key", str(tmp_path / "dev.key"),
            "--token-file", str(tmp_path / "dev.token")]

    def run(*args):
        return subprocess.run(base + list(args), capture_output=True, text=True, env=env, timeout=30)

    r = run("exchange", bulk["token"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["bulk_token_id"] == bulk["id"]
    assert (tmp_path / "dev.key").stat().st_mode & 0o077 == 0
    r = run("renew")
    assert r.returncode == 1 and r.stderr.startswith("conflict")
    mp.server.shift_clock(31 * DAY)
    base += ["--clock-offset", str(31 * DAY)]
    r = run("renew")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["gen"] == 1
    r = run("access")
    assert r.returncode == 0 and json.loads(r.stdout)["access_token"]
    r = run("introspect")
    assert r.returncode == 0 and json.loads(r.stdout)["active"] is True

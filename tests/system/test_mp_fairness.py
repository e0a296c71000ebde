"""One MP cannot hurt another: each MP has its own share of the proof replay
cache (limits.proofs_per_mp), kept across a restart, and every per-MP budget
(limits.mp_rate, limits.failed_exchanges_per_minute) is keyed on the
authenticated MP, whatever spelling its Authorization header comes in. A
malformed Authorization header is refused as unauthenticated."""

import http.client
import json

import pytest

from conftest import basic_config, bulk_new
from device import MP, Device

QUOTA = 20


def post(server, path, body, authorization, source="127.0.0.1"):
    """POST with an exact Authorization value from a chosen source address
    (so failures never count against another test's address budget)."""
    host, port = server.base[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        doc = json.loads(resp.read() or b"null")
        return resp.status, doc, dict(resp.getheaders())
    finally:
        conn.close()


def add_mp(s, name):
    return s.ctl("mp", "add", name, json_out=True, check=0).doc["api_key"]


def test_a_flooding_mp_takes_no_other_mps_share(start_server):
    cfg = basic_config("limits:\n  proofs_per_mp: %d\n" % QUOTA)
    s = start_server(cfg)
    a, b = MP(s, add_mp(s, "flooder")), MP(s, add_mp(s, "bystander"))
    first = Device().register_body()
    assert a.post("/v1/registrations", first).status_code == 201
    # A floods fresh proofs up to its quota
    for _ in range(QUOTA - 1):
        r = a.register(Device())
        assert r.status_code == 201, r.text
    r = a.register(Device())
    assert r.status_code == 429 and r.json()["code"] == "rate_limited", r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 2 * 300 + 1, r.headers
    # B is untouched: its proofs pass, as many as its own quota
    for _ in range(QUOTA):
        r = b.register(Device())
        assert r.status_code == 201, r.text
    # a replay is still a replay (never "rate_limited"), through either MP
    for mp in (a, b):
        r = mp.post("/v1/registrations", first)
        assert r.status_code == 401 and r.json()["code"] == "proof_replayed", r.text
    # the quota survives a restart: A is still over it, a third MP is not
    s.stop()
    s = start_server(cfg)
    a, b = MP(s, a.api_key), MP(s, add_mp(s, "newcomer"))
    r = a.register(Device())
    assert r.status_code == 429 and r.json()["code"] == "rate_limited", r.text
    assert b.register(Device()).status_code == 201


def test_quota_comes_back_with_the_next_window(start_server):
    s = start_server(basic_config("limits:\n  proofs_per_mp: 3\ntokens:\n  clock_skew: 1m\n"))
    a = MP(s, add_mp(s, "a"))
    old = Device().register_body()
    assert a.post("/v1/registrations", old).status_code == 201
    for _ in range(2):
        assert a.register(Device()).status_code == 201
    assert a.register(Device()).json()["code"] == "rate_limited"
    s.shift_clock(2 * 60 + 2)  # one window (2 x skew + 1 s) on
    assert a.register(Device()).status_code == 201


# Spellings of one key the strict parser accepts: the scheme in any case.
SCHEMES = ["Bearer", "bearer", "BEARER", "bEaReR", "BeArEr", "bearER"]


def test_spellings_of_one_key_share_one_request_budget(start_server):
    s = start_server(basic_config("limits:\n  mp_rate: 5\n"))
    key, other = add_mp(s, "a"), add_mp(s, "b")
    codes = []
    for i in range(24):
        status, doc, _ = post(s, "/v1/introspect", {"token": "x.y.z"},
                              "%s %s" % (SCHEMES[i % len(SCHEMES)], key))
        codes.append(status)
    # 5 a second with a second's burst: far fewer than 24 pass, whatever the spelling
    assert codes.count(200) <= 12 and 429 in codes, codes
    # limited under one spelling: limited under every other one too
    for scheme in SCHEMES:
        status, doc, headers = post(s, "/v1/introspect", {"token": "x.y.z"}, "%s %s" % (scheme, key))
        if status == 200:  # the bucket refilled one request meanwhile
            status, doc, headers = post(s, "/v1/introspect", {"token": "x.y.z"},
                                        "%s %s" % (scheme, key))
        assert status == 429 and doc["code"] == "rate_limited", (scheme, doc)
        assert "Retry-After" in headers
    # another MP has its own budget
    assert post(s, "/v1/introspect", {"token": "x.y.z"}, "Bearer " + other)[0] == 200


def test_failed_exchange_budget_holds_across_spellings(start_server):
    s = start_server(basic_config("limits:\n  failed_exchanges_per_minute: 3\n"))
    key, other = add_mp(s, "a"), add_mp(s, "b")
    # three refusals, each with another spelling and another bulk token (so
    # only the MP's budget is in play)
    for scheme in SCHEMES[:3]:
        d = Device()
        status, doc, _ = post(s, "/v1/exchanges", d.exchange_body(bulk_new(s)["token"], typ="JWT"),
                              "%s %s" % (scheme, key))
        assert status == 401 and doc["code"] == "proof_invalid", doc
    for scheme in SCHEMES:
        d = Device()
        status, doc, headers = post(s, "/v1/exchanges", d.exchange_body(bulk_new(s)["token"]),
                                    "%s %s" % (scheme, key))
        assert status == 429 and doc["code"] == "rate_limited", (scheme, doc)
        assert 1 <= int(headers["Retry-After"]) <= 20
    # another MP is not charged for it
    d = Device()
    status, doc, _ = post(s, "/v1/exchanges", d.exchange_body(bulk_new(s)["token"]), "Bearer " + other)
    assert status == 201, doc


MALFORMED = {
    "two spaces": "Bearer  {k}",
    "tab": "Bearer\t{k}",
    "no space": "Bearer{k}",
    "scheme only": "Bearer",
    "scheme and space": "Bearer ",
    "comma after": "Bearer {k},",
    "two tokens": "Bearer {k} {k}",
    "auth-param form": "Bearer key={k}",
    "padding first": "Bearer ={k}",
    "quoted": 'Bearer "{k}"',
    "other scheme": "Basic {k}",
    "scheme prefix": "Bearerx {k}",
    "non-ascii": "Bearer {k}\u00e9",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_authorization_is_unauthenticated(start_server, name):
    s = start_server(basic_config())
    key = add_mp(s, "a")
    value = MALFORMED[name].format(k=key)
    # each case from its own source address: no address budget is shared
    src = "127.0.9.%d" % (list(MALFORMED).index(name) + 1)
    try:
        status, doc, headers = post(s, "/v1/registrations", Device().register_body(),
                                    value.encode("utf-8").decode("latin-1"), source=src)
    except ValueError:
        pytest.skip("http.client refuses to send this header")
    assert status == 401 and doc["code"] == "unauthenticated", (name, doc)
    assert headers.get("WWW-Authenticate", "").startswith("Bearer")
    # the well-formed spelling of the same key works
    status, doc, _ = post(s, "/v1/registrations", Device().register_body(), "bearer " + key,
                          source=src)
    assert status == 201, doc

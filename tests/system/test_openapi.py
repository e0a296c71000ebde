"""docs/openapi.yaml: a real OpenAPI linter passes it, it lists exactly the
routes of sitetokend's route table, GET /v1/openapi.json serves its public
part, and the response check every system test runs (openapi_check) catches
a response that drifts from it."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import openapi_check
from conftest import BUILD, ROOT

REDOCLY_VERSION = "1.34.5"  # the pin of .ci/setup --test; runs on Debian 12's node 18
CACHE = Path(os.environ.get("SITETOKEN_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sitetoken")
ADMIN_PREFIX = "/v1/admin/"
METHODS = ("get", "post", "delete", "put", "patch", "head", "options")


def redocly():
    explicit = os.environ.get("SITETOKEN_REDOCLY")
    if explicit:
        return explicit
    p = CACHE / "redocly" / "node_modules" / ".bin" / "redocly"
    return str(p) if p.exists() else None


def test_lint_with_redocly():
    """`redocly lint` with the recommended ruleset (redocly.yaml): no error and
    no warning. In CI (SITETOKEN_CI=1), or wherever node is installed, a
    missing linter is a failure, not a skip."""
    exe = redocly()
    if exe is None:
        if os.environ.get("SITETOKEN_CI") != "1" and shutil.which("node") is None:
            pytest.skip("node is not installed (.ci/setup --test installs it)")
        pytest.fail("@redocly/cli %s not found under %s: run .ci/setup --test"
                    % (REDOCLY_VERSION, CACHE / "redocly"))
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "NO_UPDATE_NOTIFIER": "1",
           "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    r = subprocess.run([exe, "lint", "--format=stylish", "docs/openapi.yaml"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "warning" not in out.lower(), out
    assert "valid" in out, out


def doc_routes(doc):
    """{(METHOD, pattern with {} segments)} of the document."""
    out = set()
    for path, item in doc["paths"].items():
        for method in item:
            if method in METHODS:
                out.add((method.upper(), re.sub(r"\{[^}]+\}", "{}", path)))
    return out


def table_routes():
    """{(METHOD, pattern): scope} from the route table, as sitetoken-mangen
    prints it into sitetokend(8) at build time."""
    page = (BUILD / "man" / "sitetokend.8").read_text()
    rows = re.findall(r"^\.It (GET|POST|DELETE) Ta Pa (\S+) Ta (public|MP|admin)$", page, re.M)
    assert rows, "no route rows in sitetokend.8"
    return {(m, p): s for m, p, s in rows}


def test_document_lists_the_route_table():
    doc = openapi_check.document()
    table = table_routes()
    assert doc_routes(doc) == set(table), (
        "only in the table: %s; only in the document: %s"
        % (sorted(set(table) - doc_routes(doc)), sorted(doc_routes(doc) - set(table))))
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            scope = table[(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))]
            # "The public part" is every route but the admin ones, and the
            # admin ones are exactly those under /v1/admin/.
            assert (scope == "admin") == path.startswith(ADMIN_PREFIX), (method, path)
            assert (scope == "admin") == (op["tags"] == ["admin"]), (method, path)
            schemes = {k for req in op.get("security", doc.get("security", [])) for k in req}
            want = {"admin": {"adminSocket"}, "MP": {"mpKey", "mpCert"}, "public": set()}[scope]
            assert schemes == want, (method, path, schemes)


def test_error_codes_are_the_closed_vocabulary():
    """The ErrorCode enum is proto/errcode.c's table (less "ok")."""
    text = (ROOT / "proto" / "errcode.c").read_text()
    table = set(re.findall(r'\[ERRCODE_[A-Z_]+\] = \{"([a-z_]+)", \d+', text)) - {"ok"}
    enum = set(openapi_check.document()["components"]["schemas"]["ErrorCode"]["enum"])
    assert enum == table


def public_part(doc):
    """What sitetoken-openapi-gen should have kept, computed independently."""
    paths = {p: v for p, v in doc["paths"].items() if not p.startswith(ADMIN_PREFIX)}
    return paths


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def resolve(doc, ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def test_served_document_is_the_public_part(server):
    r = server.get("/v1/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    served = r.json()
    doc = openapi_check.document()
    assert served["openapi"] == "3.1.0"
    assert served["paths"] == json.loads(json.dumps(public_part(doc)))
    assert not [p for p in served["paths"] if p.startswith(ADMIN_PREFIX)]
    # nothing dangles, and nothing only the admin routes use is left
    for ref in set(refs(served)):
        resolve(served, ref)
    used = set(refs({k: v for k, v in served.items() if k != "components"}))
    closure = set(used)
    while True:
        more = {x for ref in closure for x in refs(resolve(served, ref))} - closure
        if not more:
            break
        closure |= more
    kept = {"#/components/%s/%s" % (kind, name)
            for kind, group in served["components"].items() if kind != "securitySchemes"
            for name in group}
    assert kept == closure
    assert set(served["components"]["securitySchemes"]) == {"mpKey", "mpCert"}
    assert "Status" not in served["components"]["schemas"]
    assert "admin" not in [t["name"] for t in served["tags"]]
    # the same bytes as the build's openapi.json
    built = json.loads((BUILD / "server" / "openapi.json").read_text())
    assert built == served
    # ETag and 304
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert r.headers["Cache-Control"] == "public, max-age=3600"
    r2 = server.get("/v1/openapi.json", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    assert r2.headers["ETag"] == etag
    r3 = server.get("/v1/openapi.json", headers={"If-None-Match": '"0000"'})
    assert r3.status_code == 200 and r3.json() == served


def test_openapi_route_refuses_other_methods(server):
    r = server.post("/v1/openapi.json", json={})
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET"


def test_admin_document_paths_are_not_served_over_tcp(server):
    """The admin routes are documented but, off the socket, do not exist."""
    r = server.get("/v1/admin/status")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    status, doc = server.admin("GET", "/v1/admin/status")
    assert status == 200 and doc["site_code"] == "PS1"


H = {"Content-Type": "application/json", "X-Request-Id": "1", "Cache-Control": "no-store"}


def problem(code, status):
    return json.dumps({"type": "urn:sitetoken:error:" + code, "title": "t", "status": status,
                       "detail": "d", "code": code}).encode()


def test_check_catches_drift():
    """The check the whole suite runs refuses what the document does not say."""
    ok = json.dumps({"status": "ok"}).encode()
    assert openapi_check.check("GET", "/healthz", 200, H, ok) == []
    # an undocumented field, status, route, media type, code, missing header
    assert openapi_check.check("GET", "/healthz", 200, H, b'{"status":"ok","x":1}')
    assert openapi_check.check("GET", "/healthz", 202, H, ok)
    assert openapi_check.check("GET", "/v1/nothing", 200, H, ok)
    assert openapi_check.check("GET", "/healthz", 200, {**H, "Content-Type": "text/html"}, ok)
    ph = {**H, "Content-Type": "application/problem+json"}
    assert openapi_check.check("GET", "/v1/nothing", 404, ph, problem("not_found", 404)) == []
    assert openapi_check.check("GET", "/v1/nothing", 404, ph, problem("no_such_code", 404))
    assert openapi_check.check("GET", "/v1/nothing", 404, ph, problem("not_found", 400))
    assert openapi_check.check("GET", "/v1/nothing", 404, {"Content-Type": ph["Content-Type"]},
                               problem("not_found", 404))
    # 429 needs Retry-After; 401 unauthenticated needs WWW-Authenticate; 405 Allow
    body = problem("rate_limited", 429)
    assert openapi_check.check("GET", "/healthz", 429, ph, body)
    assert openapi_check.check("GET", "/healthz", 429, {**ph, "Retry-After": "3"}, body) == []
    body = problem("unauthenticated", 401)
    assert openapi_check.check("POST", "/v1/introspect", 401, ph, body)
    assert openapi_check.check("POST", "/v1/introspect", 401,
                               {**ph, "WWW-Authenticate": 'Bearer realm="sitetoken"'}, body) == []
    body = problem("method_not_allowed", 405)
    assert openapi_check.check("DELETE", "/healthz", 405, ph, body)
    assert openapi_check.check("DELETE", "/healthz", 405, {**ph, "Allow": "GET"}, body) == []
    # an admin path off the socket is a 404, on it a 405 for another method
    assert openapi_check.check("PUT", "/v1/admin/status", 404, ph, problem("not_found", 404)) == []
    assert openapi_check.check("PUT", "/v1/admin/status", 405, {**ph, "Allow": "GET"},
                               problem("method_not_allowed", 405), admin=True) == []


def test_request_examples_fit_the_request_schemas():
    """Every request body example validates against its own schema, so a
    client generated from the document sends what the server takes."""
    doc = openapi_check.document()
    n = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody") if isinstance(op, dict) else None
            if not body:
                continue
            media = body["content"]["application/json"]
            errors = list(openapi_check.validator(media["schema"]).iter_errors(media["example"]))
            assert not errors, (method, path, [e.message for e in errors])
            n += 1
    assert n >= 10


def test_request_schemas_match_what_the_server_refuses(server, mp):
    """The request schemas say additionalProperties: false and the bounds of
    server/body.c: the server refuses exactly such bodies with invalid_request."""
    from device import Device

    schema = openapi_check.document()["components"]["schemas"]["RegistrationRequest"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"hardware_id", "name", "proof"}
    d = Device()
    v = openapi_check.validator({"$ref": "#/components/schemas/RegistrationRequest"})
    for body in ({**d.register_body(), "extra": 1},
                 {**d.register_body(), "name": "x" * 257},
                 {**d.register_body(), "name": "a\u0001b"},
                 {k: v for k, v in d.register_body().items() if k != "name"}):
        assert list(v.iter_errors(body)), body
        r = mp.post("/v1/registrations", body)
        assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text
    good = {**d.register_body(), "name": "x" * 256}
    assert not list(v.iter_errors(good))
    assert mp.post("/v1/registrations", good).status_code == 201


def test_every_operation_answers_as_documented(server, mp):
    """Most admin traffic of the suite goes through sitetokenctl, which the
    check does not see: here every documented operation is called once over
    HTTP or the admin socket and its success answer checked."""
    from device import Device

    with openapi_check._lock:
        openapi_check.seen.clear()
    d, e = Device(), Device()
    assert mp.register(d).status_code == 201
    st, bulk = server.admin("POST", "/v1/admin/bulk-tokens", {"max_uses": 5, "note": "oa"})
    assert st == 201
    assert mp.exchange(e, bulk["token"]).status_code == 201
    server.shift_clock(31 * 86400)  # past renew_after
    assert mp.renew(d).status_code == 200
    assert mp.access(d).status_code == 200
    assert mp.introspect(d.token).status_code == 200
    for path in ("/v1/keys", "/.well-known/jwks.json", "/.well-known/sitetoken",
                 "/v1/revocations", "/v1/revocations?format=jws", "/v1/openapi.json",
                 "/healthz", "/readyz", "/metrics"):
        assert server.get(path).status_code == 200, path
    with server.get("/v1/events", stream=True) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
    dev = mp.introspect(d.token).json()["device_id"]
    jti = mp.introspect(e.token).json()["token_id"]
    st, m = server.admin("POST", "/v1/admin/mps", {"name": "mp-oa"})
    assert st == 201
    st, allowed = server.admin("POST", "/v1/admin/bulk-tokens", {"allow": ["SN-1"], "max_uses": 5})
    assert st == 201
    calls = [
        ("POST", "/v1/admin/bulk-tokens/%s/allow" % allowed["id"], {"hardware_ids": ["SN-2"]}),
        ("GET", "/v1/admin/bulk-tokens/%s/allow?limit=1" % allowed["id"]),
        ("GET", "/v1/admin/bulk-tokens/%s" % allowed["id"]),
        ("GET", "/v1/admin/status"), ("GET", "/v1/admin/summary"),
        ("GET", "/v1/admin/bulk-tokens"), ("GET", "/v1/admin/bulk-tokens/%s" % bulk["id"]),
        ("POST", "/v1/admin/bulk-tokens/prune", {"older_than_seconds": 0, "dry_run": True}),
        ("POST", "/v1/admin/devices/purge", {"older_than_seconds": 0, "dry_run": True}),
        ("GET", "/v1/admin/tokens/%s" % jti),
        ("POST", "/v1/admin/bulk-tokens/%s/block" % bulk["id"]),
        ("POST", "/v1/admin/bulk-tokens/%s/unblock" % bulk["id"]),
        ("GET", "/v1/admin/devices"), ("GET", "/v1/admin/devices/%s" % dev),
        ("POST", "/v1/admin/devices/%s/block" % dev),
        ("POST", "/v1/admin/devices/%s/unblock" % dev),
        ("GET", "/v1/admin/tokens?device_id=%s" % dev),
        ("POST", "/v1/admin/tokens/%s/revoke" % jti),
        ("GET", "/v1/admin/keys"), ("POST", "/v1/admin/keys/rotate"),
        ("GET", "/v1/admin/mps"), ("GET", "/v1/admin/mps/%s" % m["id"]),
        ("POST", "/v1/admin/mps/%s/rotate-key" % m["id"]), ("DELETE", "/v1/admin/mps/%s" % m["id"]),
        ("GET", "/v1/admin/audit"), ("GET", "/v1/admin/audit/verify"),
        ("GET", "/v1/admin/audit/recent?action=device."), ("GET", "/v1/admin/overview?hours=2"),
        ("GET", "/v1/admin/search/devices?by=name&q=laptop"),
        ("GET", "/v1/admin/impact?bulk_id=%s" % bulk["id"]),
    ]
    for method, path, *body in calls:
        st, doc = server.admin(method, path, body[0] if body else {} if method == "POST" else None)
        assert 200 <= st < 300, (method, path, st, doc)
    # the rotation above published a next key: taint it, then revoke it
    st, keys = server.admin("GET", "/v1/admin/keys")
    nxt = next(k["kid"] for k in keys["items"] if k["status"] == "next")
    for verb in ("taint", "revoke"):
        st, doc = server.admin("POST", "/v1/admin/keys/%s/%s" % (nxt, verb), {})
        assert st == 200, (verb, st, doc)
    with openapi_check._lock:
        ok = {(m, t) for m, t, s in openapi_check.seen if 200 <= s < 300}
    doc = openapi_check.document()
    missing = sorted((m.upper(), p) for p, item in doc["paths"].items() for m in item
                     if m in METHODS and (m.upper(), p) not in ok)
    assert missing == [], missing

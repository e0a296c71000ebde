"""Checks every response the system tests receive from sitetokend against
docs/openapi.yaml: the method and path must be a documented operation (or
answer 404/405 as the document's rules say), the status one of its documented
responses, the Content-Type one of that response's media types, the headers
it documents (X-Request-Id, ETag, Retry-After, Cache-Control...) present and
well-formed, and a JSON body valid against the response's schema.

The harness feeds it in three places: an HTTPAdapter hook sees every
`requests` call to a port a sitetokend announced in its ready line (Server
helpers, device.MP and direct requests alike), and Server.admin reports the
admin socket's answers. Failures are collected, not raised, so a thread or a
polling loop cannot swallow them; conftest fails the test at teardown."""

import atexit
import json
import os
import re
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
JSON_TYPES = ("application/json", "application/problem+json")
# Answered by libevent before our code runs (docs/security.md): its own HTML.
LIBEVENT_STATUSES = (400, 408, 413, 414, 431, 501, 503)

_lock = threading.Lock()
_doc = None
_routes = None
_validators = {}
failures = []
ports = {}  # port -> the Popen of the sitetokend on it
seen = set()  # (method, template, status) checked, for test_openapi's coverage view


def document():
    global _doc, _routes
    with _lock:
        if _doc is None:
            _doc = yaml.safe_load(DOC_PATH.read_text())
            _routes = []
            for template, item in _doc["paths"].items():
                rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
                _routes.append((re.compile(rx), template, item))
        return _doc


def deref(node):
    """Follows a local $ref (responses, headers, parameters)."""
    doc = document()
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def validator(schema):
    key = json.dumps(schema, sort_keys=True)
    with _lock:
        v = _validators.get(key)
    if v is None:
        resolver = jsonschema.RefResolver("", document())
        v = jsonschema.Draft202012Validator(schema, resolver=resolver)
        with _lock:
            _validators[key] = v
    return v


def find(path):
    """(template, path item) for a request path, or (None, None)."""
    document()
    for rx, template, item in _routes:
        if rx.match(path):
            return template, item
    return None, None


def _schema_errors(schema, value):
    return ["%s at %s" % (e.message, "/".join(str(p) for p in e.absolute_path) or "(root)")
            for e in validator(schema).iter_errors(value)]


def _check_header(name, spec, value):
    schema = deref(spec).get("schema", {})
    if schema.get("type") == "integer":
        if not re.fullmatch(r"[0-9]+", value or ""):
            return ["header %s: %r is not an integer" % (name, value)]
        return []
    return ["header %s: %s" % (name, e) for e in _schema_errors(schema, value)]


def check(method, path, status, headers, body, admin=False):
    """Problems with one response (a list of strings, empty when it fits).
    headers: a case-insensitive mapping; body: bytes, or None when unread."""
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if status in LIBEVENT_STATUSES and ctype == "text/html":
        return []
    template, item = find(path)
    where = "%s %s -> %d" % (method, path, status)
    problems = []
    if template is None or method.lower() not in item:
        # Not an operation: only the routing refusals are allowed.
        if template is None or template.startswith("/v1/admin/") and not admin:
            want = {404: "#/components/responses/NotFound"}
        else:
            want = {405: "#/components/responses/MethodNotAllowed"}
        if status not in want:
            return ["%s: not a documented operation (answered %d)" % (where, status)]
        resp = deref({"$ref": want[status]})
        template = template or "(unknown)"
    else:
        op = item[method.lower()]
        resp = op["responses"].get(str(status))
        if resp is None:
            return ["%s: status %d not documented for %s %s" % (where, status, method, template)]
        resp = deref(resp)
    with _lock:
        seen.add((method.upper(), template, status))
    for name, spec in (resp.get("headers") or {}).items():
        value = headers.get(name)
        if value is None:
            if name == "WWW-Authenticate":
                continue  # checked below, only for `unauthenticated`
            if name == "Vary" or (name == "Cache-Control" and status == 304):
                continue
            problems.append("%s: header %s missing" % (where, name))
            continue
        problems += ["%s: %s" % (where, p) for p in _check_header(name, spec, value)]
    content = resp.get("content")
    if not content:
        if body:
            problems.append("%s: a body where the document has none" % where)
        return problems
    if ctype not in content:
        problems.append("%s: Content-Type %r not among %s" % (where, ctype, sorted(content)))
        return problems
    if ctype in JSON_TYPES and body is not None:
        try:
            value = json.loads(body)
        except ValueError as e:
            return problems + ["%s: body is not JSON: %s" % (where, e)]
        problems += ["%s: %s" % (where, e) for e in _schema_errors(content[ctype]["schema"], value)]
        if ctype == "application/problem+json" and isinstance(value, dict):
            if value.get("status") != status:
                problems.append("%s: problem status %r" % (where, value.get("status")))
            if value.get("code") == "unauthenticated" and not headers.get("WWW-Authenticate"):
                problems.append("%s: unauthenticated without WWW-Authenticate" % where)
    return problems


def record(method, path, status, headers, body, admin=False):
    problems = check(method, path, status, headers, body, admin=admin)
    if problems:
        with _lock:
            failures.extend(problems)
    return problems


def take_failures():
    with _lock:
        out = list(failures)
        failures.clear()
    return out


def register(ready_line, proc):
    """Remembers the ports a sitetokend listens on (from its ready line);
    they count as ours while that process runs (a later process may get the
    port)."""
    for m in re.finditer(r"https?://(?:\[[^\]]+\]|[^:/\s,]+):(\d+)", ready_line or ""):
        with _lock:
            ports[int(m.group(1))] = proc


def _on_response(resp):
    try:
        u = urlsplit(resp.url)
        with _lock:
            proc = ports.get(u.port)
        if proc is None or proc.poll() is not None:
            return
        ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        # Streams (SSE) are never read here: the test reads them.
        body = resp.content if ctype in JSON_TYPES else None
        length = resp.headers.get("Content-Length")
        if body is not None and length is not None and length.isdigit() and len(body) != int(length):
            # urllib3 1.26 hands back a body cut short by a closed
            # connection: a server killed mid-answer (the SIGKILL tests) is
            # no contract violation; one still running is a bug.
            try:
                proc.wait(timeout=1)
                return
            except subprocess.TimeoutExpired:
                with _lock:
                    failures.append("%s %s -> %d: body of %d bytes, Content-Length %s" % (
                        resp.request.method, u.path, resp.status_code, len(body), length))
                return
        record(resp.request.method, u.path or "/", resp.status_code, resp.headers, body)
    except Exception as e:  # a broken check must show, not vanish
        with _lock:
            failures.append("openapi_check: %r" % (e,))


def install():
    """Hooks every requests.Session (once)."""
    import requests.adapters

    adapter = requests.adapters.HTTPAdapter
    if getattr(adapter, "_openapi_hooked", False):
        return
    orig = adapter.build_response

    def build_response(self, req, resp):
        r = orig(self, req, resp)
        if not req.headers.get("X-Openapi-Skip"):
            # A streamed JSON body is read here and kept by requests (r.content).
            _on_response(r)
        return r

    adapter.build_response = build_response
    adapter._openapi_hooked = True


def _dump_seen():
    """With SITETOKEN_OPENAPI_SEEN=FILE, the (method, route, status) triples
    the run checked go to FILE, to see which documented answers no test meets."""
    out = os.environ.get("SITETOKEN_OPENAPI_SEEN")
    if out:
        with open(out, "w") as f:
            for m, t, s in sorted(seen):
                f.write("%s %s %d\n" % (m, t, s))


atexit.register(_dump_seen)

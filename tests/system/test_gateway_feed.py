"""How sitetoken-gateway learns about the authority: discovery through
GET /.well-known/sitetoken (issuer, audience cross-check, the URIs it then
fetches), the signed feed (authority.feed_format: jws: only a verified
document whose exp is ahead confirms; an expired, forged or rolled-back one
does not), HTTPS with authority.ca_file and a client certificate, and the
event stream resumed with Last-Event-ID after the authority restarts."""

import http.server
import json
import re
import threading
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ed25519

import device
from gwkit import Gateway, wait_until
from test_gateway import call, code, enrolled
from test_tls import tls_config
from pki import CA


def auth(gw, d, **kw):
    """A check asked of the gateway directly, as a proxy would (Envoy mode)."""
    return call(gw.base, d, path="/auth", htu="http://127.0.0.1:%d/" % gw.port, **kw)


class Mirror:
    """A plain HTTP front for the authority that the gateway is pointed at:
    forwards GETs, records every path asked, rewrites the metadata's URIs
    (to its own origin, the revocations under /mirror/revocations), and can
    serve a chosen revocation document instead of the authority's."""

    def __init__(self, authority):
        self.authority = authority
        self.paths = []
        self.replace = None  # bytes served for /mirror/revocations when set
        self.seen = []       # (query, body) of what the authority answered there
        me = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                me.paths.append(self.path)
                path, _, query = self.path.partition("?")
                if path == "/mirror/revocations":
                    if me.replace is not None:
                        return self._send(200, "application/jwt", me.replace)
                    path = "/v1/revocations"
                if path == "/v1/events":  # not mirrored: the gateway retries
                    return self._send(404, "text/plain", b"no")
                r = requests.get(me.authority + path + ("?" + query if query else ""), timeout=10)
                body = r.content
                if path == "/.well-known/sitetoken":
                    doc = r.json()
                    doc["revocations_uri"] = me.base + "/mirror/revocations"
                    doc["jwks_uri"] = me.base + "/.well-known/jwks.json"
                    doc["events_uri"] = me.base + "/v1/events"
                    body = json.dumps(doc).encode()
                if path == "/v1/revocations":
                    me.seen.append((query, body))
                self._send(r.status_code, r.headers.get("Content-Type", ""), body)

            def _send(self, status, ctype, body):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_discovery_gives_issuer_and_uris(server, mp, tmp_path):
    mirror = Mirror(server.base)
    gw = Gateway(tmp_path, mirror.base, "max_staleness: 6s\n", issuer=None)
    try:
        gw.wait_ready()
        assert "issuer:" not in gw.cfg.read_text()
        assert "event=discovered issuer=urn:sitetoken:PS1" in gw.log()
        # the keys and the revocations came from the URIs of the metadata
        assert any(p.startswith("/mirror/revocations?since=0") for p in mirror.paths), mirror.paths
        assert not any(p.startswith("/v1/revocations") for p in mirror.paths), mirror.paths
        assert "/.well-known/jwks.json" in mirror.paths
        d = enrolled(mp, server)
        assert auth(gw, d).status_code == 200
    finally:
        gw.stop()
        mirror.stop()


def test_discovery_audience_and_issuer_mismatch_never_ready(server, tmp_path):
    for extra, issuer, event in [("audience: urn:someone:else\n", None, "event=audience_mismatch"),
                                 ("", "urn:sitetoken:OTHER", "event=issuer_mismatch")]:
        sub = tmp_path / event.split("=")[1]
        sub.mkdir()
        gw = Gateway(sub, server.base, extra, issuer=issuer)
        try:
            wait_until(lambda: event in gw.log(), 10, event)
            r = requests.get(gw.base + "/auth", timeout=5)
            assert r.status_code == 503 and r.json()["code"] == "unavailable"
            assert requests.get(gw.base + "/readyz", timeout=5).status_code == 503
        finally:
            gw.stop()


def test_jws_mode_end_to_end(server, mp, tmp_path):
    mirror = Mirror(server.base)
    gw = Gateway(tmp_path, mirror.base, "max_staleness: 6s\n", authority_extra="feed_format: jws")
    try:
        gw.wait_ready()
        asked = [p for p in mirror.paths if p.startswith("/mirror/revocations")]
        assert asked and all("format=jws" in p for p in asked), asked
        d, e = enrolled(mp, server), enrolled(mp, server)
        assert auth(gw, d).status_code == 200
        server.ctl("token", "revoke", d.access_jti, check=0)
        r = wait_until(lambda: (lambda r: r if r.status_code != 200 else None)(auth(gw, d)), 10,
                       "the revocation through the signed feed")
        assert code(r) == (401, "token_revoked")
        # an expired document never confirms: past its exp (feed.max_age 10 min)
        # the gateway fails closed at once, though the access token is good
        gw.shift_clock(3600)
        r = auth(gw, e)
        assert code(r) == (503, "unavailable"), r.text
        assert requests.get(gw.base + "/readyz", timeout=5).status_code == 503
        wait_until(lambda: "the signed document has expired" in gw.log(), 10, "refused reload")
        gw.shift_clock(0)
        gw.wait_ready(10)
        assert auth(gw, e).status_code == 200
    finally:
        gw.stop()
        mirror.stop()


def _jws_gateway(tmp_path, mirror):
    return Gateway(tmp_path, mirror.base, "max_staleness: 3s\n", authority_extra="feed_format: jws")


def test_jws_forged_document_does_not_confirm(server, mp, tmp_path):
    mirror = Mirror(server.base)
    kid = requests.get(server.base + "/v1/keys", timeout=5).json()["keys"][0]["kid"]
    now = int(time.time())
    forged = jwt.encode({"iss": "urn:sitetoken:PS1", "aud": "urn:sitetoken:gateway", "iat": now,
                         "exp": now + 600, "serial": 2 ** 50, "entries": []},
                        ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA",
                        headers={"kid": kid, "typ": "sitetoken-revocations+jwt"})
    mirror.replace = forged.encode()
    gw = _jws_gateway(tmp_path, mirror)
    try:
        wait_until(lambda: "event=bad_revocations" in gw.log(), 10, "the forged feed refused")
        d = enrolled(mp, server)
        assert code(auth(gw, d)) == (503, "unavailable")
        # the real signed feed confirms
        mirror.replace = None
        gw.wait_ready(10)
        assert auth(gw, d).status_code == 200
    finally:
        gw.stop()
        mirror.stop()


def test_jws_rolled_back_document_does_not_confirm(server, mp, tmp_path):
    mirror = Mirror(server.base)
    gw = _jws_gateway(tmp_path, mirror)
    try:
        gw.wait_ready()
        old = [b for q, b in mirror.seen if "format=jws" in q][-1]
        d = enrolled(mp, server)
        server.ctl("token", "revoke", d.access_jti, check=0)
        # wait until the gateway has loaded a newer signed document
        wait_until(lambda: any(b != old for q, b in mirror.seen if "format=jws" in q), 10,
                   "a newer signed feed")
        n = len(mirror.seen)
        mirror.replace = old  # a captured older document, validly signed
        wait_until(lambda: "iat rolls back" in gw.log() or "serial rolls back" in gw.log(), 10,
                   "the rollback refused")
        r = wait_until(lambda: (lambda r: r if r.status_code == 503 else None)(auth(gw, d)), 10,
                       "fail closed")
        assert code(r) == (503, "unavailable")
        assert len(mirror.seen) == n
    finally:
        gw.stop()
        mirror.stop()


@pytest.fixture
def tls_authority(start_server, tmp_path):
    ca = CA(tmp_path / "pki")
    cert, key, _ = ca.issue("server", server=True)
    s = start_server(tls_config(cert, key, ca.pem))
    m = re.search(r"https://([^,\s]+)", s.ready)
    assert m, s.ready
    s.tls_base = "https://" + m.group(1)
    return s, ca


def test_https_with_ca_file_and_client_certificate(tls_authority, tmp_path):
    server, ca = tls_authority
    from device import MP

    mp = MP(server, server.ctl("mp", "add", "mp-tls", json_out=True, check=0).doc["api_key"])
    ccert, ckey, _ = ca.issue("gateway-1")
    stranger = CA(tmp_path / "other", cn="another CA")
    scert, skey, _ = stranger.issue("gateway-x")
    cases = {
        "good": (ca.pem, ccert, ckey),
        "unknown server CA": (stranger.pem, ccert, ckey),
        "client cert of another CA": (ca.pem, scert, skey),
    }
    for name, (cafile, cert, key) in cases.items():
        sub = tmp_path / name.replace(" ", "_")
        sub.mkdir()
        gw = Gateway(sub, server.tls_base, authority_extra="ca_file: %s\nclient_certificate: %s\n"
                     "client_key: %s" % (cafile, cert, key))
        try:
            if name == "good":
                gw.wait_ready()
                assert "revocations_uri=https://" in gw.log()
                d = enrolled(mp, server)
                assert auth(gw, d).status_code == 200
            else:
                wait_until(lambda: "event=fetch_failed what=metadata" in gw.log(), 10, name)
                assert not gw.ready(), name
        finally:
            gw.stop()


def test_stream_resumes_with_last_event_id_after_restart(start_server, tmp_path):
    server = start_server()
    from device import MP

    mp = MP(server, server.ctl("mp", "add", "mp-r", json_out=True, check=0).doc["api_key"])
    d, e = enrolled(mp, server), enrolled(mp, server)
    # reloads far apart: what arrives after the restart comes by the stream
    gw = Gateway(tmp_path, server.base, "max_staleness: 1h\n")
    try:
        gw.wait_ready()
        server.ctl("token", "revoke", d.access_jti, check=0)
        wait_until(lambda: auth(gw, d).status_code == 401, 5, "first revocation")
        serial = gw.metric("sitetoken_gateway_revocation_serial")
        reloads = gw.metric('sitetoken_gateway_fetches_total{what="revocations"}')
        connects = gw.metric("sitetoken_gateway_stream_connects_total")
        port = server.base.rsplit(":", 1)[1]
        server.stop()
        cfg = (tmp_path / "sitetoken.yaml").read_text().replace("port: 0", "port: " + port)
        (tmp_path / "sitetoken.yaml").write_text(cfg)
        server = start_server(cfg)
        wait_until(lambda: gw.metric("sitetoken_gateway_stream_connects_total") > connects, 10,
                   "stream reconnect")
        server.ctl("token", "revoke", e.access_jti, check=0)
        r = wait_until(lambda: (lambda r: r if r.status_code != 200 else None)(auth(gw, e)), 5,
                       "revocation after the restart")
        assert code(r) == (401, "token_revoked")
        assert gw.metric("sitetoken_gateway_revocation_serial") > serial
        # caught up by the stream alone: no full reload (no event: reset)
        assert gw.metric('sitetoken_gateway_fetches_total{what="revocations"}') == reloads
    finally:
        gw.stop()

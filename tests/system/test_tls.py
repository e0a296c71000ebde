"""TLS listeners: TLS 1.2 and 1.3 only, MP authentication by client
certificate (mp add --cert), untrusted certificates refused, and SIGHUP
swapping the certificate without dropping open connections."""

import hashlib
import http.client
import json
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest
import requests

from device import Device
from pki import CA


def tls_config(server_cert, server_key, client_ca=None, extra=""):
    text = (
        "listen:\n"
        "  - address: 127.0.0.1\n"
        "    port: 0\n"
        "  - address: 127.0.0.1\n"
        "    port: 0\n"
        "    tls:\n"
        "      certificate: %s\n"
        "      key: %s\n" % (server_cert, server_key)
    )
    if client_ca:
        text += "      client_ca: %s\n" % client_ca
    return text + "log:\n  level: debug\n" + extra


@pytest.fixture
def pki(tmp_path):
    ca = CA(tmp_path / "pki")
    cert, key, _ = ca.issue("server", server=True)
    return {"ca": ca, "cert": cert, "key": key}


@pytest.fixture
def tls_server(start_server, pki):
    s = start_server(tls_config(pki["cert"], pki["key"], pki["ca"].pem))
    m = re.search(r"https://([^,\s]+)", s.ready)
    assert m, s.ready
    s.tls_base = "https://" + m.group(1)
    s.tls_port = int(m.group(1).rsplit(":", 1)[1])
    return s


def wait_log(server, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    with server.cond:
        while not any(re.search(pattern, l) for l in server.lines):
            left = deadline - time.monotonic()
            assert left > 0, "no log line %r:\n%s" % (pattern, "\n".join(server.lines))
            server.cond.wait(left)


def peer_fingerprint(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


def test_https_serves_with_the_configured_certificate(tls_server, pki):
    r = requests.get(tls_server.tls_base + "/healthz", verify=str(pki["ca"].pem), timeout=10)
    assert r.status_code == 200
    assert "https://" in tls_server.ready


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_tls12_and_tls13_accepted(tls_server, pki, version):
    ctx = ssl.create_default_context(cafile=str(pki["ca"].pem))
    v = getattr(ssl.TLSVersion, version)
    ctx.minimum_version = v
    ctx.maximum_version = v
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() == version.replace("_", ".")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_old_tls_refused(tls_server, pki, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki["ca"].pem))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    v = getattr(ssl.TLSVersion, version)
    try:
        ctx.minimum_version = v
        ctx.maximum_version = v
    except ValueError:
        pytest.skip("this OpenSSL cannot even offer %s" % version)
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError) as e:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    # the server's alert, not our client declining to offer the version
    assert "PROTOCOL_VERSION" in str(e.value).upper(), e.value


def test_mp_authenticates_with_a_client_certificate(tls_server, pki, tmp_path):
    ca = pki["ca"]
    ccert, ckey, fp = ca.issue("mp-cert")
    r = tls_server.ctl("mp", "add", "mp-cert", "--cert", str(ccert), json_out=True, check=0)
    assert r.doc["name"] == "mp-cert"
    d = Device()
    r = requests.post(tls_server.tls_base + "/v1/registrations", json=d.register_body(),
                      verify=str(ca.pem), cert=(str(ccert), str(ckey)), timeout=10)
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    # the same certificate on another MP is a conflict
    st, doc = tls_server.admin("POST", "/v1/admin/mps",
                               {"name": "dup", "certificate": ccert.read_text()})
    assert st == 409 and doc["code"] == "conflict"
    # an API key still works on the TLS listener, and over loopback HTTP
    key = tls_server.ctl("mp", "add", "mp-key", json_out=True, check=0).doc["api_key"]
    r = requests.post(tls_server.tls_base + "/v1/introspect", json={"token": token},
                      headers={"Authorization": "Bearer " + key}, verify=str(ca.pem), timeout=10)
    assert r.status_code == 200 and r.json()["active"] is True


def test_registered_certificate_is_not_usable_over_plain_http(tls_server, pki):
    # plain HTTP has no client certificate: no credential at all
    r = tls_server.post("/v1/registrations", json=Device().register_body())
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_unregistered_client_certificate_is_unauthenticated(tls_server, pki):
    ccert, ckey, _ = pki["ca"].issue("stranger")
    r = requests.post(tls_server.tls_base + "/v1/registrations", json=Device().register_body(),
                      verify=str(pki["ca"].pem), cert=(str(ccert), str(ckey)), timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert "WWW-Authenticate" in r.headers


def test_certificate_from_another_ca_is_refused(tls_server, pki, tmp_path):
    other = CA(tmp_path / "other", cn="someone else")
    ccert, ckey, _ = other.issue("forged")
    # registering it works (it is only a fingerprint) but the handshake refuses it
    tls_server.ctl("mp", "add", "forged", "--cert", str(ccert), check=0)
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        r = requests.post(tls_server.tls_base + "/v1/registrations",
                          json=Device().register_body(), verify=str(pki["ca"].pem),
                          cert=(str(ccert), str(ckey)), timeout=10)
        # TLS 1.3 reports the refusal after the handshake, on the first read
        assert r.status_code != 201
        raise requests.exceptions.SSLError("server accepted: %s" % r.status_code)
    assert tls_server.get("/healthz").status_code == 200


def test_bad_certificate_in_mp_add_is_invalid(tls_server):
    st, doc = tls_server.admin("POST", "/v1/admin/mps", {"name": "x", "certificate": "nope"})
    assert st == 400 and doc["code"] == "invalid_request"
    st, doc = tls_server.admin("POST", "/v1/admin/mps", {"name": "x", "certificate": 5})
    assert st == 400 and doc["code"] == "invalid_request"


def test_sighup_swaps_certificate_keeping_open_connections(tls_server, pki):
    ca = pki["ca"]
    ctx = ssl.create_default_context(cafile=str(ca.pem))
    old = http.client.HTTPSConnection("127.0.0.1", tls_server.tls_port, context=ctx, timeout=10)
    old.request("GET", "/healthz")
    r = old.getresponse()
    r.read()
    assert r.status == 200
    sock = old.sock
    fp_old = peer_fingerprint(sock)

    _, _, fp_new = ca.issue("server", server=True, cert_path=pki["cert"], key_path=pki["key"])
    assert fp_new != fp_old
    tls_server.proc.send_signal(signal.SIGHUP)
    wait_log(tls_server, r"event=tls_reload listener=1$")

    # the open keep-alive connection is still the same one, still served
    old.request("GET", "/healthz")
    r = old.getresponse()
    r.read()
    assert r.status == 200 and old.sock is sock
    assert peer_fingerprint(old.sock) == fp_old
    old.close()
    # a new connection gets the new certificate
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert peer_fingerprint(s) == fp_new


def test_sighup_with_broken_files_keeps_the_old_certificate(tls_server, pki):
    pki["cert"].write_text("garbage\n")
    tls_server.proc.send_signal(signal.SIGHUP)
    wait_log(tls_server, r"event=tls_reload listener=1 error=")
    r = requests.get(tls_server.tls_base + "/healthz", verify=str(pki["ca"].pem), timeout=10)
    assert r.status_code == 200


def test_tls_config_errors_stop_start_up(start_server, tmp_path):
    s = start_server(tls_config(tmp_path / "missing.pem", tmp_path / "missing.key"), wait=False)
    assert s.wait_exit() == 1
    assert "tls certificate" in s.log()


def test_plain_http_off_loopback_is_refused(tmp_path):
    from conftest import run_sitetokend, write_config
    cfg = write_config(tmp_path / "c.yaml", "listen:\n  - address: 0.0.0.0\n    port: 0\n")
    r = run_sitetokend(["-n", "-c", str(cfg)], tmp_path)
    assert r.returncode == 1 and "loopback" in r.stderr


def test_tls_off_loopback_is_accepted_by_check(pki, tmp_path):
    from conftest import run_sitetokend, write_config
    cfg = write_config(
        tmp_path / "c.yaml",
        "listen:\n  - address: 0.0.0.0\n    port: 0\n    tls:\n"
        "      certificate: %s\n      key: %s\n      client_ca: %s\n"
        % (pki["cert"], pki["key"], pki["ca"].pem),
    )
    r = run_sitetokend(["-n", "-c", str(cfg)], tmp_path)
    assert r.returncode == 0, r.stderr


def closed_within(sock, seconds):
    sock.settimeout(0.05)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def test_stalled_handshakes_are_cut_off_and_delay_no_one(start_server, pki):
    """A TLS slowloris: connections that never finish the handshake are closed
    by the read timeout, and a good client is served meanwhile."""
    s = start_server(tls_config(pki["cert"], pki["key"], pki["ca"].pem,
                                "limits:\n  read_timeout: 500ms\n"))
    port = int(re.search(r"https://[^,\s]+:(\d+)", s.ready).group(1))
    stalled = []
    for i in range(200):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            c.sendall(b"\x16\x03\x01\x02\x00\x01\x00")  # the start of a ClientHello
        stalled.append(c)
    t0 = time.perf_counter()
    r = requests.get("https://" + re.search(r"https://([^,\s]+)", s.ready).group(1) + "/healthz",
                     verify=str(pki["ca"].pem), timeout=10)
    assert r.status_code == 200
    assert time.perf_counter() - t0 < 0.5
    try:
        for c in stalled:
            assert closed_within(c, 3), "a stalled handshake was never closed"
    finally:
        for c in stalled:
            c.close()


def test_mp_rate_limit_applies_to_certificate_mps(start_server, pki):
    s = start_server(tls_config(pki["cert"], pki["key"], pki["ca"].pem,
                                "limits:\n  mp_rate: 3\n"))
    base = "https://" + re.search(r"https://([^,\s]+)", s.ready).group(1)
    ccert, ckey, _ = pki["ca"].issue("mp-rl")
    s.ctl("mp", "add", "mp-rl", "--cert", str(ccert), check=0)
    with requests.Session() as sess:  # one keep-alive connection
        codes = [sess.post(base + "/v1/introspect", json={"token": "x.y.z"},
                           verify=str(pki["ca"].pem), cert=(str(ccert), str(ckey)), timeout=10)
                 for _ in range(8)]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert limited[0].json()["code"] == "rate_limited"
    assert limited[0].headers["Retry-After"] == "1"
    # another MP (an API key) is not affected
    key = s.ctl("mp", "add", "mp-key", json_out=True, check=0).doc["api_key"]
    r = requests.post(base + "/v1/introspect", json={"token": "x.y.z"}, verify=str(pki["ca"].pem),
                      headers={"Authorization": "Bearer " + key}, timeout=10)
    assert r.status_code == 200


# -- sitetoken-client over https (tools/httpc.c on libcurl) --

def run_client(tmp_path, *args):
    from conftest import SITETOKEN_CLIENT
    return subprocess.run([str(SITETOKEN_CLIENT), "--key", str(tmp_path / "dev.key"),
                           "--token-file", str(tmp_path / "dev.token"), *args],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin"}, timeout=60)


def test_client_over_https_with_an_api_key(tls_server, pki, tmp_path):
    from conftest import bulk_new
    from device import verify_with_pyjwt
    key = tls_server.ctl("mp", "add", "mp-https", json_out=True, check=0).doc["api_key"]
    bulk = bulk_new(tls_server)
    tls = ["--url", tls_server.tls_base, "--ca-file", str(pki["ca"].pem), "--mp-key", key]
    r = run_client(tmp_path, *tls, "exchange", bulk["token"])
    assert r.returncode == 0, r.stderr
    token = json.loads(r.stdout)["token"]
    verify_with_pyjwt(tls_server, token, "sitetoken-client+jwt")
    r = run_client(tmp_path, *tls, "--timeout", "5", "introspect")
    assert r.returncode == 0 and json.loads(r.stdout)["active"] is True, r.stderr
    # a path prefix with a trailing slash is the same authority
    r = run_client(tmp_path, *tls[:1], tls_server.tls_base + "/", *tls[2:], "access")
    assert r.returncode == 0 and json.loads(r.stdout)["access_token"], r.stderr


def test_client_over_https_with_an_mp_client_certificate(tls_server, pki, tmp_path):
    ccert, ckey, _ = pki["ca"].issue("mp-client")
    tls_server.ctl("mp", "add", "mp-client", "--cert", str(ccert), check=0)
    tls = ["--url", tls_server.tls_base, "--ca-file", str(pki["ca"].pem)]
    r = run_client(tmp_path, *tls, "--cert", str(ccert), "--cert-key", str(ckey), "register")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["token"]
    # certificate and key in one file
    both = tmp_path / "both.pem"
    both.write_text(ccert.read_text() + ckey.read_text())
    r = run_client(tmp_path, *tls, "--cert", str(both), "introspect")
    assert r.returncode == 0 and json.loads(r.stdout)["active"] is True, r.stderr
    # no credential at all is a usage error, before any connection
    r = run_client(tmp_path, *tls, "introspect")
    assert r.returncode == 2 and "MP credential" in r.stderr


def test_client_refuses_a_server_its_ca_does_not_trust(tls_server, pki, tmp_path):
    other = CA(tmp_path / "other", cn="someone else")
    for ca in (["--ca-file", str(other.pem)], []):  # another CA, and the system's CAs
        r = run_client(tmp_path, "--url", tls_server.tls_base, *ca, "--mp-key", "stmp_x",
                       "introspect", "a.b.c")
        assert r.returncode == 3, (ca, r.stdout, r.stderr)
        assert "TLS" in r.stderr and tls_server.tls_base in r.stderr, r.stderr
    assert not any("introspect" in l and "status=" in l for l in tls_server.lines)


def test_client_certificate_the_server_does_not_trust_exits_3(tls_server, pki, tmp_path):
    other = CA(tmp_path / "other", cn="someone else")
    ccert, ckey, _ = other.issue("forged")
    r = run_client(tmp_path, "--url", tls_server.tls_base, "--ca-file", str(pki["ca"].pem),
                   "--cert", str(ccert), "--cert-key", str(ckey), "introspect", "a.b.c")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "TLS" in r.stderr, r.stderr
    # a missing certificate file is named as a TLS problem too
    r = run_client(tmp_path, "--url", tls_server.tls_base, "--ca-file", str(pki["ca"].pem),
                   "--cert", str(tmp_path / "none.pem"), "introspect", "a.b.c")
    assert r.returncode == 3 and "TLS" in r.stderr, r.stderr

"""sitetoken-gateway behind real Caddy (forward_auth, admin off, auto_https
off) with the snippet of docs/gateway.md: a device reaches the upstream with
its identity headers; refusals come back as the gateway's problem documents
with their codes."""

import jwt
import pytest
import requests

from conftest import bulk_new
from device import Device
from gwkit import Caddy, Gateway, Upstream, dpop
from test_gateway import call, code, enrolled


@pytest.fixture
def caddy_kit(server, mp, tmp_path):
    with Upstream() as up, Gateway(tmp_path, server.base) as gw:
        gw.wait_ready()
        with Caddy(gw.port, up.port) as cad:
            yield server, mp, gw, cad, up


def test_caddy_forward_auth(caddy_kit):
    server, mp, gw, cad, up = caddy_kit
    d = enrolled(mp, server)
    r = call(cad.base, d, "PUT", "/api/v1/thing?x=2")
    assert r.status_code == 200, r.text
    h = r.json()["headers"]
    assert h["x-sitetoken-device-id"] == d.id
    assert h["x-sitetoken-token-id"] == d.access_jti
    assert h["x-sitetoken-site"] == "PS1"
    hits = len(up.hits)
    bulk = bulk_new(server)
    other = Device()
    for name, r, want in [
        ("no token", requests.get(cad.base + "/api", timeout=10), (401, "unauthenticated")),
        ("bulk", call(cad.base, d, token=bulk["token"]), (401, "wrong_token_type")),
        ("client", call(cad.base, d, token=d.token), (401, "wrong_token_type")),
        ("htm", call(cad.base, d, "GET", htm="DELETE"), (401, "proof_invalid")),
        ("htu", call(cad.base, d, htu="http://elsewhere.example/api/x"), (401, "proof_invalid")),
        ("key", call(cad.base, d, key=other.key, jwk=other.jwk), (401, "binding_mismatch")),
    ]:
        assert code(r) == want, (name, r.text)
    p = dpop(d, "GET", cad.base + "/api/x", d.access)
    assert call(cad.base, d, proof=p).status_code == 200
    assert code(call(cad.base, d, proof=p)) == (401, "proof_replayed")
    assert len(up.hits) == hits + 1
    server.ctl("token", "revoke", d.access_jti, check=0)
    from gwkit import wait_until

    r = wait_until(lambda: (lambda r: r if r.status_code != 200 else None)(call(cad.base, d)), 2.0,
                   "revocation at caddy")
    assert code(r) == (401, "token_revoked")


def test_c_example_compiles_and_runs(tmp_path):
    """The C example of docs/gateway.md, built against the public header and
    the shared library exactly as an operator's gateway would be."""
    import subprocess

    from conftest import BUILD, SANITIZED
    from gwkit import ROOT, snippet

    src = tmp_path / "example.c"
    src.write_text(snippet("c-example"))
    exe = tmp_path / "example"
    # Under the ASan pass the library is instrumented: so is the example.
    san = ["-fsanitize=address,undefined"] if SANITIZED else []
    r = subprocess.run(["cc", *san, "-std=c99", "-Wall", "-Werror", "-I", str(ROOT / "proto"), str(src),
                        "-L", str(BUILD / "proto"), "-lsitetoken", "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(exe)], capture_output=True, text=True,
                       env={"LD_LIBRARY_PATH": str(BUILD / "proto")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "invalid_request"  # "a.b.c" is no token

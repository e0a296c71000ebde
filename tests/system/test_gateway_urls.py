"""sitetoken-gateway -n: authority.url and public_origin go through httpc_url_parse,
the tools' one URL parser, so a URL the client library would refuse is refused at
config check, naming the file and the key."""
import subprocess

from gwkit import GATEWAY


def check(tmp_path, text):
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(text)
    return subprocess.run([str(GATEWAY), "-n", "-c", str(cfg)], capture_output=True, text=True)


def test_authority_url_parsed(tmp_path):
    for url in ["http://", "ftp://authority.example", "https://user:pw@authority.example/",
                "http://authority.example:99999/", "authority.example"]:
        r = check(tmp_path, "authority:\n  url: '%s'\n" % url)
        assert r.returncode == 1, url
        assert "gw.yaml:0: authority.url: must be an http:// or https:// URL" in r.stderr, url
    r = check(tmp_path, "authority:\n  url: 'https://[::1]:8443/base/'\n")
    assert r.returncode == 0, r.stderr


def test_public_origin_parsed(tmp_path):
    r = check(tmp_path, "public_origin: 'https://'\n")
    assert r.returncode == 1
    assert "gw.yaml:0: public_origin: must be scheme://host[:port]" in r.stderr
    r = check(tmp_path, "public_origin: 'https://app.example:8443'\n")
    assert r.returncode == 0, r.stderr

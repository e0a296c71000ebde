"""Foundation: the embedded default, config checking, the loopback rule, the
seal key file, health/ready/metrics, problems for unknown routes, graceful
shutdown, and `sitetokenctl status`."""

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess

import pytest
import requests

from conftest import SITETOKENCTL, basic_config, run_sitetokend, write_config


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.mark.sqlite_only  # the state directory holds sitetoken.db
def test_embedded_default_start(start_server, tmp_path):
    assert port_free(8080), "the embedded default needs 127.0.0.1:8080 free"
    s = start_server(args=[])
    assert s.ready.startswith("http://127.0.0.1:8080")
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert (var / "sitetoken.db").is_file()
    assert stat.S_IMODE((var / "seal.key").stat().st_mode) == 0o600
    assert (var / "seal.key").stat().st_size == 32
    sock = var / "admin.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    r = s.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert s.stop() == 0
    assert not sock.exists()


@pytest.mark.sqlite_only  # WAL mode and the migrations table
def test_database_is_wal_with_migrations(server, tmp_path):
    db = sqlite3.connect(tmp_path / "var" / "sitetoken.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [v for (v,) in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    # numbered from 1, each once; branches number theirs apart, so gaps may occur
    assert versions and versions[:6] == list(range(1, 7)) and versions == sorted(set(versions))
    db.close()


@pytest.mark.sqlite_only  # writes a future migration into the file
def test_newer_schema_refused(start_server, tmp_path):
    s = start_server()
    assert s.stop() == 0
    db = sqlite3.connect(tmp_path / "var" / "sitetoken.db")
    db.execute("INSERT INTO schema_migrations VALUES (9999, 'from the future', 0)")
    db.commit()
    db.close()
    r = run_sitetokend(["-c", str(tmp_path / "sitetoken.yaml")], cwd=tmp_path)
    assert r.returncode == 1
    assert "newer than this sitetokend knows" in r.stderr


def test_restart_keeps_state(start_server, tmp_path):
    s = start_server()
    key1 = (tmp_path / "var" / "seal.key").read_bytes()
    assert s.stop() == 0
    s = start_server()
    assert (tmp_path / "var" / "seal.key").read_bytes() == key1
    assert s.get("/readyz").status_code == 200


def test_check_only_ok(tmp_path):
    cfg = write_config(tmp_path / "ok.yaml", basic_config())
    r = run_sitetokend(["-n", "-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "var").exists(), "-n must not create state"


CONFIG_ERRORS = [
    # (yaml, line, key)
    ("site:\n  code: PS1\n  colour: blue\n", 3, "site.colour"),
    ("tokens:\n  client_lifetime: 90\n", 2, "tokens.client_lifetime"),
    ("tokens:\n  access_lifetime: 8x\n", 2, "tokens.access_lifetime"),
    ("tokens:\n  bulk_max_lifetime: 20000m\n", 2, "tokens.bulk_max_lifetime"),
    ("keys:\n  algorithm: HS256\n", 2, "keys.algorithm"),
    ("log:\n  level: loud\n", 2, "log.level"),
    ("listen:\n  - address: 127.0.0.1\n    port: 70000\n", 3, "listen[0].port"),
    ("unknown_top: 1\n", 1, "unknown_top"),
]


@pytest.mark.parametrize("text,line,key", CONFIG_ERRORS)
def test_config_error_names_file_line_key(tmp_path, text, line, key):
    cfg = write_config(tmp_path / "bad.yaml", text)
    for args in (["-n", "-c", str(cfg)], ["-c", str(cfg)]):
        r = run_sitetokend(args, cwd=tmp_path)
        assert r.returncode == 1
        assert "%s:%d: %s:" % (cfg, line, key) in r.stderr, r.stderr
    assert not (tmp_path / "var").exists()


def test_config_reports_every_error(tmp_path):
    text = "site:\n  colour: blue\nkeys:\n  algorithm: none\nlog:\n  level: loud\n"
    cfg = write_config(tmp_path / "bad.yaml", text)
    r = run_sitetokend(["-n", "-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 1
    for line, key in ((2, "site.colour"), (4, "keys.algorithm"), (6, "log.level")):
        assert "%s:%d: %s:" % (cfg, line, key) in r.stderr, r.stderr


def test_config_yaml_syntax_error(tmp_path):
    cfg = write_config(tmp_path / "bad.yaml", "site:\n  code: [PS1\n")
    r = run_sitetokend(["-n", "-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 1
    assert str(cfg) + ":" in r.stderr


def test_config_missing_file(tmp_path):
    r = run_sitetokend(["-n", "-c", str(tmp_path / "absent.yaml")], cwd=tmp_path)
    assert r.returncode == 1
    assert "absent.yaml" in r.stderr


@pytest.mark.parametrize("address", ["0.0.0.0", "192.0.2.10", "::"])
def test_plain_http_refused_off_loopback(tmp_path, address):
    text = "listen:\n  - address: \"%s\"\n    port: 0\n" % address
    cfg = write_config(tmp_path / "open.yaml", text)
    for args in (["-n", "-c", str(cfg)], ["-c", str(cfg)]):
        r = run_sitetokend(args, cwd=tmp_path)
        assert r.returncode == 1
        assert "%s:2: listen[0].address:" % cfg in r.stderr
        assert "loopback" in r.stderr
    assert not (tmp_path / "var").exists()


def test_seal_key_readable_by_others_refused(start_server, tmp_path):
    s = start_server()
    assert s.stop() == 0
    key = tmp_path / "var" / "seal.key"
    for mode in (0o640, 0o604, 0o644):
        os.chmod(key, mode)
        r = run_sitetokend(["-c", str(tmp_path / "sitetoken.yaml")], cwd=tmp_path)
        assert r.returncode == 1
        assert "seal.key" in r.stderr and "group or others" in r.stderr, r.stderr
    os.chmod(key, 0o600)
    start_server()


def test_health_ready_metrics(server):
    assert server.get("/healthz").json() == {"status": "ok"}
    r = server.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    server.get("/nope")
    r = server.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert 'sitetoken_http_requests_total{route="healthz",status="200"} 1' in text
    assert 'sitetoken_http_requests_total{route="readyz",status="200"} 1' in text
    assert 'sitetoken_http_requests_total{route="not_found",status="404"} 1' in text
    start = [l for l in text.splitlines() if l.startswith("process_start_time_seconds ")]
    assert len(start) == 1 and int(start[0].split()[1]) > 1_600_000_000


@pytest.mark.sqlite_only  # another process holds the SQLite write lock
def test_readyz_reports_unwritable_store(server, tmp_path):
    db = sqlite3.connect(tmp_path / "var" / "sitetoken.db", timeout=0)
    db.execute("BEGIN EXCLUSIVE")
    try:
        r = server.get("/readyz", timeout=30)
        assert r.status_code == 503
        assert r.json()["code"] == "unavailable"
        assert "Retry-After" in r.headers
    finally:
        db.rollback()
        db.close()
    assert server.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("GET", "/nope", 404, "not_found"),
        ("GET", "/v1/admin/status", 404, "not_found"),  # admin only on the socket
        ("POST", "/healthz", 405, "method_not_allowed"),
        ("PUT", "/metrics", 405, "method_not_allowed"),
        ("GET", "/healthz/extra", 404, "not_found"),
    ],
)
def test_problem_documents(server, method, path, status, code):
    r = requests.request(method, server.url(path), timeout=10)
    assert r.status_code == status
    assert r.headers["Content-Type"] == "application/problem+json"
    doc = r.json()
    assert doc["code"] == code
    assert doc["status"] == status
    assert doc["type"] == "urn:sitetoken:error:" + code
    assert doc["title"] and "detail" in doc


def test_sigterm_and_sigint_exit_zero(start_server, tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        s = start_server()
        assert s.get("/healthz").status_code == 200
        assert s.stop(sig) == 0
        assert "event=stopped" in s.log()
        assert not (tmp_path / "var" / "admin.sock").exists()


def test_second_server_on_same_socket_refused(server, tmp_path):
    r = run_sitetokend(["-c", str(tmp_path / "sitetoken.yaml")], cwd=tmp_path)
    assert r.returncode == 1
    assert "admin.sock" in r.stderr
    assert server.get("/healthz").status_code == 200


def test_ctl_status(server, tmp_path):
    r = server.ctl("status", json_out=True, check=0)
    doc = r.doc
    assert doc["version"]
    assert doc["site_code"] == "PS1"
    assert doc["database"].endswith("var/sitetoken.db")
    assert doc["schema_version"] >= 1
    assert doc["uptime_seconds"] >= 0
    r = server.ctl("status", check=0)
    assert "site code" in r.stdout and "PS1" in r.stdout and "schema" in r.stdout


def test_ctl_usage_and_connection_errors(server, tmp_path):
    r = subprocess.run([str(SITETOKENCTL), "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2
    r = subprocess.run([str(SITETOKENCTL)], capture_output=True, text=True)
    assert r.returncode == 2
    r = subprocess.run([str(SITETOKENCTL), "-s", str(tmp_path / "nosock"), "status"],
                       capture_output=True, text=True)
    assert r.returncode == 3 and "nosock" in r.stderr
    r = server.ctl("status", "extra")
    assert r.returncode == 2

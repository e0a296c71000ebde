"""Logs and metrics an operator relies on: log.format json is one JSON object a
line with the keys of logfmt; a refused request is logged with its code and
detail but never with a token, proof or key; /metrics parses strictly as
Prometheus text, its gauges move with what they count, and metrics.listen
moves it off the public listener."""

import http.client
import json
import math
import re
import time

import jwt
import requests

from conftest import basic_config, bulk_new, run_sitetokend, write_config
from device import MP, Device

REFRESH = "metrics:\n  refresh: 100ms\n"

# One sample line: name, optional labels, value (no timestamps: we never write one).
SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (\S+)$'
)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format 0.0.4, strictly: every family has HELP then TYPE
    before its samples, each family once, samples only of declared families
    (with _bucket/_sum/_count for histograms), values are floats, histogram
    buckets are cumulative, end in +Inf, and +Inf equals _count.
    -> {family: {"type": t, "samples": [(name, labels, value)]}}"""
    assert text.endswith("\n"), "exposition must end with a newline"
    families, current = {}, None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        assert line, "empty line %d" % n
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert name not in families, "family %s twice (line %d)" % (name, n)
            assert help_, "HELP without text for %s" % name
            families[name] = {"type": None, "samples": []}
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == current and families[name]["type"] is None, "TYPE out of place: %r" % line
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            families[name]["type"] = typ
            continue
        assert not line.startswith("#"), "unknown comment line %r" % line
        m = SAMPLE_RE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.group(1), dict(LABEL_RE.findall(m.group(2) or "")), m.group(3)
        fam = families.get(current)
        assert fam is not None and fam["type"] is not None, "sample before HELP/TYPE: %r" % line
        allowed = {current}
        if fam["type"] == "histogram":
            allowed = {current + "_bucket", current + "_sum", current + "_count"}
        assert name in allowed, "sample %s under family %s" % (name, current)
        v = float(value)  # raises on anything that is not a number
        assert not math.isnan(v)
        fam["samples"].append((name, labels, v))
    for name, fam in families.items():
        if fam["type"] != "histogram":
            continue
        series = {}
        for sname, labels, v in fam["samples"]:
            key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
            series.setdefault(key, {"buckets": [], "sum": None, "count": None})
            if sname.endswith("_bucket"):
                series[key]["buckets"].append((labels["le"], v))
            elif sname.endswith("_sum"):
                series[key]["sum"] = v
            else:
                series[key]["count"] = v
        for key, s in series.items():
            les = [le for le, _ in s["buckets"]]
            assert les and les[-1] == "+Inf", "%s%s: no +Inf bucket" % (name, key)
            bounds = [float(le) for le in les[:-1]]
            assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), name
            counts = [v for _, v in s["buckets"]]
            assert counts == sorted(counts), "%s: buckets not cumulative" % name
            assert s["count"] == counts[-1] and s["sum"] is not None and s["sum"] >= 0, name
    return families


def gauge(fams, name):
    fam = fams[name]
    assert fam["type"] == "gauge", name
    (sample,) = fam["samples"]
    return sample[2]


def hist_count(fams, name):
    fam = fams[name]
    assert fam["type"] == "histogram", name
    return next(v for n, _, v in fam["samples"] if n == name + "_count")


def scrape(url):
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse_metrics(r.text)


def wait_gauge(url, name, pred, what, timeout=15):
    """Polls /metrics until pred(value) (the cached gauges refresh every 100 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        v = gauge(scrape(url), name)
        if pred(v):
            return v
        assert time.monotonic() < deadline, "%s stayed %s, wanted %s" % (name, v, what)
        time.sleep(0.05)


def test_metrics_parse_strictly_and_gauges_move(start_server):
    s = start_server(basic_config(REFRESH))
    url = s.url("/metrics")
    fams = scrape(url)
    for name in ("sitetoken_devices", "sitetoken_client_tokens_live", "sitetoken_bulk_tokens_active",
                 "sitetoken_feed_serial", "sitetoken_signing_key_age_seconds",
                 "sitetoken_signing_key_next_rotation_seconds", "sitetoken_stream_subscribers",
                 "sitetoken_writer_queue_depth", "sitetoken_counts_refreshed_timestamp_seconds"):
        assert fams[name]["type"] == "gauge", name
    for name in ("sitetoken_writer_batch_size", "sitetoken_writer_commit_duration_seconds",
                 "sitetoken_http_request_duration_seconds"):
        assert fams[name]["type"] == "histogram", name
    assert gauge(fams, "sitetoken_writer_queue_depth") == 0
    assert gauge(fams, "sitetoken_stream_subscribers") == 0
    # A fresh key: signing for about no time, the next one due in about the
    # rotation period (30 days by default).
    assert 0 <= gauge(fams, "sitetoken_signing_key_age_seconds") < 120
    assert abs(gauge(fams, "sitetoken_signing_key_next_rotation_seconds") - 30 * 86400) < 120
    before_commits = hist_count(fams, "sitetoken_writer_commit_duration_seconds")

    key = s.ctl("mp", "add", "mp-metrics", json_out=True, check=0).doc["api_key"]
    mp = MP(s, key)
    bulk = bulk_new(s)
    wait_gauge(url, "sitetoken_bulk_tokens_active", lambda v: v == 1, "1 active bulk token")
    devs = [Device() for _ in range(3)]
    for d in devs:
        assert mp.exchange(d, bulk["token"]).status_code == 201
    wait_gauge(url, "sitetoken_devices", lambda v: v == 3, "3 devices")
    wait_gauge(url, "sitetoken_client_tokens_live", lambda v: v == 3, "3 live tokens")
    fams = scrape(url)
    assert hist_count(fams, "sitetoken_writer_commit_duration_seconds") >= before_commits + 4
    assert hist_count(fams, "sitetoken_writer_batch_size") >= before_commits + 4

    # A revocation moves the feed serial; a blocked bulk token is no longer active.
    serial = gauge(fams, "sitetoken_feed_serial")
    jti = jwt.decode(devs[0].token, options={"verify_signature": False})["jti"]
    status, doc = s.admin("POST", "/v1/admin/tokens/%s/revoke" % jti, {"reason": "test"})
    assert status == 200, doc
    wait_gauge(url, "sitetoken_feed_serial", lambda v: v > serial, "a higher serial")
    wait_gauge(url, "sitetoken_client_tokens_live", lambda v: v == 2, "2 live tokens")
    status, doc = s.admin("POST", "/v1/admin/bulk-tokens/%s/block" % bulk["id"])
    assert status == 200, doc
    wait_gauge(url, "sitetoken_bulk_tokens_active", lambda v: v == 0, "no active bulk token")

    # Event-stream subscribers are counted while open.
    with requests.get(s.url("/v1/events"), stream=True, timeout=10) as ev:
        assert ev.status_code == 200
        wait_gauge(url, "sitetoken_stream_subscribers", lambda v: v == 1, "1 subscriber")
    wait_gauge(url, "sitetoken_stream_subscribers", lambda v: v == 0, "0 subscribers")

    # The debug clock moves the key's age and its time to rotation together.
    fams = scrape(url)
    age = gauge(fams, "sitetoken_signing_key_age_seconds")
    s.shift_clock(3 * 86400)
    wait_gauge(url, "sitetoken_signing_key_age_seconds", lambda v: v >= age + 3 * 86400,
               "3 days older")
    left = gauge(scrape(url), "sitetoken_signing_key_next_rotation_seconds")
    assert left <= 27 * 86400 + 120


def test_metrics_listen_moves_metrics_off_the_public_listener(start_server):
    s = start_server(basic_config(REFRESH + "  listen: 127.0.0.1:0\n"))
    m = re.search(r"metrics (http://127\.0\.0\.1:\d+)", s.ready)
    assert m, s.ready
    murl = m.group(1)
    assert murl != s.base
    fams = scrape(murl + "/metrics")
    assert "sitetoken_devices" in fams
    r = s.get("/metrics")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # The metrics listener serves nothing else (http.client: these answers
    # are not the API's, openapi_check would take them for it).
    host, port = murl[len("http://"):].split(":")
    for method, path, want in (("GET", "/v1/keys", 404), ("GET", "/healthz", 404),
                               ("POST", "/metrics", 405)):
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request(method, path)
        resp = c.getresponse()
        body = json.loads(resp.read())
        c.close()
        assert resp.status == want, (method, path, resp.status)
        assert body["code"] == ("not_found" if want == 404 else "method_not_allowed"), body
    assert s.get("/v1/keys").status_code == 200


def test_metrics_listen_is_checked(tmp_path):
    for bad in ("9100", "127.0.0.1:", "127.0.0.1:99999", "::1:9100", "[::1]9100"):
        cfg = write_config(tmp_path / "bad.yaml", basic_config("metrics:\n  listen: \"%s\"\n" % bad))
        r = run_sitetokend(["-n", "-c", str(cfg)], tmp_path)
        assert r.returncode == 1, (bad, r.stderr)
        assert re.search(r"bad\.yaml:\d+: metrics\.listen: .*ADDRESS:PORT", r.stderr), r.stderr
    cfg = write_config(tmp_path / "good.yaml", basic_config("metrics:\n  listen: \"[::1]:9100\"\n"))
    assert run_sitetokend(["-n", "-c", str(cfg)], tmp_path).returncode == 0


def test_json_log_lines_have_the_logfmt_keys(start_server):
    s = start_server(basic_config().replace("log:\n", "log:\n  format: json\n"))
    r = s.get("/v1/nothing-here")
    assert r.status_code == 404
    s.stop()
    lines = [l for l in s.lines if l and not l.startswith("ready: ")]
    assert lines
    docs = [json.loads(l) for l in lines]  # every other line is one JSON object
    for d in docs:
        assert {"ts", "level"} <= set(d) and all(isinstance(v, str) for v in d.values()), d
    start = next(d for d in docs if d.get("event") == "start" and "version" in d)
    assert start["site"] == "PS1"
    refused = next(d for d in docs if d.get("event") == "refused")
    assert refused["code"] == "not_found" and refused["status"] == "404"
    assert refused["detail"] == "no such resource"
    assert any(l.startswith("ready: listening on ") for l in s.lines)


def test_refusals_logged_with_code_and_detail_never_secrets(start_server):
    s = start_server(basic_config())
    key = s.ctl("mp", "add", "mp-logs", json_out=True, check=0).doc["api_key"]
    mp = MP(s, key)
    bulk = bulk_new(s)
    d = Device()
    assert mp.exchange(d, bulk["token"]).status_code == 201
    secrets = [key, bulk["token"], d.token]
    # A bad proof with a real token; a tampered token; a wrong key; bad JSON
    # that echoes a token in a field the schema does not know.
    r = mp.post("/v1/access-tokens", {"token": d.token, "proof": d.proof("renew", token=d.token)})
    assert r.status_code == 401 and r.json()["code"] == "proof_invalid", r.text
    proof = d.proof("access", token=d.token)
    secrets.append(proof)
    r = mp.post("/v1/access-tokens", {"token": d.token[:-4] + "AAAA", "proof": proof})
    assert r.status_code in (400, 401), r.text
    r = mp.post("/v1/registrations", {"hardware_id": 5, "name": "n", "proof": proof, d.token: key})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text
    detail = r.json()["detail"]
    r = mp.post("/v1/exchanges", d.exchange_body(bulk["token"]), key=key[:-2] + "xx")
    assert r.status_code == 401, r.text
    r = mp.post("/v1/exchanges", {"bulk_token": bulk["token"] + "x", "hardware_id": "h",
                                  "name": "n", "proof": proof})
    assert r.status_code in (400, 401, 403), r.text
    s.stop()
    log = s.log()
    for secret in secrets:
        for piece in (secret, *secret.split(".")):
            if len(piece) >= 16:
                assert piece not in log, "a secret is in the log"
    refused = [l for l in log.splitlines() if "event=refused" in l]
    assert len(refused) >= 5, log
    assert all(re.search(r" code=\w+ detail=", l) for l in refused), refused
    # The 400 of the registration says why, as the client saw it, except that
    # the echo of a token (the unknown field's name) is redacted.
    line = next(l for l in refused if "route=registrations" in l and "code=invalid_request" in l)
    assert detail.startswith(d.token[:40]) and detail.endswith(": unknown field"), detail
    assert 'detail="[redacted]: unknown field"' in line, line

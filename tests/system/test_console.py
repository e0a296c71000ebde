"""The web console (`sitetokenctl ui`, issue 16): its session and origin
rules driven with requests, its pages driven in a real headless Chromium
against the real sitetokend, and the admin routes it added."""

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import BUILD, SITETOKENCTL
from device import MP, Device

XSS = "<img src=x onerror=alert(1)>"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = BUILD / "screenshots"


class Console:
    """One running `sitetokenctl ui`; the URL comes from its first line."""

    def __init__(self, server, *args):
        self.proc = subprocess.Popen(
            [str(SITETOKENCTL), "-s", server.admin_socket, "ui", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True).start()
        line = lines.get(timeout=20)
        m = re.match(r"console: (http://127\.0\.0\.1:(\d+)/\?s=([A-Za-z0-9_-]{43}))$", line.strip())
        assert m, line
        self.url, self.port, self.secret = m.group(1), int(m.group(2)), m.group(3)
        self.base = "http://127.0.0.1:%d" % self.port
        self.cookie_name = "stconsole_%d" % self.port

    def session(self):
        """Trades the secret like a browser would -> (requests.Session, token)."""
        s = requests.Session()
        r = s.get(self.url, allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["Location"] == "/"
        page = s.get(self.base + "/", timeout=10)
        assert page.status_code == 200
        m = re.search(r'<meta name="console-token" content="([A-Za-z0-9_-]{43})">', page.text)
        assert m, page.text[:400]
        return s, m.group(1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def console(server):
    consoles = []

    def start(*args):
        c = Console(server, *args)
        consoles.append(c)
        return c

    yield start
    for c in consoles:
        c.stop()


def problem(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.text


# ---- the session and origin rules (requests, not the browser) ------------------


def test_url_without_secret_gets_nothing(server, console):
    c = console()
    for path in ("/", "/index.html", "/app.js", "/api/status", "/?s=", "/?s=" + "A" * 43):
        r = requests.get(c.base + path, allow_redirects=False, timeout=10)
        assert r.status_code in (401, 403), (path, r.status_code)
        assert "console-token" not in r.text and "sitetoken console" not in r.text
    problem(requests.get(c.base + "/", timeout=10), 401, "unauthenticated")
    problem(requests.get(c.base + "/?s=" + "A" * 43, timeout=10), 403, "forbidden")


def test_secret_is_one_time_and_cookie_is_strict(server, console):
    c = console()
    r = requests.get(c.url, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(c.cookie_name + "=")
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie, cookie
    # a reused one-time secret gets nothing, in a fresh client or the same one
    problem(requests.get(c.url, allow_redirects=False, timeout=10), 403, "forbidden")
    problem(requests.get(c.url, cookies=r.cookies, allow_redirects=False, timeout=10), 403,
            "forbidden")


def test_token_handed_out_once_and_required_for_every_call(server, console):
    c = console()
    s, token = c.session()
    # the page served again to the same cookie carries no token: a leaked
    # cookie alone (other ports' servers get it too) gets nothing
    again = s.get(c.base + "/", timeout=10)
    assert again.status_code == 200 and token not in again.text
    assert '<meta name="console-token" content="">' in again.text
    # reads need the header as well
    problem(s.get(c.base + "/api/status", timeout=10), 403, "forbidden")
    problem(s.get(c.base + "/api/status", headers={"X-Console-Token": "x" * 43}, timeout=10),
            403, "forbidden")
    r = s.get(c.base + "/api/status", headers={"X-Console-Token": token}, timeout=10)
    assert r.status_code == 200 and r.json()["site_code"] == "PS1"
    # the header without the cookie is nothing either
    problem(requests.get(c.base + "/api/status", headers={"X-Console-Token": token}, timeout=10),
            401, "unauthenticated")
    # a state change without the header is refused and changes nothing
    before = len(server.ctl("bulk", "list", json_out=True, check=0).doc["items"])
    problem(s.post(c.base + "/api/bulk-tokens", json={}, timeout=10), 403, "forbidden")
    assert len(server.ctl("bulk", "list", json_out=True, check=0).doc["items"]) == before


def test_foreign_origin_and_host_refused(server, console):
    c = console()
    s, token = c.session()
    h = {"X-Console-Token": token}
    host = "127.0.0.1:%d" % c.port
    for origin in ("http://evil.example", "http://127.0.0.1:%d" % (c.port + 1 if c.port < 65535 else 1),
                   "null", "https://" + host):
        problem(s.post(c.base + "/api/bulk-tokens", json={}, headers={**h, "Origin": origin},
                       timeout=10), 403, "forbidden")
    problem(s.post(c.base + "/api/bulk-tokens", json={},
                   headers={**h, "Origin": "http://" + host, "Sec-Fetch-Site": "cross-site"},
                   timeout=10), 403, "forbidden")
    problem(s.delete(c.base + "/api/mps/x", headers={**h, "Origin": "http://evil.example"},
                     timeout=10), 403, "forbidden")
    assert server.ctl("bulk", "list", json_out=True, check=0).doc["items"] == []
    # DNS rebinding: a name that is not loopback's, whatever the port
    for bad in ("evil.example:%d" % c.port, "127.0.0.1.evil.example", "localhost.:1", "[::2]:1",
                "127.0.0.1:x", ""):
        problem(s.get(c.base + "/api/status", headers={**h, "Host": bad}, timeout=10), 403,
                "forbidden")
    # the port is not checked (ssh -L), the names are
    jar = "%s=%s" % (c.cookie_name, s.cookies[c.cookie_name])
    for good in ("localhost:9", "LOCALHOST", "[::1]:8443", "127.0.0.1"):
        r = requests.get(c.base + "/api/status", headers={**h, "Host": good, "Cookie": jar},
                         timeout=10)
        assert r.status_code == 200, (good, r.text)
    r = s.post(c.base + "/api/bulk-tokens", json={"note": "ok"},
               headers={**h, "Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"},
               timeout=10)
    assert r.status_code == 201, r.text


def test_security_headers_on_every_answer(server, console):
    c = console()
    s, token = c.session()
    for r in (requests.get(c.base + "/", timeout=10), s.get(c.base + "/app.js", timeout=10),
              s.get(c.base + "/api/keys", headers={"X-Console-Token": token}, timeout=10)):
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["Cache-Control"] == "no-store"
    js = s.get(c.base + "/app.js", timeout=10)
    assert js.headers["Content-Type"].startswith("text/javascript")
    html = s.get(c.base + "/", timeout=10).text
    assert "<script>" not in html and " on" not in re.sub(r"<meta[^>]*>", "", html).replace(
        "online", "")


def test_expired_session_gets_nothing(server, console):
    c = console("--session-idle", "1")
    s, token = c.session()
    assert s.get(c.base + "/api/status", headers={"X-Console-Token": token}, timeout=10).ok
    # Expiry is time passing, not an event to wait for: let the idle limit run out.
    time.sleep(1.5)
    problem(s.get(c.base + "/api/status", headers={"X-Console-Token": token}, timeout=10), 401,
            "unauthenticated")
    problem(s.get(c.base + "/", timeout=10), 401, "unauthenticated")


def test_relay_refuses_dot_segments_and_reports_a_dead_socket(server, console, tmp_path):
    c = console()
    s, token = c.session()
    h = {"X-Console-Token": token}
    problem(s.get(c.base + "/api/%2e%2e/v1/keys", headers=h, timeout=10), 400, "invalid_request")
    problem(s.get(c.base + "/api/nothing-here", headers=h, timeout=10), 404, "not_found")
    problem(s.put(c.base + "/api/keys", headers=h, timeout=10), 405, "method_not_allowed")
    server.stop()
    problem(s.get(c.base + "/api/status", headers=h, timeout=10), 503, "unavailable")


# ---- the routes the console added (admin socket and sitetokenctl) -----------------


def test_console_admin_routes(server, mp):
    bulk = server.ctl("bulk", "new", "--note", "r", json_out=True, check=0).doc
    d1 = Device(hardware_id="HW-AAA-1", name="alpha-one")
    d2 = Device(hardware_id="HW-BBB-2", name="alpha-two")
    assert mp.exchange(d1, bulk["token"]).status_code == 201
    assert mp.register(d2).status_code == 201
    dev1 = server.ctl("device", "search", "alpha-one", json_out=True, check=0).doc["items"][0]

    st, ov = server.admin("GET", "/v1/admin/overview?hours=1")
    assert st == 200
    assert ov["counts"]["devices"] == 2 and ov["counts"]["mps"] == 1
    assert ov["per_minute"]["minutes"] == 60 and len(ov["per_minute"]["issued_client"]) == 60
    assert sum(ov["per_minute"]["issued_client"]) == 2
    for q in ("hours=0", "hours=25", "hours=x"):
        st, doc = server.admin("GET", "/v1/admin/overview?" + q)
        assert st == 400 and doc["code"] == "invalid_request"

    # search: by name, hardware id and id prefix, paged in (field, id) order
    st, doc = server.admin("GET", "/v1/admin/search/devices?by=name&q=alpha&limit=1")
    assert st == 200 and [d["name"] for d in doc["items"]] == ["alpha-one"] and doc["next"]
    st, doc = server.admin("GET", "/v1/admin/search/devices?by=name&q=alpha&limit=1&after="
                           + doc["next"])
    assert [d["name"] for d in doc["items"]] == ["alpha-two"] and doc["next"] is None
    st, doc = server.admin("GET", "/v1/admin/search/devices?by=hardware_id&q=HW-BBB")
    assert [d["name"] for d in doc["items"]] == ["alpha-two"]
    st, doc = server.admin("GET", "/v1/admin/search/devices?by=id&q=" + dev1["id"][:12])
    assert dev1["id"] in [d["id"] for d in doc["items"]]
    for q in ("by=color&q=a", "by=name&limit=0", "by=name&q=" + "a" * 300, "by=name&q=%01"):
        st, doc = server.admin("GET", "/v1/admin/search/devices?" + q)
        assert st == 400 and doc["code"] == "invalid_request", q

    # audit newest first, filtered
    server.ctl("bulk", "block", bulk["id"], check=0)
    st, doc = server.admin("GET", "/v1/admin/audit/recent?limit=2")
    assert st == 200 and doc["items"][0]["action"] == "bulk.block"
    assert doc["items"][0]["seq"] > doc["items"][1]["seq"]
    st, older = server.admin("GET", "/v1/admin/audit/recent?limit=2&before=" + doc["next"])
    assert older["items"][0]["seq"] < doc["items"][1]["seq"]
    st, doc = server.admin("GET", "/v1/admin/audit/recent?action=bulk.")
    assert {a["action"] for a in doc["items"]} == {"bulk.create", "bulk.block"}
    st, doc = server.admin("GET", "/v1/admin/audit/recent?subject=" + dev1["id"])
    assert doc["items"] and all(a["subject"] == dev1["id"] for a in doc["items"])
    r = server.ctl("audit", "recent", "--action", "bulk.block", json_out=True, check=0)
    assert [a["subject"] for a in r.doc["items"]] == [bulk["id"]]

    # impact: what a block or revoke would affect
    st, doc = server.admin("GET", "/v1/admin/impact?bulk_id=" + bulk["id"])
    assert (doc["devices"], doc["live_tokens"]) == (1, 1)
    r = server.ctl("impact", "--device", dev1["id"], json_out=True, check=0)
    assert r.doc["live_tokens"] == 1
    st, doc = server.admin("GET", "/v1/admin/impact")
    assert st == 400 and doc["code"] == "invalid_request"
    st, doc = server.admin("GET", "/v1/admin/impact?device_id=nope")
    assert st == 400 and doc["code"] == "invalid_request"
    # not on the public listener
    assert server.get("/v1/admin/overview").status_code == 404
    r = server.ctl("overview", "--hours", "2", json_out=True, check=0)
    assert r.doc["per_minute"]["minutes"] == 120


# ---- the pages, in a real browser ------------------------------------------------


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="console-chrome-")
    opts = webdriver.ChromeOptions()
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=" + profile):
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(drv, cond, timeout=15):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # a table re-rendered between finding a row and reading it: look again
    return WebDriverWait(drv, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(cond)


def css(drv, sel):
    from selenium.webdriver.common.by import By

    return drv.find_element(By.CSS_SELECTOR, sel)


def csss(drv, sel):
    from selenium.webdriver.common.by import By

    return drv.find_elements(By.CSS_SELECTOR, sel)


def go(drv, page):
    drv.execute_script("location.hash = arguments[0]", page)
    wait_for(drv, lambda d: d.execute_script(
        "const p = document.getElementById('page');"
        "return p.dataset.page === arguments[0] && !p.dataset.loading", page))


def confirm(drv, expect):
    wait_for(drv, lambda d: css(d, "#confirm").get_attribute("open") is not None)
    impact = css(drv, "#confirm-impact").text
    assert re.search(expect, impact), impact
    css(drv, "#confirm-ok").click()
    wait_for(drv, lambda d: css(d, "#confirm").get_attribute("open") is None)
    return impact


def shot(drv, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(SHOTS / ("console-%s.png" % name)))


def test_console_in_a_browser(server, mp, console, browser):
    drv = browser
    c = console()
    bulk = server.ctl("bulk", "new", "--note", XSS, "--max-uses", "10", json_out=True, check=0).doc
    d0 = Device(hardware_id="HW-0", name="seed-device")
    assert mp.exchange(d0, bulk["token"]).status_code == 201

    drv.get(c.url)  # trades the secret, lands on / without it
    assert drv.current_url == c.base + "/"
    wait_for(drv, lambda d: d.execute_script("return document.getElementById('page').dataset.page"))
    go(drv, "overview")
    assert css(drv, '#counts [data-key="devices"]').get_attribute("data-value") == "1"
    assert csss(drv, "#key-timeline li[data-status=active]")

    # bulk tokens: the one made with the CLI, its note as text
    go(drv, "bulk")
    row = css(drv, '#bulk-table tr[data-id="%s"]' % bulk["id"])
    assert row.find_element("css selector", "td.note").text == XSS
    assert not csss(drv, "#page img")
    assert row.find_element("css selector", "progress").get_attribute("max") == "10"
    shot(drv, "bulk")
    row.find_element("css selector", "button[data-action=block]").click()
    confirm(drv, r"Affects 1 device and 1 live token")
    wait_for(drv, lambda d: css(d, '#bulk-table tr[data-id="%s"]' % bulk["id"])
             .get_attribute("data-status") == "blocked")
    listed = {b["id"]: b for b in server.ctl("bulk", "list", json_out=True, check=0).doc["items"]}
    assert listed[bulk["id"]]["status"] == "blocked"
    refused = mp.exchange(Device(), bulk["token"])
    assert refused.json()["code"] == "bulk_token_blocked"

    # a bulk token made in the page, shown once, exchanged by a device
    css(drv, "#bulk-note").send_keys("made in the page")
    css(drv, "#bulk-max-uses").send_keys("3")
    css(drv, "#bulk-create").click()
    wait_for(drv, lambda d: csss(d, "#shown-secret"))
    page_token = css(drv, "#shown-secret").text
    assert csss(drv, "#copy-secret")
    shot(drv, "bulk-created")
    hostile = Device(hardware_id="HW-XSS", name=XSS)
    r = mp.exchange(hostile, page_token)
    assert r.status_code == 201, r.text
    hostile_id, hostile_jti = r.json()["device_id"], r.json()["token_id"]

    # devices: server-side search; the hostile name as text; its tokens; revoke
    go(drv, "devices")
    css(drv, "#device-q").send_keys("<img")
    css(drv, "#device-search button[type=submit]").click()
    wait_for(drv, lambda d: len(csss(d, "#device-table tbody tr")) == 1)
    cell = css(drv, '#device-table tr[data-id="%s"] td.device-name' % hostile_id)
    assert cell.text == XSS and not csss(drv, "#page img")
    cell.find_element("css selector", "a").click()
    wait_for(drv, lambda d: csss(d, '#device-detail[data-id="%s"]' % hostile_id))
    assert css(drv, "#device-detail .device-name").text == XSS
    assert csss(drv, '#device-tokens tr[data-jti="%s"]' % hostile_jti)
    assert csss(drv, "#device-audit tr")
    shot(drv, "devices")
    trow = css(drv, '#device-tokens tr[data-jti="%s"]' % hostile_jti)
    trow.find_element("css selector", "input").send_keys("lost laptop")
    trow.find_element("css selector", "button[data-action=revoke]").click()
    confirm(drv, r"Affects 1 device and 1 live token")
    wait_for(drv, lambda d: css(d, '#device-tokens tr[data-jti="%s"]' % hostile_jti)
             .get_attribute("data-status") == "revoked")
    feed = server.get("/v1/revocations").json()
    assert any(e["kind"] == "token" and e["id"] == hostile_jti and e["reason"] == "lost laptop"
               for e in feed["entries"]), feed
    # block the device from its page
    css(drv, "#device-block").click()
    confirm(drv, r"Affects 1 device and 0 live tokens")
    wait_for(drv, lambda d: csss(d, '#device-detail[data-status="blocked"]'))
    assert server.ctl("device", "show", hostile_id, json_out=True, check=0).doc["status"] == "blocked"

    # the chart's numbers show the issuances just made (2 client tokens) and
    # the refusal (the blocked bulk token)
    go(drv, "overview")
    series = css(drv, "#series")
    assert int(series.get_attribute("data-issued")) == 2
    assert int(series.get_attribute("data-refusals")) >= 1
    assert csss(drv, "#chart rect.issued") and csss(drv, "#chart rect.refused")
    assert css(drv, '#counts [data-key="devices_blocked"]').get_attribute("data-value") == "1"
    assert int(css(drv, '#counts [data-key="feed_serial"]').get_attribute("data-value")) > 0
    shot(drv, "overview")

    go(drv, "tokens")
    assert len(csss(drv, "#token-table tbody tr")) == 2
    shot(drv, "tokens")

    go(drv, "mps")
    css(drv, "#mp-name").send_keys("mp-from-page")
    css(drv, "#mp-add").click()
    wait_for(drv, lambda d: csss(d, "#shown-secret"))
    key = css(drv, "#shown-secret").text
    assert MP(server, key).introspect(d0.token).json()["active"] is True
    shot(drv, "mps")
    mp_row = wait_for(drv, lambda d: [r for r in csss(d, "#mp-table tbody tr")
                                      if "mp-from-page" in r.text])[0]
    mp_row.find_element("css selector", "button[data-action=remove]").click()
    confirm(drv, r"Affects 0 devices")
    wait_for(drv, lambda d: not [r for r in csss(d, "#mp-table tbody tr") if "mp-from-page" in r.text])
    assert MP(server, key).introspect(d0.token).json()["code"] == "unauthenticated"

    go(drv, "keys")
    css(drv, "#key-rotate").click()
    confirm(drv, r"no device or token is revoked")
    wait_for(drv, lambda d: csss(d, "#key-table tr[data-status=next]"))
    shot(drv, "keys")

    go(drv, "audit")
    wait_for(drv, lambda d: csss(d, "#audit-table tbody tr"))
    seqs = [int(r.get_attribute("data-seq")) for r in csss(drv, "#audit-table tbody tr")]
    assert seqs == sorted(seqs, reverse=True)
    css(drv, "#audit-action").send_keys("device.block")
    css(drv, "#page form button[type=submit]").click()
    wait_for(drv, lambda d: {r.get_attribute("data-action")
                             for r in csss(d, "#audit-table tbody tr")} == {"device.block"})
    css(drv, "#audit-verify").click()
    wait_for(drv, lambda d: css(d, "#verify-result").get_attribute("data-ok") == "true")
    shot(drv, "audit")

    # no script of ours was ever blocked by the CSP, and no alert ran
    logs = drv.get_log("browser")
    assert not [l for l in logs if "Content Security Policy" in l["message"]], logs
    assert drv.execute_script("return typeof window.alert") == "function"

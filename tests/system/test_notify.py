"""sd_notify (issue 15, "Install and run as a service"): sitetokend, run as
systemd's Type=notify would run it, sends READY=1 once it serves,
RELOADING=1 (with MONOTONIC_USEC) then READY=1 around SIGHUP, and
STOPPING=1 when it stops. The test binds the datagram socket systemd would
and reads what arrives, with a deadline."""

import signal
import socket
import time
import uuid

import pytest

from conftest import basic_config

DEADLINE = 20


class NotifySocket:
    def __init__(self, tmp_path, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "sitetoken-test-%s" % uuid.uuid4().hex
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            path = str(tmp_path / "notify.sock")
            self.sock.bind(path)
            self.env = path

    def recv(self, timeout=DEADLINE):
        """The next datagram, as a dict of its assignments."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no notification in %ss" % timeout)
            self.sock.settimeout(left)
            data = self.sock.recv(4096).decode()
            return dict(line.split("=", 1) for line in data.split("\n") if line)

    def pending(self):
        self.sock.setblocking(False)
        try:
            return self.sock.recv(4096)
        except BlockingIOError:
            return None
        finally:
            self.sock.setblocking(True)

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_reload_stopping(start_server, tmp_path, abstract):
    n = NotifySocket(tmp_path, abstract)
    try:
        s = start_server(basic_config(level="info"), wait=False, env={"NOTIFY_SOCKET": n.env})
        msg = n.recv()
        assert msg == {"READY": "1"}, msg
        # READY=1 means it serves: the readiness route answers now
        s.wait_ready()
        assert s.get("/readyz").status_code == 200
        assert n.pending() is None  # exactly one READY=1

        before = time.monotonic()
        s.proc.send_signal(signal.SIGHUP)
        msg = n.recv()
        after = time.monotonic()
        assert msg.get("RELOADING") == "1", msg
        usec = int(msg["MONOTONIC_USEC"])
        # CLOCK_MONOTONIC, as systemd 253+ wants: taken between before and after
        assert before * 1e6 - 1e6 <= usec <= after * 1e6 + 1e6, (before, usec, after)
        assert n.recv() == {"READY": "1"}
        assert s.get("/healthz").status_code == 200

        s.proc.send_signal(signal.SIGTERM)
        assert n.recv() == {"STOPPING": "1"}
        assert s.wait_exit() == 0
        assert "event=notify" not in s.log()  # nothing failed to send
    finally:
        n.close()


def test_without_notify_socket_nothing_is_sent(start_server, tmp_path):
    """Outside systemd (no NOTIFY_SOCKET) the daemon starts, reloads and stops
    as before and says nothing about notification."""
    s = start_server(basic_config(level="info"), env={"NOTIFY_SOCKET": ""})
    s.proc.send_signal(signal.SIGHUP)
    assert s.get("/healthz").status_code == 200
    assert s.stop() == 0
    assert "event=notify" not in s.log()


@pytest.mark.parametrize("value", ["relative/notify.sock", "/nonexistent/notify.sock"])
def test_bad_notify_socket_is_logged_not_fatal(start_server, tmp_path, value):
    """A NOTIFY_SOCKET that cannot be used is a warning: the service serves."""
    s = start_server(basic_config(level="info"), env={"NOTIFY_SOCKET": value})
    assert s.get("/readyz").status_code == 200
    assert s.stop() == 0
    assert "event=notify state=READY=1 error=" in s.log(), s.log()


# --- sitetoken-gateway (its unit is Type=notify too) ----------------------

def start_gateway(tmp_path, authority, notify_env):
    """The gateway as gwkit starts it, with NOTIFY_SOCKET set."""
    import os

    import gwkit

    old = os.environ.get("NOTIFY_SOCKET")
    os.environ["NOTIFY_SOCKET"] = notify_env
    try:
        return gwkit.Gateway(tmp_path, authority)
    finally:
        if old is None:
            del os.environ["NOTIFY_SOCKET"]
        else:
            os.environ["NOTIFY_SOCKET"] = old


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_gateway_ready_reload_stopping(server, tmp_path, abstract):
    """READY=1 only once the gateway is fresh (keys loaded, revocations
    confirmed): /readyz answers 200 by then. SIGHUP: RELOADING=1 with
    MONOTONIC_USEC, a keys refetch and a full revocation reload, READY=1.
    SIGTERM: STOPPING=1 and a clean exit."""
    n = NotifySocket(tmp_path, abstract)
    gw = None
    try:
        gw = start_gateway(tmp_path, server.base, n.env)
        assert n.recv() == {"READY": "1"}
        assert gw.ready()  # fresh when it said so, not merely listening
        assert n.pending() is None  # exactly one READY=1
        keys = gw.metric('sitetoken_gateway_fetches_total{what="keys"}')
        revs = gw.metric('sitetoken_gateway_fetches_total{what="revocations"}')

        before = time.monotonic()
        gw.proc.send_signal(signal.SIGHUP)
        msg = n.recv()
        after = time.monotonic()
        assert msg.get("RELOADING") == "1", msg
        assert before * 1e6 - 1e6 <= int(msg["MONOTONIC_USEC"]) <= after * 1e6 + 1e6
        assert n.recv() == {"READY": "1"}
        # the reload refetched both before saying READY=1
        assert gw.metric('sitetoken_gateway_fetches_total{what="keys"}') >= keys + 1
        assert gw.metric('sitetoken_gateway_fetches_total{what="revocations"}') >= revs + 1
        assert gw.ready()

        gw.proc.send_signal(signal.SIGTERM)
        assert n.recv() == {"STOPPING": "1"}
        assert gw.proc.wait(timeout=DEADLINE) == 0
        assert "event=notify" not in gw.log()  # nothing failed to send
    finally:
        if gw is not None:
            gw.stop()
        n.close()


def test_gateway_not_ready_until_fresh(start_server, tmp_path):
    """An authority that is not there: the gateway listens but is not fresh,
    so no READY=1 is sent (systemd keeps it "activating")."""
    import gwkit

    n = NotifySocket(tmp_path)
    gw = None
    try:
        gw = start_gateway(tmp_path, "http://127.0.0.1:%d" % gwkit.free_port(), n.env)
        gwkit.wait_until(lambda: "event=fetch_failed" in gw.log(), DEADLINE, "a failed fetch")
        assert not gw.ready()
        assert n.pending() is None
    finally:
        if gw is not None:
            gw.stop()
        n.close()


def test_gateway_bad_notify_socket_is_logged_not_fatal(server, tmp_path):
    n_env = "/nonexistent/notify.sock"
    gw = start_gateway(tmp_path, server.base, n_env)
    try:
        gw.wait_ready()
        import gwkit

        gwkit.wait_until(lambda: "event=notify state=READY=1 error=" in gw.log(), DEADLINE,
                         "the notify warning")
    finally:
        gw.stop()

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

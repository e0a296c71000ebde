"""sitetokenctl for people and for scripts (issue 15): options anywhere, help
and "did you mean", values refused with a reason, durations, aligned tables,
-q, and the maintenance commands with their routes: token show, bulk show,
audit --tail/--follow/filters, mp rotate-key, mp list, mp remove by name,
device list --hardware-id, device purge (tombstones) and bulk prune, key
rotate saying why, status with counts; bash completion from the table."""

import calendar
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SITETOKENCTL, bulk_new
from device import Device

ROOT = Path(__file__).resolve().parents[2]
COMPLETION = ROOT / "dist" / "sitetokenctl.bash-completion"


def ctl(*args, timeout=30):
    return subprocess.run([str(SITETOKENCTL), *args], capture_output=True, text=True,
                          timeout=timeout)


def enrol(mp, server, n=1, *args, hardware_id=None):
    bulk = bulk_new(server, *args)
    devs = []
    for _ in range(n):
        d = Device(hardware_id=hardware_id)
        r = mp.exchange(d, bulk["token"])
        assert r.status_code == 201, r.text
        d.id, d.jti = r.json()["device_id"], r.json()["token_id"]
        devs.append(d)
    return bulk, devs


# --- the command line -----------------------------------------------------------


def test_global_options_anywhere(server):
    bulk_new(server)
    after = server.ctl("bulk", "list", "--json", check=0)
    assert json.loads(after.stdout)["items"][0]["status"] == "active"
    r = ctl("bulk", "list", "-s", server.admin_socket, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["next"] is None
    r = ctl("bulk", "list", "--json", "--socket=" + server.admin_socket, "--timeout", "5")
    assert r.returncode == 0, r.stderr


def test_help_and_command_help():
    r = ctl("help")
    assert r.returncode == 0 and "bulk new" in r.stdout and "token show" in r.stdout
    r = ctl("help", "bulk", "new")
    assert r.returncode == 0
    for opt in ("--lifetime DURATION", "--max-uses N", "--note TEXT"):
        assert re.search(r"^  %s +\S" % re.escape(opt), r.stdout, re.M), r.stdout
    assert ctl("bulk", "new", "--help").stdout == r.stdout
    r = ctl("device", "list", "-h")
    assert r.returncode == 0 and "--hardware-id PREFIX" in r.stdout
    r = ctl("help", "audit")
    assert r.returncode == 0 and "--follow" in r.stdout and "--tail N" in r.stdout


def test_unknown_command_says_did_you_mean():
    r = ctl("device", "lst")
    assert r.returncode == 2 and 'did you mean "device list"' in r.stderr, r.stderr
    r = ctl("devce", "list")
    assert r.returncode == 2 and 'did you mean "device"' in r.stderr, r.stderr
    r = ctl("frobnicate")
    assert r.returncode == 2 and "unknown command frobnicate" in r.stderr


def test_group_alone_says_what_it_takes():
    r = ctl("bulk")
    assert r.returncode == 2 and "unknown command" not in r.stderr
    assert "sitetokenctl bulk takes:" in r.stderr
    for sub in ("bulk new", "bulk list", "bulk show", "bulk block", "bulk prune"):
        assert sub in r.stderr
    r = ctl("help", "bulk")
    assert r.returncode == 0 and "bulk unblock" in r.stdout


@pytest.mark.parametrize("args,why", [
    (["bulk", "new", "--max-uses", "abc"], "--max-uses: abc is not a whole number"),
    (["bulk", "new", "--max-uses", "0"], "--max-uses: 0 is out of range (1 to 1000000000)"),
    (["bulk", "list", "--limit", "5000"], "--limit: 5000 is out of range (1 to 1000)"),
    (["device", "list", "--status", "Blocked"], "--status: Blocked is not one of active, blocked"),
    (["bulk", "new", "--lifetime", "3x"], "--lifetime: 3x: unknown unit"),
    (["bulk", "new", "--lifetime", "8d"], "--lifetime: 8d is out of range (1m to 7d)"),
    (["bulk", "new", "--lifetime", "90s"], "--lifetime: 90s: whole minutes only"),
    (["bulk", "list", "--frob"], "bulk list has no option --frob"),
    (["bulk", "block"], "bulk block needs ID"),
    (["status", "extra"], "status takes no argument"),
    (["device", "purge"], "device purge needs --older-than"),
    (["audit", "--since", "yesterday"], "--since: yesterday:"),
])
def test_bad_value_says_why(args, why, tmp_path):
    # no server at all: the check happens before any call
    r = ctl("-s", str(tmp_path / "none.sock"), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert why in r.stderr, r.stderr
    assert "usage: sitetokenctl " + args[0] in r.stderr


def test_an_argument_may_begin_with_a_dash(server):
    """kids, jtis and thumbprints are base64url: "-VxRf..." is an argument,
    not an unknown option (a key whose kid began with '-' could not be
    tainted before)."""
    r = server.ctl("token", "show", "-" + "A" * 21, check=1)
    assert "not_found" in r.stderr, r.stderr
    r = server.ctl("key", "taint", "-VxRfG1tPNPh8ztdJq_R8B73RjWn0d4hhI3dhGLQDrY", check=1)
    assert "not_found" in r.stderr, r.stderr


def test_lifetime_takes_durations(server):
    for value, minutes in (("3d", 4320), ("90m", 90), ("1d 12h", 2160), ("15", 15)):
        doc = bulk_new(server, "--lifetime", value)
        items = server.ctl("bulk", "list", json_out=True, check=0).doc["items"]
        [b] = [i for i in items if i["id"] == doc["id"]]
        t0 = time.strptime(b["not_before"], "%Y-%m-%dT%H:%M:%SZ")
        t1 = time.strptime(b["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
        assert calendar.timegm(t1) - calendar.timegm(t0) == minutes * 60, value


def test_tables_have_aligned_columns(server, mp):
    bulk_new(server, "--note", "a much longer note than the others")
    bulk_new(server, "--note", "x")
    lines = server.ctl("bulk", "list", check=0).stdout.splitlines()
    header = lines[0]
    for title in ("STATUS", "USES", "CREATED", "NOTE"):
        col = header.index(title)
        for row in lines[1:]:
            assert row[col - 2:col] == "  " and row[col] != " ", (title, lines)


def test_quiet_prints_only_the_value(server, mp):
    r = server.ctl("-q", "bulk", "new", "--max-uses", "2", check=0)
    token = r.stdout.strip()
    assert token.count(".") == 2 and "\n" not in token
    d = Device()
    assert mp.exchange(d, token).status_code == 201
    r = server.ctl("mp", "add", "mp-quiet", "-q", check=0)
    key = r.stdout.strip()
    assert re.fullmatch(r"\S{20,}", key), r.stdout
    assert mp.post("/v1/registrations", Device().register_body(), key=key).status_code == 201
    bulk_new(server)
    ids = server.ctl("-q", "bulk", "list", check=0).stdout.split()
    assert len(ids) == 2 and all(len(i) == 36 for i in ids)
    assert ctl("-q", "--json", "status").returncode == 2


# --- inventory ------------------------------------------------------------------------


def test_token_show(server, mp):
    _, [d] = enrol(mp, server)
    r = server.ctl("token", "show", d.jti, json_out=True, check=0)
    assert r.doc["jti"] == d.jti and r.doc["device_id"] == d.id and r.doc["status"] == "active"
    assert r.doc["kind"] == "client" and r.doc["gen"] == 0
    table = server.ctl("token", "show", d.jti, check=0).stdout
    assert re.search(r"^status +active$", table, re.M), table
    r = server.ctl("token", "show", "AAAAAAAAAAAAAAAAAAAAAA")
    assert r.returncode == 1 and r.stderr.startswith("not_found"), r.stderr
    r = server.ctl("token", "show", "not a jti")
    assert r.returncode == 1 and r.stderr.startswith("not_found")


def test_bulk_show_lists_its_devices(server, mp):
    bulk, devs = enrol(mp, server, 3)
    other, _ = enrol(mp, server, 1)
    r = server.ctl("bulk", "show", bulk["id"], json_out=True, check=0)
    assert r.doc["id"] == bulk["id"] and r.doc["uses"] == 3
    assert sorted(x["id"] for x in r.doc["devices"]) == sorted(d.id for d in devs)
    assert r.doc["devices_next"] is None
    out = server.ctl("bulk", "show", bulk["id"], check=0).stdout
    assert "devices enrolled with it:" in out and all(d.id in out for d in devs)
    r = server.ctl("bulk", "show", "00000000-0000-4000-8000-000000000000")
    assert r.returncode == 1 and r.stderr.startswith("not_found")


def test_device_list_by_hardware_id(server, mp):
    _, [a] = enrol(mp, server, hardware_id="SN-4711-A")
    _, [b] = enrol(mp, server, hardware_id="SN-9999-B")
    r = server.ctl("device", "list", "--hardware-id", "SN-4711", json_out=True, check=0)
    assert [x["id"] for x in r.doc["items"]] == [a.id]
    assert server.ctl("-q", "device", "list", "--hardware-id", "SN-", check=0).stdout.split() \
        == sorted([a.id, b.id], key=lambda i: {a.id: 0, b.id: 1}[i])


# --- MPs --------------------------------------------------------------------------------


def test_mp_rotate_key_old_key_refused(server, mp):
    add = server.ctl("mp", "add", "mp-rot", json_out=True, check=0).doc
    old = add["api_key"]
    assert mp.post("/v1/registrations", Device().register_body(), key=old).status_code == 201
    r = server.ctl("mp", "rotate-key", "mp-rot", json_out=True, check=0)
    assert r.doc["id"] == add["id"] and r.doc["name"] == "mp-rot"
    new = r.doc["api_key"]
    assert new != old
    r = mp.post("/v1/registrations", Device().register_body(), key=old)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert mp.post("/v1/registrations", Device().register_body(), key=new).status_code == 201
    rec = server.ctl("audit", "--action", "mp.rotate_key", json_out=True, check=0).doc["items"]
    assert len(rec) == 1 and rec[0]["subject"] == add["id"]
    assert new not in json.dumps(rec) and old not in json.dumps(rec)
    r = server.ctl("mp", "rotate-key", "00000000-0000-4000-8000-000000000000")
    assert r.returncode == 1 and r.stderr.startswith("not_found")


def test_removed_mp_has_no_show_and_no_new_key(server):
    """The writer checks the MP is live in the same transaction as the new key."""
    add = server.ctl("mp", "add", "mp-gone", json_out=True, check=0).doc
    st, doc = server.admin("GET", "/v1/admin/mps/%s" % add["id"])
    assert st == 200 and doc["devices"] == 0 and doc["last_used_at"] is None
    assert server.admin("DELETE", "/v1/admin/mps/%s" % add["id"])[0] == 200
    for method, path in (("GET", "/v1/admin/mps/%s"), ("POST", "/v1/admin/mps/%s/rotate-key")):
        st, doc = server.admin(method, path % add["id"], {} if method == "POST" else None)
        assert st == 404 and doc["code"] == "not_found", (method, doc)
    st, doc = server.admin("POST", "/v1/admin/mps/not-an-id/rotate-key", {})
    assert st == 404 and doc["code"] == "not_found"
    assert server.ctl("audit", "--action", "mp.rotate_key", json_out=True, check=0).doc["items"] == []


def test_mp_list_fingerprint_and_last_use_and_remove_by_name(server, mp):
    doc = server.ctl("mp", "list", json_out=True, check=0).doc
    [row] = doc["items"]
    assert row["name"] == "mp-test" and row["last_used_at"] is None
    assert "cert_sha256" in row and row["cert_sha256"] is None
    enrol(mp, server)
    [row] = server.ctl("mp", "list", json_out=True, check=0).doc["items"]
    assert row["last_used_at"] is not None and row["devices"] == 1
    table = server.ctl("mp", "list", check=0).stdout
    assert "CERTIFICATE SHA-256" in table.splitlines()[0] and "LAST USED" in table
    r = server.ctl("mp", "remove", "mp-test", check=0)
    assert r.stdout.startswith("removed " + row["id"])
    assert server.ctl("mp", "list", json_out=True, check=0).doc["items"] == []
    r = server.ctl("mp", "remove", "mp-test")
    assert r.returncode == 1 and "no MP named mp-test" in r.stderr


# --- audit ---------------------------------------------------------------------------


def test_audit_tail_and_filters(server, mp):
    made = [bulk_new(server, "--note", "n%d" % i)["id"] for i in range(5)]
    server.ctl("bulk", "block", made[2], check=0)
    r = server.ctl("audit", "--tail", "2", json_out=True, check=0)
    assert [x["action"] for x in r.doc["items"]] == ["bulk.create", "bulk.block"]
    assert r.doc["items"][0]["seq"] < r.doc["items"][1]["seq"]  # oldest first
    r = server.ctl("audit", "--action", "bulk.create", json_out=True, check=0)
    assert [x["subject"] for x in r.doc["items"]] == made
    r = server.ctl("audit", "--subject", made[2], json_out=True, check=0)
    assert [x["action"] for x in r.doc["items"]] == ["bulk.create", "bulk.block"]
    r = server.ctl("audit", "--action", "bulk.", "--tail", "3", json_out=True, check=0)
    assert len(r.doc["items"]) == 3
    actor = r.doc["items"][0]["actor"]
    r = server.ctl("audit", "--actor", actor, json_out=True, check=0)
    assert len(r.doc["items"]) >= 6
    assert server.ctl("audit", "--actor", "nobody", json_out=True, check=0).doc["items"] == []
    # time: everything is newer than an hour ago, nothing older than 1 s in the future
    assert len(server.ctl("audit", "--since", "1h", json_out=True, check=0).doc["items"]) >= 6
    assert server.ctl("audit", "--until", "2000-01-01T00:00:00Z", json_out=True,
                      check=0).doc["items"] == []
    assert server.ctl("audit", "--since", "2999-01-01T00:00:00Z", json_out=True,
                      check=0).doc["items"] == []
    r = server.ctl("audit", "--tail", "3", "--after", "1")
    assert r.returncode == 2


def _readline(proc, deadline):
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0, deadline - time.monotonic()))
        if ready:
            return proc.stdout.readline()
    return None


def test_audit_follow_prints_new_records(server):
    first = bulk_new(server)
    server.ctl("bulk", "block", first["id"], check=0)
    proc = subprocess.Popen([str(SITETOKENCTL), "-s", server.admin_socket, "--json", "audit",
                             "--follow", "--action", "bulk.block"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the record from before it started, then one made while it follows
        line = _readline(proc, time.monotonic() + 30)
        assert line is not None and json.loads(line)["subject"] == first["id"]
        b = bulk_new(server)
        server.ctl("bulk", "unblock", first["id"], check=0)  # filtered out
        server.ctl("bulk", "block", b["id"], check=0)
        line = _readline(proc, time.monotonic() + 30)
        assert line is not None, "no record within 30 s"
        rec = json.loads(line)
        assert rec["action"] == "bulk.block" and rec["subject"] == b["id"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_audit_follow_ends_with_exit_3_when_the_server_stops(start_server):
    s = start_server()
    proc = subprocess.Popen([str(SITETOKENCTL), "-s", s.admin_socket, "audit", "--follow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _readline(proc, time.monotonic() + 30).startswith("SEQ")
        assert s.stop() == 0
        assert proc.wait(timeout=30) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- purge and prune -------------------------------------------------------------------


DAY = 86400


def test_device_purge_dry_run_then_purge_with_tombstone(server, mp):
    _, [old, blocked] = enrol(mp, server, 2)
    server.ctl("device", "block", blocked.id, check=0)
    server.shift_clock(91 * DAY + 3600)  # past the 90-day client tokens and the skew
    fresh = Device()
    assert mp.register(fresh).status_code == 201  # a device with a live token stays
    r = server.ctl("device", "purge", "--older-than", "30d", "--dry-run", json_out=True, check=0)
    assert r.doc["dry_run"] is True and r.doc["count"] == 2 and r.doc["tombstones"] == 1
    assert sorted(r.doc["ids"]) == sorted([old.id, blocked.id])
    assert len(server.ctl("device", "list", json_out=True, check=0).doc["items"]) == 3
    assert server.ctl("audit", "--action", "device.purge", json_out=True, check=0).doc["items"] == []
    r = server.ctl("device", "purge", "--older-than", "30d", check=0)
    assert r.stdout.startswith("removed 2 (1 blocked, leaving tombstones)"), r.stdout
    left = server.ctl("-q", "device", "list", check=0).stdout.split()
    assert left == [r2 for r2 in left if r2 not in (old.id, blocked.id)] and len(left) == 1
    [rec] = server.ctl("audit", "--action", "device.purge", json_out=True, check=0).doc["items"]
    assert rec["detail"]["count"] == 2 and rec["detail"]["tombstones"] == 1
    # the blocked device's key still cannot register; the unblocked one's can
    r = mp.register(blocked)
    assert r.status_code == 403 and r.json()["code"] == "device_blocked", r.text
    assert mp.register(old).status_code == 201
    assert server.ctl("device", "purge", "--older-than", "30d", json_out=True, check=0).doc["count"] == 0


def test_bulk_prune_keeps_what_could_still_verify(server, mp):
    blocked = bulk_new(server)
    server.ctl("bulk", "block", blocked["id"], check=0)
    short = bulk_new(server, "--lifetime", "1m")
    used, _ = enrol(mp, server, 1, "--lifetime", "1m")  # its device has a live token
    r = server.ctl("bulk", "prune", "--older-than", "0s", json_out=True, check=0)
    assert r.doc["count"] == 0  # nothing has expired yet
    server.shift_clock(15 * 60)  # past exp + the 5 min skew of the short ones
    r = server.ctl("bulk", "prune", "--older-than", "0s", "--dry-run", json_out=True, check=0)
    assert r.doc["ids"] == [short["id"]]
    r = server.ctl("-q", "bulk", "prune", "--older-than", "0s", check=0)
    assert r.stdout.split() == [short["id"]]
    ids = {b["id"] for b in server.ctl("bulk", "list", json_out=True, check=0).doc["items"]}
    assert ids == {blocked["id"], used["id"]}  # the blocked one could still verify
    [rec] = server.ctl("audit", "--action", "bulk.prune", json_out=True, check=0).doc["items"]
    assert rec["detail"]["ids"] == [short["id"]]
    r = server.admin("POST", "/v1/admin/bulk-tokens/prune", {"older_than_seconds": -1})
    assert r[0] == 400 and r[1]["code"] == "invalid_request"
    for body in ({}, {"older_than_seconds": 0, "limit": 0}, {"older_than_seconds": 0, "limit": 10001},
                 {"older_than_seconds": 0, "dry_run": "yes"}, {"older_than_seconds": 0, "x": 1}):
        r = server.admin("POST", "/v1/admin/devices/purge", body)
        assert r[0] == 400 and r[1]["code"] == "invalid_request", (body, r)


# --- keys and status -----------------------------------------------------------------


def test_key_rotate_that_changes_nothing_says_why(server):
    r = server.ctl("key", "rotate", check=0)
    assert "changed: " in r.stdout and "nothing" not in r.stdout.split("changed:")[1][:9]
    r = server.ctl("key", "rotate", check=0)
    assert re.search(r"changed: nothing: key \S+ is already waiting as next and activates at "
                     r"\S+; key rotate --now activates it at once", r.stdout), r.stdout


def test_status_shows_counts_listeners_key_and_next_rotation(server, mp):
    enrol(mp, server, 2)
    bulk_new(server)
    doc = server.ctl("status", json_out=True, check=0).doc
    assert doc["devices"] == 2 and doc["tokens_live"] == 2 and doc["bulk_active"] == 2
    assert "127.0.0.1" in doc["listeners"] and doc["admin_socket"]
    keys = server.ctl("key", "list", json_out=True, check=0).doc["items"]
    [active] = [k for k in keys if k["status"] == "active"]
    assert doc["active_kid"] == active["kid"] and doc["next_rotation_at"] > active["activates_at"]
    out = server.ctl("status", check=0).stdout
    for label in ("live tokens", "active bulk", "listeners", "active key", "next rotation"):
        assert re.search(r"^%s +\S" % label, out, re.M), out


# --- man page and completion ------------------------------------------------------------


def test_man_page_lists_every_command_and_lints_clean(tmp_path):
    page = ctl("--man").stdout
    names = [line.split(" --")[0] for line in ctl("--commands").stdout.splitlines()]
    for line in ctl("--commands").stdout.splitlines():
        words = line.split(" --")[0].split()
        assert ".It " + " ".join("Cm " + w for w in words) in page, line
    assert "rotate-key" in " ".join(names)
    if shutil.which("mandoc"):
        (tmp_path / "sitetokenctl.8").write_text(page)
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", str(tmp_path / "sitetokenctl.8")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run(["mandoc", "-T", "ascii", str(tmp_path / "sitetokenctl.8")],
                           capture_output=True, text=True, env={**os.environ, "MANWIDTH": "200"})
        text = re.sub(r".\x08", "", r.stdout)
        # options side by side, not nested in one another
        assert "bulk new [--lifetime DURATION] [--max-uses N] [--note TEXT]" in text, text


def complete(line):
    """What the completion function offers for `line` (the word being typed last)."""
    words = line.split(" ")
    script = (
        "_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]};"
        " words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD; }\n"
        "_filedir() { :; }\n"
        "source %s\n"
        "COMP_WORDS=(%s); COMP_CWORD=%d; _sitetokenctl; printf '%%s\\n' \"${COMPREPLY[@]}\"\n"
        % (COMPLETION, " ".join("'%s'" % w for w in [str(SITETOKENCTL)] + words[1:]),
           len(words) - 1))
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_bash_completion_follows_the_command_table():
    groups = complete("sitetokenctl ")
    assert {"bulk", "device", "token", "mp", "key", "audit", "status", "help"} <= groups
    assert complete("sitetokenctl bulk ") == {"new", "list", "show", "allow", "block", "unblock",
                                              "prune"}
    assert complete("sitetokenctl mp r") == {"remove", "rotate-key"}
    opts = complete("sitetokenctl device purge --")
    assert {"--older-than", "--dry-run", "--limit", "--json", "--socket"} <= opts
    assert "--follow" in complete("sitetokenctl audit --f")
    # every command of the table completes
    for line in ctl("--commands").stdout.splitlines():
        words = line.split(" --")[0].split()
        if len(words) == 2:
            assert words[1] in complete("sitetokenctl %s " % words[0]), line

"""Running as a service (issue 15, "Install and run as a service"):
admin_socket_group gives the admin socket to a group, mode 0660, so
administrators need not be root; the group is checked at -n and at start
like `user:`; --version on every binary."""

import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BUILD, SITETOKENCTL, SITETOKEND, basic_config, run_sitetokend, write_config

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.mark.parametrize(
    "binary", ["server/sitetokend", "tools/sitetokenctl", "tools/sitetoken-client", "tools/sitetoken-gateway"]
)
def test_version(binary):
    r = subprocess.run([str(BUILD / binary), "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"%s \d+\.\d+\.\d+\n" % re.escape(Path(binary).name), r.stdout), r.stdout


def test_unknown_group_creates_nothing(tmp_path):
    (tmp_path / "var").mkdir()
    cfg = write_config(tmp_path / "sitetoken.yaml", basic_config("admin_socket_group: no-such-group-x\n"))
    r = run_sitetokend(["-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 1 and "admin_socket_group no-such-group-x: no such group" in r.stderr, r.stderr
    assert os.listdir(tmp_path / "var") == []
    r = run_sitetokend(["-n", "-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 1
    assert re.search(
        r"sitetoken\.yaml:\d+: admin_socket_group: no such group: no-such-group-x", r.stderr
    ), r.stderr


def test_bad_group_name_is_a_config_error(tmp_path):
    cfg = write_config(tmp_path / "sitetoken.yaml", basic_config('admin_socket_group: "a b"\n'))
    r = run_sitetokend(["-n", "-c", str(cfg)], cwd=tmp_path)
    assert r.returncode == 1
    assert re.search(r"sitetoken\.yaml:\d+: admin_socket_group: ", r.stderr), r.stderr


def test_without_group_the_socket_stays_0600(start_server):
    s = start_server()
    st = os.lstat(s.admin_socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600


def _own_group():
    return grp.getgrgid(os.getegid()).gr_name


def test_group_of_this_process_gets_the_socket(start_server):
    """As any user: a group the process is in gets the socket, mode 0660."""
    s = start_server(basic_config("admin_socket_group: %s\n" % _own_group()))
    st = os.lstat(s.admin_socket)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == os.getegid()
    assert s.ctl("status").returncode == 0


@pytest.fixture
def shared_dir():
    """A directory an unprivileged user can reach (tmp_path is root's 0700)."""
    wd = Path(tempfile.mkdtemp(prefix="sitetoken-group-", dir="/tmp"))
    wd.chmod(0o755)
    yield wd
    shutil.rmtree(wd, ignore_errors=True)


@ROOT_ONLY
def test_group_members_administer_others_do_not(start_server, shared_dir):
    """Root drops to `user:`; the socket is the user's and the group's, 0660;
    a member of the group (not root) runs sitetokenctl, a non-member is refused."""
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrnam("nogroup" if _has_group("nogroup") else "users")
    # as packaged: the socket in a directory of its own that anyone may
    # reach (the state directory is 0700), the socket's mode guards it
    (shared_dir / "run").mkdir(mode=0o755)
    s = start_server(
        basic_config(
            "user: nobody\nadmin_socket_group: %s\nadmin_socket: %s/run/admin.sock\n"
            % (group.gr_name, shared_dir)
        ),
        workdir=shared_dir,
    )
    st = os.lstat(s.admin_socket)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, group.gr_gid, 0o660)

    def ctl_as(groups):
        uid = pwd.getpwnam("daemon").pw_uid
        gid = grp.getgrnam("daemon").gr_gid
        cmd = ["setpriv", "--reuid", str(uid), "--regid", str(gid)]
        cmd += ["--groups", groups] if groups else ["--clear-groups"]
        cmd += [str(SITETOKENCTL), "-s", s.admin_socket, "status"]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30)

    r = ctl_as(str(group.gr_gid))
    assert r.returncode == 0, r.stderr
    r = ctl_as(None)
    assert r.returncode != 0
    assert "Permission denied" in r.stderr or "permission" in r.stderr.lower(), r.stderr


def _has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


@ROOT_ONLY
def test_unprivileged_start_refuses_a_group_it_is_not_in(shared_dir):
    """Without root the socket can go only to one of the process's groups:
    refused at start, before anything is created (as systemd would run it
    without SupplementaryGroups=)."""
    nobody = pwd.getpwnam("nobody")
    os.chown(shared_dir, nobody.pw_uid, nobody.pw_gid)
    cfg = write_config(shared_dir / "sitetoken.yaml", basic_config("admin_socket_group: root\n"))
    r = subprocess.run(
        ["setpriv", "--reuid", str(nobody.pw_uid), "--regid", str(nobody.pw_gid), "--clear-groups",
         str(SITETOKEND), "-c", str(cfg)],
        cwd=shared_dir, capture_output=True, text=True, timeout=30,
    )
    assert r.returncode == 1
    assert "admin_socket_group root: not a group of this process" in r.stderr, r.stderr
    assert not (shared_dir / "var" / "sitetoken.db").exists()

"""The docs, run as printed: docs/config.md is what the schema generates;
docs/operations.md's TLS chapter and backup recipe, and the README's
clean-up after the walkthrough, are read from the files and their shell
blocks run by bash in a temp dir that looks like the top of the tree
(build/ links to the build). The one change made to what is printed: the TLS
chapter's port 8443 becomes a free port, so parallel runs do not collide."""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import BUILD, READY_TIMEOUT, ROOT, basic_config, write_config

MANGEN = BUILD / "server" / "sitetoken-mangen"


def test_config_md_is_the_generated_one():
    r = subprocess.run([str(MANGEN), "config-md"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    committed = (ROOT / "docs" / "config.md").read_text()
    assert committed == r.stdout, (
        "docs/config.md differs from the schema: run "
        "build/server/sitetoken-mangen config-md > docs/config.md")
    for key in ("log.format", "metrics.listen", "metrics.refresh", "limits.max_body"):
        assert "| `%s` |" % key in committed, key


def section(path, start, end):
    text = path.read_text()
    assert start in text, start
    return text.split(start, 1)[1].split(end, 1)[0]


def sh_blocks(text):
    return re.findall(r"^```sh\n(.*?)^```$", text, re.S | re.M)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(tmp_path):
    (tmp_path / "build").symlink_to(BUILD)
    return tmp_path


def run_sh(script, cwd, env=None, strict=True):
    flags = ["-e", "-o", "pipefail"] if strict else []
    r = subprocess.run(["bash", *flags, "-c", script], cwd=cwd,
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, **(env or {})})
    assert r.returncode == 0, (script, r.stdout, r.stderr)
    return r


class Background:
    """A block's `... &` line: started by bash, waited for until it prints
    its ready line; `kill %1` in a later block is a SIGTERM to it."""

    def __init__(self, cmd, cwd):
        self.lines = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(READY_TIMEOUT):
            self.proc.kill()
            raise AssertionError("not ready: %s\n%s" % (cmd, "\n".join(self.lines)))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("ready: "):
                self.ready.set()
        self.ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def run_blocks(blocks, cwd):
    """Runs each block; a block that is one `CMD &` line starts CMD in the
    background, a block that starts with `kill %1` stops it (and must see it
    exit 0) and runs the rest. -> the outputs of the blocks run by bash."""
    bg, outs = None, []
    try:
        for block in blocks:
            lines = block.strip("\n").splitlines()
            if len(lines) == 1 and lines[0].endswith(" &"):
                assert bg is None
                bg = Background(lines[0][:-2], cwd)
                continue
            if lines[0].startswith("kill %1"):
                assert bg is not None and bg.stop() == 0, "\n".join(bg.lines)
                bg, lines = None, lines[1:]
            outs.append(run_sh("\n".join(lines) + "\n", cwd).stdout)
    finally:
        if bg is not None:
            bg.stop()
    return outs


def test_tls_chapter_as_printed(tmp_path):
    text = section(ROOT / "docs" / "operations.md", "\n## TLS\n", "\n## ")
    port = str(free_port())
    blocks = [b.replace("8443", port) for b in sh_blocks(text)]
    assert len(blocks) >= 6 and any("--cert-key" in b for b in blocks)
    cwd = tree(tmp_path)
    outs = run_blocks(blocks, cwd)
    out = next(o for o in outs if '"token"' in o)
    doc, end = json.JSONDecoder().raw_decode(out, out.index("{"))
    assert doc["token"].count(".") == 2 and doc["gen"] == 0, out
    assert json.loads(out[end:])["status"] == "ready", out  # curl /readyz over HTTPS
    # The clean-up block left nothing behind.
    assert not any(p.exists() for p in (cwd / "tls", cwd / "tls-var", cwd / "device.key",
                                        cwd / "device.token"))


@pytest.mark.sqlite_only  # the recipe copies the SQLite file; PostgreSQL's is pg_dump
def test_backup_recipe_as_printed(start_server, tmp_path):
    text = section(ROOT / "docs" / "operations.md", "\n## Backup and restore\n", "\nRestore:\n")
    (block,) = sh_blocks(text)
    assert "STATE=var" in block and "mkdir -p" in block
    s = start_server(basic_config())
    s.ctl("mp", "add", "mp-backup", check=0)
    cwd = tree(tmp_path)
    run_sh(block, cwd)
    (day,) = list((cwd / "backup").iterdir())
    assert (day.stat().st_mode & 0o777) == 0o700
    assert (day / "seal.key").read_bytes() == (cwd / "var" / "seal.key").read_bytes()
    assert (day / "seal.key").stat().st_mode & 0o777 == 0o600
    db = sqlite3.connect(str(day / "sitetoken.db"))
    try:
        assert db.execute("SELECT count(*) FROM keys").fetchone()[0] >= 1
        assert db.execute("SELECT count(*) FROM mps").fetchone()[0] == 1
    finally:
        db.close()
    assert json.loads((day / "audit-head.json").read_text())


def test_readme_cleanup_after_walkthrough(tmp_path):
    text = section(ROOT / "README.md", "\n## Walkthrough\n", "\n## Source tour\n")
    (block,) = sh_blocks(text)
    for name in ("device.key", "device.token", "device.access"):
        (tmp_path / name).write_text("x")
    (tmp_path / "walkthrough-var").mkdir()
    (tmp_path / "walkthrough-var" / "sitetoken.db").write_text("x")
    run_sh(block, tmp_path, strict=False)  # as typed: no jobs here, kill %1 fails quietly
    assert list(tmp_path.iterdir()) == []
    # What the walkthrough and the docs leave in the tree is ignored by git.
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "walkthrough-var/", "device.key", "device.token",
         "device.access", "var/", "tls/", "tls-var/", "backup/", "build-asan/"],
        cwd=ROOT, capture_output=True, text=True)
    assert ignored.returncode == 0 and len(ignored.stdout.split()) == 9, ignored.stdout

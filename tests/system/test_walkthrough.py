"""The README walkthrough, run as printed: the commands are read from
README.md, the placeholders (the MP key and the bulk token the previous
commands printed) filled in, and each command must succeed."""

import json
import os
import re
import socket
import subprocess
import time

from conftest import BUILD, ROOT, Server, port_in_use


def walkthrough_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Walkthrough", 1)[1].split("## Source tour", 1)[0]
    return [line[4:] for line in section.splitlines()
            if line.startswith("    ") and not line.startswith("    #")]


def _background(argv, cwd, env):
    """A walkthrough command that ends in '&': started, then waited for
    (the gateway until /readyz, Caddy until its port answers)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = 9180 if argv[0].endswith("sitetoken-gateway") else 8081
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, argv
        try:
            if port == 9180:
                import requests

                if requests.get("http://127.0.0.1:9180/readyz", timeout=2).status_code == 200:
                    return proc
            else:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    return proc
        except OSError:
            pass
        assert time.monotonic() < deadline, "timed out starting " + argv[0]
        time.sleep(0.05)


def test_readme_walkthrough(tmp_path):
    for port in (8080, 9180, 8081):
        assert not port_in_use(port), "the walkthrough needs 127.0.0.1:%d free" % port
    background = []
    cmds = walkthrough_commands()
    assert cmds[0] == "build/server/sitetokend -c docs/examples/walkthrough.yaml &"
    server = Server(tmp_path, ["-c", str(ROOT / "docs/examples/walkthrough.yaml")])
    try:
        server.wait_ready()
        env = dict(os.environ)
        outputs = {}
        for cmd in cmds[1:]:
            if cmd.startswith("export "):
                name, value = cmd[7:].split("#")[0].strip().split("=", 1)
                if value == "stmp_...":
                    value = outputs["mp"]
                env[name] = value
                continue
            if cmd.startswith("curl "):
                r = server.get("/v1/keys")
                assert r.status_code == 200 and r.json()["keys"]
                continue
            argv = cmd.split()
            if argv[0].startswith("build/"):
                argv[0] = str(BUILD / argv[0].split("build/", 1)[1])
            argv = [str(ROOT / a) if a.startswith("docs/") else a for a in argv]
            if argv[-1] == "&":
                benv = {**env, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
                        "XDG_CONFIG_HOME": str(tmp_path)}
                background.append(_background(argv[:-1], tmp_path, benv))
                continue
            argv = [outputs["bulk"] if a == "eyJhbGciOiJFZERTQSIs..." else a for a in argv]
            argv = [a.strip('"') for a in argv]
            if "--note" in argv:  # "lab 4" is one argument in the shell
                i = argv.index("--note")
                argv[i + 1:i + 3] = [argv[i + 1] + " " + argv[i + 2]]
            r = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 0, (cmd, r.stdout, r.stderr)
            if argv[1:3] == ["mp", "add"]:
                outputs["mp"] = re.search(r"API key \(shown once\): (\S+)", r.stdout).group(1)
            if argv[1:3] == ["bulk", "new"]:
                outputs["bulk"] = r.stdout.strip().splitlines()[-1]
            if argv[-1] == "introspect":
                assert json.loads(r.stdout)["active"] is True
            if argv[-1] == "renew":
                assert json.loads(r.stdout)["gen"] == 1
            if argv[1] == "call":
                status, body = r.stdout.split("\n", 1)
                assert status == "HTTP 200" and body.startswith("hello GUID:"), r.stdout
                outputs["called"] = True
        assert outputs.get("called"), "the walkthrough ends with a call through a gateway"
        assert (tmp_path / "device.key").exists() and (tmp_path / "walkthrough-var").is_dir()
    finally:
        for proc in background:
            proc.terminate()
            proc.wait(timeout=10)
        assert server.stop() == 0

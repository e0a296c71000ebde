"""Several real sitetokend nodes on one real PostgreSQL database: the
multi-node harness (SITETOKEN_TEST_DB=postgresql; its tests are `pg_only`).

A site is one database of the session's PostgreSQL (pg.CLUSTER) and one seal
key; each node has a working directory of its own (its state directory, its
admin socket, its log) and a free loopback port. The first node starts alone
(it makes the seal key, runs the migrations and creates the first signing
key); the others start after it, all at once when `together` is set."""

import os
import threading
from pathlib import Path

import pg
from conftest import basic_config, write_config

NODE_NAMES = "abcdefgh"
SEAL_KEY_LEN = 32  # server/seal.h


def node_config(db_uri, seal_key, extra="", clock=True):
    """A node's config: the shared database and seal key, plus extra YAML."""
    return basic_config(extra=extra, clock=clock) + (
        'database: "%s"\nseal_key_file: "%s"\n' % (db_uri, seal_key))


class Site:
    """nodes[i] is a ready conftest.Server; restart(i) starts node i again on
    the same working directory (after a stop or a kill)."""

    def __init__(self, start_server, tmp_path, n=2, extra="", clock=True, together=False,
                 cold=False, cluster=None):
        """cold: every node, the first too, starts at once on the brand-new
        database (the seal key is made beforehand, as an operator would copy
        one to each machine). cluster: a pg.Cluster of the test's own
        (default: the session's)."""
        self.start_server = start_server
        self.root = Path(tmp_path)
        self.cluster = cluster or pg.CLUSTER
        self.db = self.cluster.create_db()
        self.uri = self.cluster.uri(self.db)
        self.seal_key = self.root / "seal.key"
        self.extra = extra
        self.clock = clock
        self.nodes = [None] * n
        if cold:
            fd = os.open(self.seal_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, os.urandom(SEAL_KEY_LEN))
            os.close(fd)
            rest, together = list(range(n)), True
        else:
            self.nodes[0] = self._start(0)
            rest = list(range(1, n))
        if together:
            started = [self._start(i, wait=False) for i in rest]
            waits = [threading.Thread(target=s.wait_ready) for s in started]
            for t in waits:
                t.start()
            for t in waits:
                t.join()
            for i, s in zip(rest, started):
                assert s.ready is not None, s.log()[-3000:]
                self.nodes[i] = s
        else:
            for i in rest:
                self.nodes[i] = self._start(i)

    def workdir(self, i):
        d = self.root / NODE_NAMES[i]
        d.mkdir(exist_ok=True)
        return d

    def _start(self, i, wait=True, extra=None):
        wd = self.workdir(i)
        text = node_config(self.uri, self.seal_key, self.extra if extra is None else extra,
                           self.clock)
        write_config(wd / "sitetoken.yaml", text)
        return self.start_server(args=["-c", str(wd / "sitetoken.yaml")], workdir=wd, wait=wait)

    def restart(self, i, extra=None):
        self.nodes[i] = self._start(i, extra=extra)
        return self.nodes[i]

    def psql(self, sql, check=True):
        return self.cluster.psql(self.db, sql, check=check)

    def __getitem__(self, i):
        return self.nodes[i]

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self):
        return len(self.nodes)

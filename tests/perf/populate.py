#!/usr/bin/python3
"""Fills a sitetoken database with N devices and 3 tokens each, for the
benchmark "exchange rate with 1M devices and 3M tokens vs an empty store".
Run it on a stopped server's database (made by one start of sitetokend):

    /usr/bin/python3 tests/perf/populate.py var/sitetoken.db 1000000

It writes with synchronous=OFF (a benchmark fixture, not server data) and
leaves the journal in WAL mode as the server expects."""

import os
import sqlite3
import sys
import time
import uuid


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    kid = db.execute("SELECT kid FROM keys WHERE status = 'active'").fetchone()[0]
    now = int(time.time())
    t0 = time.monotonic()
    batch = 50000
    for start in range(0, n, batch):
        devices, tokens = [], []
        for i in range(start, min(n, start + batch)):
            did = "GUID:" + str(uuid.uuid4())
            jkt = os.urandom(32).hex()[:43]
            devices.append((did, jkt, "hw-%d" % i, "device-%07d" % i, "intranet", now, now))
            for g in range(3):
                tokens.append((os.urandom(16).hex()[:22], did, kid, now - (3 - g) * 86400,
                               now + 80 * 86400, g))
        with db:
            db.executemany(
                "INSERT INTO devices(id, jkt, hardware_id, name, reg, created_at, last_seen_at)"
                " VALUES (?,?,?,?,?,?,?)", devices)
            db.executemany(
                "INSERT INTO tokens(jti, kind, device_id, kid, issued_at, expires_at, gen)"
                " VALUES (?,'client',?,?,?,?,?)", tokens)
        print("%d devices, %.0fs" % (min(n, start + batch), time.monotonic() - t0), flush=True)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


if __name__ == "__main__":
    main()

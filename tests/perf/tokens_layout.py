#!/usr/bin/python3
"""Prototype of the tokens table's layouts (issue 14, levers "jti order" and
"tokens WITHOUT ROWID"): a copy of the SQLite tokens schema (migrations 2, 3,
4 and 11: the jti key and its seven secondary indexes) in a scratch file,
filled with PREFILL tokens issued over the past 180 days, then timed while
ROWS new tokens go in the way the writer puts them in: time-ordered jtis at
RATE per second of simulated clock, a new UUIDv7 device per token, batches of
BATCH rows per transaction, WAL, synchronous=FULL, a 16 MiB page cache.

Per layout it prints the WAL bytes per row (the WAL grows by one 4 KiB frame
per page a commit dirties; autocheckpoint is off so the file size counts
them), the wall time and this process's CPU (user + kernel) per row.

    /usr/bin/python3 tests/perf/tokens_layout.py DIR [--prefill 1000000]
        [--rows 20000] [--batch 8] [--rate 3000] [--layouts text,mapped,...]
        [--drop tokens_issued,...]

Layouts:
  text     today: rowid table, jti TEXT PRIMARY KEY, base64url jtis
  mapped   the same with the jti, prev_jti and family in a sort-preserving
           alphabet (each base64url character replaced by the character of
           the same index in -0-9A-Z_a-z, which is in ASCII order)
  blob     the same with the raw 16 bytes as BLOBs
  wr_text  WITHOUT ROWID, jti TEXT PRIMARY KEY, base64url
  wr_mapped  WITHOUT ROWID, mapped text
  wr_blob  WITHOUT ROWID, 16-byte BLOB key
Not server code: a measurement fixture (docs/performance.md)."""

import argparse
import base64
import os
import sqlite3
import sys
import time
import uuid

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SORTED = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
TO_SORTED = str.maketrans(B64, SORTED)

INDEXES = [
    "CREATE INDEX tokens_device ON tokens(device_id, issued_at)",
    "CREATE INDEX tokens_issued ON tokens(issued_at)",
    "CREATE INDEX tokens_prev ON tokens(prev_jti) WHERE prev_jti IS NOT NULL",
    "CREATE INDEX tokens_family ON tokens(family, expires_at)",
    "CREATE INDEX tokens_kid ON tokens(kid, expires_at)",
    "CREATE INDEX tokens_kid_live ON tokens(kid, device_id, expires_at) WHERE revoked_at IS NULL",
    "CREATE INDEX tokens_bulk_live ON tokens(bulk_id, expires_at)"
    " WHERE revoked_at IS NULL AND bulk_id IS NOT NULL",
]


def table_sql(key_type, without_rowid):
    return ("CREATE TABLE tokens (jti %s PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL,"
            " kid TEXT NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
            " gen INTEGER NOT NULL DEFAULT 0, bulk_id TEXT, mp_id TEXT, prev_jti %s,"
            " revoked_at INTEGER, revoke_reason TEXT, family %s)%s"
            % (key_type, key_type, key_type, " WITHOUT ROWID" if without_rowid else ""))


LAYOUTS = {  # name: (key type, WITHOUT ROWID, jti encoder from raw bytes)
    "text": ("TEXT", False, lambda r: base64.urlsafe_b64encode(r).rstrip(b"=").decode()),
    "mapped": ("TEXT", False,
               lambda r: base64.urlsafe_b64encode(r).rstrip(b"=").decode().translate(TO_SORTED)),
    "blob": ("BLOB", False, lambda r: r),
    "wr_text": ("TEXT", True, lambda r: base64.urlsafe_b64encode(r).rstrip(b"=").decode()),
    "wr_mapped": ("TEXT", True,
                  lambda r: base64.urlsafe_b64encode(r).rstrip(b"=").decode().translate(TO_SORTED)),
    "wr_blob": ("BLOB", True, lambda r: r),
}


def uuid7(ms):
    r = bytearray(os.urandom(16))
    r[0:6] = ms.to_bytes(6, "big")
    r[6] = 0x70 | (r[6] & 0x0F)
    r[8] = 0x80 | (r[8] & 0x3F)
    return "GUID:" + str(uuid.UUID(bytes=bytes(r)))


def raw_jti(ms):
    return ms.to_bytes(6, "big") + os.urandom(10)


def prefill(db, enc, n, now_ms, per=10):
    """n tokens of n/per devices over the past 180 days, in time order, in
    renewal chains like tests/perf/populate.py."""
    devs = max(1, n // per)
    start = now_ms - 180 * 86400 * 1000
    step = (180 * 86400 * 1000) // devs
    rows = []
    for d in range(devs):
        ms = start + d * step
        did = uuid7(ms)
        prev = fam = None
        for g in range(per):
            tms = ms + (now_ms - ms) * g // per
            j = enc(raw_jti(tms))
            fam = fam if fam is not None else j
            rows.append((j, did, tms // 1000, tms // 1000 + 90 * 86400, g,
                         "bulk-1" if g == 0 else None, prev, fam))
            prev = j
        if len(rows) >= 50000:
            db.executemany(INSERT_PREFILL, rows)
            rows = []
    if rows:
        db.executemany(INSERT_PREFILL, rows)


INSERT_PREFILL = ("INSERT INTO tokens(jti, kind, device_id, kid, issued_at, expires_at, gen,"
                  " bulk_id, prev_jti, family) VALUES (?,'client',?,'kid-1',?,?,?,?,?,?)")
INSERT = ("INSERT INTO tokens(jti, kind, device_id, kid, issued_at, expires_at, gen, bulk_id,"
          " mp_id, prev_jti, family) VALUES (?,'client',?,'kid-1',?,?,0,'bulk-1',NULL,NULL,?)")


def run(layout, a):
    key_type, wr, enc = LAYOUTS[layout]
    path = os.path.join(a.dir, "layout-%s.db" % layout)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute(table_sql(key_type, wr))
    for sql in INDEXES:
        if sql.split()[2] not in a.drop.split(","):
            db.execute(sql)
    now_ms = int(time.time() * 1000)
    t0 = time.monotonic()
    db.execute("BEGIN")
    prefill(db, enc, a.prefill, now_ms)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    fill_s = time.monotonic() - t0
    db.close()

    # The measured part, as the server's writer: FULL, 16 MiB cache, no
    # autocheckpoint (the WAL's growth is the pages written).
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA cache_size=-16384")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("SELECT count(*) FROM tokens").fetchone()  # warm the cache a little
    wal0 = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
    c0, t0 = time.process_time(), time.monotonic()
    per_ms = a.rate / 1000.0
    for b in range(0, a.rows, a.batch):
        db.execute("BEGIN IMMEDIATE")
        for i in range(b, min(a.rows, b + a.batch)):
            ms = now_ms + int(i / per_ms)
            j = enc(raw_jti(ms))
            db.execute(INSERT, (j, uuid7(ms), ms // 1000, ms // 1000 + 90 * 86400, j))
        db.execute("COMMIT")
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    wal = os.path.getsize(path + "-wal") - wal0
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    return {"layout": layout, "fill_s": fill_s, "wal_per_row": wal / a.rows,
            "wall_us": wall * 1e6 / a.rows, "cpu_us": cpu * 1e6 / a.rows,
            "db_mb": pages * 4096 / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--prefill", type=int, default=1000000)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rate", type=float, default=3000, help="tokens per second of jti clock")
    ap.add_argument("--layouts", default=",".join(LAYOUTS))
    ap.add_argument("--drop", default="", help="comma-separated secondary indexes to leave out"
                    " (e.g. tokens_issued)")
    a = ap.parse_args()
    print("prefill %d, rows %d, batch %d, rate %.0f/s, without %s, load %s" %
          (a.prefill, a.rows, a.batch, a.rate, a.drop or "-",
           open("/proc/loadavg").read().split()[:3]))
    print("%-10s %10s %10s %10s %10s %8s" % ("layout", "WAL B/row", "wall us", "cpu us",
                                             "db MB", "fill s"))
    for layout in a.layouts.split(","):
        r = run(layout, a)
        print("%-10s %10.0f %10.1f %10.1f %10.0f %8.0f" % (
            r["layout"], r["wal_per_row"], r["wall_us"], r["cpu_us"], r["db_mb"], r["fill_s"]),
            flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

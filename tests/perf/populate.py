#!/usr/bin/python3
"""Fills a sitetoken database with N devices and T tokens per device (default
10: 1M devices make the 10M-token store of issue 14), for the benchmark
"exchange rate with 1M devices and 10M tokens vs an empty store". Run it on a
stopped server's database (made by one start of sitetokend):

    /usr/bin/python3 tests/perf/populate.py var/sitetoken.db 1000000 [10]

The store looks like one the server wrote over the past months: devices
registered in time order with UUIDv7 ids (GUID:...), random key thumbprints,
names and hardware ids (so the name, hardware-id and thumbprint indexes are
as scattered as in life), client tokens with millisecond-prefixed jtis in
renewal chains (prev_jti, family, gen), one bulk token most devices came
through, and one audit record per token is *not* written (the chain is
hashed; `audit verify` would fail on made-up rows). Rows go in in time order
as the server would write them, with synchronous=OFF and a large cache (a
benchmark fixture, not server data); the journal is left in WAL mode as the
server expects. 1M devices / 10M tokens: about 4 GB, a few minutes."""

import base64
import os
import sqlite3
import sys
import time
import uuid


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def uuid7(ms):
    r = bytearray(os.urandom(16))
    r[0:6] = ms.to_bytes(6, "big")
    r[6] = 0x70 | (r[6] & 0x0F)
    r[8] = 0x80 | (r[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(r)))


# --sorted-jti: the jtis in the store's sort-preserving alphabet (each
# base64url character replaced by the one of the same index in an alphabet
# that is in ASCII order), for the jti-order measurement of issue 14.
SORTED_JTI = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                           "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
SORTED = "--sorted-jti" in sys.argv


def jti(ms):
    j = b64(ms.to_bytes(6, "big") + os.urandom(10))
    return j.translate(SORTED_JTI) if SORTED else j


def main():
    args = [a for a in sys.argv[1:] if a != "--sorted-jti"]
    path, n = args[0], int(args[1])
    per = int(args[2]) if len(args) > 2 else 10
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")  # 1 GB: the fill is not the benchmark
    kid = db.execute("SELECT kid FROM keys WHERE status = 'active'").fetchone()[0]
    now = int(time.time())
    # Devices registered over the past 180 days, each renewed per - 1 times
    # at even spells between its registration and now.
    start_ms = (now - 180 * 86400) * 1000
    step_ms = max(1, (180 * 86400 * 1000) // max(1, n))
    bulk = uuid7(start_ms)
    db.execute("INSERT OR IGNORE INTO bulk_tokens(id, token_hash, created_at, not_before,"
               " expires_at, max_uses, uses, note, created_by) VALUES (?,?,?,?,?,NULL,?,"
               "'populate.py','populate')",
               (bulk, os.urandom(32), start_ms // 1000, start_ms // 1000,
                start_ms // 1000 + 7 * 86400, n))
    t0 = time.monotonic()
    batch = 20000
    for first in range(0, n, batch):
        devices, tokens = [], []
        for i in range(first, min(n, first + batch)):
            ms = start_ms + i * step_ms
            did = "GUID:" + uuid7(ms)
            reg_bulk = i % 4 != 0
            devices.append((did, b64(os.urandom(32)), "hw-" + os.urandom(8).hex(),
                            "DESKTOP-" + os.urandom(4).hex().upper(),
                            "bulk" if reg_bulk else "intranet", bulk if reg_bulk else None,
                            ms // 1000, now))
            prev = None
            family = None
            for g in range(per):
                tms = ms + (now * 1000 - ms) * g // per
                j = jti(tms)
                family = family or j
                tokens.append((j, did, kid, tms // 1000, tms // 1000 + 90 * 86400, g,
                               bulk if reg_bulk and g == 0 else None, prev, family))
                prev = j
        with db:
            db.executemany(
                "INSERT INTO devices(id, jkt, hardware_id, name, reg, bulk_id, created_at,"
                " last_seen_at) VALUES (?,?,?,?,?,?,?,?)", devices)
            db.executemany(
                "INSERT INTO tokens(jti, kind, device_id, kid, issued_at, expires_at, gen,"
                " bulk_id, prev_jti, family) VALUES (?,'client',?,?,?,?,?,?,?,?)", tokens)
        done = min(n, first + batch)
        if done % 100000 == 0 or done == n:
            print("%d devices, %d tokens, %.0fs" % (done, done * per, time.monotonic() - t0),
                  flush=True)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


if __name__ == "__main__":
    main()

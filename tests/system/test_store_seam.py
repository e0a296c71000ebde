"""The store's driver seam, read from the tree (docs/storage.md): no file but
store/sqlite.c includes sqlite3.h and none but store/pg.c and
store/pg_conn.c include libpq-fe.h (tests may reach the raw connections),
and every SQLite migration past 6 has its PostgreSQL counterpart with the
same number (PostgreSQL's first, 6, is SQLite's schema at 6)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("proto", "store", "server", "common", "tools", "fuzz", "bench")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def includers(header):
    found = []
    for d in SOURCE_DIRS:
        for f in sorted((ROOT / d).rglob("*.[ch]")) if (ROOT / d).is_dir() else []:
            if header in INCLUDE.findall(f.read_text(errors="replace")):
                found.append(str(f.relative_to(ROOT)))
    return found


def test_database_headers_stay_in_their_drivers():
    assert includers("sqlite3.h") == ["store/sqlite.c"]
    assert includers("libpq-fe.h") == ["store/pg.c", "store/pg_conn.c"]


def versions(path):
    text = (ROOT / path).read_text()
    return [int(v) for v in re.findall(r"\.version\s*=\s*(\d+)", text) if int(v) != 0]


def test_every_sqlite_migration_has_its_postgresql_counterpart():
    sqlite = versions("store/sqlite.c")
    pg = versions("store/pg_schema.c")
    assert sqlite == sorted(sqlite) and pg == sorted(pg)
    assert pg[0] == 6 and 6 in sqlite
    assert pg[1:] == [v for v in sqlite if v > 6], (
        "store/pg_schema.c lacks the PostgreSQL counterpart of a SQLite migration")

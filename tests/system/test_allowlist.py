"""Bulk token allow-lists (issue 17): only the listed hardware ids may
exchange, each once; the first device key to claim one keeps it, another key
with the same hardware id is refused (forbidden, audited). The list comes in
pages (the body is bounded), up to a stated cap; a list longer than max_uses
is refused, never adjusted. Devices are PyJWT-checked; every refusal by its
`code`."""

import uuid

from conftest import SANITIZED, bulk_new, clean_exit
from device import Device, verify_with_pyjwt

CAP = 100000  # docs/api.md: the most entries one allow-list holds


def code_of(r):
    return r.json()["code"]


def refusals(server):
    r = server.ctl("audit", "recent", "--action", "refused.exchange", "--limit", "100",
                   json_out=True, check=0)
    return r.doc["items"]


def write_ids(tmp_path, ids, name="serials.txt"):
    path = tmp_path / name
    path.write_text("# serials of batch 7\n" + "\n".join(ids) + "\n\n")
    return str(path)


def test_allow_file_each_hardware_id_once(server, mp, tmp_path):
    ids = ["SN-%04d" % i for i in range(3)]
    bulk = bulk_new(server, "--allow-file", write_ids(tmp_path, ids), "--max-uses", "10")
    assert bulk["allow_total"] == 3, bulk

    first = Device(hardware_id="SN-0001")
    r = mp.exchange(first, bulk["token"])
    assert r.status_code == 201, r.text
    claims = verify_with_pyjwt(server, r.json()["token"], "sitetoken-client+jwt")
    assert claims["bulk"] == bulk["id"]
    dev_id = r.json()["device_id"]
    # the same key again (a retried first exchange) keeps its entry
    again = mp.exchange(first, bulk["token"])
    assert again.status_code == 201 and again.json()["device_id"] == dev_id, again.text

    # another key with the claimed hardware id: forbidden, audited
    thief = Device(hardware_id="SN-0001")
    r = mp.exchange(thief, bulk["token"])
    assert r.status_code == 403 and code_of(r) == "forbidden", r.text
    assert "claimed" in r.json()["detail"]
    # a hardware id not on the list: forbidden, audited
    r = mp.exchange(Device(hardware_id="SN-9999"), bulk["token"])
    assert r.status_code == 403 and code_of(r) == "forbidden", r.text
    assert "not on the allow-list" in r.json()["detail"]
    recs = refusals(server)
    assert [x["detail"]["code"] for x in recs[:2]] == ["forbidden", "forbidden"], recs[:2]
    # neither refusal took a use
    listed = server.ctl("bulk", "list", json_out=True, check=0).doc["items"][0]
    assert (listed["uses"], listed["allow_total"], listed["allow_used"]) == (1, 3, 1), listed

    # bulk show lists which entries are used
    shown = server.ctl("bulk", "show", bulk["id"], json_out=True, check=0).doc
    entries = {e["hardware_id"]: e for e in shown["allow"]}
    assert set(entries) == set(ids) and shown["allow_next"] is None
    assert entries["SN-0001"]["used"] is True and entries["SN-0001"]["device_id"] == dev_id
    assert entries["SN-0000"]["used"] is False and entries["SN-0000"]["device_id"] is None
    text = server.ctl("bulk", "show", bulk["id"], check=0).stdout
    assert "allow-list: 3 hardware ids, 1 used" in text, text
    # the other listed ids still enrol, once each
    r = mp.exchange(Device(hardware_id="SN-0002"), bulk["token"])
    assert r.status_code == 201, r.text
    clean_exit(server)


def test_allow_list_in_pages(server, mp, tmp_path):
    """A list far larger than one request body: bulk new --allow-file sends
    pages; bulk allow adds more; duplicates are counted, not added twice."""
    ids = ["batch7-%s" % uuid.uuid4().hex for _ in range(2500)]
    bulk = bulk_new(server, "--allow-file", write_ids(tmp_path, ids))
    assert bulk["allow_total"] == 2500, {k: v for k, v in bulk.items() if k != "token"}
    more = ids[-10:] + ["late-%d" % i for i in range(5)]
    r = server.ctl("bulk", "allow", bulk["id"], "--file", write_ids(tmp_path, more, "more.txt"),
                   json_out=True, check=0).doc
    assert (r["added"], r["duplicates"], r["total"]) == (5, 10, 2505), r
    # every page of the list, through the API
    seen, after = [], None
    while True:
        q = "?limit=1000" + ("&after=" + after if after else "")
        st, doc = server.admin("GET", "/v1/admin/bulk-tokens/%s/allow%s" % (bulk["id"], q))
        assert st == 200, doc
        seen += [e["hardware_id"] for e in doc["items"]]
        if doc["next"] is None:
            break
        after = doc["next"]
    assert sorted(seen) == sorted(set(ids + more)) and seen == sorted(seen)
    # an entry from the last page enrols
    assert mp.exchange(Device(hardware_id="late-3"), bulk["token"]).status_code == 201
    clean_exit(server)


def test_allow_list_refusals(server, mp, tmp_path):
    # contradictory: more hardware ids than max_uses, refused, nothing made
    ids = ["SN-%02d" % i for i in range(50)]
    r = server.ctl("bulk", "new", "--max-uses", "1", "--allow-file", write_ids(tmp_path, ids),
                   check=2)
    assert "--max-uses 1 is less than the 50 hardware ids" in r.stderr, r.stderr
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"max_uses": 1, "allow": ids})
    assert st == 400 and doc["code"] == "invalid_request", doc
    assert "max_uses 1 is less than the 50" in doc["detail"]
    assert server.ctl("bulk", "list", json_out=True, check=0).doc["items"] == []
    # a page that would pass max_uses: conflict, nothing of it added
    st, made = server.admin("POST", "/v1/admin/bulk-tokens", {"max_uses": 3, "allow": ids[:2]})
    assert st == 201 and made["allow_total"] == 2, made
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/allow" % made["id"],
                           {"hardware_ids": ids[2:4]})
    assert st == 409 and doc["code"] == "conflict", doc
    st, doc = server.admin("GET", "/v1/admin/bulk-tokens/%s" % made["id"])
    assert doc["allow_total"] == 2 and len(doc["allow"]) == 2, doc
    # an allow-list for a token made without one: conflict
    plain = bulk_new(server)
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/allow" % plain["id"],
                           {"hardware_ids": ["x"]})
    assert st == 409 and doc["code"] == "conflict", doc
    # an unknown token: not_found
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/allow" % str(uuid.uuid4()),
                           {"hardware_ids": ["x"]})
    assert st == 404 and doc["code"] == "not_found", doc
    st, doc = server.admin("GET", "/v1/admin/bulk-tokens/%s/allow" % str(uuid.uuid4()))
    assert st == 404 and doc["code"] == "not_found", doc
    # malformed pages: invalid_request
    for body in ({}, {"hardware_ids": []}, {"hardware_ids": "SN-1"}, {"hardware_ids": [1]},
                 {"hardware_ids": [""]}, {"hardware_ids": ["a\nb"]}, {"hardware_ids": ["x" * 257]},
                 {"hardware_ids": ["h%d" % i for i in range(1001)]},
                 {"hardware_ids": ["x"], "extra": 1}):
        st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/allow" % made["id"], body)
        assert st in (400, 413) and doc["code"] in ("invalid_request", "payload_too_large"), \
            (body if len(str(body)) < 80 else "long", doc)
    for allow in ("SN-1", [None], ["h%d" % i for i in range(1001)]):
        st, doc = server.admin("POST", "/v1/admin/bulk-tokens", {"allow": allow})
        assert st in (400, 413) and doc["code"] in ("invalid_request", "payload_too_large"), doc
    # the CLI refuses what it cannot send, before any call
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    server.ctl("bulk", "new", "--allow-file", str(empty), check=2)
    server.ctl("bulk", "new", "--allow-file", str(tmp_path / "missing.txt"), check=2)
    (tmp_path / "long.txt").write_text("x" * 300 + "\n")
    server.ctl("bulk", "new", "--allow-file", str(tmp_path / "long.txt"), check=2)
    server.ctl("bulk", "allow", made["id"], check=2)
    # an empty list (filled later) admits nobody yet
    st, empty_list = server.admin("POST", "/v1/admin/bulk-tokens", {"allow": []})
    assert st == 201 and empty_list["allow_total"] == 0
    r = mp.exchange(Device(), empty_list["token"])
    assert r.status_code == 403 and code_of(r) == "forbidden", r.text
    clean_exit(server)


def test_allow_list_cap(server, mp):
    """The stated cap: 100,000 entries; a page past it is refused (conflict)
    and adds nothing."""
    if SANITIZED:
        return  # 100 pages of 1,000 rows: a timing-free but slow fill under ASan
    st, made = server.admin("POST", "/v1/admin/bulk-tokens", {"allow": []})
    assert st == 201
    for p in range(CAP // 1000):
        st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/allow" % made["id"],
                               {"hardware_ids": ["%05d-%03d" % (p, i) for i in range(1000)]})
        assert st == 200 and doc["added"] == 1000, doc
    assert doc["total"] == CAP
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/allow" % made["id"],
                           {"hardware_ids": ["one-more"]})
    assert st == 409 and doc["code"] == "conflict" and "at most 100000" in doc["detail"], doc
    # duplicates past the cap are fine: they add nothing
    st, doc = server.admin("POST", "/v1/admin/bulk-tokens/%s/allow" % made["id"],
                           {"hardware_ids": ["00000-000"]})
    assert st == 200 and (doc["added"], doc["total"]) == (0, CAP), doc
    r = mp.exchange(Device(hardware_id="one-more"), made["token"])
    assert r.status_code == 403 and code_of(r) == "forbidden", r.text
    r = mp.exchange(Device(hardware_id="00099-999"), made["token"])
    assert r.status_code == 201, r.text
    clean_exit(server)

"""Several sitetokend nodes on one PostgreSQL (cluster.py): the harness itself."""

import pytest

from cluster import Site
from device import MP, Device
from conftest import bulk_new

pytestmark = pytest.mark.pg_only


def test_two_nodes_start_on_one_database_and_share_the_site(start_server, tmp_path):
    """Nodes starting together on one database (migrations, first key) come
    up; an MP added on one node registers a device on the other."""
    site = Site(start_server, tmp_path, n=3, together=True)
    key = site[0].ctl("mp", "add", "mp-a", json_out=True, check=0).doc["api_key"]
    mp_b = MP(site[1], key)
    d = Device()
    r = mp_b.register(d)
    assert r.status_code == 201, r.text
    assert site[2].get("/v1/jwks").json() == site[0].get("/v1/jwks").json()

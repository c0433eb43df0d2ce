"""The person store: ids once given are kept; a bridge merges under the older id; a split
leaves the id with its founder."""

from __future__ import annotations

import duckdb

from hub.link.identity import STORE_DDL, assign_ids


def _ids(con: duckdb.DuckDBPyConnection, clusters: dict[str, str]) -> dict[str, str]:
    con.execute("CREATE OR REPLACE TEMP TABLE link_clusters (unique_id VARCHAR, cluster VARCHAR)")
    con.executemany("INSERT INTO link_clusters VALUES (?, ?)", list(clusters.items()))
    assign_ids(con, "secret")
    return dict(con.execute("SELECT unique_id, person_id FROM link_person").fetchall())


def test_ids_are_kept_merged_under_the_older_and_split_with_the_founder():
    con = duckdb.connect()
    con.execute(STORE_DDL)
    first = _ids(con, {"id:1": "id:1", "u1": "id:1", "u2": "u2", "u3": "u2"})
    a, b = first["id:1"], first["u2"]
    assert a != b and first["u1"] == a and first["u3"] == b
    # the same clusters again: the same ids, nothing merged
    assert _ids(con, {"id:1": "id:1", "u1": "id:1", "u2": "u2", "u3": "u2"}) == first
    # a later person, then a row (u9) bridging it with b: the older id stands
    later = _ids(con, {"id:1": "id:1", "u1": "id:1", "u2": "u2", "u3": "u2", "u5": "u5"})
    c = later["u5"]
    assert c not in (a, b)
    bridged = _ids(
        con, {"id:1": "id:1", "u1": "id:1", "u2": "u2", "u3": "u2", "u5": "u2", "u9": "u2"}
    )
    assert {bridged[n] for n in ("u2", "u3", "u5", "u9")} == {b}
    merges = con.execute("SELECT merged_id, into_id FROM identity.person_merges").fetchall()
    assert merges == [(c, b)]
    # a review splits u3 from b's founder u2: u2 keeps b, u3 is a new person
    split = _ids(
        con, {"id:1": "id:1", "u1": "id:1", "u2": "u2", "u3": "u3", "u5": "u2", "u9": "u2"}
    )
    assert split["u2"] == b and split["u3"] not in (a, b, c)

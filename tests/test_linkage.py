"""Linking rows to residents without a clean ID: each kind of damage, and review decisions."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict

import duckdb
import pytest

from hub.link.bench import hub_linkage
from hub.link.synth import CORRUPTION, generate_records
from tests.conftest import REPO, hub_cli

SAMPLE = REPO / "data" / "sample"


def _pairs(table):
    return [(r["record_key"], r["person"]) for r in table.to_pylist()]


@pytest.fixture(scope="module")
def outcome(registry):
    sample = generate_records(registry, 6000, seed=21)
    with duckdb.connect() as con:
        con.register("records", sample.records)
        assigned = dict(_pairs(hub_linkage(con, registry)))
    # a resident's person is where most of its records went
    by_resident: dict[int, Counter[str]] = defaultdict(Counter)
    for key, resident in sample.truth.items():
        by_resident[resident][assigned[key]] += 1
    home = {r: c.most_common(1)[0][0] for r, c in by_resident.items()}
    owner: dict[str, Counter[int]] = defaultdict(Counter)
    for key, resident in sample.truth.items():
        owner[assigned[key]][resident] += 1
    return sample, assigned, home, owner


@pytest.mark.parametrize("kind", sorted(CORRUPTION))
def test_every_kind_of_damaged_record_joins_its_resident(outcome, kind):
    sample, assigned, home, owner = outcome
    damaged = [k for k, kinds in sample.corrupted.items() if kind in kinds]
    assert len(damaged) >= 10, f"too few {kind} records to judge"
    wrong = [
        k
        for k in damaged
        if assigned[k] != home[sample.truth[k]]  # split off its resident
        or len(owner[assigned[k]]) > 1  # or merged with someone else
    ]
    assert wrong == [], f"{kind}: {len(wrong)} of {len(damaged)} wrongly linked"


def _review_home(hub_home, link: float, review: float):
    path = hub_home.schemas / "linkage.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("link: 0.95", f"link: {link}").replace("review: 0.5", f"review: {review}")
    path.write_text(text, encoding="utf-8")
    for f in SAMPLE.glob("*.*"):
        shutil.copy(f, hub_home.incoming)


def _links(home, method=None):
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.execute(
            "SELECT record_key, person_id, method FROM core.links "
            + ("WHERE method = ?" if method else ""),
            [method] if method else [],
        ).fetchall()


def test_review_decisions_are_honoured_on_every_later_run(hub_home):
    """With a link threshold nothing reaches, the model's pairs wait for review; a rejected
    pair stays apart and an accepted one is linked, run after run."""
    _review_home(hub_home, link=0.999999999999, review=0.01)
    hub_cli(["run", "--no-gx"], hub_home.data, hub_home.schemas)
    queue = json.loads(hub_cli(["review", "--json"], hub_home.data, hub_home.schemas).stdout)
    assert len(queue) >= 2
    first, second = queue[0], queue[1]
    assert {"pair_id", "match_probability", "evidence", "left", "right"} <= set(first)
    assert first["left"]["kind"] == "按身份证号码确认的居民"
    rejected = hub_cli(
        ["review", "reject", first["pair_id"], "--by", "王科长"], hub_home.data, hub_home.schemas
    )
    assert "不是同一人" in rejected.stdout
    hub_cli(["review", "accept", second["pair_id"]], hub_home.data, hub_home.schemas)
    left_ids = {
        p["pair_id"]
        for p in json.loads(hub_cli(["review", "--json"], hub_home.data, hub_home.schemas).stdout)
    }
    assert first["pair_id"] not in left_ids and second["pair_id"] not in left_ids

    for _ in range(2):  # honoured on the next run, and the one after
        hub_cli(["run", "--no-gx"], hub_home.data, hub_home.schemas)
        persons = {key: person for key, person, _ in _links(hub_home)}
        rej_row = first["right"]["key"]
        acc_row = second["right"]["key"]
        rej_person = _person_of_id(hub_home, first["left"]["citizen_id"])
        acc_person = _person_of_id(hub_home, second["left"]["citizen_id"])
        assert persons[rej_row] != rej_person
        assert persons[acc_row] == acc_person
        methods = {key: m for key, _, m in _links(hub_home)}
        assert methods[acc_row] == "review"


def _person_of_id(home, citizen_id: str) -> str:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.execute(
            "SELECT DISTINCT person_id FROM core.links WHERE citizen_id = ?", [citizen_id]
        ).fetchall()[0][0]


def test_unknown_pair_is_a_clear_error(hub_home):
    proc = hub_cli(["review", "accept", "nosuchpair"], hub_home.data, hub_home.schemas, check=False)
    assert proc.returncode == 2 and "没有配对 nosuchpair" in proc.stderr


def test_bench_linkage_reports_both_sides(tmp_path):
    doc = json.loads(
        hub_cli(["bench", "linkage", "--records", "3000", "--json"], tmp_path, timeout=900).stdout
    )
    for side in ("hub", "baseline"):
        assert set(doc[side]) == {"precision", "recall", "f1", "seconds", "peak_rss_mb"}
    assert doc["hub"]["f1"] > doc["baseline"]["f1"]
    assert doc["records"] > 2500


def test_demo_says_how_many_rows_the_model_linked_and_how_many_wait(tmp_path):
    out = hub_cli(["demo"], tmp_path / "data").stdout
    assert "概率匹配" in out and "待人工复核" in out


def test_a_roster_without_ids_links_by_name_birth_and_address(hub_home, registry):
    """An elderly roster keyed by name and address (no ID column) is registered and linked."""
    (hub_home.schemas / "sources" / "laonian_visits.yaml").write_text(
        "name: laonian_visits\ndepartment: 卫生健康局\ntitle: 老年人走访\n"
        'file_pattern: ["老年走访_*.csv"]\ncolumns:\n'
        "  - {header: 姓名, field: name}\n  - {header: 出生日期, field: birth_date}\n"
        "  - {header: 住址, field: current_address}\n",
        encoding="utf-8",
    )
    for f in SAMPLE.glob("公安_*.csv"):
        shutil.copy(f, hub_home.incoming)
    hub_cli(["run", "--no-gx"], hub_home.data, hub_home.schemas)
    with duckdb.connect(str(hub_home.warehouse), read_only=True) as con:
        people = con.execute(
            "SELECT name, birth_date, registered_address, citizen_id FROM core.person "
            "WHERE citizen_id IS NOT NULL ORDER BY citizen_id LIMIT 5"
        ).fetchall()
    rows = "".join(f"{n},{b:%Y年%-m月%-d日},{a}\n" for n, b, a, _ in people)
    (hub_home.incoming / "老年走访_202511.csv").write_text("姓名,出生日期,住址\n" + rows, "utf-8")
    hub_cli(["run", "--no-gx"], hub_home.data, hub_home.schemas)
    with duckdb.connect(str(hub_home.warehouse), read_only=True) as con:
        got = con.execute(
            "SELECT p.citizen_id FROM core.links l JOIN core.person p USING (person_id) "
            "WHERE l.source = 'laonian_visits' ORDER BY l.source_row"
        ).fetchall()
    assert [g[0] for g in got] == [p[3] for p in people]


def test_model_trains_on_at_most_twenty_rows_of_an_id():
    """m is trained on rows sharing a trusted ID: every row of an ID on a few rows, the
    first TRAIN_PER_ID (by record key) of an ID on many, none of an ID on one row or of
    untrusted rows."""
    from hub.link.run import TRAIN_PER_ID, training_rows

    con = duckdb.connect()
    rows = (
        [(f"a|{i:03d}", "A", True) for i in range(50)]
        + [(f"b|{i}", "B", True) for i in range(3)]
        + [("c|0", "C", True), ("a|x", "A", False), ("d|0", "D", False), ("d|1", "D", False)]
    )
    con.execute("CREATE TABLE link_features (record_key VARCHAR, id_text VARCHAR, trusted BOOLEAN)")
    con.executemany("INSERT INTO link_features VALUES (?, ?, ?)", rows)
    got = sorted(r[0] for r in con.execute(training_rows("f.record_key")).fetchall())
    assert got == sorted([f"a|{i:03d}" for i in range(TRAIN_PER_ID)] + ["b|0", "b|1", "b|2"])


def test_only_nodes_that_can_pair_with_an_unlinked_row_are_compared(registry):
    from hub.link.model import BLOCKS

    sample = generate_records(registry, 3000, seed=5)
    with duckdb.connect() as con:
        con.register("records", sample.records)
        hub_linkage(con, registry)
        # by the blocks' keys themselves: R nodes agreeing on every key of some block with a U node
        shares = " OR ".join(
            "(" + " AND ".join(f"{k.format(t='r')} = {k.format(t='u')}" for k in keys) + ")"
            for _, keys in BLOCKS
        )
        want = {
            k
            for (k,) in con.execute(
                "SELECT unique_id FROM core.link_node_base WHERE grp = 'U' UNION "
                "SELECT r.unique_id FROM core.link_node_base r JOIN core.link_node_base u "
                f"ON u.grp = 'U' AND r.grp = 'R' AND ({shares})"
            ).fetchall()
        }
        compared = {k for (k,) in con.execute("SELECT unique_id FROM link_nodes").fetchall()}
        kept = {k for (k,) in con.execute("SELECT unique_id FROM core.link_node_sigs").fetchall()}
        r_nodes = con.execute("SELECT count(*) FROM core.link_node_base WHERE grp = 'R'").fetchone()
        edge_ends = {
            k
            for (k,) in con.execute(
                "SELECT a FROM link_edges UNION SELECT b FROM link_edges"
            ).fetchall()
        }
    assert compared == want == kept
    assert 0 < len({k for k in want if k.startswith("id:")}) < r_nodes[0]
    assert edge_ends and edge_ends <= compared


def test_a_block_crossing_the_cap_makes_its_nodes_fresh(registry):
    """A block that grows past the cap or shrinks below it changes which pairs are made:
    its nodes are scored again, as a rebuild would score them."""
    from hub.link import cache
    from hub.link.nodes import BLOCK_HASHES
    from hub.link.run import _cap

    sample = generate_records(registry, 3000, seed=5)
    with duckdb.connect() as con:
        con.register("records", sample.records)
        hub_linkage(con, registry)
        key = cache.model_key(registry.linkage)
        size, column, block = max(
            con.execute(
                f"SELECT count(*), '{c}', {c} FROM core.link_node_base WHERE {c} IN "
                f"(SELECT {c} FROM core.link_node_base WHERE grp = 'U') GROUP BY {c} "
                "ORDER BY 1 DESC LIMIT 1"
            ).fetchone()
            for c in BLOCK_HASHES
        )
        members = {
            k
            for (k,) in con.execute(
                f"SELECT unique_id FROM core.link_node_base WHERE {column} = ?", [block]
            ).fetchall()
        }

        def fresh_after(max_pairs: int) -> set[str]:
            _cap(con, max_pairs, key)
            return {
                k for (k,) in con.execute("SELECT unique_id FROM link_nodes WHERE fresh").fetchall()
            }

        capped = fresh_after(size * (size - 1) // 2 - 1)
        compared = con.execute("SELECT count(*) FROM link_nodes").fetchone()[0]
        as_scored = fresh_after(registry.linkage.max_block_pairs)
    assert size >= 2 and members <= capped and len(capped) < compared
    assert as_scored == set()

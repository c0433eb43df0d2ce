"""A new department file with a new source YAML loads with no code change."""

from __future__ import annotations

import json
import textwrap

from pipelines.definitions import build_definitions
from tests.conftest import hub_cli

NEW_SOURCE = textwrap.dedent("""\
    # 街道《网格员走访登记表》
    name: jiedao_grid_visits
    department: 青云街道办事处
    title: 网格员走访登记表
    file_pattern: ["街道_网格走访登记_*.csv"]
    group: jiedao
    columns:
      - {header: 居民姓名, field: name}
      - {header: 证件号码, field: citizen_id}
      - {header: 手机号码, field: phone}
      - {header: 所在网格, field: grid_code}
      - {header: 是否独居, field: living_alone}
      - {header: 走访日期, extension: visit_date}
    """)


def test_new_yaml_and_file_become_assets_and_rows(hub_home, registry):
    (hub_home.schemas / "sources" / "jiedao_grid_visits.yaml").write_text(
        NEW_SOURCE, encoding="utf-8"
    )
    people = [p for p in registry.sources]  # registry unchanged in the repository
    assert "jiedao_grid_visits" not in people
    csv_text = (
        "青云街道网格员走访登记表\n居民姓名,证件号码,手机号码,所在网格,是否独居,走访日期\n"
        "张 伟,11010519491231002x,139 0000 1111,幸福社区第1网格,是,2025年10月8日\n"
        "李娜,110105194912310021,13900002222,幸福社区第2网格,否,2025-10-09\n"
        "王芳,330102195001011236,13900003333,和平社区第1网格,√,2025.10.10\n"
    )
    (hub_home.incoming / "街道_网格走访登记_202510.csv").write_bytes(csv_text.encode("gb18030"))
    summary = json.loads(
        hub_cli(["run", "--no-gx", "--json"], hub_home.data, hub_home.schemas, check=False).stdout
    )
    assert [(r["source"], r["status"], r["rows"]) for r in summary["loads"]] == [
        ("jiedao_grid_visits", "loaded", 3)
    ]
    status = json.loads(hub_cli(["status", "--json"], hub_home.data, hub_home.schemas).stdout)
    row = next(s for s in status["sources"] if s["source"] == "jiedao_grid_visits")
    # the bad check digit is reported, the row kept: with nobody else to match it is a person
    assert (row["staged"], row["quarantine"]) == (3, 0) and row["warnings"] >= 1
    assert status["persons"] == 3

    defs = build_definitions(schemas=hub_home.schemas, data=hub_home.data)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw/jiedao_grid_visits", "staged/jiedao_grid_visits"} <= keys

"""The Dagster code location: graph snapshot, a full in-process run, and `dagster` loading it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import dagster as dg

from pipelines.definitions import build_definitions
from tests.conftest import REPO, hub_cli

ASSET_KEYS = [
    "core/links",
    "core/person",
    "published/core",
    "raw/canlian_disabled",
    "raw/community_form",
    "raw/gongan_household",
    "raw/minzheng_dibao",
    "raw/renshe_pension",
    "raw/tuiyi_veterans",
    "raw/weijian_elderly",
    "report/canlian_liangxiang",
    "report/minzheng_dibao_monthly",
    "report/minzheng_dujulaoren",
    "report/minzheng_gaoling",
    "report/minzheng_tekun",
    "report/renshe_jumin_yanglao",
    "report/tuiyi_xinxi_caiji",
    "report/wangge_changzhu",
    "report/weijian_laonian_jiankang",
    "staged/canlian_disabled",
    "staged/community_form",
    "staged/gongan_household",
    "staged/minzheng_dibao",
    "staged/renshe_pension",
    "staged/tuiyi_veterans",
    "staged/weijian_elderly",
]


def test_asset_graph_snapshot():
    graph = build_definitions().resolve_asset_graph()
    assert sorted(k.to_user_string() for k in graph.get_all_asset_keys()) == ASSET_KEYS
    assert graph.get(dg.AssetKey(["staged", "minzheng_dibao"])).group_name == "minzheng"
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["core", "links"])).parent_keys}
    assert parents == {k for k in ASSET_KEYS if k.startswith("staged/")}
    person = graph.get(dg.AssetKey(["core", "person"])).parent_keys
    assert {k.to_user_string() for k in person} == {"core/links"}


def test_checks_take_severity_from_the_rules_and_row_faults_block_nothing():
    defs = build_definitions()
    specs = {
        (s.asset_key.to_user_string(), s.name): s
        for a in defs.resolve_asset_graph().assets_defs
        for s in a.check_specs
    }
    # a row fault quarantines or flags its row: no check on staged data holds core/person
    assert not [k for k, spec in specs.items() if spec.blocking]
    assert ("raw/gongan_household", "batch_not_held") in specs  # whole batches are judged there
    assert not specs[("staged/gongan_household", "citizen_id_format")].blocking
    assert not specs[("staged/gongan_household", "birth_date_agrees_with_citizen_id")].blocking
    assert not specs[("staged/gongan_household", "phone_format")].blocking
    assert ("staged/weijian_elderly", "gx_self_care_ability_format") in specs


def test_assets_and_groups_show_department_names_and_the_sensor_starts_off():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    cjk = re.compile(r"[\u4e00-\u9fff]")
    groups = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert re.fullmatch(r"[a-z0-9_]+", node.group_name)  # Dagster wants ASCII keys
        assert cjk.search(node.description or ""), key
        assert cjk.search(str(node.metadata.get("部门", ""))), key
        assert node.group_name in str(node.metadata["分组"]) and cjk.search(
            str(node.metadata["分组"])
        )
        groups.add(str(node.metadata["分组"]))
    assert "民政局（minzheng）" in groups
    sensor = defs.resolve_sensor_def("incoming_files")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    on = build_definitions(sensor_on=True).resolve_sensor_def("incoming_files")
    assert on.default_status == dg.DefaultSensorStatus.RUNNING


def _break_education(incoming: Path) -> None:
    """One 公安 row with an education the code list does not know."""
    (path,) = incoming.glob("公安_*.csv")
    lines = path.read_bytes().decode("gb18030").split("\n")
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("文化程度")] = "待核实"
    lines[1] = ",".join(cells)
    path.write_bytes("\n".join(lines).encode("gb18030"))


def test_full_run_in_process(tmp_path: Path):
    data = tmp_path / "data"
    hub_cli(["sample", "--residents", "150", "--seed", "2"], data)
    _break_education(data / "incoming")
    defs = build_definitions(data=data)
    result = defs.resolve_job_def("refresh_all").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    evals = result.get_asset_check_evaluations()
    by_name = {(e.asset_key.to_user_string(), e.check_name): e for e in evals}
    assert by_name[("staged/gongan_household", "name_required")].passed
    assert (
        by_name[("staged/gongan_household", "name_required")].severity
        == dg.AssetCheckSeverity.ERROR
    )
    warn = by_name[("staged/gongan_household", "phone_format")]
    assert warn.severity == dg.AssetCheckSeverity.WARN
    # one verdict per rule: the SQL check and its GX twin judge the same rows the same way
    broken = ("staged/gongan_household", "education_format")
    assert not by_name[broken].passed
    assert not by_name[(broken[0], "gx_education_format")].passed
    pairs = [(k, (k[0], f"gx_{k[1]}")) for k in by_name if (k[0], f"gx_{k[1]}") in by_name]
    assert len(pairs) > 30
    assert [k for k, g in pairs if by_name[k].passed != by_name[g].passed] == []
    assert any(not by_name[k].passed for k, _ in pairs)
    materialized = {
        m.asset_key.to_user_string(): m.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    assert materialized["core/person"]["persons"].value == 150
    dibao = materialized["report/minzheng_dibao_monthly"]
    assert dibao["rows"].value > 0 and Path(dibao["xlsx"].value).exists()
    assert materialized["core/links"]["by_id"].value > 150
    assert materialized["published/core"]["release"].value == 1
    assert not list((data / "incoming").iterdir())


def test_dagster_loads_the_workspace_from_the_repository_root(tmp_path: Path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "All code locations passed validation" in proc.stderr + proc.stdout


def test_every_step_of_a_run_sees_the_registry_its_first_step_read(tmp_path):
    """Steps run in processes of their own: a YAML edited mid-run reaches the next run only."""
    from pipelines.resources import _PINNED, HubResource
    from tests.conftest import copy_schemas

    schemas = copy_schemas(tmp_path / "schemas")
    hub = HubResource(schemas=str(schemas), data=str(tmp_path / "data"))
    run1, run2 = SimpleNamespace(run_id="run-1"), SimpleNamespace(run_id="run-2")
    first = hub.run_registry(run1).sources["minzheng_dibao"].title
    path = schemas / "sources" / "minzheng_dibao.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(f"title: {first}", "title: 改过的标题"),
        encoding="utf-8",
    )
    _PINNED.clear()  # as a step in another process would start
    assert hub.run_registry(run1).sources["minzheng_dibao"].title == first
    assert hub.run_registry(run2).sources["minzheng_dibao"].title == "改过的标题"

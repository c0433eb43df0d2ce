"""A new district goes live on its own files: `hub init`, its own org-unit list, departments
as a registry with authority by kind, and the file formats department systems really send."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import yaml

from hub.ingest.read import read_file
from hub.normalize.cn_id import make_id
from hub.registry import RegistryError, load_registry
from hub.registry.files import DEFAULTS
from tests.conftest import SCHEMAS

NBS = [
    ("统计用区划代码", "城乡分类代码", "名称"),
    ("650105000000", "", "沙依巴克区"),
    ("650105001000", "", "西山街道办事处"),
    ("650105001001", "111", "和平社区居民委员会"),
    ("650105001002", "111", "友好社区居委会"),
    ("650105002000", "", "八一街道"),
    ("650105002001", "111", "八一社区居民委员会"),
    ("650105002201", "220", "红旗村村民委员会"),
    ("650105002201001", "", "红旗村第1网格"),
    ("650104001001", "111", "别区社区居民委员会"),  # a city-wide list: another county's row
]


def in_deployment(folder: Path, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """`hub …` run inside a deployment folder, as its data team runs it (no HUB_* paths)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {"COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"hub {' '.join(args)} → {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def write_csv(path: Path, rows: list[tuple[str, ...]], encoding: str = "gb18030") -> Path:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding=encoding)
    return path


INIT = ["--district", "650105", "--name", "沙依巴克区"]
PLACE = ["--province", "新疆维吾尔自治区", "--city", "乌鲁木齐市"]


def init_shayibake(tmp_path: Path) -> tuple[Path, dict]:
    """`hub init` of the held-out district's deployment under `tmp_path`."""
    folder = tmp_path / "shayibake"
    args = ["init", str(folder), *INIT, *PLACE, "--json"]
    return folder, json.loads(in_deployment(tmp_path, args).stdout)


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    folder, doc = init_shayibake(tmp_path)
    assert not doc["existed"] and "schemas/fields.yaml" in doc["written"]
    return folder


def test_init_writes_a_deployment_without_the_sample(deployment: Path, tmp_path: Path):
    schemas = deployment / "schemas"
    for name in ("fields.yaml", "departments.yaml", "mapping.yaml", "linkage.yaml", "limits.yaml"):
        assert (schemas / name).read_bytes() == (DEFAULTS / name).read_bytes()
    assert len(list((schemas / "reports").glob("*.yaml"))) == len(
        list((DEFAULTS / "reports").glob("*.yaml"))
    )
    assert not list((schemas / "sources").iterdir()) and not list((schemas / "shares").iterdir())
    assert (deployment / "data").is_dir() and "pipelines.definitions" in (
        deployment / "workspace.yaml"
    ).read_text(encoding="utf-8")
    reg = load_registry(schemas)
    assert reg.orgs.district.code == "650105" and set(reg.sources) == {"community_form"}
    status = json.loads(in_deployment(deployment, ["status", "--json"]).stdout)
    assert [s["source"] for s in status["sources"]] == ["community_form"] and status["persons"] == 0
    # a second run keeps the district's edits; another district's code is refused
    (schemas / "mapping.yaml").write_text(
        "# edited\n" + (DEFAULTS / "mapping.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    again = json.loads(
        in_deployment(
            tmp_path,
            ["init", str(deployment), *INIT, "--json"],
        ).stdout
    )
    assert again["existed"] and again["written"] == []
    assert (schemas / "mapping.yaml").read_text(encoding="utf-8").startswith("# edited")
    other = in_deployment(
        tmp_path, ["init", str(deployment), "--district", "650106", "--name", "X"], check=False
    )
    assert other.returncode == 2 and "已是区县 650105 的部署" in other.stderr
    bad = in_deployment(
        tmp_path, ["init", str(tmp_path / "b"), "--district", "6501", "--name", "X"], check=False
    )
    assert bad.returncode == 2 and "6 位数字" in bad.stderr
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    on_file = in_deployment(tmp_path, ["init", str(tmp_path / "a-file"), *INIT], check=False)
    assert on_file.returncode == 2 and "不是目录" in on_file.stderr


def test_orgunits_import_builds_the_tree_and_reports_changes(deployment: Path, tmp_path: Path):
    nbs = write_csv(tmp_path / "统计用区划代码_650105.csv", NBS)  # GB18030, as NBS copies are
    doc = json.loads(in_deployment(deployment, ["orgunits", "import", str(nbs), "--json"]).stdout)
    assert (doc["streets"], doc["communities"], doc["grids"]) == (2, 4, 1)
    assert doc["other_district_rows"] == 1 and doc["written"] and not doc["errors"]
    reg = load_registry(deployment / "schemas")
    comm = {c.code: c for c in reg.orgs.communities}
    assert comm["650105001001"].name == "和平社区"
    assert "和平社区居民委员会" in comm["650105001001"].aliases
    assert comm["650105002201"].urban_rural == "220" and comm["650105002201"].grids
    assert reg.orgs.street_of("650105002201").name == "八一街道"

    # the district's spellings all name the unit: official, short, bare and committee forms
    from hub.normalize.lookups import org_keys

    keys = {(lvl, k): code for lvl, k, code in org_keys(reg)}
    for spelling in (
        "和平社区",
        "和平",
        "和平社区居委会",
        "和平社区居民委员会",
        "西山街道和平社区",
    ):
        assert keys[("community", spelling)] == "650105001001", spelling
    assert keys[("street", "西山街道办事处")] == keys[("street", "西山")] == "650105001"

    # a staff account and a grant on a unit the next list removes
    in_deployment(
        deployment,
        ["user", "add", "hp01", "--community", "650105001002", "--password", "S3cure-pass-2026!"],
    )
    grant = {
        "name": "youhao_check",
        "department": "民政局",
        "title": "友好社区核对",
        "dataset": "person",
        "share_type": "有条件共享",
        "purpose": "核对",
        "fields": ["name"],
        "rows": {"jurisdiction": ["650105001002"]},
        "expires": "2027-12-31",
    }
    share = deployment / "schemas" / "shares" / "youhao_check.yaml"
    share.write_text(yaml.safe_dump(grant, allow_unicode=True), encoding="utf-8")
    changed = [r for r in NBS if r[0] != "650105001002"]
    changed = [(c, u, "和平新社区居委会" if c == "650105001001" else n) for c, u, n in changed]
    changed.append(("650105002202", "220", "新建村村民委员会"))
    changed.append(("6.50105E+11", "111", "坏行"))
    nbs2 = write_csv(tmp_path / "统计用区划代码_v2.csv", changed, encoding="utf-8")
    proc = in_deployment(deployment, ["orgunits", "import", str(nbs2), "--json"], check=False)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and not doc["written"]  # the grant must be fixed first
    assert [(c["code"], c["old"], c["name"]) for c in doc["renamed"]] == [
        ("650105001001", "和平社区", "和平新社区")
    ]
    assert [c["code"] for c in doc["removed"]] == ["650105001002"]
    assert [c["code"] for c in doc["added"]] == ["650105002202"]
    assert any("youhao_check" in e for e in doc["errors"])
    assert any("第 11 行" in e and "科学计数法" in e for e in doc["row_errors"])
    share.unlink()
    proc = in_deployment(deployment, ["orgunits", "import", str(nbs2), "--json"], check=False)
    doc = json.loads(proc.stdout)
    assert doc["written"] and any("hp01" in e and "改派" in e for e in doc["errors"])
    assert "650105001002" not in {
        c.code for c in load_registry(deployment / "schemas").orgs.communities
    }


def test_orgunits_import_reads_xlsx_and_refuses_a_list_of_another_district(
    deployment: Path, tmp_path: Path
):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["区划代码表"])  # a title row, as downloaded lists often have
    for r in NBS:
        ws.append(list(r))
    wb.save(tmp_path / "区划.xlsx")
    doc = json.loads(
        in_deployment(
            deployment, ["orgunits", "import", str(tmp_path / "区划.xlsx"), "--json"]
        ).stdout
    )
    assert doc["communities"] == 4
    other = write_csv(tmp_path / "other.csv", [NBS[0], NBS[-1]])
    proc = in_deployment(deployment, ["orgunits", "import", str(other)], check=False)
    assert proc.returncode == 2 and "没有区县 650105" in proc.stderr


def _source(department: str) -> dict:
    return {
        "name": "gongan_roster",
        "department": department,
        "title": "户籍人口",
        "entity": "person",
        "file_pattern": ["公安_户籍_*.csv"],
        "columns": [
            {"header": "姓名", "field": "name"},
            {"header": "身份证号", "field": "citizen_id"},
        ],
    }


def test_departments_are_a_registry(tmp_path: Path):
    schemas = tmp_path / "schemas"
    (schemas / "sources").mkdir(parents=True)
    (schemas / "orgunits.yaml").write_bytes((SCHEMAS / "orgunits.yaml").read_bytes())
    src = schemas / "sources" / "gongan_roster.yaml"
    src.write_text(yaml.safe_dump(_source("公安局"), allow_unicode=True), encoding="utf-8")
    reg = load_registry(schemas)
    # a short name is the department; its kind makes the roster the identity authority
    assert reg.sources["gongan_roster"].department == "公安分局"
    for f in ("name", "gender", "birth_date", "relation_to_head"):
        assert reg.authority_sources(f) == ["gongan_roster"], f
    assert reg.department_name("卫健委") == "卫生健康局"
    src.write_text(yaml.safe_dump(_source("公安厅"), allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_registry(schemas)
    assert "gongan_roster.yaml" in str(err.value) and "department" in str(err.value)
    assert "公安厅" in str(err.value) and "公安分局" in str(err.value)
    src.unlink()
    report = yaml.safe_load((DEFAULTS / "reports" / "minzheng_tekun.yaml").read_text("utf-8"))
    report["department"] = "民政厅"
    (schemas / "reports").mkdir()
    (schemas / "reports" / "minzheng_tekun.yaml").write_text(
        yaml.safe_dump(report, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(RegistryError, match=r"minzheng_tekun\.yaml.*department.*民政厅"):
        load_registry(schemas)


def test_the_sample_grant_named_by_another_spelling_is_found(sample_run):
    from tests.conftest import hub_cli

    for spelling in ("卫生健康局", "卫健委", "卫生健康委员会"):
        doc = json.loads(
            hub_cli(["query", "--as", spelling, "--format", "json"], sample_run.data).stdout
        )
        assert "weijian_elderly_health" in json.dumps(doc, ensure_ascii=False), spelling


def test_reports_and_the_audit_take_any_spelling_of_a_department(registry, sample_run):
    from hub.reports.generate import selected
    from tests.conftest import hub_cli

    names = {r.name for r in selected(registry, "卫健委")}
    assert names and names == {r.name for r in selected(registry, "卫生健康局")}
    one, other = (
        hub_cli(["audit", "--department", d, "--json"], sample_run.data).stdout
        for d in ("卫健委", "卫生健康局")
    )
    assert one == other and "卫生健康局" in one


ROSTER = [
    ["城市低保花名册（2025年10月）"],
    ["序号", "姓名", "身份证号", "与户主关系", "所属社区"],
    ["1", "唐波", "650105198001011234", "户主", "和平社区"],
    ["2", "唐秀", "650105198203042345", "妻子", "和平"],
    ["合计", "2人"],
]


def test_an_xls_export_reads_like_xlsx(tmp_path: Path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")  # BIFF8, as Excel 97-2003 and many systems write it
    ws = wb.add_sheet("花名册")
    for i, row in enumerate(ROSTER):
        for j, v in enumerate(row):
            ws.write(i + 1, j, v)  # a blank first row: row numbers still count from 1
    wb.save(str(tmp_path / "民政_低保_202510.xls"))
    ft = read_file(tmp_path / "民政_低保_202510.xls")
    assert ft.headers == ["序号", "姓名", "身份证号", "与户主关系", "所属社区"]
    assert ft.table.column("姓名").to_pylist() == ["唐波", "唐秀"]
    assert ft.table.column("_source_row").to_pylist() == [4, 5]  # as Excel shows them
    assert ft.title and "2025年10月" in ft.title and ft.dropped_footer == [6]


def test_html_and_spreadsheetml_saved_as_xls_are_read(tmp_path: Path):
    cells = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in ROSTER[1:4])
    html = f'<html><head><meta charset="gb2312"></head><body><table>{cells}</table></body></html>'
    (tmp_path / "a.xls").write_bytes(html.encode("gb18030"))
    ft = read_file(tmp_path / "a.xls")
    assert ft.table.column("姓名").to_pylist() == ["唐波", "唐秀"]
    assert any("网页表格" in n for n in ft.notes)
    rows = "".join(
        "<Row>" + "".join(f'<Cell><Data ss:Type="String">{v}</Data></Cell>' for v in row) + "</Row>"
        for row in ROSTER[1:4]
    )
    xml = (
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="低保">'
        f"<Table>{rows}</Table></Worksheet></Workbook>"
    )
    (tmp_path / "b.xls").write_text(xml, encoding="utf-8")
    ft = read_file(tmp_path / "b.xls")
    assert ft.sheet == "低保" and ft.table.column("身份证号").to_pylist()[1] == "650105198203042345"
    wb = openpyxl.Workbook()
    for row in ROSTER[1:4]:
        wb.active.append(row)
    wb.save(tmp_path / "c.xls")  # an .xlsx under an .xls name
    ft = read_file(tmp_path / "c.xls")
    assert ft.table.num_rows == 2 and any("实为Excel 工作簿" in n for n in ft.notes)


def test_a_workbook_with_one_sheet_per_community_loads_as_one_batch(hub_home, tmp_path: Path):
    """An .xls 花名册 as street offices send it: a 填表说明 sheet, then one sheet per community
    in the same layout; registered and run the way a data team does it."""
    xlwt = pytest.importorskip("xlwt")
    from tests.conftest import hub_cli

    wb = xlwt.Workbook(encoding="utf-8")
    wb.add_sheet("填表说明").write(0, 0, "请按社区分表填写，身份证号须为 18 位")
    people = {
        "幸福社区": [
            ("周明", make_id("330199", date(1950, 1, 1), 123)),
            ("周丽", make_id("330199", date(1952, 3, 4), 234)),
        ],
        "和平社区": [("吴刚", make_id("330199", date(1945, 6, 7), 123)), ("吴芳", "不详")],
    }
    for community, rows in people.items():
        ws = wb.add_sheet(community)
        ws.write(0, 0, f"{community}高龄老人花名册（2025年11月）")
        for j, h in enumerate(["序号", "姓名", "身份证号", "联系电话"]):
            ws.write(1, j, h)
        for i, (name, cid) in enumerate(rows):
            for j, v in enumerate([str(i + 1), name, cid, "13900000000"]):
                ws.write(2 + i, j, v)
    late = wb.add_sheet("补报")  # a sheet in another layout: named in the notes, not lost quietly
    for j, h in enumerate(["序号", "姓名", "身份证号", "备注"]):
        late.write(0, j, h)
    late.write(1, 1, "迟报人")
    path = tmp_path / "街道_高龄老人花名册.xls"
    wb.save(str(path))
    assert any("「补报」的表头" in n for n in read_file(path).notes)
    data, schemas = hub_home.data, hub_home.schemas
    doc = json.loads(
        hub_cli(
            [
                "source",
                "add",
                str(path),
                "--department",
                "街道",
                "--name",
                "jiedao_gaoling",
                "--json",
            ],
            data,
            schemas,
        ).stdout
    )
    assert doc["department"] == "街道办事处"
    mapped = {c["header"]: c.get("field") for c in doc["columns"]}
    assert mapped["工作表"] == "community_code" and mapped["身份证号"] == "citizen_id"
    (hub_home.incoming).mkdir(parents=True, exist_ok=True)
    (hub_home.incoming / "街道_高龄老人花名册_202511.xls").write_bytes(path.read_bytes())
    hub_cli(["run", "--json", "--no-gx"], data, schemas, check=False)
    import duckdb

    with duckdb.connect(str(hub_home.warehouse), read_only=True) as con:
        staged = con.execute(
            "SELECT name, community_code, _source_row FROM staged.jiedao_gaoling ORDER BY 3"
        ).fetchall()
        flagged = con.execute(
            "SELECT r.工作表, i.source_row, i.field FROM quarantine.issues i "
            "JOIN raw.jiedao_gaoling r ON r._batch_id = i.batch_id AND r._source_row = i.source_row "
            "WHERE i.source = 'jiedao_gaoling'"
        ).fetchall()
        batch = con.execute(
            "SELECT rows, observed_at FROM raw._batches WHERE source = 'jiedao_gaoling'"
        ).fetchall()
    codes = {c.name: c.code for c in load_registry(schemas).orgs.communities}
    xingfu, heping = codes["幸福社区"], codes["和平社区"]
    # every row keeps its sheet and row: 10,000,000 × the sheet's position + its row
    assert staged == [
        ("周明", xingfu, 10000003),
        ("周丽", xingfu, 10000004),
        ("吴刚", heping, 20000003),
        ("吴芳", heping, 20000004),
    ]
    assert ("和平社区", 20000004, "citizen_id") in flagged
    assert batch == [(4, batch[0][1])] and str(batch[0][1]).startswith("2025-11")


# A district the sample never saw, as NBS lists it: streets, towns, communities and villages
DISTRICT_LIST = [
    ("001", "西山街道办事处", ["和平社区居民委员会", "友好社区居委会", "雅山社区居民委员会"]),
    ("002", "八一街道", ["八一社区居民委员会", "青峰社区居民委员会", "仓房沟社区居委会"]),
    ("003", "炉院街街道办事处", ["炉院街社区居民委员会", "平顶山社区居民委员会"]),
    ("100", "乌昌镇", ["红旗村村民委员会", "胜利村村民委员会", "乌昌社区居民委员会"]),
]
# the six files, registered as a data team would type the departments
DEPARTMENT_FILES = {
    "公安_": ("公安", "hukou", "gongan_household"),
    "民政_": ("民政局", "dibao", "minzheng_dibao"),
    "残联_": ("残联", "disabled", "canlian_disabled"),
    "卫健_": ("卫健委", "elderly", "weijian_elderly"),
    "人社_": ("人社局", "pension", "renshe_pension"),
    "退役军人_": ("退役军人事务局", "veterans", "tuiyi_veterans"),
}


def nbs_rows() -> list[tuple[str, ...]]:
    rows = [("统计用区划代码", "城乡分类代码", "名称"), ("650105000000", "", "沙依巴克区")]
    for street, name, units in DISTRICT_LIST:
        rows.append((f"650105{street}000", "", name))
        for i, unit in enumerate(units, 1):
            village = "村民" in unit
            rows.append(
                (
                    f"650105{street}{200 + i if village else i:03d}",
                    "220" if village else "111",
                    unit,
                )
            )
    return rows


def linkage_scores(folder: Path) -> dict[str, float]:
    """Pairwise precision / recall / F1 of the persons against the generator's truth."""
    import duckdb

    from hub.link.bench import pair_scores

    with duckdb.connect() as con:
        con.execute(f"ATTACH '{folder / 'data' / 'warehouse.duckdb'}' AS w (READ_ONLY)")
        con.execute(
            "CREATE TEMP VIEW assigned AS SELECT b.file_name || ':' || l.source_row AS record_key, "
            "l.person_id AS person FROM w.core.links l JOIN w.raw._batches b USING (batch_id)"
        )
        con.execute(
            "CREATE TEMP VIEW truth AS SELECT file || ':' || source_row AS record_key, "
            f"citizen_id AS person FROM read_csv('{folder / 'inbox' / 'truth' / 'rows.csv'}', "
            "all_varchar = true)"
        )
        return pair_scores(con)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_new_district_goes_live_on_its_own_files(tmp_path: Path, seed: int):
    """hub init → orgunits import → source add --yes for six adversarial department files →
    hub run, with no YAML edited by hand, at 20,000 residents."""
    import duckdb

    from hub.sample.adversity import PLAIN_HEADERS
    from hub.sample.errors import UNKNOWN_SPELLINGS

    folder, _ = init_shayibake(tmp_path)
    nbs = write_csv(tmp_path / "统计用区划代码.csv", nbs_rows())
    in_deployment(folder, ["orgunits", "import", str(nbs)])
    in_deployment(
        folder,
        [
            "sample",
            "--residents",
            "20000",
            "--seed",
            str(seed),
            "--adversarial",
            "--out",
            str(folder / "inbox"),
        ],
    )
    files = sorted(p for p in (folder / "inbox").iterdir() if p.is_file())
    assert len(files) == 6
    for f in files:
        department, name, spec = next(
            v for k, v in DEPARTMENT_FILES.items() if f.name.startswith(k)
        )
        doc = json.loads(
            in_deployment(
                folder,
                [
                    "source",
                    "add",
                    str(f),
                    "--department",
                    department,
                    "--name",
                    name,
                    "--yes",
                    "--json",
                ],
            ).stdout
        )
        plain = {h: fld for (src, fld), h in PLAIN_HEADERS.items() if src == spec}
        for c in doc["columns"]:  # every address and community column mapped
            leaf = c["header"].split("/")[-1]
            if leaf in plain:  # 地址, AAE006, 所在地: by content where the header says little
                assert c.get("field") == plain[leaf], (f.name, c)
            if "地址" in c["header"] or "住址" in c["header"]:
                assert c.get("field") in ("current_address", "registered_address"), (f.name, c)
            if "社区" in c["header"]:
                assert c.get("field") == "community_code", (f.name, c)
        assert plain.keys() <= {c["header"].split("/")[-1] for c in doc["columns"]}
        (folder / "data" / "incoming" / f.name).write_bytes(f.read_bytes())
    run = in_deployment(folder, ["run", "--json"], check=False)
    assert run.returncode == 0, run.stderr
    reg = load_registry(folder / "schemas")
    for f in ("name", "gender", "birth_date", "relation_to_head", "registered_address"):
        assert reg.authority_sources(f) == ["hukou"], f
    with duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True) as con:
        unknown = {
            v
            for (v,) in con.execute(
                "SELECT DISTINCT value FROM quarantine.issues "
                "WHERE field = 'relation_to_head' AND rule = 'code_unknown'"
            ).fetchall()
        }
        batches = con.execute("SELECT file_name, observed_at, notes FROM raw._batches").fetchall()
        not_authority = con.execute(
            "SELECT count(*) FROM core.provenance p WHERE p.field = 'name' AND p.selected "
            "AND p.source <> 'hukou' AND p.person_id IN (SELECT person_id FROM core.links "
            "WHERE source = 'hukou')"
        ).fetchall()[0][0]
    assert unknown <= set(UNKNOWN_SPELLINGS), unknown  # only the injected nonsense
    assert not_authority == 0  # the roster's name stands for everyone it lists
    for file_name, observed, notes in batches:  # periods from the file names
        ym = file_name.rsplit("_", 1)[1][:6]
        assert f"{observed:%Y%m}" == ym and not any("按加载日期" in n for n in notes), file_name
    scores = linkage_scores(folder)
    print(f"seed {seed}: {scores}")
    assert scores["f1"] >= 0.995, scores


def test_a_street_renamed_or_removed_never_locks_the_deployment(deployment: Path, tmp_path: Path):
    """A source registered under a street office stays loadable after the street is renamed
    (the old name stays an alias); removing the street waits until the source is changed."""
    in_deployment(deployment, ["orgunits", "import", str(write_csv(tmp_path / "a.csv", NBS))])
    cid = make_id("650105", date(1980, 1, 2), 11)
    f = write_csv(deployment / "走访_a_202510.csv", [("姓名", "身份证号"), ("张三", cid)], "utf-8")
    add = ["source", "add", str(f), "--department", "西山街道", "--name", "visits", "--yes"]
    in_deployment(deployment, add)
    renamed = [r if r[0] != "650105001000" else (r[0], "", "西山新街道") for r in NBS]
    in_deployment(deployment, ["orgunits", "import", str(write_csv(tmp_path / "b.csv", renamed))])
    assert in_deployment(deployment, ["status"]).returncode == 0
    removed = [r for r in renamed if not r[0].startswith("650105001")]
    gone = in_deployment(
        deployment, ["orgunits", "import", str(write_csv(tmp_path / "c.csv", removed))], False
    )
    assert gone.returncode == 1 and "sources/visits.yaml 的 department" in gone.stderr
    assert "西山新街道" in (deployment / "schemas" / "orgunits.yaml").read_text("utf-8")
    again = in_deployment(deployment, [*add[:-3], "--name", "visits2", "--yes"], check=False)
    assert again.returncode == 2 and "已属于来源 visits" in again.stderr


def test_init_and_sample_refuse_what_cannot_work(tmp_path: Path):
    wide = in_deployment(tmp_path, ["init", "w", "--district", "６５０１０５", "--name", "甲"])
    assert "（650105）" in wide.stdout  # full-width digits typed in a CJK IME
    city = in_deployment(tmp_path, ["init", "c", "--district", "650100", "--name", "乙"], False)
    assert city.returncode == 2 and "不是区县代码" in city.stderr
    early = in_deployment(tmp_path / "w", ["sample", "-n", "10", "--out", "x"], check=False)
    assert early.returncode == 2 and "hub orgunits import" in early.stderr


def test_dates_that_are_not_the_ids_birth_dates_are_not_birth_date(registry):
    import pyarrow as pa

    from hub.mapping.suggest import suggest_columns

    ids = [make_id("330199", date(1950 + i, 1 + i % 12, 1 + i % 28), 11 + i) for i in range(30)]
    t = pa.table({"身份证号": ids, "出生日期": [f"2024-0{1 + i % 9}-1{i % 9}" for i in range(30)]})
    got = {c.header: c.field for c in suggest_columns(t, t.column_names, registry)}
    assert got == {"身份证号": "citizen_id", "出生日期": None}  # 登记日期 under a wrong header


def test_a_community_name_two_streets_share_still_marks_a_community_column(registry):
    import pyarrow as pa

    from hub.mapping.suggest import suggest_columns

    orgs = registry.orgs
    name = orgs.streets[0].communities[0].name
    other = orgs.streets[1]
    moved = other.model_copy(
        update={"communities": [other.communities[0].model_copy(update={"name": name})]}
    )
    twice = orgs.model_copy(update={"streets": [orgs.streets[0], moved, *orgs.streets[2:]]})
    reg = dataclasses.replace(registry, orgs=twice)
    t = pa.table({"姓名": ["张三"] * 20, "所在地": [name] * 20})
    assert [c.field for c in suggest_columns(t, t.column_names, reg)] == ["name", "community_code"]


def test_a_community_name_two_streets_share_is_told_apart_by_the_address(
    deployment: Path, tmp_path: Path
):
    import duckdb

    twice = [*NBS, ("650105002003", "111", "和平社区居民委员会")]  # a 和平社区 in each street
    in_deployment(deployment, ["orgunits", "import", str(write_csv(tmp_path / "a.csv", twice))])
    rows = [("姓名", "身份证号", "现住址", "所属社区")]
    for i, street in enumerate(["西山街道", "八一街道", "西山街道"]):
        cid = make_id("650105", date(1960 + i, 3, 4), 21 + i)
        rows.append(
            (
                f"张{'一二三'[i]}",
                cid,
                f"乌鲁木齐市沙依巴克区{street}和平社区和平路{i}号",
                "和平社区",
            )
        )
    f = write_csv(deployment / "民政_和平_202510.csv", rows, "utf-8")
    add = ["source", "add", str(f), "--department", "民政", "--name", "heping", "--yes", "--json"]
    doc = json.loads(in_deployment(deployment, add).stdout)
    assert {c["header"]: c["field"] for c in doc["columns"]}["所属社区"] == "community_code"
    (deployment / "data" / "incoming" / f.name).write_bytes(f.read_bytes())
    in_deployment(deployment, ["run", "--no-gx"])
    with duckdb.connect(str(deployment / "data" / "warehouse.duckdb"), read_only=True) as con:
        got = con.execute(
            "SELECT community_code FROM staged.heping ORDER BY _source_row"
        ).fetchall()
    assert [c for (c,) in got] == ["650105001001", "650105002003", "650105001001"]


def test_a_utf8_mark_before_gb18030_text_reads_as_gb18030(tmp_path: Path):
    path = tmp_path / "民政_低保_202510.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "姓名,身份证号\n唐波,650105198001011234\n".encode("gb18030"))
    ft = read_file(path)
    assert (ft.encoding, ft.headers) == ("gb18030", ["姓名", "身份证号"])
    assert ft.table.column("姓名").to_pylist() == ["唐波"]

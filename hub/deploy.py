"""A new deployment (`hub init`): the generic registries, the district's empty org-unit tree,
an empty data folder and the Dagster workspace, in one folder a data team owns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hub.atomic import write_text
from hub.registry.files import copy_defaults
from hub.registry.models import to_halfwidth
from hub.settings import Settings

WORKSPACE = """\
# dagster dev, run in this folder, loads the hub's code location over this folder's
# schemas/ and data/ (paths come from the working directory).
load_from:
  - python_module:
      module_name: pipelines.definitions
      working_directory: .
"""
GITIGNORE = "# residents' data never goes into version control\ndata/\n"


class InitError(ValueError):
    """The folder cannot become this district's deployment; the message says why."""


@dataclass
class Deployment:
    root: Path
    district: str
    name: str
    written: list[Path] = field(default_factory=list)
    existed: bool = False


def district_code(code: str, name: str) -> tuple[str, str]:
    """A district's code and name as typed, checked (InitError says what is wrong)."""
    code, name = to_halfwidth(code).strip(), name.strip()  # ６５０１０５ typed in a CJK IME
    if not re.fullmatch(r"\d{6}", code):
        raise InitError(f"区县代码应为 6 位数字（GB/T 2260，如 650105），收到 {code!r}")
    if code.endswith("00") or code[:2] == "00":
        # 650100 is the city, 650000 the region: a deployment is one county-level district
        raise InitError(
            f"{code} 不是区县代码（末两位为 00 的是地级市或省级代码），请给出区县的 6 位代码"
        )
    if not name:
        raise InitError("请用 --name 给出区县名称，如 沙依巴克区")
    if not name.isprintable() or any(ch in name for ch in ":#{}[]'\"\\"):
        raise InitError(f"区县名称只能是文字，不能含换行、引号或 :#{{}}[] 等符号：{name!r}")
    return code, name


def empty_tree(code: str, name: str, province: str, city: str) -> str:
    """orgunits.yaml of a district whose streets are yet to be imported."""
    tree = {"district": {"code": code, "name": name, "province": province, "city": city}}
    return (
        f"# {name}（{code}）的行政区划：用 hub orgunits import 统计用区划代码表 导入街道和社区。\n"
        + yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
        + "streets: []\n"
    )


def init_deployment(
    root: Path, code: str, name: str, province: str = "", city: str = ""
) -> Deployment:
    """Write (or complete) a deployment for district `code` under `root`. Re-running it is
    safe: files already there are kept, and a folder of another district is refused."""
    code, name = district_code(code, name)
    if root.exists() and not root.is_dir():
        raise InitError(f"{root} 是一个文件，不是目录：请换一个目录名")
    try:
        return _write(root, code, name, province, city)
    except OSError as exc:
        raise InitError(
            f"无法写入 {root}：{exc.strerror or exc}（检查目录权限和磁盘空间）"
        ) from exc


def _write(root: Path, code: str, name: str, province: str, city: str) -> Deployment:
    settings = Settings(schemas=root / "schemas", data=root / "data")
    orgunits = settings.schemas / "orgunits.yaml"
    dep = Deployment(root=root, district=code, name=name, existed=orgunits.exists())
    if dep.existed:
        doc = yaml.safe_load(orgunits.read_text(encoding="utf-8")) or {}
        have = str((doc.get("district") or {}).get("code", ""))
        if have != code:
            raise InitError(f"{root} 已是区县 {have} 的部署，不能再初始化为 {code}")
        dep.name = str((doc.get("district") or {}).get("name", name))  # the tree's name stands
    else:
        write_text(orgunits, empty_tree(code, name, province, city))
        dep.written.append(orgunits)
    dep.written += copy_defaults(settings.schemas)
    for folder in ("sources", "shares"):
        (settings.schemas / folder).mkdir(parents=True, exist_ok=True)
    settings.ensure()
    for rel, text in (("workspace.yaml", WORKSPACE), (".gitignore", GITIGNORE)):
        if not (root / rel).exists():
            write_text(root / rel, text)
            dep.written.append(root / rel)
    return dep

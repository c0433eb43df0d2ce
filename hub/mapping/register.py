"""Write a source registration (`schemas/sources/<name>.yaml`) from a reviewed suggestion.

The YAML is meant to be read and edited by people: one line per column, with the evidence
for its mapping as a comment beside it.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

from hub.ingest.period import find_period, without_period
from hub.ingest.read import ReadError, file_format
from hub.mapping.suggest import ColumnSuggestion, Suggestion
from hub.registry.errors import RegistryError
from hub.registry.loader import load_registry

_PLAIN = re.compile(r"^[\w\u4e00-\u9fff（）()·/\-]+$")


def file_pattern(file_name: str) -> str:
    """The file-name pattern later files of this table will match.

    Example:
        >>> file_pattern("民政_城市低保花名册_202510.xlsx")
        '民政_城市低保花名册_*.xlsx'
    """
    stem, dot, suffix = file_name.rpartition(".")
    if not dot:
        stem, suffix = file_name, ""
    found = find_period(stem)  # the period changes with every file: a wildcard
    pattern = f"{stem[: found[1].start()]}*{stem[found[1].end() :]}" if found else stem + "*"
    return pattern + (f".{suffix}" if suffix else "")


def extension_name(header: str, taken: set[str]) -> str:
    """An ASCII snake_case name for a column kept as is: its header in pinyin (备注 -> bei_zhu)."""
    from pypinyin import lazy_pinyin

    leaf = header.split("/")[-1]
    words = [re.sub(r"[^a-z0-9]", "", w.lower()) for w in lazy_pinyin(leaf)]
    name = "_".join(w for w in words if w)[:40].strip("_") or "column"
    if not name[0].isalpha():
        name = f"col_{name}"
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def render_source(
    s: Suggestion,
    name: str,
    department: str,
    title: str | None = None,
    owner: str | None = None,
) -> str:
    """The registration YAML text for a reviewed suggestion."""
    title = title or without_period(s.title or "") or without_period(Path(s.file).stem) or name
    try:
        fmt = file_format(Path(s.file))
    except ReadError:
        fmt = "csv"
    lines = [
        f"# {department}《{title}》",
        f"# 由 hub source add 根据文件 {s.file} 生成（{date.today().isoformat()}），",
        "# 每列右侧的注释是映射依据；修改后运行 hub run 即生效。",
        f"name: {name}",
        f"department: {_scalar(department)}",
        f"title: {_scalar(title)}",
        "entity: person",
        f"file_pattern: [{_scalar(file_pattern(s.file))}]",
        f"format: {fmt}",
        "encoding: auto  # 每次加载都会重新识别编码",
        "header: auto    # 每次加载都会重新识别表头行、合并表头和表尾",
        "period: monthly",
    ]
    if owner:
        lines.append(f"owner: {_scalar(owner)}")
    if s.sheet:
        lines.append(f"sheet: {_scalar(s.sheet)}")
    lines.append("columns:")
    names = s.extension_names()
    for i, c in enumerate(s.columns):
        lines.append(_column_line(c, names.get(i)))
    return "\n".join(lines) + "\n"


def _column_line(c: ColumnSuggestion, extension: str | None) -> str:
    target = f"field: {c.field}" if c.field else f"extension: {extension}"
    if c.field and c.fallback_of:
        target += ", fallback: true"
    why = "；".join(e for e in c.evidence if e).replace("\n", " ")
    return f"  - {{header: {_scalar(c.header)}, {target}}}  # {c.confidence:.2f} {why}"


def _scalar(text: str) -> str:
    """A YAML scalar: plain where that is unambiguous, else double-quoted."""
    if _PLAIN.match(text) and not text[0].isdigit() and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


_YAML_WORDS = {"yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"}


def write_source(schemas: Path, name: str, text: str, overwrite: bool = False) -> Path:
    """Write `sources/<name>.yaml` only if the whole registry still loads with it."""
    target = schemas / "sources" / f"{name}.yaml"
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"来源 {name} 已登记（{target.name}）；换一个名称，或删除原登记后重试"
        )
    tmp = target.with_name(f".{name}.yaml.new")
    tmp.write_text(text, encoding="utf-8")
    backup = target.read_bytes() if target.exists() else None
    try:
        os.replace(tmp, target)
        load_registry(schemas)
    except RegistryError:
        if backup is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(backup)
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return target

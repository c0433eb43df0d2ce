"""Spellings a district added to its code lists (`hub codes add`), kept in one file apart from
the national lists: `schemas/code_synonyms.yaml`, list name -> {spelling: code}.

The loader folds them into the lists, so every reader — staging, the form, reports — accepts
them exactly as if the list had always had them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hub.atomic import write_text
from hub.registry.errors import RegistryError
from hub.registry.models import CodeList, normalize_code_key

FILE = "code_synonyms.yaml"
HEADER = (
    "# 各部门文件中见到的代码写法 → 代码（由 hub codes add 写入，也可手工增删）。\n"
    "# 代码表名: {写法: 代码}\n"
)


def path_of(root: Path) -> Path:
    return root / FILE


def read_synonyms(root: Path) -> dict[str, dict[str, str]]:
    path = path_of(root)
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise RegistryError(path, "", "应为「代码表名: {写法: 代码}」的形式")
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in doc.items()}


def with_synonyms(root: Path, codelists: dict[str, CodeList]) -> dict[str, CodeList]:
    """The code lists with the district's spellings added (errors name file and key)."""
    path, out = path_of(root), dict(codelists)
    for name, spellings in read_synonyms(root).items():
        if name not in out:
            raise RegistryError(path, name, f"没有代码表 {name!r}")
        cl = out[name]
        known = cl.lookup()
        entries = [e.model_copy(deep=True) for e in cl.entries]
        by_code = {e.code: e for e in entries}
        for spelling, code in spellings.items():
            if code not in by_code:
                raise RegistryError(
                    path, f"{name}.{spelling}", f"《{cl.label}》中没有代码 {code!r}"
                )
            already = known.get(normalize_code_key(spelling))
            if already not in (None, code):
                raise RegistryError(
                    path,
                    f"{name}.{spelling}",
                    f"「{spelling}」已表示代码 {already}，不能再指向 {code}",
                )
            if already is None:
                by_code[code].synonyms.append(spelling)
                known[normalize_code_key(spelling)] = code
        out[name] = cl.model_copy(update={"entries": entries})
    return out


def add_synonym(root: Path, codelist: CodeList, spelling: str, code: str) -> bool:
    """Record `spelling` as `code` in `codelist`; False if the list already reads it so.
    Raises ValueError (in Chinese) for an unknown code or a spelling taken by another code."""
    spelling = spelling.strip()
    if not spelling:
        raise ValueError("写法不能为空")
    codes = {e.code: e.label for e in codelist.entries}
    if code not in codes:
        raise ValueError(
            f"《{codelist.label}》中没有代码 {code!r}（可用：{'、'.join(f'{c} {t}' for c, t in codes.items())}）"
        )
    already = codelist.lookup().get(normalize_code_key(spelling))
    if already == code:
        return False
    if already is not None:
        raise ValueError(f"「{spelling}」已表示 {already} {codes[already]}，不能再指向 {code}")
    doc: dict[str, Any] = read_synonyms(root)
    doc.setdefault(codelist.name, {})[spelling] = code
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=True, default_flow_style=False)
    write_text(path_of(root), HEADER + body)
    return True

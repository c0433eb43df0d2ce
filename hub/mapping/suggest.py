"""Propose a field for every column of a department file, with confidence and evidence.

Example:
    >>> s = suggest_file(Path("data/sample/民政_城市低保花名册_202510.xlsx"), registry)
    >>> [(c.header, c.field) for c in s.columns][:2]
    [('序号', None), ('户主姓名', 'household_head_name')]
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from hub.ingest.read import read_file
from hub.mapping.headers import HeaderMatcher
from hub.mapping.profile import ColumnProfile, profile_columns
from hub.mapping.score import (
    ContentEvidence,
    address_only,
    combine,
    content_evidence,
    content_only,
)
from hub.normalize.macros import register_macros
from hub.registry.loader import Registry


@dataclass
class ColumnSuggestion:
    """`field` None proposes an extension column; `confidence` is then how sure the hub is
    that no core field fits (1 - the best candidate's confidence)."""

    header: str
    field: str | None
    confidence: float
    evidence: list[str] = dc_field(default_factory=list)
    fallback_of: str | None = None  # the earlier column with the same field
    # for the review: the fields this column could be, best first, and what its values hold
    candidates: list[tuple[str, float]] = dc_field(default_factory=list)
    profile: ColumnProfile | None = None

    def codelist_fit(self, registry: Registry, field: str) -> float | None:
        """Share of the sampled values that a code-list field's list reads; None for other fields
        or a header-only suggestion."""
        f = registry.fields[field]
        if not f.codelist or self.profile is None or not self.profile.filled:
            return None
        return self.profile.codelists.get(f.codelist, (0.0, 0.0))[0]


@dataclass
class Suggestion:
    file: str
    encoding: str | None
    sheet: str | None
    header_row: int
    header_rows: int
    title: str | None
    rows: int
    columns: list[ColumnSuggestion]

    def to_json(self) -> dict[str, Any]:
        """The documented `hub source suggest --json` shape: an extension column carries the
        name it will be registered under."""
        names = self.extension_names()
        return {
            "file": self.file,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "columns": [
                {
                    "header": c.header,
                    "field": c.field,
                    **({"extension": names[i]} if i in names else {}),
                    "confidence": c.confidence,
                    "evidence": c.evidence,
                }
                for i, c in enumerate(self.columns)
            ],
        }

    def extension_names(self) -> dict[int, str]:
        """column position -> the snake_case name `source add` registers an extension under."""
        from hub.mapping.register import extension_name  # register renders suggestions

        taken: set[str] = set()
        return {
            i: extension_name(c.header, taken) for i, c in enumerate(self.columns) if not c.field
        }


@dataclass
class _Candidate:
    column: int
    field: str
    confidence: float
    evidence: list[str]
    by_header: bool = True  # False: the values alone suggested it


def suggest_file(path: Path, registry: Registry, sheet: str | int | None = None) -> Suggestion:
    """Read `path` as ingestion does, profile its columns and propose their fields."""
    ft = read_file(path, sheet=sheet)
    columns = suggest_columns(ft.table, ft.headers, registry)
    return Suggestion(
        file=path.name,
        encoding=ft.encoding,
        sheet=ft.sheet,
        header_row=ft.header.row,
        header_rows=ft.header.rows,
        title=ft.title,
        rows=ft.table.num_rows,
        columns=columns,
    )


def suggest_columns(
    table: pa.Table | None, headers: list[str], registry: Registry
) -> list[ColumnSuggestion]:
    """Proposals for `headers`; with `table` None only the headers are used."""
    matcher = HeaderMatcher(registry)
    profiles: list[ColumnProfile | None] = [None] * len(headers)
    if table is not None:
        with duckdb.connect() as con:
            register_macros(con)
            profiles = list(
                profile_columns(con, table, headers, registry, _own_id_column(headers, matcher))
            )
    candidates = [
        c
        for i, (h, p) in enumerate(zip(headers, profiles, strict=True))
        for c in _candidates(i, h, p, registry, matcher)
    ]
    _head_block(headers, candidates)
    out = assign(headers, candidates, registry.mapping.threshold, matcher)
    for i, c in enumerate(out):
        ranked = sorted((x for x in candidates if x.column == i), key=lambda x: -x.confidence)
        c.candidates = [(x.field, x.confidence) for x in ranked]
        c.profile = profiles[i]
    return out


def _own_id_column(headers: list[str], matcher: HeaderMatcher) -> str | None:
    """The column whose header names the resident's own ID (not the household head's)."""
    for h in headers:
        best = matcher.candidates(h)[:1]
        if best and best[0].field == "citizen_id" and best[0].score >= 0.85:
            return h
    return None


def _candidates(
    i: int, header: str, p: ColumnProfile | None, registry: Registry, matcher: HeaderMatcher
) -> list[_Candidate]:
    if matcher.is_ignored(header):
        return []
    out: dict[str, _Candidate] = {}
    overruled: list[str] = []  # header evidence the values contradict, worth telling
    for m in matcher.candidates(header):
        f = registry.fields[m.field]
        ce = content_evidence(p, f, registry) if p else ContentEvidence(None, None)
        conf = combine(m.score, ce, f.content_kind)
        out[f.name] = _Candidate(
            i, f.name, conf, [m.evidence, *([ce.evidence] if ce.evidence else [])]
        )
        if m.score >= 0.85 and ce.share is not None and conf < m.score * 0.6:
            overruled.append(f"表头像 {f.name}，但{ce.evidence}，与之不符")
    if p is not None and not matcher.names_other_person(header):
        address = matcher.address_by_content(header)
        for f in registry.fields.values():
            conf = content_only(p, f, registry)
            if f.content_kind == "address" and f.name == address:
                conf = address_only(p)
            if conf and conf > (out[f.name].confidence if f.name in out else 0):
                ce = content_evidence(p, f, registry)
                lead = overruled or ["表头未提供线索，依据内容判断"]
                out[f.name] = _Candidate(i, f.name, conf, [ce.evidence or "", *lead], False)
    return list(out.values())


def _head_block(headers: list[str], candidates: list[_Candidate]) -> None:
    """户主姓名 | 身份证号码 | … | 姓名 | 称谓: a sheet with a head block and then a member block;
    the ID between the head's name and the members' names is the head's."""
    best: dict[int, _Candidate] = {}
    for c in candidates:
        if c.by_header and (c.column not in best or c.confidence > best[c.column].confidence):
            best[c.column] = c
    fields = [best[i].field if i in best else None for i in range(len(headers))]
    if "household_head_id" in fields or "household_head_name" not in fields:
        return
    start = fields.index("household_head_name")
    ids = [i for i in range(start + 1, len(fields)) if fields[i] == "citizen_id"]
    names = [i for i in range(start + 1, len(fields)) if fields[i] == "name"]
    if not ids or not names or ids[0] > names[0]:
        return
    c = best[ids[0]]
    why = f"在「{headers[start]}」之后、成员「{headers[names[0]]}」之前：是户主的身份证号"
    candidates.append(_Candidate(c.column, "household_head_id", c.confidence, [*c.evidence, why]))
    c.confidence = round(c.confidence * 0.5, 3)


FALLBACK_MIN = 0.85  # a second column for a taken field must be this sure to back it up


def assign(
    headers: list[str], candidates: list[_Candidate], threshold: float, matcher: HeaderMatcher
) -> list[ColumnSuggestion]:
    """Best candidates first; a field goes to one column. A column whose best field is taken
    backs that column up (fallback) if it is as sure as an exact header, else it says why
    it is not mapped."""
    ranked = sorted(candidates, key=lambda c: (-c.confidence, c.column))
    best_of = {c.column: c for c in reversed(ranked)}
    chosen: dict[int, _Candidate] = {}
    backup: dict[int, int] = {}  # column -> the earlier column it backs up
    taken: dict[str, int] = {}
    notes: dict[int, list[str]] = {i: [] for i in range(len(headers))}
    for c in ranked:
        if c.confidence < threshold or c.column in chosen:
            continue
        if c.field in taken:
            first = taken[c.field]
            if (
                c is best_of[c.column]
                and c.by_header
                and c.confidence >= FALLBACK_MIN
                and first < c.column
            ):
                chosen[c.column], backup[c.column] = c, first
                continue
            notes[c.column].append(
                f"也像 {c.field}（{c.confidence:.2f}），但该字段已由「{headers[first]}」列"
                "映射，不重复映射"
            )
            continue
        chosen[c.column], taken[c.field] = c, c.column
    out = []
    for i, h in enumerate(headers):
        if i in chosen:
            c = chosen[i]
            first_header = headers[backup[i]] if i in backup else None
            extra = (
                [
                    f"与「{first_header}」列同为 {c.field}：登记为 fallback，「{first_header}」为空时取本列"
                ]
                if first_header
                else []
            )
            out.append(
                ColumnSuggestion(
                    h, c.field, c.confidence, [*c.evidence, *extra, *notes[i]], first_header
                )
            )
            continue
        best = max(
            (c for c in candidates if c.column == i), key=lambda c: c.confidence, default=None
        )
        out.append(
            ColumnSuggestion(
                h,
                None,
                _extension_confidence(best),
                _extension_why(h, best, threshold, matcher) + notes[i],
            )
        )
    return out


def _extension_confidence(best: _Candidate | None) -> float:
    return round(1 - best.confidence, 3) if best else 1.0


def _extension_why(
    header: str, best: _Candidate | None, threshold: float, matcher: HeaderMatcher
) -> list[str]:
    if matcher.is_ignored(header):
        return [f"「{header}」是表格自身的辅助列，不对应居民信息，作为扩展列保留"]
    if best is None:
        return ["表头和内容都不对应任何标准字段，作为扩展列保留"]
    if best.confidence >= threshold:
        return [*best.evidence]
    return [
        *best.evidence,
        f"最接近 {best.field}，但置信度 {best.confidence:.2f} 低于 {threshold}，作为扩展列保留",
    ]

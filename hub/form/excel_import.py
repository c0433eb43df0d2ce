"""A filled template, compared with what it was prefilled with and turned into submissions.

Only the cells the worker changed are submitted (with the resident's identity keys, carried
for linkage only). An edited locked cell is reported at its row and cell and not taken. A
cell whose value the hub changed after the template was made is a conflict: the hub keeps its
newer value and the worker decides later (`hub.form.conflicts`). New residents in the blank
rows are submitted whole. Every submission is checked with the pipeline's rules first; a row
with an error is reported and not submitted (the worker fixes it and uploads again — rows
already taken in are recognised and not filed twice).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.form.conflicts import Conflict, record
from hub.form.consolidated import ConsolidatedForm, FormField
from hub.form.pending import current_people
from hub.form.prefill import (
    NOT_A_TEMPLATE,
    PREFILL_SHEET,
    Prefill,
    PrefillError,
    cell_text,
    read_prefill,
)
from hub.form.submissions import Submission, append_new
from hub.form.template import DATA_SHEET, HEADER_ROW
from hub.form.validate import check_submissions
from hub.form.values import IDENTITY, as_text, choices, form_values, locked
from hub.ingest.grid import Grid, read_xlsx_grid
from hub.publish.directory import Directory
from hub.registry.formsource import FORM_SOURCE, PERSON_REF, SUBMITTED_BY
from hub.registry.loader import Registry
from hub.settings import Settings


@dataclass
class CellIssue:
    row: int  # the row number in the file, as staff see it in Excel
    column: str  # the header in the file
    severity: str
    message: str
    value: str | None


@dataclass
class ImportResult:
    file: str
    community: str | None = None
    rejected: str | None = None  # why nothing of the file can be taken, if so
    rows: int = 0  # rows with content
    unchanged: int = 0  # prefilled residents the worker did not change
    changed: int = 0  # residents whose changes were submitted
    added: int = 0  # new residents submitted
    cells: int = 0  # changed cells submitted
    already: int = 0  # rows taken in by an earlier import of the same content
    not_taken: int = 0  # rows with an error: reported, not submitted
    issues: list[CellIssue] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k != "submissions"}
        doc["issues"] = [i.__dict__ for i in self.issues]
        doc["conflicts"] = [c.__dict__ for c in self.conflicts]
        return doc | {"accepted": self.rejected is None}


@dataclass
class _Sheet:
    prefill: Prefill
    headers: dict[str, int]  # header -> column index
    rows: list[tuple[int, list[str | None]]]  # (row number in the file, cells)


def import_template(
    settings: Settings,
    registry: Registry,
    form: ConsolidatedForm,
    path: Path,
    name: str,
    by: str,
    community: str | None = None,
) -> ImportResult:
    """Import a filled template of `community` (any community when None: the data team)."""
    out = ImportResult(name)
    try:
        sheet = _read(path, settings.secret(), form)
    except (PrefillError, ValueError) as exc:
        out.rejected = str(exc)
        return out
    out.community = sheet.prefill.community
    if community is not None and sheet.prefill.community != community:
        out.rejected = (
            f"这份模板属于{_community_name(registry, sheet.prefill.community)}，"
            "不能导入本社区：请下载本社区的模板"
        )
        return out
    if sheet.prefill.community not in {c.code for c in registry.orgs.communities}:
        out.rejected = f"模板所属社区 {sheet.prefill.community} 不是本区已登记的社区"
        return out
    _plan(out, sheet, settings, registry, form, by)
    _check(out, registry, form, sheet)
    _commit(out, settings, path, name)
    return out


def _read(path: Path, secret: str, form: ConsolidatedForm) -> _Sheet:
    try:
        import fastexcel

        names = fastexcel.read_excel(str(path)).sheet_names
        if DATA_SHEET not in names or PREFILL_SHEET not in names:
            raise PrefillError(NOT_A_TEMPLATE)
        data = read_xlsx_grid(path, DATA_SHEET)
        hidden = read_xlsx_grid(path, PREFILL_SHEET)
    except PrefillError:
        raise
    except Exception as exc:  # a damaged or non-Excel file: the reader's own error is English
        raise ValueError(
            f"无法读取 Excel 文件（{type(exc).__name__}）：请确认上传的是本系统下载的 .xlsx 模板"
        ) from None
    prefill = read_prefill(_all_rows(hidden), secret)
    rows = _all_rows(data)
    header_at = next((i for i, r in enumerate(rows) if PERSON_REF in r), None)
    if header_at is None:
        raise ValueError(f"「{DATA_SHEET}」工作表找不到表头（应在第 {HEADER_ROW + 1} 行）")
    headers = {str(h): j for j, h in enumerate(rows[header_at]) if h}
    missing = [f.label for f in form.fields if f.label not in headers]
    if missing:
        raise ValueError(f"模板缺少列：{'、'.join(missing)}（请不要删除或改名列）")
    numbers = data.row_numbers.to_pylist()
    body = [(numbers[i], r) for i, r in enumerate(rows) if i > header_at and any(r)]
    return _Sheet(prefill, headers, body)


def _all_rows(grid: Grid) -> list[list[str | None]]:
    return grid.head(grid.height)


def _plan(
    out: ImportResult,
    sheet: _Sheet,
    settings: Settings,
    registry: Registry,
    form: ConsolidatedForm,
    by: str,
) -> None:
    """Turn each row into a submission, an unchanged row, issues and conflicts."""
    community = sheet.prefill.community
    before_by_person = sheet.prefill.by_person()
    # what the hub holds now, web edits not yet run included: a change since the template
    # was made is a conflict, never overwritten
    directory = Directory(settings.published)
    people = {p["person_id"]: p for p in current_people(settings.submissions, directory, community)}
    for row, cells in sheet.rows:
        out.rows += 1
        text = {f.name: cell_text(f, cells[sheet.headers[f.label]]) for f in form.fields}
        ref = (cells[sheet.headers[PERSON_REF]] or "").strip()
        filler = (
            cells[sheet.headers[SUBMITTED_BY]] if SUBMITTED_BY in sheet.headers else None
        ) or ""
        origin = {"file": out.file, "row": row} | ({"filled_by": filler} if filler else {})
        if not ref:
            _new_resident(out, registry, form, community, row, text, by, origin)
            continue
        before = before_by_person.get(ref)
        person = people.get(ref) if before is not None else None
        if before is None or person is None:
            why = "人员编号不是本模板预填的居民" if before is None else "该居民已不在本社区"
            out.issues.append(CellIssue(row, PERSON_REF, "error", f"{why}，本行未导入", ref))
            out.not_taken += 1
            continue
        _changed_resident(out, registry, form, community, row, text, before, person, by, origin)


def _changed_resident(
    out: ImportResult,
    registry: Registry,
    form: ConsolidatedForm,
    community: str,
    row: int,
    text: dict[str, str],
    before: dict[str, str],
    person: dict[str, Any],
    by: str,
    origin: dict[str, Any],
) -> None:
    now = {f.name: _shown(registry, f, community, person.get(f.name)) for f in form.fields}
    changes: dict[str, str] = {}
    taken = False  # a change the hub already holds (this file imported before, say)
    for f in form.fields:
        cell, was = text[f.name], before.get(f.name, "")
        if cell == was or cell == now[f.name]:
            taken = taken or cell != was
            continue
        if locked(f, {f.name: was}):
            holder = "、".join(f.authority) or "已登记的信息"
            msg = f"「{f.label}」以{holder}为准，模板中不能修改；本格的改动未采用"
            out.issues.append(CellIssue(row, f.label, "error", msg, cell))
        elif not cell:
            msg = "清空单元格不会删除已登记的信息；本格未采用（如需更正请联系登记部门）"
            out.issues.append(CellIssue(row, f.label, "warning", msg, was))
        elif now[f.name] != was:
            out.conflicts.append(_conflict(out, community, person, f, row, cell, was, now, by))
            msg = f"模板生成后系统中已更新为「{now[f.name] or '（空）'}」，本格未采用：请在「待处理冲突」中确认"
            out.issues.append(CellIssue(row, f.label, "warning", msg, cell))
        else:
            changes[f.name] = _code(registry, f, community, cell)
    if not changes:
        if taken:
            out.already += 1
        else:
            out.unchanged += 1
        return
    identity = {k: v for k, v in form_values(form, person).items() if k in IDENTITY}
    sub = _submission(by, community, identity | changes, person["person_id"], list(changes), origin)
    out.submissions.append(sub)


def _new_resident(
    out: ImportResult,
    registry: Registry,
    form: ConsolidatedForm,
    community: str,
    row: int,
    text: dict[str, str],
    by: str,
    origin: dict[str, Any],
) -> None:
    values = {f.name: _code(registry, f, community, v) for f in form.fields if (v := text[f.name])}
    if values.get("community_code", community) != community:
        msg = "新增居民只能加入本社区，已按本社区处理"
        out.issues.append(CellIssue(row, "所属社区", "warning", msg, text.get("community_code")))
    values["community_code"] = community
    out.submissions.append(_submission(by, community, values, None, list(values), origin))


def _submission(
    by: str,
    community: str,
    values: dict[str, str],
    person_id: str | None,
    changed: list[str],
    origin: dict[str, Any],
) -> Submission:
    # the id is derived from the content: the same row imported twice is one submission
    key = json.dumps([community, person_id, values, changed], ensure_ascii=False, sort_keys=True)
    sid = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return Submission(by, community, values, person_id, sid, changed=changed, origin=origin)


def _conflict(
    out: ImportResult,
    community: str,
    person: dict[str, Any],
    f: FormField,
    row: int,
    cell: str,
    was: str,
    now: dict[str, str],
    by: str,
) -> Conflict:
    key = f"{community}|{person['person_id']}|{f.name}|{was}|{cell}|{now[f.name]}"
    return Conflict(
        id=hashlib.sha256(key.encode("utf-8")).hexdigest()[:32],
        community=community,
        person_id=person["person_id"],
        name=str(person.get("name") or ""),
        field=f.name,
        label=f.label,
        template_value=was,
        worker_value=cell,
        worker_code=cell,
        hub_value=now[f.name],
        file=out.file,
        row=row,
        by=by,
    )


def _check(out: ImportResult, registry: Registry, form: ConsolidatedForm, sheet: _Sheet) -> None:
    """The pipeline's rules on every submission; rows with an error are not submitted."""
    labels = {f.name: f.label for f in form.fields}
    kept = []
    for sub, found in zip(
        out.submissions, check_submissions(registry, out.submissions), strict=True
    ):
        row = int((sub.origin or {}).get("row", 0))
        for i in found:
            out.issues.append(
                CellIssue(row, labels.get(i.field, i.field), i.severity, i.message, i.value)
            )
        if any(i.severity == "error" for i in found):
            out.not_taken += 1
        else:
            kept.append(sub)
    out.submissions = kept
    for c in out.conflicts:  # what "采用模板中的值" would submit
        f = next(f for f in form.fields if f.name == c.field)
        c.worker_code = _code(registry, f, c.community, c.worker_value)
    out.issues.sort(key=lambda i: (i.row, i.column))


def _commit(out: ImportResult, settings: Settings, path: Path, name: str) -> None:
    """Store the new submissions and conflicts; keep the file as it came."""
    fresh = append_new(settings.submissions, out.submissions)
    out.already += len(out.submissions) - len(fresh)
    for sub in fresh:
        if sub.person_id is None:
            out.added += 1
        else:
            out.changed += 1
            out.cells += len(sub.changed or [])
    record(settings.form_conflicts, out.conflicts)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    folder = settings.archive / FORM_SOURCE
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha[:12]}_{Path(name).name}"
    if not target.exists():
        shutil.copyfile(path, target)


def _shown(registry: Registry, f: FormField, community: str, value: Any) -> str:
    """A golden-record value as the template shows it (labels for codes)."""
    options = dict(choices(registry, f, community))
    text = as_text(value)
    return cell_text(f, options.get(text, text) if options else value)


def _code(registry: Registry, f: FormField, community: str, cell: str) -> str:
    """What a cell submits: the code of a label chosen from a list, else the text as written
    (the pipeline reads synonyms and flags the rest)."""
    by_label = {label: code for code, label in choices(registry, f, community)}
    return by_label.get(cell, cell)


def _community_name(registry: Registry, code: str) -> str:
    name = next((c.name for c in registry.orgs.communities if c.code == code), None)
    return f"「{name}」" if name else f"社区 {code}"

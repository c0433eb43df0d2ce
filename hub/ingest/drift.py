"""Schema drift: a new file of a registered table whose columns differ from its registration.

A column may be new, missing or renamed. New columns are proposed a field (and always kept
in the raw layer); a renamed column is recognised when the proposal for a new column is the
field of a registered column that is missing, and its values load under that field; a file
missing a required column is not loaded at all (it stays in the incoming folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.ingest.read import FileTable
from hub.registry.loader import Registry
from hub.registry.models import Source


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # registered headers not in the file
    renamed: dict[str, str] = field(default_factory=dict)  # registered header -> file header
    missing_required: list[str] = field(default_factory=list)
    proposals: dict[str, tuple[str | None, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def detect_drift(src: Source, ft: FileTable, registry: Registry) -> Drift:
    """Compare the file's headers with the registration of `src`."""
    d = Drift()
    present = set(ft.headers)
    known: set[str] = set()
    for col in src.columns:
        known.update([col.header, *col.former_headers])
        if col.header in present:
            continue
        former = next((h for h in col.former_headers if h in present), None)
        if former:
            d.renamed[col.header] = former
        else:
            d.missing.append(col.header)
    d.added = [h for h in ft.headers if h not in known]
    if d.added:
        _propose(src, ft, registry, d)
    d.missing_required = [
        c.header
        for c in src.columns
        if c.header in d.missing and src.is_required(c, registry.fields)
    ]
    d.notes = _notes(src, registry, d)
    return d


def _propose(src: Source, ft: FileTable, registry: Registry, d: Drift) -> None:
    from hub.mapping.suggest import suggest_columns  # profiling only when columns changed

    # the new columns on their own (what each looks like, even if a registered column already
    # gives that field), with the ID column for birth-date and gender agreement
    id_col = src.column_for("citizen_id")
    anchor = [id_col.header] if id_col and id_col.header in ft.headers else []
    for s in suggest_columns(ft.table, [*anchor, *d.added], registry):
        if s.header in d.added:
            d.proposals[s.header] = (s.field, s.confidence)
    by_field = {c.field: c.header for c in src.columns if c.field}
    for new, (fld, _) in d.proposals.items():
        old = by_field.get(fld or "")
        if old and old in d.missing:
            d.renamed[old] = new
            d.missing.remove(old)


def _notes(src: Source, registry: Registry, d: Drift) -> list[str]:
    notes = []
    for old, new in d.renamed.items():
        col = next(c for c in src.columns if c.header == old)
        target = col.field or col.extension
        notes.append(
            f"列「{old}」在本文件中名为「{new}」，已按 {target} 加载；"
            f"请在登记中把 header 改为「{new}」并把「{old}」加入 former_headers"
        )
    for h in d.added:
        if h in d.renamed.values():
            continue
        fld, conf = d.proposals.get(h, (None, 0.0))
        if fld:
            label = registry.fields[fld].label
            taken = next((c.header for c in src.columns if c.field == fld), None)
            also = f"（已由「{taken}」列提供）" if taken and taken not in d.missing else ""
            notes.append(
                f"新增列「{h}」已保留在原始层，建议映射为 {fld}（{label}，置信度 {conf:.2f}）{also}"
            )
        else:
            notes.append(f"新增列「{h}」已保留在原始层，建议作为扩展列登记")
    optional = [h for h in d.missing if h not in d.missing_required]
    if optional:
        notes.append(f"缺少登记的非必填列：{'、'.join(optional)}（其余列照常加载）")
    if d.missing_required:
        notes.append(f"缺少必填列：{'、'.join(d.missing_required)}；文件未加载")
    return notes

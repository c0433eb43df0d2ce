"""Filled templates dropped into the incoming folder (by the data team, say) go through the
same import as an upload on the web: only changes become submissions."""

from __future__ import annotations

from pathlib import Path

from hub.form.consolidated import derive_form
from hub.form.excel_import import import_template
from hub.form.template_read import has_prefill
from hub.ingest.raw import LoadResult, match_source
from hub.ingest.rejected import set_aside
from hub.registry.formsource import FORM_SOURCE
from hub.registry.loader import Registry
from hub.settings import Settings

BY = "数据专班导入"


def import_incoming_templates(settings: Settings, registry: Registry) -> list[LoadResult]:
    """Import every form-source file in incoming; a file that cannot be imported is set aside."""
    if not settings.incoming.exists():
        return []
    files = sorted(
        p
        for p in settings.incoming.iterdir()
        if p.is_file() and not p.name.startswith(".") and _is_form(registry, p)
    )
    if not files:
        return []
    form = derive_form(registry)
    out = []
    for path in files:
        try:
            result = import_template(settings, registry, form, path, path.name, BY)
            reason = result.rejected
        except FileNotFoundError as exc:  # nothing published yet: no template can be genuine
            reason = str(exc)
        if reason is not None:
            set_aside(path, reason)
            out.append(LoadResult(path.name, "rejected", FORM_SOURCE, message=reason))
            continue
        path.unlink()  # kept in the archive by the import
        notes = [f"第 {i.row} 行「{i.column}」：{i.message}" for i in result.issues]
        text = f"模板导入：{result.changed + result.added} 条提交（未改动 {result.unchanged} 行）"
        out.append(LoadResult(path.name, "loaded", FORM_SOURCE, None, 0, text, notes))
    return out


def _is_form(registry: Registry, path: Path) -> bool:
    """A template by its name, or — renamed by a worker — by the prefill sheet inside it."""
    src = match_source(registry, path.name)
    if src is not None:
        return src.name == FORM_SOURCE
    return path.suffix.lower() == ".xlsx" and has_prefill(path)

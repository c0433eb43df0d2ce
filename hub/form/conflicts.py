"""Cells a worker changed in a template whose value the hub had changed meanwhile.

Neither value silently wins: the hub keeps its newer value, and the conflict waits here for
the worker to decide (采用模板中的值 files a submission; 保留系统中的值 closes it). The store is
append-only, one JSON line per conflict and per decision, in `data/form_conflicts/`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from hub.jsonl import append_line, read_lines

ACTIONS = {"mine": "采用模板中的值", "hub": "保留系统中的值"}


@dataclass
class Conflict:
    id: str
    community: str
    person_id: str
    name: str
    field: str
    label: str
    template_value: str  # what the template was prefilled with
    worker_value: str  # what the worker wrote (as shown in the cell)
    worker_code: str  # the same as it would be submitted (a code for code fields)
    hub_value: str  # what the hub held when the template came back
    file: str
    row: int
    by: str
    at: str = ""


@dataclass
class Decision:
    resolves: str
    action: str  # mine | hub
    by: str
    at: str


def _path(folder: Path, community: str) -> Path:
    return folder / f"{community}.jsonl"


def record(folder: Path, conflicts: list[Conflict]) -> int:
    """Store conflicts not stored before (a re-imported file adds none); returns how many."""
    by_community: dict[str, list[Conflict]] = {}
    for c in conflicts:
        by_community.setdefault(c.community, []).append(c)
    added = 0
    for community, items in by_community.items():
        path = _path(folder, community)
        known = {d.get("id") for d in read_lines(path)}
        for c in items:
            if c.id not in known:
                c.at = c.at or datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
                append_line(path, {"kind": "conflict", **asdict(c)})
                known.add(c.id)
                added += 1
    return added


def open_conflicts(folder: Path, community: str) -> list[Conflict]:
    """The community's conflicts nobody has decided yet, oldest first."""
    lines = read_lines(_path(folder, community))
    decided = {d["resolves"] for d in lines if d.get("kind") == "decision"}
    return [
        Conflict(**{k: v for k, v in d.items() if k != "kind"})
        for d in lines
        if d.get("kind") == "conflict" and d["id"] not in decided
    ]


def decide(folder: Path, community: str, conflict_id: str, action: str, by: str) -> Conflict:
    """Close an open conflict of `community`; KeyError if there is none with that id."""
    if action not in ACTIONS:
        raise ValueError(f"未知的处理方式 {action!r}（允许：{', '.join(ACTIONS)}）")
    match = [c for c in open_conflicts(folder, community) if c.id == conflict_id]
    if not match:
        raise KeyError("没有这条待处理冲突（可能已处理，或不属于本社区）")
    stamp = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    append_line(
        _path(folder, community),
        {"kind": "decision", **asdict(Decision(conflict_id, action, by, stamp))},
    )
    return match[0]

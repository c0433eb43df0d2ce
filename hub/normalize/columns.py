"""Where a source column's values are in the raw table: under its registered header, or under
a name it had in some file (`former_headers`, or a rename recognised at load time)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.registry.models import SourceColumn
from hub.warehouse import lit, q


@dataclass(frozen=True)
class RawColumn:
    header: str  # as registered
    names: tuple[str, ...]  # registered header, earlier names, fallback columns; those in raw

    @classmethod
    def of(
        cls,
        col: SourceColumn,
        renamed: dict[str, list[str]],
        present: set[str],
        fallbacks: list[SourceColumn] | None = None,
    ) -> RawColumn:
        """`fallbacks` come last: their cells are used only where the column's own is empty."""
        names: list[str] = []
        for c in [col, *(fallbacks or [])]:
            names += [c.header, *c.former_headers, *renamed.get(c.header, [])]
        return cls(col.header, tuple(n for n in dict.fromkeys(names) if n in present))

    def value(self, alias: str = "r") -> str:
        """The cell, whichever name the row's file used (each file has one of them)."""
        if not self.names:
            return "CAST(NULL AS VARCHAR)"
        cells = [f"{alias}.{q(n)}" for n in self.names]
        return cells[0] if len(cells) == 1 else f"coalesce({', '.join(cells)})"

    @property
    def fixed_header(self) -> bool:
        """One header for every row: `header_in_file` is a constant, needing no column."""
        return len(self.names) <= 1

    def header_in_file(self, alias: str = "r") -> str:
        """The header the row's own file used, for messages that point into that file."""
        if len(self.names) <= 1:
            return lit(self.names[0] if self.names else self.header)
        # the same order as `value`: the name whose cell the value came from
        whens = " ".join(f"WHEN {alias}.{q(n)} IS NOT NULL THEN {lit(n)}" for n in self.names)
        return f"CASE {whens} ELSE {lit(self.names[0])} END"

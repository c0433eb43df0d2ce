"""Real errors, a few per cent of rows, each recorded in the truth with the rule that must catch it.

ID errors (bad check digit, no ID, birth date disagreeing with the ID) go only into tables
whose residents also appear in the household roster: every true resident keeps a row with a
trusted ID, and the damaged row must be linked to that resident by its other facts. A row
with no name cannot be linked at all and is quarantined.
"""

from __future__ import annotations

import random
from datetime import timedelta

from hub.registry.loader import Registry
from hub.registry.models import normalize_code_key
from hub.sample.departments import SourceSpec, as_date
from hub.sample.formats import fmt_date, impossible_date
from hub.sample.people import Resident

# error kind -> the issue rule the pipeline must raise for it
EXPECTED_RULE = {
    "bad_check_digit": "cn_id_checksum",
    "id_missing": "required_missing",
    "name_missing": "required_missing",
    "impossible_date": "date_invalid",
    "bad_phone": "phone_invalid",
    "birth_mismatch": "birth_date_mismatch",
    "unknown_code": "code_unknown",
}
UNKNOWN_SPELLINGS = ["待核实", "见附件", "其它类别", "？？"]

Injected = tuple[str, str, str, str] | None


class ErrorInjector:
    def __init__(self, rng: random.Random, registry: Registry, rate: float) -> None:
        self.rng = rng
        self.rate = rate
        lookups = {k for cl in registry.codelists.values() for k in cl.lookup()}
        if {normalize_code_key(s) for s in UNKNOWN_SPELLINGS} & lookups:
            raise ValueError("UNKNOWN_SPELLINGS must not be spellings any code list knows")

    def inject(self, spec: SourceSpec, person: Resident, row: list[object]) -> Injected:
        """Maybe corrupt one cell of `row` in place; return (kind, field, header, written)."""
        if self.rng.random() >= self.rate:
            return None
        options = self._options(spec, row)
        if not options:
            return None
        # Pick the kind first so tables with many code columns don't drown the other kinds.
        kind = self.rng.choice(sorted({k for k, _ in options}))
        idx = self.rng.choice([i for k, i in options if k == kind])
        col = spec.columns[idx]
        value = self._corrupt(kind, spec, person, row[idx], col.date_styles or spec.date_styles)
        row[idx] = value
        return kind, col.target, col.header, "" if value is None else str(value)

    def _options(self, spec: SourceSpec, row: list[object]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for i, col in enumerate(spec.columns):
            if row[i] is None:
                continue
            if col.target == "citizen_id" and spec.blocking_errors:
                out += [("bad_check_digit", i), ("id_missing", i)]
            elif col.target == "name" and spec.blocking_errors:
                out.append(("name_missing", i))
            elif col.target == "birth_date":
                out.append(("impossible_date", i))
                if spec.blocking_errors:
                    out.append(("birth_mismatch", i))
            elif col.kind == "date":
                out.append(("impossible_date", i))
            elif col.target == "phone":
                out.append(("bad_phone", i))
            elif col.kind.startswith("code:"):
                out.append(("unknown_code", i))
        return out

    def _corrupt(
        self,
        kind: str,
        spec: SourceSpec,
        person: Resident,
        written: object,
        styles: tuple[str, ...],
    ) -> object:
        rng = self.rng
        if kind == "bad_check_digit":
            good = person.citizen_id
            bad = rng.choice([c for c in "0123456789X" if c != good[-1]])
            return good[:-1] + bad
        if kind in ("id_missing", "name_missing"):
            return None
        if kind == "impossible_date":
            return impossible_date(rng, styles[0])
        if kind == "birth_mismatch":
            d = as_date(person.birth_date)
            if d is None:
                raise ValueError("birth_mismatch needs a resident with a birth date")
            shifted = d + timedelta(days=rng.choice([-1, 1]) * rng.randint(40, 4000))
            return fmt_date(shifted, styles[0])
        if kind == "bad_phone":
            digits = "".join(ch for ch in str(written) if ch.isdigit())[-11:]
            return digits[:10]
        return rng.choice(UNKNOWN_SPELLINGS)

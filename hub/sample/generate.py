"""`hub sample`: residents, their department tables, and the truth to score the pipeline by."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from hub.registry.loader import Registry
from hub.sample.adversity import Adversity, Troubles, with_plain_headers
from hub.sample.departments import SourceSpec, build_specs
from hub.sample.errors import ErrorInjector
from hub.sample.formats import Speller, fmt_date
from hub.sample.people import AS_OF, BANKS, GIVEN, SURNAMES, PeopleFactory, Resident
from hub.sample.writers import write_table

PERIOD = f"{AS_OF:%Y%m}"
HOUSEHOLD_REGISTER = "gongan_household"  # 公安's register: where a resident's hukou is


@dataclass(frozen=True)
class SampleResult:
    files: list[Path]
    residents: int
    rows: int
    errors: int
    people: list[Resident] = field(default_factory=list, repr=False)
    # citizen IDs in some file besides the household register (what a neighbour can see)
    listed: set[str] = field(default_factory=set, repr=False)


def generate_sample(
    registry: Registry,
    out: Path,
    truth: Path,
    residents: int = 1000,
    seed: int = 7,
    error_rate: float = 0.03,
    progress: Callable[[str], None] | None = None,
    adversity: Adversity | None = None,
    ids: set[str] | None = None,
    visitors: Sequence[Resident] = (),
) -> SampleResult:
    """Write the department files to `out` and their truth to `truth`.

    Example:
        >>> generate_sample(reg, Path("/tmp/in"), Path("/tmp/truth"), residents=200).residents
        200
    """
    rng = random.Random(seed)
    factory = PeopleFactory(rng, registry.orgs)
    if ids is not None:  # districts of one city draw from one pool of ID numbers
        factory.ids = ids
    people = factory.residents(residents)
    _assign_programmes(rng, people, factory)
    # residents of other districts who live here: in every file but the household register
    guests = [factory.living_here(v) for v in visitors]
    listed: set[str] = set()
    troubles = Troubles(adversity or Adversity(), seed)
    if adversity and adversity.any:
        people = troubles.add_twins(people, factory.ids)
        for p in people:
            troubles.drop_from_roster(p)
    comm_names = {c.code: c.name for c in registry.orgs.communities}
    grid_names = {g.code: g.name for c in registry.orgs.communities for g in c.grids}
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    injector = ErrorInjector(rng, registry, error_rate)
    truth_rows: list[list[object]] = []
    files: list[Path] = []
    for spec in build_specs(PERIOD, comm_names, grid_names, registry.orgs.district.name):
        if adversity and adversity.plain_headers:
            spec = with_plain_headers(spec)
        if progress:
            progress(spec.filename)
        here = people if spec.name == HOUSEHOLD_REGISTER else people + guests
        members = troubles.rows_for(spec, [p for p in here if spec.select(p)])
        if spec.name != HOUSEHOLD_REGISTER:
            listed.update(p.citizen_id for p in members)
        rng.shuffle(members)
        speller = Speller(rng, registry.codelists, noise=0.02)
        rows = []
        errors = []
        for i, person in enumerate(members, 1):
            person.extra["seq"] = str(i)
            row = _format_row(spec, person, speller)
            errors.append(injector.inject(spec, person, row))
            if adversity and adversity.any:
                troubles.apply(spec, person, row)
            rows.append(row)
        path = out / spec.filename
        first = write_table(
            spec, rows, path, filled_on=f"{AS_OF.year}年{AS_OF.month}月{AS_OF.day}日"
        )
        files.append(path)
        for i, (person, err) in enumerate(zip(members, errors, strict=True)):
            kind, fld, col, orig = err if err else ("", "", "", "")
            truth_rows.append(
                [spec.name, path.name, first + i, person.citizen_id, kind, fld, col, orig]
            )
    _write_truth(truth, people + guests, truth_rows)
    return SampleResult(
        files=files,
        residents=len(people),
        rows=len(truth_rows),
        errors=sum(1 for t in truth_rows if t[4]),
        people=people,
        listed=listed,
    )


def _format_row(spec: SourceSpec, person: Resident, speller: Speller) -> list[object]:
    row: list[object] = []
    for col in spec.columns:
        v = col.get(person)
        if v is None or v == "":
            row.append(None)
        elif col.kind == "id":
            row.append(speller.citizen_id(v, spec.legacy_share))
        elif col.kind == "name":
            row.append(speller.name(v))
        elif col.kind.startswith("code:"):
            row.append(speller.code(col.kind[5:], v, spec.code_style))
        elif col.kind == "date":
            row.append(speller.date(v, list(col.date_styles or spec.date_styles)))
        elif col.kind == "phone":
            row.append(speller.phone(v))
        elif col.kind == "text":
            row.append(speller.spaces(v))
        else:
            row.append(v)
    return row


# monthly standards of the sample district (yuan per person): the benefit tops income up to it
_STANDARD = {"01": 1190, "02": 1190, "03": 1547}


def benefit(kind: str, income: str) -> str:
    """A member's monthly benefit: the standard less the household's per-person income."""
    return f"{max(0.0, _STANDARD[kind] - float(income)):.2f}"


def _assign_programmes(rng: random.Random, people: list[Resident], factory: PeopleFactory) -> None:
    """Decide who is on 低保 / 特困, 持证残疾, 养老保险 and veterans' rolls, with their facts."""
    households: dict[str, list[Resident]] = {}
    for p in people:
        households.setdefault(p.household_id, []).append(p)
    cert = 0
    for hid, members in households.items():
        if rng.random() < 0.05:
            cert += 1
            kind = "02" if members[0].hukou_type == "2" else "01"
            income = f"{rng.randint(200, 1100)}.{rng.choice(['00', '50'])}"
            for m in members:
                m.extra.update(
                    dibao_type=kind,
                    dibao_cert=f"QH{AS_OF.year}{cert:05d}",
                    dibao_size=len(members),
                    dibao_income=income,
                    dibao_amount=benefit(kind, income),
                    bank=rng.choice(BANKS),
                    account=f"6228{rng.randrange(10**15):015d}",
                )
        del hid
    for p in people:
        age = p.age()
        if p.phone and rng.random() < 0.08:
            p.phone_old, p.phone = p.phone, factory.new_phone()
        if rng.random() < (0.12 if age >= 60 else 0.03):
            t, lv = rng.choice("1234567"), rng.choice("1234")
            p.extra.update(
                dis_type=t,
                dis_level=lv,
                dis_cert=f"{p.citizen_id}{t}{lv}",
                dis_issued=fmt_date(AS_OF - timedelta(days=rng.randint(30, 3000)), "iso"),
            )
        if age >= 65 or "dis_type" in p.extra:
            p.extra.update(
                guardian=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                guardian_phone=factory.new_phone(),
                alone=rng.choices("01", weights=[80, 20])[0],
                self_care=rng.choices("123", weights=[75, 18, 7])[0],
                medical=rng.choices("12", weights=[40, 60])[0],
                visit=fmt_date(AS_OF - timedelta(days=rng.randint(1, 300)), "iso"),
            )
        if p.extra.get("alone") == "1" and "dibao_type" not in p.extra and rng.random() < 0.1:
            cert += 1  # 特困供养: old, living alone, with nobody to support them
            p.extra.update(
                dibao_type="03",
                dibao_cert=f"TK{AS_OF.year}{cert:05d}",
                dibao_size=1,
                dibao_income=(income := f"{rng.randint(0, 600)}.00"),
                dibao_amount=benefit("03", income),
                bank=rng.choice(BANKS),
                account=f"6228{rng.randrange(10**15):015d}",
            )
        if age >= 16 and p.employment != "31" and rng.random() < 0.5:
            p.extra.update(
                pension="2" if age >= 60 else rng.choices("13", weights=[85, 15])[0],
                grade=rng.choice(["200元", "300元", "500元", "1000元"]),
                enrolled=fmt_date(AS_OF - timedelta(days=rng.randint(100, 5000)), "iso"),
            )
        male_share = 0.10 if p.gender == "1" else 0.005
        if 22 <= age <= 95 and rng.random() < male_share:
            enlist = _first_of_month(p.birth_date + timedelta(days=365 * rng.randint(18, 20)))
            discharge = _first_of_month(enlist + timedelta(days=365 * rng.randint(2, 16)))
            if discharge < AS_OF:
                p.extra.update(
                    enlist=enlist,
                    discharge=discharge,
                    vet_cat=rng.choices(["08", "05", "01", "07"], weights=[85, 6, 5, 4])[0],
                )


def _first_of_month(d: date) -> date:
    return d.replace(day=1)


def _write_truth(truth: Path, people: list[Resident], rows: list[list[object]]) -> None:
    with (truth / "rows.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "source",
                "file",
                "source_row",
                "citizen_id",
                "error_kind",
                "error_field",
                "error_column",
                "written_value",
            ]
        )
        w.writerows(rows)
    with (truth / "residents.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "citizen_id",
                "name",
                "gender",
                "birth_date",
                "household_id",
                "community_code",
                "phone",
            ]
        )
        for p in people:
            w.writerow(
                [
                    p.citizen_id,
                    p.name,
                    p.gender,
                    p.birth_date.isoformat(),
                    p.household_id,
                    p.community_code,
                    p.phone or "",
                ]
            )

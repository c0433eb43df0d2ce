"""How the hub weighs evidence: mapping proposals (mapping.yaml) and linkage (linkage.yaml)."""

from __future__ import annotations

from pydantic import Field as PydField
from pydantic import model_validator

from hub.registry.models import Strict


class MappingConfig(Strict):
    """How `hub source suggest` weighs evidence (schemas/mapping.yaml)."""

    threshold: float = PydField(default=0.6, gt=0, lt=1)
    sample_rows: int = PydField(default=5000, ge=100)
    other_person_words: list[str] = PydField(default_factory=list)
    generic_words: list[str] = PydField(default_factory=list)
    ignore_headers: list[str] = PydField(default_factory=list)
    content_defaults: dict[str, str] = PydField(default_factory=dict)
    surnames: str = ""


class CatalogueConfig(Strict):
    """The report catalogue (schemas/catalogue.yaml): when a report in use is flagged for review."""

    # a report not generated, or not downloaded, in this many reporting periods
    review_after_periods: int = PydField(default=3, ge=1, le=36)


class Limits(Strict):
    """What one incoming file, and one department query, may be (schemas/limits.yaml). A file
    past a limit is set aside with the reason before its rows are read, so it cannot stall or
    exhaust a run; a query past its time or memory is cancelled."""

    file_mb: float = PydField(default=200, gt=0)  # on disk
    columns: int = PydField(default=500, ge=1)
    rows: int = PydField(default=2_000_000, ge=1)
    cells: int = PydField(default=60_000_000, ge=1)  # rows × columns
    sheet_xml_mb: float = PydField(default=256, gt=0)  # what an .xlsx sheet unpacks to
    cell_chars: int = PydField(default=32_767, ge=100)  # Excel's own limit for one cell
    # a full roster's new batch with fewer rows than this share of its last one is held
    roster_min_share: float = PydField(default=0.5, gt=0, le=1)
    query_seconds: float = PydField(default=30, gt=0)
    query_memory_mb: int = PydField(default=1024, ge=64)


class Thresholds(Strict):
    link: float = PydField(gt=0, lt=1)
    review: float = PydField(gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review >= self.link:
            raise ValueError(f"review（{self.review}）须小于 link（{self.link}）")
        return self


class IdPriors(Strict):
    exact: float = PydField(gt=0, lt=1)
    one_edit: float = PydField(gt=0, lt=1)
    same_birth_area: float = PydField(gt=0, lt=1)
    other: float = PydField(gt=0, lt=1)

    @model_validator(mode="after")
    def _sum(self) -> IdPriors:
        total = self.exact + self.one_edit + self.same_birth_area + self.other
        if abs(total - 1) > 1e-6:
            raise ValueError(f"各项之和须为 1（现为 {total:.3f}）")
        return self


class AgreementPriors(Strict):
    birth_differs: float = PydField(gt=0, lt=1)
    gender_differs: float = PydField(gt=0, lt=1)


class LinkageConfig(Strict):
    """How rows are linked to residents (schemas/linkage.yaml)."""

    thresholds: Thresholds
    u_sample_pairs: int = PydField(default=100_000, ge=1000)
    id_match_priors: IdPriors
    agreement_priors: AgreementPriors
    m_defaults: dict[str, list[float]]
    changeable_floor: float = PydField(default=0.1, ge=0, lt=1)
    # a block with more candidate pairs than this is not compared (its rows go to review)
    max_block_pairs: int = PydField(default=2_000_000, ge=1000)

    @model_validator(mode="after")
    def _defaults(self) -> LinkageConfig:
        levels = {"name": 4, "phone": 2, "address": 4, "head_py": 2}
        for comp, n in levels.items():
            got = self.m_defaults.get(comp)
            if got is None or len(got) != n or abs(sum(got) - 1) > 1e-6:
                raise ValueError(f"m_defaults.{comp} 须为 {n} 个概率，且之和为 1")
        return self

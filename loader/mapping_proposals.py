"""Rows proposed for the reviewed seeds: ``python -m loader propose-mapping``.

Two seeds, two CSVs, never on one stream: ``seeds/trust_mapping.csv`` (providers the
mapping lacks: marts.trust_mapping_proposals) and ``seeds/trust_successors.csv``
(providers that vanished while another's list grew by as much:
marts.trust_successor_proposals). Each CSV has its seed's header and columns, so its
reviewed rows append to the seed as they are (``tail -n +2 FILE >> seeds/SEED.csv``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from loader.errors import LoaderError
from loader.warehouse import Warehouse


@dataclass(frozen=True)
class Proposals:
    seed: str  # the seed's name: its file is seeds/<seed>.csv
    model: str  # the model that proposes its rows
    columns: tuple[str, ...]  # the seed's columns, in its order


TRUST_MAPPING = Proposals(
    "trust_mapping", "marts.trust_mapping_proposals", ("org_code", "org_name", "trust_code", "match_reason", "note")
)
TRUST_SUCCESSORS = Proposals(
    "trust_successors",
    "marts.trust_successor_proposals",
    ("predecessor_code", "successor_code", "effective_period", "change_kind", "source", "evidence"),
)
SEEDS = {proposals.seed: proposals for proposals in (TRUST_MAPPING, TRUST_SUCCESSORS)}


def proposals_csv(warehouse: Warehouse, proposals: Proposals) -> str:
    """The proposed rows as CSV, with the seed's header."""
    columns = proposals.columns
    try:
        rows = warehouse.execute(
            f"select {', '.join(columns)} from {proposals.model} order by {columns[0]}, {columns[1]}"
        )
    except Exception as exc:  # the view does not exist before the first dbt build
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoaderError(f"cannot read {proposals.model} (run make build first): {first_line}") from exc
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()


def propose_mapping(warehouse: Warehouse) -> str:
    """CSV (with header) for providers seeds/trust_mapping.csv does not list yet."""
    return proposals_csv(warehouse, TRUST_MAPPING)


def propose_successors(warehouse: Warehouse) -> str:
    """CSV (with header) for seeds/trust_successors.csv."""
    return proposals_csv(warehouse, TRUST_SUCCESSORS)


def write_proposals(warehouse: Warehouse, directory: Path) -> dict[str, tuple[Path, int]]:
    """One file per seed, ``<directory>/<seed>.csv``: {seed: (path, rows proposed)}."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoaderError(f"{directory}: cannot create the directory ({exc.strerror})") from exc
    written = {}
    for proposals in SEEDS.values():
        text = proposals_csv(warehouse, proposals)
        path = directory / f"{proposals.seed}.csv"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise LoaderError(f"{path}: cannot write ({exc.strerror})") from exc
        written[proposals.seed] = (path, text.count("\n") - 1)
    return written

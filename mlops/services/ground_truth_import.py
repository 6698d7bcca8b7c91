"""Labelled texts imported as reviews: ground truth that exists before the first reviewer (a
labelled benchmark, a pilot's exported reviews, an annotation project) feeds the learning loop
and the dashboards as reviewers' work does.

A file holds one row per (text, confirmed skill), as Monitoring's ground-truth export writes
it (CSV or Parquet): a `text` column (or `sentence`, the benchmark's name) and the skill as
`skill_id`, else by title as `skill_title` (or `label`, the benchmark's name). A row whose skill
cell is empty confirms that no skill applies to its text; a benchmark label that names no
taxonomy skill ("LABEL NOT PRESENT", "UNDERSPECIFIED") adds nothing. Rows are grouped by text;
other columns (`reviewer`, `request_id`, ...) are ignored: every text becomes one review by the
importing user, who needs the admin and the reviewer role.

Each text is served by the model of a stage in this process (its prediction logged, as any
request is) and reviewed at once: its predicted skills that the file confirms are accepted, the
file's others added; the predicted ones it does not confirm stay undecided (neither confirmed
nor a training negative) unless `reject_others`, or unless the file says no skill applies, when
they are rejected. Importing the same file again replaces the importer's reviews of its texts,
so an interrupted import is finished by running it again (`skip_reviewed`: without serving the
texts already done again). A row or text that cannot be imported
(an unknown skill, an empty or too long text, a refused review) is reported with its line and
reason; the others are imported.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlops.adapters.warehouse.repositories import repositories
from mlops.bootstrap import Bootstrap
from mlops.services import audit
from mlops.services.feedback import FeedbackError, submit_feedback
from mlops.services.identity import User, require_role
from sea_core.pipeline import request_id_for
from sea_core.taxonomy.csv_records import field_size_limit
from sea_core.taxonomy.reading import match_columns
from sea_core.text_encoding import first_invalid_utf8
from sea_core.validation import ValidationError, validate_text

TEXT_COLUMNS = ("text", "sentence")
SKILL_ID_COLUMN = "skill_id"
TITLE_COLUMNS = ("skill_title", "label")
#: Benchmark labels that name no taxonomy skill (the annotator found none that fits).
NO_SKILL_LABELS = frozenset({"LABEL NOT PRESENT", "UNDERSPECIFIED"})
IMPORT_ACTION = "feedback.import"
BATCH = 16  # texts served per inference call


class GroundTruthFileError(ValueError):
    """A file that cannot be read as labelled texts (unknown format, no text or skill column)."""


class RemoteModelError(RuntimeError):
    """The import cannot serve texts in this process: the settings point at a remote model."""


@dataclass(frozen=True)
class LabelledText:
    """A text and the skills confirmed for it (empty: no skill applies); `line` is the file
    line (CSV, header = 1) or row (Parquet, first = 1) of its first row."""

    text: str
    skill_ids: frozenset[str]
    line: int


@dataclass(frozen=True)
class Refusal:
    """A row or text not imported, and why."""

    line: int
    reason: str


@dataclass
class ImportSummary:
    """What an import did: texts reviewed, skills predicted / confirmed / in both (the counts of
    the reviews), reviews that replaced the importer's earlier ones, texts skipped as already
    reviewed by the importer (`skip_reviewed`), what was refused, and the model version that
    served the texts ("" when none was served)."""

    texts: int = 0
    reviewed: int = 0
    predicted: int = 0
    confirmed: int = 0
    overlap: int = 0
    replaced: int = 0
    skipped: int = 0
    refused: list[Refusal] = field(default_factory=list)
    model_version: str = ""


class Predictor(Protocol):
    """What the import serves texts with (an inference client)."""

    def predict(self, texts: list[str]) -> list[dict[str, Any]]: ...


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) of a CSV (UTF-8, header first; line: where the row starts, a quoted text
    that spans lines counted whole) or Parquet file (row: its position, first = 1).
    GroundTruthFileError for a file that is not UTF-8, not CSV-shaped or not Parquet."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with field_size_limit(sys.maxsize), path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                for row in reader:
                    spanned = sum(v.count("\n") for v in row.values() if isinstance(v, str))
                    yield reader.line_num - spanned, row
        except UnicodeDecodeError as exc:
            raise GroundTruthFileError(
                f"{path}: is not UTF-8 text ({first_invalid_utf8(path)}); save it as 'CSV UTF-8'"
            ) from exc
        except csv.Error as exc:
            raise GroundTruthFileError(
                f"{path}: line {reader.line_num}: not readable as CSV ({exc})"
            ) from exc
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise GroundTruthFileError(f"{path}: not a Parquet file that can be read ({exc})") from exc
        yield from enumerate(table.to_pylist(), start=1)
    else:
        raise GroundTruthFileError(f"{path}: give a .csv or .parquet file (Monitoring's ground-truth export)")


def _columns(row: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The names of the text, skill id and skill title columns of the file whose first row is
    `row` (`match_columns`: any case or spacing, the first alias present), None for one it lacks."""
    names = [str(name) for name in row if name is not None]
    aliases = {"text": TEXT_COLUMNS, "id": (SKILL_ID_COLUMN,), "title": TITLE_COLUMNS}
    found = match_columns(names, aliases)
    text, id_, title = (names[found[f]] if f in found else None for f in aliases)
    return text, id_, title


def read_labelled(path: str | Path, taxonomy: Any) -> tuple[list[LabelledText], list[Refusal]]:
    """The labelled texts of a file (see the module doc), in the order of their first rows,
    with the rows that could not be read. GroundTruthFileError when the file is missing, of
    another format, or has no text or skill column."""
    path = Path(path)
    if not path.is_file():
        raise GroundTruthFileError(f"{path}: no such file")
    by_title = {skill.title.strip().lower(): skill.skill_id for skill in taxonomy}
    texts: dict[str, tuple[int, set[str]]] = {}
    refused: list[Refusal] = []
    columns: tuple[str | None, str | None, str | None] | None = None
    for line, row in _rows(path):
        if columns is None:
            columns = _columns(row)
            if columns[0] is None or (columns[1] is None and columns[2] is None):
                header = ", ".join(str(name) for name in row if name is not None)
                raise GroundTruthFileError(
                    f"{path}: needs a text column ({' or '.join(TEXT_COLUMNS)}) and a skill column "
                    f"({' or '.join((SKILL_ID_COLUMN, *TITLE_COLUMNS))}); it has {header or 'none'}"
                )
        text_column, id_column, title_column = columns
        text = row.get(text_column) if text_column else None
        try:
            text = validate_text(text)
        except ValidationError as exc:
            refused.append(Refusal(line, f"the text {exc.reason}"))
            continue
        skill_id = str(row.get(id_column) or "").strip() if id_column else ""
        title = str(row.get(title_column) or "").strip() if title_column else ""
        first, skills = texts.setdefault(text, (line, set()))
        if skill_id:
            if skill_id in taxonomy:
                skills.add(skill_id)
            else:
                refused.append(Refusal(line, f"skill id {skill_id!r} is not in the taxonomy"))
        elif title and title.upper() not in NO_SKILL_LABELS:
            if title.lower() in by_title:
                skills.add(by_title[title.lower()])
            else:
                refused.append(Refusal(line, f"no skill of the taxonomy is titled {title!r}"))
        elif not title:
            skills.add("")  # "no skill applies" (the export's row of a review that confirmed none)
    items = []
    for text, (line, skills) in texts.items():
        confirmed = frozenset(s for s in skills if s)
        if confirmed or "" in skills:
            items.append(LabelledText(text, confirmed, line))
        elif not any(r.line == line for r in refused):
            refused.append(Refusal(line, "no row of this text names a taxonomy skill"))
    return items, refused


def import_labelled(
    warehouse: Any,
    taxonomy: Any,
    user: User | None,
    items: Sequence[LabelledText],
    predictor: Predictor,
    deliver: Callable[[], object] = lambda: None,
    reject_others: bool = False,
    progress: Callable[[int, int, ImportSummary], None] | None = None,
    skip_reviewed: bool = False,
) -> ImportSummary:
    """Serve each text with `predictor` and record its review by `user` (see the module doc);
    `deliver` lands the logged predictions in the warehouse before they are reviewed. With
    `skip_reviewed`, a text `user` has reviewed already is neither served nor reviewed again (an
    interrupted import of a large file finishes without redoing its done part). Calls
    `progress(done, total, summary)` after each batch. PermissionDenied unless `user` is an
    admin and a reviewer; every other failure of a text is a refusal in the summary."""
    user = require_role(user, "admin", action="import ground truth", source=warehouse)
    require_role(user, "reviewer", action="import ground truth as reviews")
    summary = ImportSummary(texts=len(items))
    for start in range(0, len(items), BATCH):
        batch = list(items[start : start + BATCH])
        if skip_reviewed:
            todo = [i for i in batch if not _reviewed_by(warehouse, user, i.text)]
            summary.skipped += len(batch) - len(todo)
            batch = todo
        served = _served(predictor, batch, summary)
        deliver()
        for item, record in served:
            summary.model_version = summary.model_version or str(record.get("modelVersion") or "")
            _review(warehouse, taxonomy, user, item, record, reject_others, summary)
        if progress is not None:
            progress(min(start + BATCH, len(items)), len(items), summary)
    audit.record(
        warehouse,
        user.username,
        IMPORT_ACTION,
        "",
        {
            "texts": summary.texts,
            "reviewed": summary.reviewed,
            "skipped": summary.skipped,
            "refused": len(summary.refused),
        },
    )
    return summary


def _reviewed_by(warehouse: Any, user: User, text: str) -> bool:
    """Whether `user` has reviewed `text` (its request id) already."""
    return repositories(warehouse).feedback.count(request_id_for(text), user.username) > 0


def import_as_reviews(
    services: Bootstrap,
    user: User | None,
    items: Sequence[LabelledText],
    stage: str = "dev",
    reject_others: bool = False,
    progress: Callable[[int, int, ImportSummary], None] | None = None,
    skip_reviewed: bool = False,
) -> ImportSummary:
    """`import_labelled` with the stage's model in this process, its predictions logged and
    delivered through the process's prediction log (what the command and the Monitoring page
    run). RemoteModelError when the settings serve from an inference server or a SageMaker
    endpoint, whose logs reach the warehouse later than a review would need them."""
    settings = services.settings
    if settings.inference_url or settings.sagemaker_endpoint:
        raise RemoteModelError(
            "the import serves the texts with the model in this process; unset SEA_INFERENCE_URL "
            "and SEA_SAGEMAKER_ENDPOINT for it"
        )
    return import_labelled(
        services.warehouse,
        services.taxonomy,
        user,
        items,
        services.inference(stage),
        deliver=services.prediction_log.deliver_pending,
        reject_others=reject_others,
        progress=progress,
        skip_reviewed=skip_reviewed,
    )


def _served(
    predictor: Predictor, batch: list[LabelledText], summary: ImportSummary
) -> list[tuple[LabelledText, dict[str, Any]]]:
    """Each text of `batch` with its served record; when the batch fails, each text alone, so
    that only the texts the model refuses are refused (in `summary`)."""
    try:
        return list(zip(batch, predictor.predict([item.text for item in batch]), strict=True))
    except Exception:  # one text may spoil the batch: serve them one by one
        pass
    served = []
    for item in batch:
        try:
            served.append((item, predictor.predict([item.text])[0]))
        except Exception as exc:  # the model refused or failed: this text is not imported
            summary.refused.append(Refusal(item.line, f"the model could not serve the text: {exc}"))
    return served


def review_labelled(
    warehouse: Any,
    taxonomy: Any,
    user: User | None,
    record: dict[str, Any],
    skill_ids: frozenset[str],
    reject_others: bool = False,
) -> dict[str, Any]:
    """Record `user`'s review of a served `record` whose confirmed skills are `skill_ids`: the
    predicted ones among them accepted, the rest added; the other predicted skills rejected when
    `reject_others` or when `skill_ids` is empty (no skill applies), else left undecided.
    Returns `submit_feedback`'s summary; FeedbackError / PermissionDenied as it raises them."""
    predicted = list(dict.fromkeys(skill["skill_id"] for skill in record.get("skillExtractOutput", [])))
    others = [s for s in predicted if s not in skill_ids]
    return submit_feedback(
        warehouse,
        taxonomy,
        user,
        record["requestId"],
        accepted=[s for s in predicted if s in skill_ids],
        rejected=others if reject_others or not skill_ids else [],
        added=sorted(skill_ids - set(predicted)),
        model_version=record.get("modelVersion"),
    )


def _review(
    warehouse: Any,
    taxonomy: Any,
    user: User,
    item: LabelledText,
    record: dict[str, Any],
    reject_others: bool,
    summary: ImportSummary,
) -> None:
    """Record the review of one served text in `summary` (or its refusal)."""
    try:
        result = review_labelled(warehouse, taxonomy, user, record, item.skill_ids, reject_others)
    except FeedbackError as exc:
        summary.refused.append(Refusal(item.line, f"the review was refused: {exc}"))
        return
    summary.reviewed += 1
    summary.predicted += result["n_predicted"]
    summary.confirmed += result["n_confirmed"]
    summary.overlap += result["n_overlap"]
    summary.replaced += bool(result["replaced"])

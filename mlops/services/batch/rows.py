"""The typed rows of a bulk run: what was read, what was refused, what a chunk produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Reject reasons that are not a `sea_core.validation` kind.
BAD_JSON = "bad_json"
BAD_ROW = "bad_row"
MODEL_ERROR = "model_error"
#: How much of a refused input a reject keeps.
REJECT_INPUT_CHARS = 2000


@dataclass(frozen=True)
class InputRow:
    """One input record: its 0-based position among the records, its optional id and its
    text (already validated), or the reason it cannot be extracted."""

    row: int
    id: str | None
    text: str | None
    reject: Reject | None = None


@dataclass(frozen=True)
class Reject:
    """A refused row: `reason` is a short code (a `sea_core.validation` kind, `bad_json`,
    `bad_row` or `model_error`), `message` says why in words, `input` holds the start of
    what was read."""

    row: int
    id: str | None
    reason: str
    message: str
    input: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The rejects file's line."""
        return {
            "row": self.row,
            "id": self.id,
            "reason": self.reason,
            "message": self.message,
            "input": self.input[:REJECT_INPUT_CHARS],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reject:
        return cls(data["row"], data["id"], data["reason"], data["message"], data.get("input", ""))


@dataclass(frozen=True)
class Extracted:
    """A row's production record (what the server returns and logs), the input's `id`, and
    the model's time for it."""

    row: int
    id: str | None
    record: dict[str, Any]
    latency_ms: float


@dataclass
class ChunkResult:
    """What a chunk produced: records and rejects (each in row order) and the model version."""

    chunk: int
    model_version: str
    extracted: list[Extracted] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.extracted) + len(self.rejects)

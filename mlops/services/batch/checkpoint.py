"""The work folder of a bulk run: how a crashed run resumes without redoing or duplicating rows.

```
<work>/manifest.json        what the run is (input checksum, format, chunk size, model version)
<work>/chunks/000012.jsonl  one finished chunk: a header line, then its records and rejects
```
Rows are cut into chunks of `chunk_size` consecutive records, so a chunk's id says which rows
it holds. A chunk file is written to a temporary name, fsynced and renamed into place: it is
either absent or whole, and its presence is the checkpoint that the chunk is done. A resumed
run skips the chunks present; the final output is merged from the chunk files in order, so a
row is written exactly once whatever was interrupted. A manifest that does not match the run
(another input, chunk size or model version) is refused instead of mixing two runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from mlops.services.batch.rows import ChunkResult, Extracted, Reject

MANIFEST = "manifest.json"
CHUNKS = "chunks"
_CHUNK_NAME = re.compile(r"^(\d{6,})\.jsonl$")


class CheckpointError(RuntimeError):
    """The work folder belongs to another run (or is damaged); the message says what differs."""


@dataclass(frozen=True)
class Manifest:
    """What identifies a run; a resumed run must match it field for field."""

    input: str
    input_sha256: str
    format: str
    chunk_size: int
    max_text_chars: int
    model_version: str | None = None  # set by the first finished chunk


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that `path` is either the old file or the whole new one,
    durable once this returns (fsynced file, renamed, fsynced folder)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def chunk_text(result: ChunkResult) -> str:
    """A chunk file's content: a header, then every row in row order."""
    lines = [json.dumps({"chunk": result.chunk, "model_version": result.model_version})]
    rows: list[tuple[int, dict]] = [
        (e.row, {"row": e.row, "id": e.id, "record": e.record, "latency_ms": e.latency_ms})
        for e in result.extracted
    ]
    rows += [(r.row, {"row": r.row, "reject": r.to_dict()}) for r in result.rejects]
    lines += [json.dumps(line, ensure_ascii=False) for _, line in sorted(rows, key=lambda pair: pair[0])]
    return "\n".join(lines) + "\n"


def parse_chunk(text: str) -> ChunkResult:
    """The ChunkResult of a chunk file's content (`chunk_text`)."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not lines or "chunk" not in lines[0]:
        raise CheckpointError("a chunk file has no header line")
    result = ChunkResult(int(lines[0]["chunk"]), str(lines[0]["model_version"]))
    for line in lines[1:]:
        if "reject" in line:
            result.rejects.append(Reject.from_dict(line["reject"]))
        else:
            result.extracted.append(
                Extracted(line["row"], line["id"], line["record"], float(line["latency_ms"]))
            )
    return result


class WorkDir:
    """A run's manifest and finished chunks under `root`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.chunks = self.root / CHUNKS

    def start(self, manifest: Manifest) -> Manifest:
        """Begin or resume the run described by `manifest`; returns the stored manifest
        (with the model version of a resumed run). CheckpointError when the folder holds
        another run with finished chunks; one that finished none (it stopped at a bad file
        header, say) has nothing to lose, and this run takes its place."""
        self.chunks.mkdir(parents=True, exist_ok=True)
        for leftover in self.chunks.glob(".*.tmp"):  # a crash mid-write: never committed
            leftover.unlink(missing_ok=True)
        path = self.root / MANIFEST
        if not path.exists():
            write_atomically(path, json.dumps(asdict(manifest), indent=2))
            return manifest
        try:
            stored = Manifest(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{path}: not a bulk-run manifest: {exc}") from None
        differs = [
            item.name
            for item in fields(Manifest)
            if item.name != "model_version" and getattr(stored, item.name) != getattr(manifest, item.name)
        ]
        if differs and not self.done():  # the run before finished nothing: start afresh
            write_atomically(path, json.dumps(asdict(manifest), indent=2))
            return manifest
        if differs:
            name = differs[0]
            raise CheckpointError(
                f"{self.root} holds another run ({name} was {getattr(stored, name)!r}, "
                f"now {getattr(manifest, name)!r}); delete it or give another --work-dir"
            )
        return stored

    def manifest(self) -> Manifest:
        return Manifest(**json.loads((self.root / MANIFEST).read_text(encoding="utf-8")))

    def check_model(self, model_version: str) -> None:
        """Record the model version of the run's first chunk; CheckpointError when a later
        chunk comes from another model (a promotion between a crash and its resume)."""
        stored = self.manifest()
        if stored.model_version is None:
            write_atomically(
                self.root / MANIFEST,
                json.dumps(asdict(replace(stored, model_version=model_version)), indent=2),
            )
        elif stored.model_version != model_version:
            raise CheckpointError(
                f"the run in {self.root} started with model {stored.model_version}, now the model is "
                f"{model_version}; finish it with --version {stored.model_version} or start afresh"
            )

    def chunk_path(self, chunk: int) -> Path:
        return self.chunks / f"{chunk:06d}.jsonl"

    def done(self) -> set[int]:
        """The ids of the committed chunks."""
        if not self.chunks.is_dir():
            return set()
        return {int(m.group(1)) for p in self.chunks.iterdir() if (m := _CHUNK_NAME.match(p.name))}

    def commit(self, result: ChunkResult) -> None:
        """Make a finished chunk durable (checked against the run's model first)."""
        self.check_model(result.model_version)
        write_atomically(self.chunk_path(result.chunk), chunk_text(result))

    def results(self) -> Iterator[ChunkResult]:
        """Every committed chunk, in chunk order."""
        for chunk in sorted(self.done()):
            yield parse_chunk(self.chunk_path(chunk).read_text(encoding="utf-8"))

    def remove(self) -> None:
        """Delete the work folder (after the output is complete)."""
        shutil.rmtree(self.root, ignore_errors=True)

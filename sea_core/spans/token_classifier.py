"""Span extraction with token-classification models tagging words B / I / O.

Production runs two such models, a skill model and a knowledge model (e.g.
`jjzha/jobbert_skill_extraction` and `jjzha/jobbert_knowledge_extraction`); each span is
labelled with the name of the model that found it.

How a text is processed, per model:
1. the fast tokenizer splits the whole text into words and word pieces with character offsets
   into the original text;
2. the words are cut into windows of `chunk_size` words overlapping by `overlap` words
   (`chunk_bounds`); a window whose pieces exceed the model's input length is split further;
3. each window runs through the model (batched); a word's tag probabilities are the mean over
   its pieces; a word seen in several windows keeps the prediction from the window where it has
   the most context on both sides;
4. the word tags of the whole text are decoded as BIO (a span starts at B, or at an I that does
   not follow a span) -- so a span crossing a window border is kept whole.
Span offsets point into the original text (`text[span.start:span.end] == span.text`); the
score is the mean probability of the chosen tags of the span's words.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Span, SpanExtractor, chunk_bounds, merge_spans

ModelSpec = str | Path


class SpanModelError(RuntimeError):
    """A token-classification model could not be loaded or used; the message names it."""


@dataclass
class _Word:
    token_start: int  # index of the word's first piece in the text's pieces
    token_end: int  # one past its last piece
    start: int  # character offsets into the original text
    end: int


@dataclass
class _LoadedModel:
    label: str
    spec: str
    tokenizer: Any
    model: Any
    tags: list[str]  # model output index -> "B" | "I" | "O"
    prefix: list[int]  # special token ids before a window's pieces (e.g. [CLS])
    suffix: list[int]  # and after them (e.g. [SEP])
    max_pieces: int  # word pieces per window, special tokens excluded


class TokenClassifierSpanExtractor(SpanExtractor):
    """Spans from one or more BIO token-classification models.

    `models`: {label: folder or hub id}, or a list of folders / hub ids labelled "knowledge" or
    "skill" when their name contains that word, else by their folder name. `chunk_size` and
    `overlap` count words (default overlap: a quarter of `chunk_size`).
    """

    name = "token_classifier"

    def __init__(
        self,
        models: Mapping[str, ModelSpec] | Sequence[ModelSpec],
        chunk_size: int = 128,
        overlap: int | None = None,
        device: str | None = None,
        batch_size: int = 16,
    ) -> None:
        from ..encoder import pick_device

        items = (
            list(models.items())
            if isinstance(models, Mapping)
            else [(label_for_model(spec), spec) for spec in models]
        )
        if not items:
            raise ValueError("TokenClassifierSpanExtractor needs at least one model")
        labels = [label for label, _ in items]
        if len(set(labels)) != len(labels):
            raise ValueError(f"two models have the same label: {labels}")
        self.chunk_size = chunk_size
        self.overlap = chunk_size // 4 if overlap is None else overlap
        next(chunk_bounds(1, self.chunk_size, self.overlap))  # validates both
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.device = pick_device(device)
        self.models = [load_token_classifier(label, spec, self.device) for label, spec in items]

    @property
    def labels(self) -> list[str]:
        """The span labels this extractor produces, one per model."""
        return [model.label for model in self.models]

    def extract(self, text: str) -> list[Span]:
        """Spans of every model in `text`, sorted by position, without duplicates."""
        return self.extract_many([text])[0]

    def extract_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """`extract` for several texts, batching their windows through each model."""
        results: list[list[Span]] = [[] for _ in texts]
        for model in self.models:
            for found, spans in zip(results, self._run(model, texts)):
                found.extend(spans)
        return [merge_spans(found) for found in results]

    def _run(self, model: _LoadedModel, texts: Sequence[str]) -> list[list[Span]]:
        """One model over the texts: pieces -> windows -> batched forward -> word tags -> spans."""
        import torch

        pieces, words = [], []
        for text in texts:
            ids, text_words = _words(model.tokenizer, text)
            pieces.append(ids)
            words.append(text_words)
        windows = [
            (index, start, end)
            for index, text_words in enumerate(words)
            for start, end in _windows(
                text_words, 0, len(text_words), self.chunk_size, self.overlap, model.max_pieces
            )
        ]
        # per text and word: (context, mean probabilities) of the best window seen so far
        best: list[list[tuple[int, Any] | None]] = [[None] * len(w) for w in words]
        for batch_start in range(0, len(windows), self.batch_size):
            batch = windows[batch_start : batch_start + self.batch_size]
            inputs = []
            for index, start, end in batch:
                first = words[index][start].token_start
                last = min(words[index][end - 1].token_end, first + model.max_pieces)
                inputs.append(model.prefix + pieces[index][first:last] + model.suffix)
            width = max(len(ids) for ids in inputs)
            pad = model.tokenizer.pad_token_id or 0
            input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in inputs], device=self.device)
            mask = torch.tensor(
                [[1] * len(ids) + [0] * (width - len(ids)) for ids in inputs], device=self.device
            )
            with torch.inference_mode():
                logits = model.model(input_ids=input_ids, attention_mask=mask).logits
            probs = torch.softmax(logits.float(), dim=-1).cpu()
            for row, (index, start, end) in enumerate(batch):
                first = words[index][start].token_start
                limit = first + model.max_pieces
                for position in range(start, end):
                    word = words[index][position]
                    a, b = word.token_start, min(word.token_end, limit)
                    if a >= b:
                        continue  # pieces cut off by a window too long for the model
                    offset = len(model.prefix) - first
                    word_probs = probs[row, a + offset : b + offset].mean(dim=0)
                    context = min(position - start, end - 1 - position)
                    seen = best[index][position]
                    if seen is None or context > seen[0]:
                        best[index][position] = (context, word_probs)
        return [
            _decode(text, text_words, word_best, model)
            for text, text_words, word_best in zip(texts, words, best)
        ]


def label_for_model(spec: ModelSpec) -> str:
    """Span label for a model given without one: "knowledge" or "skill" when its name contains
    that word, else its folder / repository name."""
    name = Path(str(spec).rstrip("/\\")).name.lower()
    for label in ("knowledge", "skill"):
        if label in name:
            return label
    return name


def resolve_model(spec: ModelSpec) -> str:
    """An existing folder (with config.json) stays a folder; a name like `org/model` is a hub
    id; anything path-like that does not exist is an error."""
    text = str(spec)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise SpanModelError(
                f"token-classification model {text!r} is not a model folder (no config.json)"
            )
        return str(path.resolve())
    if (
        isinstance(spec, Path)
        or text.startswith((".", "/", "~", "\\"))
        or text.count("/") > 1
        or (os.sep != "/" and os.sep in text)
    ):
        raise SpanModelError(f"token-classification model folder {text!r} does not exist")
    return text


def load_token_classifier(label: str, spec: ModelSpec, device: str = "cpu") -> _LoadedModel:
    """Load a BIO token-classification model and its fast tokenizer, ready for `_run`."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    resolved = resolve_model(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved)
        model = AutoModelForTokenClassification.from_pretrained(resolved)
    except Exception as exc:  # hub/IO errors come in many types
        offline = (
            " (offline: HF_HUB_OFFLINE is set and the model is not cached)"
            if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True", "yes")
            else ""
        )
        raise SpanModelError(
            f"cannot load token-classification model {label!r} from {str(spec)!r}{offline}: {exc}"
        ) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise SpanModelError(f"model {str(spec)!r} has no fast tokenizer (offsets are needed)")
    id2label = model.config.id2label
    found = [_bio_tag(str(id2label[i])) for i in range(len(id2label))]
    tags = [tag for tag in found if tag is not None]
    if len(tags) != len(found) or "B" not in tags:
        raise SpanModelError(f"model {str(spec)!r} labels {dict(id2label)} are not BIO tags")
    probe = tokenizer("a", add_special_tokens=True, return_special_tokens_mask=True)
    content = [i for i, special in enumerate(probe["special_tokens_mask"]) if not special]
    ids = probe["input_ids"]
    prefix, suffix = ids[: content[0]], ids[content[-1] + 1 :]
    limit = getattr(model.config, "max_position_embeddings", 512)
    if 0 < tokenizer.model_max_length < 100_000:
        limit = min(limit, tokenizer.model_max_length)
    model.to(device)
    model.eval()
    return _LoadedModel(
        label=label,
        spec=str(spec),
        tokenizer=tokenizer,
        model=model,
        tags=tags,
        prefix=prefix,
        suffix=suffix,
        max_pieces=max(1, limit - len(prefix) - len(suffix)),
    )


def _bio_tag(name: str) -> str | None:
    """ "B", "I" or "O" for a label name such as `B`, `i`, `B-SKILL`, `O`; None otherwise."""
    upper = name.strip().upper()
    if upper in ("B", "I", "O"):
        return upper
    if upper[:2] in ("B-", "I-"):
        return upper[0]
    return None


def _words(tokenizer: Any, text: str) -> tuple[list[int], list[_Word]]:
    """The text's piece ids (no special tokens) and its words with piece ranges and offsets."""
    if not text.strip():
        return [], []
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    words: list[_Word] = []
    previous = None
    for index, (word_id, (start, end)) in enumerate(zip(encoding.word_ids(), encoding["offset_mapping"])):
        if word_id is None:
            continue
        while start < end and text[start].isspace():  # byte-level BPE offsets include the space
            start += 1
        if word_id == previous and words:
            words[-1].token_end = index + 1
            words[-1].end = max(words[-1].end, end)
        else:
            words.append(_Word(index, index + 1, start, end))
        previous = word_id
    return list(encoding["input_ids"]), words


def _windows(
    words: list[_Word], lo: int, hi: int, size: int, overlap: int, max_pieces: int
) -> list[tuple[int, int]]:
    """Word windows [start, end) over words[lo:hi] of `size` words overlapping by `overlap`,
    halved until each fits in `max_pieces` pieces (a single longer word is cut by the caller)."""
    windows = []
    for start, end in chunk_bounds(hi - lo, size, overlap):
        start, end = start + lo, end + lo
        pieces = words[end - 1].token_end - words[start].token_start
        if pieces <= max_pieces or end - start == 1:
            windows.append((start, end))
        else:
            smaller = max(1, (end - start) // 2)
            windows.extend(_windows(words, start, end, smaller, min(overlap, smaller // 4), max_pieces))
    return windows


def _decode(text: str, words: list[_Word], best: list, model: _LoadedModel) -> list[Span]:
    """BIO-decode the word predictions of a whole text into spans."""
    spans: list[Span] = []
    current: list[int] | None = None  # [first word, last word]
    scores: list[float] = []

    def close() -> None:
        if current is not None:
            start, end = words[current[0]].start, words[current[1]].end
            spans.append(
                Span(
                    text=text[start:end],
                    start=start,
                    end=end,
                    label=model.label,
                    score=float(sum(scores) / len(scores)),
                )
            )

    for position, entry in enumerate(best):
        if entry is None:  # not seen (cannot happen for windows covering every word)
            tag, score = "O", 1.0
        else:
            index = int(entry[1].argmax())
            tag, score = model.tags[index], float(entry[1][index])
        if tag == "B" or (tag == "I" and current is None):
            close()
            current, scores = [position, position], [score]
        elif tag == "I":
            assert current is not None  # an "I" with no open span took the branch above
            current[1] = position
            scores.append(score)
        else:
            close()
            current, scores = None, []
    close()
    return spans

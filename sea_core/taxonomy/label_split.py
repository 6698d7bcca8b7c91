"""Recovering label boundaries in ESCO's joined alternative labels.

The bundled ESCO export joins a skill's alternative labels into one run of words with no
separator ("manage staff of music coordinate duties of musical staff manage music staff").
`LabelSplitter` cuts such a run back into labels with a small boundary model learnt from the
taxonomy itself: how often a word starts or ends a label (counted on preferred labels, then
re-estimated on its own segmentation for a few rounds) and a prior on label length. A run is cut
by dynamic programming into the most probable sequence of labels; the skill's own title lends
its first and last word as likely label starts and ends.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MAX_LABEL_WORDS = 12
_SMOOTHING = 2.0  # pseudo-occurrences pulling rare words towards the average rate
_TITLE_WORD_RATE = 0.9  # a title's first (last) word starts (ends) a label this often
_REPEAT_PENALTY = 3.0  # log-penalty for a word repeated inside one label
_CLAMP = 0.999


@dataclass
class BoundaryModel:
    """Per-word rates of starting and ending a label, with defaults for unseen words, and a
    label-length distribution."""

    starts: dict[str, float] = field(default_factory=dict)
    ends: dict[str, float] = field(default_factory=dict)
    default_start: float = 0.25
    default_end: float = 0.25
    length_log_prob: dict[int, float] = field(default_factory=dict)

    @classmethod
    def estimate(cls, labels: Iterable[Sequence[str]]) -> BoundaryModel:
        """Rates counted on lower-cased labels (each a sequence of words)."""
        first: Counter[str] = Counter()
        last: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        lengths: Counter[int] = Counter()
        count = 0
        for label in labels:
            if not label:
                continue
            words = [w.lower() for w in label]
            first[words[0]] += 1
            last[words[-1]] += 1
            lengths[len(words)] += 1
            seen.update(words)
            count += 1
        total_words = max(1, sum(seen.values()))
        start0 = end0 = max(count, 1) / total_words
        starts = {w: (first[w] + _SMOOTHING * start0) / (n + _SMOOTHING) for w, n in seen.items()}
        ends = {w: (last[w] + _SMOOTHING * end0) / (n + _SMOOTHING) for w, n in seen.items()}
        norm = max(count, 1) + 0.5 * MAX_LABEL_WORDS
        length_log_prob = {
            k: math.log((lengths.get(k, 0) + 0.5) / norm) for k in range(1, MAX_LABEL_WORDS + 1)
        }
        return cls(starts, ends, start0, end0, length_log_prob)


class LabelSplitter:
    """Cuts runs of joined labels into labels (see the module docstring)."""

    def __init__(self, model: BoundaryModel) -> None:
        self.model = model

    @classmethod
    def fit(cls, titles: Sequence[str], runs: Sequence[str], rounds: int = 2) -> LabelSplitter:
        """A splitter learnt from preferred labels and re-estimated on its own cuts of `runs`
        (`runs[i]` belongs to `titles[i]`) for `rounds` rounds."""
        title_words = [t.split() for t in titles]
        splitter = cls(BoundaryModel.estimate(title_words))
        for _ in range(rounds):
            labels = [
                label
                for title, run in zip(titles, runs)
                for label in splitter.split_words(run.split(), title)
            ]
            splitter = cls(BoundaryModel.estimate(title_words + labels))
        return splitter

    def split(self, run: str, title: str = "") -> list[str]:
        """The labels of a joined run, in order; `title` is the skill's preferred label."""
        return [" ".join(words) for words in self.split_words(run.split(), title)]

    def split_words(self, words: Sequence[str], title: str = "") -> list[list[str]]:
        """`split` on a list of words; returns lists of words."""
        n = len(words)
        if n == 0:
            return []
        model = self.model
        lower = [w.lower() for w in words]
        title_words = title.lower().split()
        start = [model.starts.get(w, model.default_start) for w in lower]
        end = [model.ends.get(w, model.default_end) for w in lower]
        if title_words:
            start = [max(p, _TITLE_WORD_RATE) if w == title_words[0] else p for p, w in zip(start, lower)]
            end = [max(p, _TITLE_WORD_RATE) if w == title_words[-1] else p for p, w in zip(end, lower)]
        log_start = [math.log(p) for p in start]
        log_end = [math.log(p) for p in end]
        # cost of *not* cutting between word k and k + 1
        log_join = [
            math.log(1 - min(end[k], _CLAMP)) + math.log(1 - min(start[k + 1], _CLAMP)) for k in range(n - 1)
        ]
        best = [0.0] + [-math.inf] * n
        back = [0] * (n + 1)
        for j in range(1, n + 1):
            inner, seen, repeats = 0.0, set(), 0
            for i in range(j - 1, max(-1, j - 1 - MAX_LABEL_WORDS), -1):
                if i < j - 1:
                    inner += log_join[i]
                if lower[i] in seen:
                    repeats += 1
                seen.add(lower[i])
                score = (
                    best[i]
                    + log_start[i]
                    + log_end[j - 1]
                    + inner
                    + model.length_log_prob[j - i]
                    - _REPEAT_PENALTY * repeats
                )
                if score > best[j]:
                    best[j], back[j] = score, i
        labels, j = [], n
        while j > 0:
            labels.append(list(words[back[j] : j]))
            j = back[j]
        return labels[::-1]

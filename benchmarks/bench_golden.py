"""The output set on the shipped golden texts (`sea_core/data/golden/`), per text and for the long
ones (numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_golden.py [--long-words 150]

For each golden job and course text: its words, expected skills, and recall / precision / Jaccard
of the bundled default model's output set under the shipped rule (its cap growing with long
texts, `OutputRule.skills_per_100_words`), under the same rule with the fixed cap of
`max_skills`, and without the late-interaction re-ranker (the previous matcher); then the means over all texts and
over the texts of more than `--long-words` words.
The golden texts were written for the project with the skills a reviewer would confirm; nothing
was tuned on them.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine_info

from sea_core.encoder import Encoder
from sea_core.golden import load_golden_set
from sea_core.matching import RerankSettings
from sea_core.output_set import SHIPPED_RULE
from sea_core.pipeline import Pipeline
from sea_core.quality import SetScores, set_scores
from sea_core.taxonomy import bundled_taxonomy

#: (output rule, late interaction on) per printed variant
RULES = {
    "growing cap (shipped)": (SHIPPED_RULE, True),
    "fixed cap": (replace(SHIPPED_RULE, skills_per_100_words=0.0), True),
    "- late interaction": (SHIPPED_RULE, False),
}


def means(rows: list[SetScores]) -> str:
    """Mean recall, precision and Jaccard of `rows`, as printed."""
    n = max(1, len(rows))
    return (
        f"R {sum(r.recall for r in rows) / n:.3f}  P {sum(r.precision for r in rows) / n:.3f}  "
        f"J {sum(r.jaccard for r in rows) / n:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--long-words", type=int, default=150, help="a text of more words is long")
    args = parser.parse_args()
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    taxonomy = bundled_taxonomy()
    pipeline = Pipeline(Encoder(), taxonomy)
    before = pipeline.with_match(replace(pipeline.config.match, rerank=RerankSettings()))
    ids = pipeline.index.skill_ids
    scores: dict[str, list[tuple[int, SetScores]]] = {name: [] for name in RULES}
    print(f"{'text':28} {'words':>5} {'exp':>3}  " + "  ".join(f"{name:>26}" for name in RULES))
    for golden in load_golden_set():
        ranked = {True: pipeline.candidates(golden.text)[1], False: before.candidates(golden.text)[1]}
        expected = golden.expected_ids(taxonomy)
        words = len(golden.text.split())
        cells = []
        for name, (rule, with_late) in RULES.items():
            candidates = ranked[with_late]
            chosen = [ids[c.row] for c in rule.select(candidates, golden.text, pipeline.index.matrix)]
            result = set_scores(chosen, expected)
            scores[name].append((words, result))
            cells.append(
                f"{len(chosen):>3} out R {result.recall:.2f} P {result.precision:.2f} J {result.jaccard:.2f}"
            )
        print(f"{golden.name[:28]:28} {words:>5} {len(expected):>3}  " + "  ".join(f"{c:>26}" for c in cells))
    for name, rows in scores.items():
        long = [r for w, r in rows if w > args.long_words]
        print(
            f"{name}: all {len(rows)} texts {means([r for _, r in rows])}; "
            f"{len(long)} over {args.long_words} words {means(long)}"
        )


if __name__ == "__main__":
    main()

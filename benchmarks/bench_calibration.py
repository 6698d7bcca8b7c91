"""How well does fitting the output rule transfer to new texts? Calibration procedures compared on
many fold assignments of the development benchmark (numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_calibration.py [--assignments 8] [--folds 5]

The champion (bundled encoder, shipped matcher) ranks every sentence of
`../shared/data/benchmark/*_validation_annotations.csv` once. Each fold assignment deals the
sentences into `--folds` folds by a hash of the text (assignment 0 is `bench_learning.py`'s);
on each fold, each procedure fits a rule on the other folds (the gold labels as confirmed sets)
and the fold scores it. A fold of ~27 sentences is noisy, so one assignment says little about
whether a procedure loses to the shipped rule; 8 assignments give 40 hold-outs.

Procedures: the shipped rule; the shipped procedure (`fit_output_rule`'s defaults: kept at an
inner gain >= `MIN_GAIN` with t >= `MIN_T`); the fit kept at any positive inner gain, and the
same with a floor (`min_skills` 0 or 1) or with caps per text instead of per sentence; the fit
kept whatever the inner cross-validation says; the procedure before stop 19 (floor, caps per
text, the bar). The golden columns score each procedure's rule fitted on all the sentences on
the 25 golden texts (whole job and course texts: does a rule fitted on sentences transfer?).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_learning import CACHE, fold_of, load_items, run_pipeline
from machine import print_run_header

from sea_core.calibration import MIN_GAIN, MIN_T, ReviewedExample, RuleGrid, fit_output_rule, rule_score
from sea_core.encoder import Encoder
from sea_core.golden import load_golden_set
from sea_core.output_set import SHIPPED_RULE, OutputRule
from sea_core.pipeline import Pipeline
from sea_core.quality import set_scores
from sea_core.taxonomy import bundled_taxonomy

Procedure = Callable[[Sequence[ReviewedExample]], OutputRule]


def assignment_fold(sentence: str, assignment: int, folds: int) -> int:
    """The sentence's fold under assignment `assignment` (0: bench_learning's `fold_of`)."""
    if assignment == 0:
        return fold_of(sentence, folds)
    digest = hashlib.sha256(f"{assignment}:{sentence}".encode()).hexdigest()
    return int(digest[:12], 16) % folds


def procedures(ids: Sequence[str], vectors: np.ndarray) -> dict[str, Procedure]:
    """Name -> rule fitted on the training examples."""
    floor = RuleGrid(min_skills=(0, 1))
    per_text = RuleGrid(cap_per_sentence=(False,))
    before = RuleGrid(min_skills=(0, 1), cap_per_sentence=(False,))

    def fit(grid: RuleGrid | None = None, bar: bool = True, check: bool = True) -> Procedure:
        """The fit on `grid`; with the shipped bar, kept at any positive inner gain (`bar`
        False), or kept whatever the inner cross-validation says (`check` False)."""
        gain, t = (MIN_GAIN, MIN_T) if bar else ((1e-9 if check else -1.0), -1e9)
        return lambda train: fit_output_rule(train, ids, vectors, grid=grid, min_gain=gain, min_t=t).rule

    return {
        "shipped rule": lambda train: SHIPPED_RULE,
        "shipped procedure": fit(),
        "kept at any positive inner gain": fit(bar=False),
        "the same, grid with a floor": fit(floor, bar=False),
        "the same, caps per text": fit(per_text, bar=False),
        "kept whatever the inner cross-validation says": fit(bar=False, check=False),
        "before stop 19 (floor, caps per text, the bar)": fit(before),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignments", type=int, default=8)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print_run_header()
    taxonomy = bundled_taxonomy()
    champion = Pipeline(Encoder(), taxonomy)
    ids, vectors = champion.index.skill_ids, champion.index.matrix
    items = load_items(taxonomy)
    golden = [(g.text, g.expected_ids(taxonomy)) for g in load_golden_set()]
    ranked = run_pipeline(
        champion,
        [i.sentence for i in items] + [t for t, _ in golden],
        f"calibration-{champion.encoder.fingerprint}",
    )
    examples = [ReviewedExample(i.sentence, ranked[i.sentence].candidates, i.gold) for i in items]

    def on_golden(rule: OutputRule) -> tuple[float, float, float]:
        """Mean Jaccard, recall and set size of the rule's output on the golden texts."""
        chosen = [[ids[c.row] for c in rule.select(ranked[t].candidates, t, vectors)] for t, _ in golden]
        scores = [set_scores(c, e) for c, (_, e) in zip(chosen, golden)]
        return (
            float(np.mean([s.jaccard for s in scores])),
            float(np.mean([s.recall for s in scores])),
            float(np.mean([len(c) for c in chosen])),
        )

    print(f"{len(examples)} sentences, {args.assignments} fold assignments x {args.folds} folds")

    fits = procedures(ids, vectors)
    gains: dict[str, list[float]] = {name: [] for name in fits}
    fitted = dict.fromkeys(fits, 0)
    transfer = {name: on_golden(fit(examples)) for name, fit in fits.items()}
    for assignment in range(args.assignments):
        fold = [assignment_fold(e.text, assignment, args.folds) for e in examples]
        for k in range(args.folds):
            held = [e for e, f in zip(examples, fold) if f == k]
            train = [e for e, f in zip(examples, fold) if f != k]
            baseline = rule_score(SHIPPED_RULE, held, ids, vectors)
            for name, fit in fits.items():
                rule = fit(train)
                fitted[name] += rule != SHIPPED_RULE
                gains[name].append(rule_score(rule, held, ids, vectors) - baseline)
    shipped = rule_score(SHIPPED_RULE, examples, ids, vectors)
    print(f"\nshipped rule, all {len(examples)} sentences: Jaccard {shipped:.3f}")
    print(
        "\nhold-out Jaccard gain over the shipped rule (each hold-out's mean over its sentences; "
        f"{args.assignments * args.folds} hold-outs)"
    )
    print(
        "| procedure | mean gain | assignment 0, folds 0..4 | hold-outs below shipped | worst "
        "| fits not shipped | golden Jaccard | golden recall | golden set size |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, values in gains.items():
        d = np.array(values)
        first = ", ".join(f"{v:+.3f}" for v in d[: args.folds])
        jaccard, recall, size = transfer[name]
        print(
            f"| {name} | {d.mean():+.4f} | {first} | {int((d < -1e-9).sum())} of {len(d)} | "
            f"{d.min():+.3f} | {fitted[name]} of {len(d)} | {jaccard:.3f} | {recall:.3f} | {size:.1f} |"
        )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

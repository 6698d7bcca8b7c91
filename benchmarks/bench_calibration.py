"""How well does fitting the output rule transfer to new texts? Calibration procedures compared on
many fold assignments of the development benchmark (numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_calibration.py [--assignments 8] [--folds 5]

The champion (bundled encoder, shipped matcher) ranks every sentence of
`../shared/data/benchmark/*_validation_annotations.csv` once. Each fold assignment deals the
sentences into `--folds` folds by a hash of the text (assignment 0 is `bench_learning.py`'s);
on each fold, each procedure fits a rule on the other folds (the gold labels as confirmed sets)
and the fold scores it. A fold of ~27 sentences is noisy, so one assignment says little about
whether a procedure loses to the shipped rule; 8 assignments give 40 hold-outs.

Procedures: the shipped rule; the shipped procedure (`fit_output_rule`'s defaults: the grid
fit kept at an inner gain >= `MIN_GAIN` with t >= `MIN_T`, the acceptance model at any positive
inner gain, the larger gain winning); the grid alone with its bar (stop 19's procedure), kept at
any positive inner gain, the same with a floor (`min_skills` 0 or 1) or with caps per text
instead of per sentence, and kept whatever the inner cross-validation says; the acceptance model
alone under the grid's bar, at any positive inner gain, and whatever the inner cross-validation
says; both kept at any positive inner gain; the procedure before stop 19 (floor, caps per text,
the bar, no acceptance model). The golden columns score each procedure's rule fitted on all the sentences on
the 25 golden texts (whole job and course texts: does a rule fitted on sentences transfer?), and
the recall on the three long postings among them.
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

from sea_core.calibration import (
    ACCEPTANCE_MIN_GAIN,
    ACCEPTANCE_MIN_T,
    MIN_GAIN,
    MIN_T,
    ReviewedExample,
    RuleGrid,
    fit_output_rule,
    rule_score,
)
from sea_core.encoder import Encoder
from sea_core.golden import load_golden_set
from sea_core.output_set import SHIPPED_RULE, OutputRule
from sea_core.pipeline import Pipeline
from sea_core.quality import set_scores
from sea_core.taxonomy import bundled_taxonomy

Procedure = Callable[[Sequence[ReviewedExample]], OutputRule]
SHIPPED_PROCEDURE = "shipped procedure (grid with its bar, or acceptance at a positive inner gain)"
#: Golden texts of this many words and more are the long postings (three: 246-283 words).
LONG_WORDS = 200


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

    shipped_only = RuleGrid(
        min_confidence=(SHIPPED_RULE.min_confidence,),
        relative_margin=(SHIPPED_RULE.relative_margin,),
        max_skills=(SHIPPED_RULE.max_skills,),
        fold_similarity=(SHIPPED_RULE.fold_similarity,),
        cap_per_sentence=(SHIPPED_RULE.cap_per_sentence,),
    )

    def fit(
        grid: RuleGrid | None = None,
        bar: bool = True,
        check: bool = True,
        acceptance: bool = True,
        acceptance_bar: tuple[float, float] = (ACCEPTANCE_MIN_GAIN, ACCEPTANCE_MIN_T),
    ) -> Procedure:
        """The fit on `grid` (and the acceptance model unless `acceptance` is False, kept above
        `acceptance_bar`); the grid fit with its bar, kept at any positive inner gain (`bar`
        False), or kept whatever the inner cross-validation says (`check` False, both fits)."""
        gain, t = (MIN_GAIN, MIN_T) if bar else ((1e-9 if check else -1.0), -1e9)
        a_gain, a_t = acceptance_bar if check else (-1.0, -1e9)
        bars = {"min_gain": gain, "min_t": t, "acceptance_min_gain": a_gain, "acceptance_min_t": a_t}
        return lambda train: (
            fit_output_rule(train, ids, vectors, grid=grid, acceptance=acceptance, **bars).rule
        )

    return {
        "shipped rule": lambda train: SHIPPED_RULE,
        SHIPPED_PROCEDURE: fit(),
        "grid, the bar (stop 19's shipped procedure)": fit(acceptance=False),
        "grid, kept at any positive inner gain": fit(bar=False, acceptance=False),
        "the same, grid with a floor": fit(floor, bar=False, acceptance=False),
        "the same, caps per text": fit(per_text, bar=False, acceptance=False),
        "grid, kept whatever the inner cross-validation says": fit(bar=False, check=False, acceptance=False),
        "acceptance model, the grid's bar": fit(shipped_only, acceptance_bar=(MIN_GAIN, MIN_T)),
        "acceptance model, kept at any positive inner gain": fit(shipped_only),
        "acceptance model, kept whatever the inner cross-validation says": fit(shipped_only, check=False),
        "grid or acceptance, both kept at any positive inner gain": fit(bar=False),
        "before stop 19 (floor, caps per text, the bar)": fit(before, acceptance=False),
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

    def on_golden(rule: OutputRule) -> tuple[float, float, float, float]:
        """Mean Jaccard, recall and set size of the rule's output on the golden texts, and the
        mean recall on the long ones (`LONG_WORDS` words and more)."""
        chosen = [[ids[c.row] for c in rule.select(ranked[t].candidates, t, vectors)] for t, _ in golden]
        scores = [set_scores(c, e) for c, (_, e) in zip(chosen, golden)]
        long = [s.recall for s, (t, _) in zip(scores, golden) if len(t.split()) >= LONG_WORDS]
        return (
            float(np.mean([s.jaccard for s in scores])),
            float(np.mean([s.recall for s in scores])),
            float(np.mean([len(c) for c in chosen])),
            float(np.mean(long)) if long else float("nan"),
        )

    print(f"{len(examples)} sentences, {args.assignments} fold assignments x {args.folds} folds")

    fits = procedures(ids, vectors)
    gains: dict[str, list[float]] = {name: [] for name in fits}
    fitted = dict.fromkeys(fits, 0)
    on_all = {name: fit(examples) for name, fit in fits.items()}  # each rule fitted on every sentence
    transfer = {name: on_golden(rule) for name, rule in on_all.items()}
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
        "| fits not shipped | golden Jaccard | golden recall | golden set size | long postings' recall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, values in gains.items():
        d = np.array(values)
        first = ", ".join(f"{v:+.3f}" for v in d[: args.folds])
        jaccard, recall, size, long_recall = transfer[name]
        print(
            f"| {name} | {d.mean():+.4f} | {first} | {int((d < -1e-9).sum())} of {len(d)} | "
            f"{d.min():+.3f} | {fitted[name]} of {len(d)} | {jaccard:.3f} | {recall:.3f} | {size:.1f} "
            f"| {long_recall:.3f} |"
        )
    longest = max((t for t, _ in golden), key=lambda t: len(t.split()))
    for name, rule in (
        ("shipped rule", SHIPPED_RULE),
        ("shipped procedure's rule", on_all[SHIPPED_PROCEDURE]),
    ):
        print(
            f"serving cost, {name} (acceptance model: {rule.acceptance is not None}): "
            f"{cut_ms(rule, ranked[longest].candidates, longest, vectors):.2f} ms for the "
            f"{len(longest.split())}-word golden posting's {len(ranked[longest].candidates)} candidates"
        )
    print(f"total {time.perf_counter() - started:.0f} s")


def cut_ms(
    rule: OutputRule, candidates: Sequence, text: str, vectors: np.ndarray, repeats: int = 200
) -> float:
    """Median milliseconds of `rule.apply` (folding, cut) on one text's candidates."""
    rule.apply(candidates, text, vectors)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rule.apply(candidates, text, vectors)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


if __name__ == "__main__":
    main()

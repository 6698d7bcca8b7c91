"""Contrastive fine-tuning of the sentence encoder on reviewer feedback.

Positives are (evidence phrase or whole text -> confirmed skill title); each batch scores every
anchor against all the batch's skills (in-batch negatives) and, where the reviewer rejected a
skill of that text, against that rejected skill too (a hard negative):
MultipleNegativesRankingLoss with hard negatives. Taxonomy self-supervision is mixed in
(an alternative label or the first description sentence -> its skill title) so the model keeps
the rest of the taxonomy. A batch never holds the same positive twice (it would be its own
false negative). Everything is seeded; `FineTuneResult.hyperparameters` records what was used.

`optimise` is the one optimiser loop of the project (`run_training`, which the build's trainer
uses, runs it on a SentenceTransformer loss; the cross-encoder benchmark on its own loss):
sentence-transformers 6.2's `fit`/`SentenceTransformerTrainer` need `datasets` and
`accelerate`, which SEA does not install, so this is the loop `old_fit` runs (AdamW without
decay on biases and LayerNorm, linear warm-up schedule, gradient clipping at 1.0) written out.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .encoder import pick_device, quiet_loading, resolve_model_path
from .markup import plain_text
from .matching import FULL_TEXT_PHRASE
from .taxonomy import Taxonomy

Progress = Callable[[float, str], None]
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class ReviewedText:
    """A reviewed text as training data: the confirmed and rejected skill ids, and the evidence
    phrase of confirmed skills where the prediction had one (`(skill_id, phrase)` pairs)."""

    text: str
    confirmed: tuple[str, ...]
    rejected: tuple[str, ...] = ()
    phrases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FineTuneParams:
    """Hyper-parameters of `fine_tune_contrastive` (recorded with the model)."""

    max_steps: int = 150
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    scale: float = 20.0  # MultipleNegativesRankingLoss scale (1 / temperature)
    seed: int = 42
    taxonomy_pairs: int = 2000  # self-supervision pairs sampled from the taxonomy
    review_repeats: int = 2  # each review pair appears this many times per pass
    device: str | None = None

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.batch_size < 2:
            raise ValueError(
                f"max_steps must be >= 1 and batch_size >= 2, got {self.max_steps}, {self.batch_size}"
            )
        if self.taxonomy_pairs < 0 or self.review_repeats < 1:
            raise ValueError("taxonomy_pairs must be >= 0 and review_repeats >= 1")


@dataclass(frozen=True)
class TrainExample:
    """One row of a training batch: its texts (anchor, positive[, negative]) and label."""

    texts: tuple[str, ...]
    label: float = 1.0
    source: str = "review"  # review | taxonomy


@dataclass(frozen=True)
class FineTuneResult:
    """What a fine-tuning run did and with which settings."""

    output_dir: str
    params: FineTuneParams
    steps: int
    review_examples: int
    taxonomy_examples: int
    hard_negatives: int
    final_loss: float
    seconds: float
    device: str

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The settings and data sizes, for the registry and the model card."""
        return asdict(self.params) | {
            "loss": "MultipleNegativesRankingLoss+hard-negatives",
            "review_examples": self.review_examples,
            "taxonomy_examples": self.taxonomy_examples,
            "hard_negatives": self.hard_negatives,
        }


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CUDA too when present)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def first_sentence(text: str) -> str:
    """The first sentence of `text` (up to the first whitespace after ".", "!" or "?")."""
    return _FIRST_SENTENCE.split(text.strip(), maxsplit=1)[0]


def review_examples(reviews: Sequence[ReviewedText], taxonomy: Taxonomy) -> list[TrainExample]:
    """(anchor, confirmed title[, rejected title]) rows: the whole text and each evidence phrase
    as anchors; rejected skills of the text are cycled through as hard negatives. Skills not in
    `taxonomy` (e.g. removed since the review) are skipped."""
    out: list[TrainExample] = []
    for review in reviews:
        negatives = [s.title for sid in review.rejected if (s := taxonomy.get(sid)) is not None]
        phrases = dict(review.phrases)
        position = 0
        for sid in review.confirmed:
            skill = taxonomy.get(sid)
            if skill is None:
                continue
            phrase = plain_text(phrases.get(sid, ""))
            text = plain_text(review.text)  # as the model reads them when it serves
            anchors = [text] + ([phrase] if phrase not in ("", text, FULL_TEXT_PHRASE) else [])
            for anchor in anchors:
                negative = negatives[position % len(negatives)] if negatives else None
                position += 1
                texts = (anchor, skill.title) + ((negative,) if negative else ())
                out.append(TrainExample(texts, source="review"))
    return out


def taxonomy_examples(taxonomy: Taxonomy, n: int, seed: int) -> list[TrainExample]:
    """`n` self-supervision rows (alternative label or first description sentence -> title) from
    skills drawn with `seed`."""
    rng = random.Random(seed)
    skills = [s for s in taxonomy if s.alt_labels or s.description]
    out = []
    for skill in rng.sample(skills, min(n, len(skills))):
        options = list(skill.alt_labels)
        if skill.description:
            options.append(first_sentence(skill.description))
        anchor = rng.choice(options)
        if anchor.strip() and anchor.strip().lower() != skill.title.lower():
            out.append(TrainExample((anchor, skill.title), source="taxonomy"))
    return out


def contrastive_batches(
    examples: Sequence[TrainExample], batch_size: int, max_steps: int, seed: int
) -> list[list[TrainExample]]:
    """Up to `max_steps` batches, passes over the shuffled examples repeated as needed: each
    batch holds rows with the same number of texts and never the same positive twice; batches
    of one row are dropped."""
    rng = random.Random(seed)
    batches: list[list[TrainExample]] = []
    if len({e.texts[1] for e in examples}) < 2:
        return batches
    while len(batches) < max_steps:
        before = len(batches)
        order = list(examples)
        rng.shuffle(order)
        open_batches: list[tuple[list[TrainExample], set[str]]] = []
        for example in order:
            for rows, positives in open_batches:
                if len(rows[0].texts) == len(example.texts) and example.texts[1] not in positives:
                    rows.append(example)
                    positives.add(example.texts[1])
                    break
            else:
                open_batches.append(([example], {example.texts[1]}))
            full = [b for b in open_batches if len(b[0]) == batch_size]
            batches.extend(rows for rows, _ in full)
            open_batches = [b for b in open_batches if len(b[0]) < batch_size]
        batches.extend(rows for rows, _ in open_batches if len(rows) >= 2)
        if len(batches) == before:  # no pass can make a batch (e.g. one row of each width)
            break
    return batches[:max_steps]


def optimise(
    named_parameters: Sequence[tuple[str, Any]],
    step_losses: Sequence[Callable[[], Any]],
    learning_rate: float,
    warmup_ratio: float,
    weight_decay: float,
    progress: Progress | None = None,
    epochs: int = 1,
) -> dict[str, Any]:
    """The one optimiser loop: one AdamW step per entry of `step_losses` (each returns the
    step's loss tensor), no decay on biases and LayerNorm, linear warm-up then decay, gradients
    clipped at 1.0; returns `steps` and `final_loss`. Progress every 10 steps and at the end,
    naming the epoch when the steps span `epochs` passes."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    total_steps = len(step_losses)
    no_decay = ("bias", "LayerNorm.bias", "LayerNorm.weight")
    named = list(named_parameters)
    parameters = [p for _, p in named]
    optimizer = torch.optim.AdamW(
        [
            {
                "params": [p for n, p in named if not any(nd in n for nd in no_decay)],
                "weight_decay": weight_decay,
            },
            {"params": [p for n, p in named if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
        ],
        lr=learning_rate,
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(total_steps * warmup_ratio), max(1, total_steps)
    )
    step, last_loss = 0, float("nan")
    for step_loss in step_losses:
        value = step_loss()
        value.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        last_loss = float(value.detach().cpu())
        if progress and (step % 10 == 0 or step == total_steps):
            epoch = min(epochs, (step - 1) * epochs // max(1, total_steps) + 1)
            progress(
                step / total_steps, f"epoch {epoch}/{epochs}, step {step}/{total_steps}, loss {last_loss:.4f}"
            )
    return {"steps": step, "final_loss": last_loss}


def run_training(
    model: Any,
    loss_model: Any,
    batches: Sequence[Sequence[TrainExample]],
    learning_rate: float,
    warmup_ratio: float,
    weight_decay: float,
    progress: Progress | None = None,
    epochs: int = 1,
) -> dict[str, Any]:
    """Train `loss_model` (wrapping the SentenceTransformer `model`) on `batches` in order, one
    `optimise` step each; returns `steps` and `final_loss`."""
    import torch
    from sentence_transformers.util import batch_to_device

    def step_loss(batch: Sequence[TrainExample]) -> Callable[[], Any]:
        def loss() -> Any:
            features = [
                batch_to_device(model.preprocess([row.texts[column] for row in batch]), model.device)
                for column in range(len(batch[0].texts))
            ]
            labels = torch.tensor([float(row.label) for row in batch], device=model.device)
            return loss_model(features, labels)

        return loss

    loss_model.to(model.device)
    loss_model.train()
    summary = optimise(
        list(loss_model.named_parameters()),
        [step_loss(batch) for batch in batches],
        learning_rate,
        warmup_ratio,
        weight_decay,
        progress,
        epochs,
    )
    model.eval()
    return summary


def fine_tune_contrastive(
    start: str | Path,
    reviews: Sequence[ReviewedText],
    taxonomy: Taxonomy,
    output_dir: str | Path,
    params: FineTuneParams = FineTuneParams(),
    progress: Progress | None = None,
) -> FineTuneResult:
    """Fine-tune the encoder at `start` (a folder or bundled-encoder name) on `reviews` plus
    taxonomy self-supervision and save it to `output_dir`. ValueError when there are fewer
    than two distinct positives to train on (e.g. no reviews and no taxonomy pairs)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses

    started = time.perf_counter()
    seed_everything(params.seed)
    reviewed = review_examples(reviews, taxonomy)
    self_supervised = taxonomy_examples(taxonomy, params.taxonomy_pairs, params.seed)
    examples = reviewed * params.review_repeats + self_supervised
    batches = contrastive_batches(examples, params.batch_size, params.max_steps, params.seed)
    if not batches:
        raise ValueError(
            f"too little training data: {len(reviewed)} review and "
            f"{len(self_supervised)} taxonomy example(s) give no batch of two "
            "distinct skills"
        )
    with quiet_loading():
        model = SentenceTransformer(resolve_model_path(start), device=pick_device(params.device))
    loss_model = losses.MultipleNegativesRankingLoss(model, scale=params.scale)
    summary = run_training(
        model, loss_model, batches, params.learning_rate, params.warmup_ratio, params.weight_decay, progress
    )
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    with quiet_loading():
        model.save(str(output_dir))
    return FineTuneResult(
        str(output_dir),
        params,
        summary["steps"],
        len(reviewed),
        len(self_supervised),
        sum(len(e.texts) == 3 for e in reviewed),
        summary["final_loss"],
        round(time.perf_counter() - started, 3),
        str(model.device),
    )

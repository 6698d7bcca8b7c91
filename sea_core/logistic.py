"""Newton's method for L2-penalised logistic regression on standardised columns, shared by the
re-ranker's pairwise fit (`reranker_fit`) and the output set's acceptance model (`acceptance`)."""

from __future__ import annotations

import numpy as np


def newton_logistic(
    z: np.ndarray,
    y: np.ndarray,
    penalty: np.ndarray,
    theta: np.ndarray,
    iterations: int,
    tolerance: float,
    jitter: float = 0.0,
) -> np.ndarray:
    """Weights minimising the mean log-loss of labels `y` (0..1) on rows `z` plus
    `penalty * theta**2 / 2`, from the start `theta` (copied); stops after `iterations` Newton
    steps or when no weight moves by `tolerance`. `jitter` is added to the Hessian's diagonal only
    (keeps an unpenalised column solvable). Logits are clipped at +-50."""
    theta = np.array(theta, dtype=np.float64)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ theta, -50, 50)))
        grad = z.T @ (p - y) / len(z) + penalty * theta
        hess = (z * (p * (1 - p))[:, None]).T @ z / len(z) + np.diag(penalty + jitter)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < tolerance:
            break
    return theta

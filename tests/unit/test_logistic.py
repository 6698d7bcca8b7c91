"""Newton's method for penalised logistic regression (sea_core.logistic), shared by the
re-ranker's pairwise fit and the acceptance model."""

import numpy as np

from sea_core.logistic import newton_logistic


def test_the_weights_order_the_labels_and_the_start_is_not_changed():
    rng = np.random.default_rng(0)
    z = np.c_[np.ones(200), rng.normal(size=200)]
    y = (rng.uniform(size=200) < 1 / (1 + np.exp(-2 * z[:, 1]))).astype(float)
    start = np.zeros(2)
    theta = newton_logistic(z, y, np.array([0.0, 1e-3]), start, iterations=50, tolerance=1e-10, jitter=1e-9)
    assert 1.5 < theta[1] < 2.5 and start.tolist() == [0.0, 0.0]


def test_the_penalty_shrinks_and_zero_iterations_return_the_start():
    z = np.c_[np.ones(4), np.array([-1.0, -0.5, 0.5, 1.0])]
    y = np.array([0.0, 0.0, 1.0, 1.0])  # separable: only the penalty bounds the weight
    light = newton_logistic(z, y, np.array([1e-3, 1e-3]), np.zeros(2), 100, 1e-12)
    heavy = newton_logistic(z, y, np.array([1.0, 1.0]), np.zeros(2), 100, 1e-12)
    assert light[1] > heavy[1] > 0
    assert newton_logistic(z, y, np.ones(2), np.array([0.3, 0.7]), 0, 1e-9).tolist() == [0.3, 0.7]


def test_jitter_solves_an_unpenalised_constant_column():
    z = np.c_[np.ones(4), np.zeros(4)]  # the second column is constant 0: a singular Hessian
    y = np.array([0.0, 1.0, 1.0, 1.0])
    theta = newton_logistic(z, y, np.array([0.0, 0.0]), np.zeros(2), 50, 1e-9, jitter=1e-9)
    assert abs(1 / (1 + np.exp(-theta[0])) - 0.75) < 1e-6 and theta[1] == 0.0

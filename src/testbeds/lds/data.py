"""Linear dynamical systems, their exact Kalman filter, and random bigram chains (source 002), in NumPy.

A system is x_t = A x_{t-1} + σ ε_t (x_0 = 0), y_t = C x_t + ρ η_t, with ε, η standard normal; a sequence
is y_1..y_T. The Kalman filter here is the exact time-varying one with the true A, C, Q = σ²I and
R = ρ²I (+ a 1e-8 jitter, as the seed), vectorised over sequences: its covariance recursion does not
depend on the data, so it runs once per time step for the whole batch.

A bigram chain is a V x V row-stochastic matrix with Dirichlet(1) rows and a uniform first token.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

STRUCTURES = ("dense", "diagonal", "scalar")
R_JITTER = 1e-8


def signed_radii(rng: np.random.Generator, n: int, lam: float) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=n) * rng.uniform(lam / 2, lam, size=n)


def transition_matrix(rng: np.random.Generator, structure: str, dim_x: int, lam: float) -> np.ndarray:
    """A with every eigenvalue's modulus in [λ/2, λ].

    dense: rotation blocks r [[cos θ, -sin θ], [sin θ, cos θ]] (r ~ U(λ/2, λ), θ ~ U(0, π)) under a random
    orthogonal similarity; diagonal: ±U(λ/2, λ) on the diagonal; scalar: ±U(λ/2, λ) times the identity.
    """
    if structure == "scalar":
        return signed_radii(rng, 1, lam)[0] * np.eye(dim_x)
    if structure == "diagonal":
        return np.diag(signed_radii(rng, dim_x, lam))
    if structure != "dense":
        raise ValueError(f"unknown structure {structure!r}; known: {', '.join(STRUCTURES)}")
    radii, angles = rng.uniform(lam / 2, lam, size=dim_x // 2), rng.uniform(0, np.pi, size=dim_x // 2)
    J = np.zeros((dim_x, dim_x))
    for k, (r, theta) in enumerate(zip(radii, angles)):
        J[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = r * np.array(
            [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
        )
    if dim_x % 2:
        J[-1, -1] = signed_radii(rng, 1, lam)[0]
    Q, _ = np.linalg.qr(rng.standard_normal((dim_x, dim_x)))
    return Q @ J @ Q.T


def observation_matrix(rng: np.random.Generator, dim_y: int, dim_x: int) -> np.ndarray:
    return rng.standard_normal((dim_y, dim_x)) / np.sqrt(dim_x)


def noise_covariances(dim_x: int, dim_y: int, sigma: float, obs_noise: float) -> tuple[np.ndarray, np.ndarray]:
    return sigma**2 * np.eye(dim_x), (obs_noise**2 + R_JITTER) * np.eye(dim_y)


def simulate(
    rng: np.random.Generator, A: np.ndarray, C: np.ndarray, sigma: float, obs_noise: float, n: int, length: int
) -> np.ndarray:
    """``n`` observation sequences y_1..y_length, shape (n, length, dim_y)."""
    x = np.zeros((n, A.shape[0]))
    ys = np.empty((n, length, C.shape[0]))
    for t in range(length):
        x = x @ A.T + sigma * rng.standard_normal(x.shape)
        ys[:, t] = x @ C.T + obs_noise * rng.standard_normal((n, C.shape[0]))
    return ys


def kalman_filter(
    A, C, Q, R, ys: np.ndarray, horizon: int = 0, patch: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The filter's predictions of every y_t of ``ys`` (n, T, dim_y), all sequences at once, from the
    observations before the start of t's patch of ``patch`` steps: with patch 1 the one-step predictions
    ŷ_{t|t-1}; with patch P, y_t for t = iP + j is forecast j + 1 steps ahead from y_1..y_{iP}, which is
    what a model reading and predicting whole patches knows.

    Returns (predictions (n, T, dim_y), expected squared error per dimension at each t — tr(S)/dim_y with
    S = C P Cᵀ + R for the forecast's state covariance P —, open-loop forecasts ŷ_{T+h|T} for
    h = 1..horizon (n, horizon, dim_y)).
    """
    n, T, dim_y = ys.shape
    x, P = np.zeros((n, A.shape[0])), Q.copy()  # the prior of x_1 given x_0 = 0
    predictions, expected = np.empty_like(ys, dtype=np.float64), np.empty(T)
    for t in range(T):
        if t % patch == 0:  # the forecast state and covariance at the patch's start: x̂_{t|t-1}, P_{t|t-1}
            x_ahead, P_ahead = x, P
        else:  # one more step ahead without observations
            x_ahead, P_ahead = x_ahead @ A.T, A @ P_ahead @ A.T + Q
        predictions[:, t] = x_ahead @ C.T
        expected[t] = np.trace(C @ P_ahead @ C.T + R) / dim_y
        S = C @ P @ C.T + R
        K = np.linalg.solve(S, C @ P).T  # P Cᵀ S⁻¹ (S and P symmetric)
        x = x + (ys[:, t] - x @ C.T) @ K.T  # the innovation of the one-step prediction
        P = P - K @ C @ P
        x, P = x @ A.T, A @ P @ A.T + Q
        P = (P + P.T) / 2
    forecasts = np.empty((n, horizon, dim_y))
    for h in range(horizon):  # x holds x̂_{T+1|T}; propagate without observations
        forecasts[:, h] = x @ C.T
        x = x @ A.T
    return predictions, expected, forecasts


def steady_state_mse(A, C, Q, R) -> float:
    """The stationary one-step prediction MSE per dimension, from the discrete algebraic Riccati equation."""
    from scipy.linalg import solve_discrete_are

    P = solve_discrete_are(A.T, C.T, Q, R)
    return float(np.trace(C @ P @ C.T + R) / C.shape[0])


def make_system(settings: dict, index: int) -> dict:
    """System ``index`` of a data section: A, C and its Kalman baseline (empirical and exact MSE)."""
    d = settings
    rng = np.random.default_rng([d["seed"], index])
    A = transition_matrix(rng, d["structure"], d["dim_x"], d["lambda"])
    C = observation_matrix(rng, d["dim_y"], d["dim_x"])
    Q, R = noise_covariances(d["dim_x"], d["dim_y"], d["sigma"], d["obs_noise"])
    ys = simulate(rng, A, C, d["sigma"], d["obs_noise"], d["kf_sequences"], d["kf_length"])
    predictions, expected, _ = kalman_filter(A, C, Q, R, ys)
    burn = d["kf_burn_in"]
    return {
        "A": A,
        "C": C,
        "kf_mse": float(np.mean((ys[:, burn:] - predictions[:, burn:]) ** 2)),
        "kf_expected_mse": expected,
        "spectral_radius": float(np.max(np.abs(np.linalg.eigvals(A)))),
    }


# ----------------------------------------------------------------------------------- bigram chains
def bigram_chain(settings: dict, index: int) -> dict:
    """Chain ``index``: Dirichlet(1) transition rows and the entropy floor of next-token prediction."""
    rng = np.random.default_rng([settings["seed"], index])
    V = settings["vocab_size"]
    P = rng.dirichlet(np.ones(V), size=V)
    return {"P": P, "entropy_floor": entropy_floor(P, settings["seq_len"]), "entropy_rate": entropy_rate(P)}


def row_entropies(P: np.ndarray) -> np.ndarray:
    return -np.sum(P * np.log(np.clip(P, 1e-300, None)), axis=1)


def entropy_floor(P: np.ndarray, seq_len: int) -> float:
    """The least achievable mean cross-entropy (nats) over the seq_len - 1 predictions of a sequence that
    starts from a uniform token: mean over t of Σ_i p_t(i) H(P_i), p_t the marginal of token t."""
    p, H, total = np.full(len(P), 1.0 / len(P)), row_entropies(P), 0.0
    for _ in range(seq_len - 1):
        total += p @ H
        p = p @ P
    return float(total / (seq_len - 1))


def entropy_rate(P: np.ndarray) -> float:
    """Σ_i π_i H(P_i) with π the stationary distribution."""
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    return float(pi @ row_entropies(P))


def empirical_kl(P: np.ndarray, tokens: np.ndarray, min_count: int = 10) -> float:
    """Mean over rows seen ≥ min_count times of KL(P̂_i ‖ P_i), P̂ the transition frequencies in ``tokens``
    (n, T). KL in this direction is finite for any sample; it is 0 only when the frequencies equal P."""
    V = len(P)
    counts = np.zeros((V, V))
    np.add.at(counts, (tokens[:, :-1].ravel(), tokens[:, 1:].ravel()), 1)
    seen = counts.sum(axis=1) >= min_count
    if not seen.any():
        return float("nan")
    emp = counts[seen] / counts[seen].sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(emp > 0, emp * np.log(emp / P[seen]), 0.0)
    return float(terms.sum(axis=1).mean())


def sample_chain(rng: np.random.Generator, P: np.ndarray, n: int, length: int) -> np.ndarray:
    tokens = np.empty((n, length), dtype=np.int64)
    tokens[:, 0] = rng.integers(len(P), size=n)
    cumulative = np.cumsum(P, axis=1)
    for t in range(1, length):
        u = rng.random(n)[:, None]
        tokens[:, t] = np.minimum((u > cumulative[tokens[:, t - 1]]).sum(axis=1), len(P) - 1)
    return tokens


# ------------------------------------------------------------------------------------ the data set
def generate(settings: dict) -> dict[str, np.ndarray]:
    """The arrays of a data section: ``n_systems`` LDS systems (task lds) or bigram chains (task bigram) for the
    evaluated seeds, and one more (index ``n_systems``) that only tuning trials train on."""
    make = make_system if settings["task"] == "lds" else bigram_chain
    items = [make(settings, k) for k in range(settings["n_systems"] + 1)]
    return {key: np.stack([np.asarray(item[key]) for item in items]) for key in items[0]}


def label(settings: dict) -> str:
    d = settings
    if d["task"] == "bigram":
        return (
            f"generated: {d['n_systems']} random bigram chains (+1 for tuning), vocabulary {d['vocab_size']} (offline)"
        )
    return (
        f"generated: {d['n_systems']} {d['structure']} LDS (+1 for tuning), dim_x {d['dim_x']}, dim_y {d['dim_y']}, "
        f"λ {d['lambda']}, σ {d['sigma']} (offline)"
    )


def write_dataset(settings: dict, out: Path) -> dict:
    """systems.npz (the arrays of ``generate``) and manifest.json (settings, checksum, baselines), atomically."""
    from testbeds.runio import atomic_write_json, atomic_write_npz, sha256_file

    arrays = generate(settings)
    out = Path(out)
    atomic_write_npz(out / "systems.npz", **arrays)
    baseline = (
        {"kf_mse": arrays["kf_mse"].tolist(), "spectral_radius": arrays["spectral_radius"].tolist()}
        if settings["task"] == "lds"
        else {"entropy_floor": arrays["entropy_floor"].tolist(), "entropy_rate": arrays["entropy_rate"].tolist()}
    )
    manifest = {
        "label": label(settings),
        "settings": settings,
        "sha256": sha256_file(out / "systems.npz"),
        "arrays": {k: list(v.shape) for k, v in arrays.items()},
        **baseline,
    }
    atomic_write_json(out / "manifest.json", manifest)
    return manifest

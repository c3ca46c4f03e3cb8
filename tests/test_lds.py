"""lds (source 002): systems, the Kalman filter's optimality, the model's causality and KV cache, training."""

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from testbeds import config as cfg
from testbeds.lds import data as systems
from testbeds.lds.model import PatchingInput, build_model, generate
from testbeds.lds.task import Task, init_params
from testbeds.lds.train import train

CONFIG = cfg.load_config([cfg.DEFAULT_CONFIG])
CONFIG["workloads"]["lds"]["variants"]["bigram"] = {"data.task": "bigram", "train.lr": 3e-3}  # as config/paper.yaml


def lds_run(variant: str = "base", optimizer: str = "adamw", **sections) -> dict:
    run = cfg.resolve_run(CONFIG, "lds", variant, optimizer, 0)
    run["data"].update(n_systems=1, kf_sequences=32, kf_length=256, kf_burn_in=32)
    run["model"].update(d_model=32, n_head=2, n_layer=1)
    for section, values in sections.items():
        run[section].update(values)
    return run


def data_settings(**changes) -> dict:
    return {**lds_run()["data"], **changes}


# ------------------------------------------------------------------------------------------ systems
@pytest.mark.parametrize("structure", systems.STRUCTURES)
@pytest.mark.parametrize("dim_x", [6, 7])
def test_every_eigenvalue_modulus_lies_in_half_lambda_to_lambda(structure, dim_x):
    lam = 0.9
    for seed in range(5):
        A = systems.transition_matrix(np.random.default_rng(seed), structure, dim_x, lam)
        moduli = np.abs(np.linalg.eigvals(A))
        assert np.all(moduli >= lam / 2 - 1e-9) and np.all(moduli <= lam + 1e-9), moduli
    if structure == "dense":  # a similarity transform, not a diagonal matrix
        assert np.count_nonzero(np.abs(A - np.diag(np.diag(A))) > 1e-6) > dim_x


def test_unknown_structure_is_an_error():
    with pytest.raises(ValueError, match="toeplitz"):
        systems.transition_matrix(np.random.default_rng(0), "toeplitz", 4, 0.9)


def tiny_system(obs_noise: float, dim_x: int = 3, dim_y: int = 1):
    rng = np.random.default_rng(3)
    A = systems.transition_matrix(rng, "dense", dim_x, 0.95)
    C = systems.observation_matrix(rng, dim_y, dim_x)
    Q, R = systems.noise_covariances(dim_x, dim_y, 0.7, obs_noise)
    return A, C, Q, R


@pytest.mark.parametrize("obs_noise", [0.0, 0.5])
def test_kalman_covariance_converges_to_the_riccati_solution(obs_noise):
    A, C, Q, R = tiny_system(obs_noise, dim_x=6, dim_y=2)
    _, expected, _ = systems.kalman_filter(A, C, Q, R, np.zeros((1, 400, 2)))
    assert expected[-1] == pytest.approx(systems.steady_state_mse(A, C, Q, R), rel=1e-6)
    # x_0 = 0 is known: the first step's error is one step of process noise seen through C
    assert expected[0] == pytest.approx(np.trace(C @ Q @ C.T + R) / 2) and expected[0] != pytest.approx(expected[-1])


def test_stored_kalman_mse_matches_the_steady_state_error():
    settings = data_settings(kf_sequences=512, kf_length=512, kf_burn_in=64)
    system = systems.make_system(settings, 0)
    Q, R = systems.noise_covariances(settings["dim_x"], settings["dim_y"], settings["sigma"], settings["obs_noise"])
    assert system["kf_mse"] == pytest.approx(systems.steady_state_mse(system["A"], system["C"], Q, R), rel=0.03)


@pytest.mark.parametrize("obs_noise", [0.0, 0.5])
def test_kalman_predictions_equal_the_brute_force_bayesian_posterior(obs_noise):
    """E[y_t | y_1..y_{t-1}] by conditioning the joint Gaussian of (y_1..y_T) equals the filter's ŷ_t."""
    A, C, Q, R = tiny_system(obs_noise)
    T, dx = 5, A.shape[0]
    cov_x = np.zeros((T, T, dx, dx))  # Cov(x_t, x_u) = Σ_{s ≤ min(t,u)} A^{t-s} Q (A^{u-s})ᵀ
    for t in range(T):
        for u in range(T):
            for s in range(min(t, u) + 1):
                cov_x[t, u] += np.linalg.matrix_power(A, t - s) @ Q @ np.linalg.matrix_power(A, u - s).T
    cov_y = np.block([[C @ cov_x[t, u] @ C.T + (R if t == u else 0 * R) for u in range(T)] for t in range(T)])
    ys = systems.simulate(np.random.default_rng(1), A, C, 0.7, obs_noise, 4, T)
    predictions, expected, _ = systems.kalman_filter(A, C, Q, R, ys)
    for t in range(1, T):
        gain = np.linalg.solve(cov_y[:t, :t], cov_y[:t, t]).T  # (1, t) with dim_y = 1
        posterior = ys[:, :t, 0] @ gain.T
        np.testing.assert_allclose(predictions[:, t, 0], posterior, rtol=1e-6, atol=1e-9)
        variance = cov_y[t, t] - cov_y[t, :t] @ np.linalg.solve(cov_y[:t, :t], cov_y[:t, t])
        assert expected[t] == pytest.approx(variance, rel=1e-6)


@pytest.mark.parametrize("patch", [2, 3])
def test_patched_forecasts_equal_the_brute_force_posterior_given_the_patch_starts(patch):
    """With patches of P steps, y_t is forecast from y_1..y_s, s the last step before t's patch: the filter's
    k-step forecasts equal E[y_t | y_1..y_s] from the joint Gaussian, and their expected error its variance.
    This is the floor of the lds score for every patch size."""
    A, C, Q, R = tiny_system(0.5)
    T, dx = 7, A.shape[0]
    cov_x = np.zeros((T, T, dx, dx))
    for t in range(T):
        for u in range(T):
            for s in range(min(t, u) + 1):
                cov_x[t, u] += np.linalg.matrix_power(A, t - s) @ Q @ np.linalg.matrix_power(A, u - s).T
    cov_y = np.block([[C @ cov_x[t, u] @ C.T + (R if t == u else 0 * R) for u in range(T)] for t in range(T)])
    ys = systems.simulate(np.random.default_rng(1), A, C, 0.7, 0.5, 4, T)
    predictions, expected, _ = systems.kalman_filter(A, C, Q, R, ys, patch=patch)
    one_step, _, _ = systems.kalman_filter(A, C, Q, R, ys)
    for t in range(patch, T):
        start = t - t % patch  # observations y_0..y_{start-1} are known
        gain = np.linalg.solve(cov_y[:start, :start], cov_y[:start, t]).T
        np.testing.assert_allclose(predictions[:, t, 0], ys[:, :start, 0] @ gain.T, rtol=1e-6, atol=1e-9)
        variance = cov_y[t, t] - cov_y[t, :start] @ np.linalg.solve(cov_y[:start, :start], cov_y[:start, t])
        assert expected[t] == pytest.approx(variance, rel=1e-6)
        if t % patch:  # further ahead than one step: a larger error than the one-step filter's
            assert np.mean((ys[:, t] - predictions[:, t]) ** 2) != pytest.approx(
                np.mean((ys[:, t] - one_step[:, t]) ** 2)
            )


def test_kalman_filter_is_vectorised_without_cross_talk():
    A, C, Q, R = tiny_system(0.3)
    ys = systems.simulate(np.random.default_rng(2), A, C, 0.7, 0.3, 6, 20)
    together, _, forecast = systems.kalman_filter(A, C, Q, R, ys, horizon=4)
    for i in range(len(ys)):
        alone, _, alone_forecast = systems.kalman_filter(A, C, Q, R, ys[i : i + 1], horizon=4)
        np.testing.assert_allclose(together[i], alone[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(forecast[i], alone_forecast[0], rtol=1e-12, atol=1e-12)


def test_entropy_floor_of_a_known_chain_and_the_sampled_kl():
    uniform = np.full((4, 4), 0.25)
    assert systems.entropy_floor(uniform, 10) == pytest.approx(np.log(4))
    chain = systems.bigram_chain(data_settings(task="bigram", vocab_size=8), 0)
    P = chain["P"]
    assert np.allclose(P.sum(axis=1), 1) and chain["entropy_floor"] < np.log(8)
    assert chain["entropy_rate"] == pytest.approx(chain["entropy_floor"], abs=0.05)  # mixes fast
    rng = np.random.default_rng(0)
    true_kl = systems.empirical_kl(P, systems.sample_chain(rng, P, 256, 64))
    wrong_kl = systems.empirical_kl(P, systems.sample_chain(rng, P[::-1], 256, 64))
    assert 0 < true_kl < 0.1 < wrong_kl


def test_tuning_trials_train_on_a_system_no_evaluated_seed_uses():
    """Tuning seed 1000 is 0 mod 4, the system of evaluated seed 0: a trial must not train there (mutation: the
    trial's system taken from its seed, as before)."""
    from testbeds.lds.task import system_index

    data = {"n_systems": 4}
    evaluated = {system_index({"seed": seed, "data": data}) for seed in range(8)}
    assert evaluated == {0, 1, 2, 3}
    assert system_index({"seed": 1000, "trial": 0, "data": data}) == 4 not in evaluated


def test_dataset_is_deterministic_and_checksummed(tmp_path):
    settings = data_settings(n_systems=2)
    first = systems.write_dataset(settings, tmp_path / "a")
    second = systems.write_dataset(settings, tmp_path / "b")
    assert first["sha256"] == second["sha256"] and len(first["kf_mse"]) == 3  # + the tuning trials' system
    assert (tmp_path / "a" / "systems.npz").read_bytes() == (tmp_path / "b" / "systems.npz").read_bytes()
    assert "offline" in first["label"]


# -------------------------------------------------------------------------------------------- model
def test_patching_input_shapes():
    layer = PatchingInput(patch_size=4, d_model=8)
    y = jnp.ones((3, 16, 2))
    params = layer.init(jax.random.PRNGKey(0), y, True)
    assert layer.apply(params, y, True).shape == (3, 5, 8)  # zero patch + 4 patches
    assert layer.apply(params, y, False).shape == (3, 4, 8)


def task_and_params(run: dict) -> tuple[Task, dict]:
    item = systems.make_system(run["data"], 0) if run["data"]["task"] == "lds" else systems.bigram_chain(run["data"], 0)
    task = Task(run, item, build_model(run))
    return task, init_params(run, task)


@pytest.mark.parametrize("patch", [1, 4])
@pytest.mark.parametrize("positional", ["rope", "learned"])
def test_a_prediction_never_depends_on_its_own_target(patch, positional):
    task, params = task_and_params(lds_run(model={"patch_size": patch, "positional": positional}))
    y = task.sample(jax.random.PRNGKey(1), 2)
    T = y.shape[1]
    assert task.predict(params, y).shape == y.shape
    for t in (0, 5, T - 1):
        changed = y.at[:, t].add(10.0)
        difference = np.abs(np.asarray(task.predict(params, changed) - task.predict(params, y))).max(axis=(0, 2))
        first_free = (t // patch + 1) * patch  # predictions of steps in t's patch or earlier must not move
        assert np.all(difference[:first_free] == 0), (t, difference[:first_free])
        if first_free < T:
            assert difference[first_free:].max() > 1e-4  # and later ones do see the change


@pytest.mark.parametrize("patch", [1, 2])
def test_generate_with_kv_cache_equals_recomputing_the_whole_sequence(patch):
    task, params = task_and_params(lds_run(model={"patch_size": patch}))
    prompt = task.sample(jax.random.PRNGKey(2), 3, 4)
    cached = generate(task.model, params, prompt, 4)
    sequence = prompt
    for _ in range(4 // patch):  # no cache: re-run the full forward on everything so far
        out, _ = task.model.apply({"params": params}, sequence, prepend=True)
        sequence = jnp.concatenate([sequence, out[:, -patch:]], axis=1)
    np.testing.assert_allclose(np.asarray(cached), np.asarray(sequence[:, 4:]), rtol=1e-5, atol=1e-5)


def test_bigram_cache_steps_give_the_full_forward_logits():
    task, params = task_and_params(lds_run("bigram"))
    tokens = task.sample(jax.random.PRNGKey(3), 2, 12)
    full, _ = task.model.apply({"params": params}, tokens)
    from testbeds.lds.model import empty_cache

    out, cache = task.model.apply({"params": params}, tokens[:, :5], 0, empty_cache(task.model, 2, 12))
    steps = [out]
    for i in range(5, 12):
        out, cache = task.model.apply({"params": params}, tokens[:, i : i + 1], i, cache)
        steps.append(out)
    np.testing.assert_allclose(np.asarray(jnp.concatenate(steps, axis=1)), np.asarray(full), rtol=1e-5, atol=1e-5)
    sampled = generate(task.model, params, tokens[:, :1], 10, jax.random.PRNGKey(0))
    assert sampled.shape == (2, 10) and int(sampled.max()) < task.run["data"]["vocab_size"]


# ------------------------------------------------------------------------------------------ training
def prepared(tmp_path, run: dict):
    systems.write_dataset(run["data"], tmp_path / "data")
    return tmp_path / "data"


def test_short_training_approaches_the_kalman_filter_on_an_easy_system(tmp_path):
    """Fully observed (dim_y = dim_x), fast-mixing system: the optimum is linear in the last observation."""
    run = lds_run(
        data={"dim_x": 2, "dim_y": 2, "lambda": 0.6},
        train={"steps": 250, "lr": 3e-3, "eval_every": 250, "checkpoint_every": 250},
    )
    summary = train(run, prepared(tmp_path, run), tmp_path / "run", log=lambda m: None)
    assert summary["status"] == "ok" and summary["best_score"] < 1.15
    first = [r for r in csv_rows(tmp_path / "run" / "metrics.csv") if r["score"]][0]
    assert float(first["score"]) > 1.5  # it learned: the untrained model is far from the filter


def csv_rows(path):
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_evaluation_scores_rollouts_against_the_kalman_forecast(tmp_path):
    from testbeds.lds.evaluate import evaluate

    run = lds_run(
        train={"steps": 20, "warmup_steps": 5, "eval_every": 10, "checkpoint_every": 10},
        eval={"sequences": 64, "rollout_sequences": 1024, "rollout_warmup": 16, "rollout_horizon": 8},
    )
    data = prepared(tmp_path, run)
    train(run, data, tmp_path / "run", log=lambda m: None)
    final = evaluate(tmp_path / "run", data)
    rows = csv_rows(tmp_path / "run" / "rollout.csv")
    assert [int(r["h"]) for r in rows] == list(range(1, 9))
    d = run["data"]
    A, C = (systems.make_system(d, 0)[k] for k in "AC")
    steady = systems.steady_state_mse(A, C, *systems.noise_covariances(d["dim_x"], d["dim_y"], d["sigma"], 0.0))
    assert float(rows[0]["kf_mse"]) == pytest.approx(steady, rel=0.1)  # h = 1 is the filter's one-step error
    assert all(float(r["score"]) == pytest.approx(float(r["model_mse"]) / float(r["kf_mse"])) for r in rows)
    for r in rows:  # skills against the zero forecast: the filter keeps more of the predictable part
        assert float(r["kf_skill"]) == pytest.approx(1 - float(r["kf_mse"]) / float(r["zero_mse"]))
        assert float(r["model_skill"]) == pytest.approx(1 - float(r["model_mse"]) / float(r["zero_mse"]))
        assert 0 < float(r["kf_skill"]) < 1 and float(r["model_skill"]) < float(r["kf_skill"])
    assert final["metrics"]["kf_skill_t+1"] == pytest.approx(float(rows[0]["kf_skill"]))
    assert final["primary_metric"] == "score" and final["metrics"]["score_t+8"] == pytest.approx(
        float(rows[-1]["score"])
    )
    trajectories = np.load(tmp_path / "run" / "trajectories.npz")
    assert trajectories["observed"].shape == (4, 24, 2) and trajectories["model"].shape == (4, 8, 2)


def test_bigram_evaluation_reports_excess_cross_entropy_and_sampled_kl(tmp_path):
    from testbeds.lds.evaluate import evaluate

    run = lds_run(
        "bigram",
        train={"steps": 20, "warmup_steps": 5, "eval_every": 10, "checkpoint_every": 10},
        eval={"sequences": 64, "rollout_sequences": 64, "rollout_horizon": 16},
    )
    data = prepared(tmp_path, run)
    train(run, data, tmp_path / "run", log=lambda m: None)
    final = evaluate(tmp_path / "run", data)
    m = final["metrics"]
    assert final["primary_metric"] == "ce_excess" and m["ce_excess"] == pytest.approx(m["ce"] - m["entropy_floor"])
    assert m["perplexity"] == pytest.approx(np.exp(m["ce"]))
    # 20 steps barely move it: the model is near uniform over the vocabulary, far above the chain's floor
    assert m["ce"] == pytest.approx(np.log(run["data"]["vocab_size"]), abs=0.15) and m["ce_excess"] > 0.2
    assert m["sampled_kl"] > m["sampled_kl_true_chain"] > 0  # an untrained model samples worse than the chain


def test_config_checks_name_the_problem():
    config = copy.deepcopy(CONFIG)
    config["workloads"]["lds"]["variants"]["odd"] = {"model.patch_size": 3}
    with pytest.raises(cfg.ConfigError, match="patch_size"):
        cfg.check_consistency(config)
    config["workloads"]["lds"]["variants"] = {"base": {}, "bad": {"data.task": "bigram", "model.patch_size": 4}}
    with pytest.raises(cfg.ConfigError, match="bigram"):
        cfg.check_consistency(config)
    config["workloads"]["lds"]["variants"] = {"base": {"train.warmup_steps": 300}}
    with pytest.raises(cfg.ConfigError, match="warmup_steps"):
        cfg.check_consistency(config)

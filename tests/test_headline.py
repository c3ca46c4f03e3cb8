"""The front page prints each cell's own numbers: every figure in it is checked against the table it came
from, on a grid where two workloads share variant and optimizer names with different values."""

import math
import re

import numpy as np
import pandas as pd

from testbeds.analysis import aggregate, headline, power, tables

from helpers import cell_runs, make_claim

VALUES = {  # workload -> optimizer -> one value per seed; w2's are ten times w1's, with other differences
    "w1": {"adam": [2.0, 2.2, 2.1, 2.4], "kbeta": [1.0, 1.3, 1.1, 1.2], "sgd": [3.0, 3.5, 3.2, 3.1]},
    "w2": {"adam": [10.0, 12.0, 9.0, 11.0], "kbeta": [30.0, 33.0, 29.0, 35.0], "sgd": [5.0, 4.0, 6.0, 5.5]},
}
BASELINES = {"w1": "adam", "w2": "sgd"}


def grid() -> pd.DataFrame:
    frame = pd.concat([cell_runs(optimizers, workload=w, variant="base") for w, optimizers in VALUES.items()])
    return frame.assign(curve_metric="loss", device="cpu", data_source="d", split="test").reset_index(drop=True)


def list_tables(text: str) -> dict[str, list[list[str]]]:
    """The list-tables of a reStructuredText page: title -> rows (header first) of cell texts."""
    tables, rows, title = {}, None, None
    for line in text.splitlines():
        if line.startswith(".. list-table:: "):
            title, rows = line.removeprefix(".. list-table:: "), []
            tables[title] = rows
        elif rows is not None and line.startswith("   * - "):
            rows.append([line.removeprefix("   * - ")])
        elif rows is not None and line.startswith("     - "):
            rows[-1].append(line.removeprefix("     - "))
        elif rows is not None and line and not line.startswith("   "):
            rows = None
    return tables


def render(runs: pd.DataFrame, claim_list: list[dict]):
    """The front page of ``runs`` as the aggregation builds it (the library's tables of the runs, no curves)."""
    curves = pd.DataFrame(columns=[*tables.ID_COLUMNS, "step"])
    recorded = {"runs.csv": runs, "curves.csv": curves, "selected.csv": pd.DataFrame()}
    settings = {"baselines": BASELINES}
    built = {**recorded, **aggregate.statistics(recorded, claim_list, settings)}
    return headline.render(built, settings), built["summary.csv"], built["comparisons.csv"], built["claims.csv"]


CLAIMS = [
    make_claim(
        f"{w}-kbeta", "kbeta", {"optimizer": BASELINES[w]}, w, "base", statement=f"kbeta beats {BASELINES[w]} on {w}"
    )
    for w in VALUES
]


def test_every_number_on_the_front_page_is_its_own_cells():
    """A mutation that keys the comparisons by (variant, optimizer) alone shows w2's Δ in w1's table."""
    text, summary, comparisons, measured = render(grid(), CLAIMS)
    tables = list_tables(text)
    num = headline._num
    for workload in VALUES:
        (title,) = [t for t in tables if t.startswith(f"{workload}: ")]
        header, *rows = tables[title]
        assert f"Δ vs baseline {BASELINES[workload]}, paired [95% CI]" in header
        assert len(rows) == 3
        for variant, optimizer, mean, ok, delta, pairs, p, wins, seeds in rows:
            name = optimizer.split(" ")[0]
            assert optimizer.endswith("(baseline)") == (name == BASELINES[workload])
            s = summary.set_index(["workload", "variant", "optimizer"]).loc[(workload, variant, name)]
            assert mean == f"{num(s['mean'])} [{num(s['ci_low'])}, {num(s['ci_high'])}]"
            assert ok == f"{s['n_ok']}/{s['n_runs']}"
            if name == BASELINES[workload]:
                assert delta == pairs == p == wins == seeds == ""
                continue
            c = comparisons.set_index(["workload", "variant", "optimizer"]).loc[(workload, variant, name)]
            assert delta == f"{num(c['diff'], 3)} [{num(c['diff_ci_low'], 3)}, {num(c['diff_ci_high'], 3)}]"
            assert p == f"{num(c['p_adjusted'], 2)} ({num(c['p'], 2)}; {c['verdict_test']})"
            assert pairs == str(c["n_pairs"]) and wins == num(c["win_rate"], 2)
            assert seeds == power.seeds_text(c["seeds_for_diff"]).removeprefix("about ")
            own = np.subtract(VALUES[workload][name], VALUES[workload][BASELINES[workload]]).mean()
            assert math.isclose(c["diff"], own)  # and the table itself is the cell's own
    (title,) = [t for t in tables if t.startswith("The source projects' claims")]
    header, *rows = tables[title]
    by_id = measured.set_index("id")
    for row, claim in zip(rows, CLAIMS):
        c = by_id.loc[claim["id"]]
        assert row[3].startswith(f"{num(c['difference'], 3)} [{num(c['ci_low'], 3)}, {num(c['ci_high'], 3)}]")
        assert row[4] == f"{num(c['p_holm'], 2)} ({num(c['p'], 2)}; {c['test']})"
        assert row[0].startswith(f"**{c['verdict']}**")
    assert re.search(r"w1-kbeta", measured["id"].iloc[0]) and by_id.loc["w1-kbeta", "difference"] < 0
    assert by_id.loc["w2-kbeta", "difference"] > 0


def test_the_ranking_shows_only_complete_optimizers_and_the_rest_head_to_head():
    runs = grid()
    extra = runs[(runs["workload"] == "w1") & (runs["optimizer"] == "adam")].assign(optimizer="adam95")
    extra["primary_value"] -= 1.5  # best on w1, absent from w2
    text, summary, _, _ = render(pd.concat([runs, extra], ignore_index=True), [])
    tables = list_tables(text)
    (ranking,) = [t for t in tables if t.startswith("Across workloads")]
    assert {row[0] for row in tables[ranking][1:]} == {"adam", "kbeta", "sgd"}
    assert "adam95 (1 of 2 problems)" in text
    (pairs,) = [t for t in tables if t.startswith("Head to head")]
    by_pair = {row[0]: row[1:3] for row in tables[pairs][1:]}
    assert by_pair["adam95 vs kbeta"] == ["1", "1 / 0 / 0"] and by_pair["kbeta vs sgd"] == ["2", "1 / 1 / 0"]
    assert "the Friedman test cannot reach p < 0.05" in text  # two blocks, three optimizers: 0.135 at best


def test_too_few_ranked_optimizers_for_friedman_is_said_in_words():
    runs = grid()
    text, *_ = render(runs[runs["optimizer"] != "sgd"], [])
    assert "The Friedman test needs 3 optimizers that ran every problem and 2 workloads; this grid has 2 and 2" in text


def test_the_protocol_names_the_schedule_free_optimizers_that_ran():
    runs = grid()
    stated = headline.protocol({}, runs, schedule_free=["kbeta", "sfadamw"])
    assert "Schedule-Free (kbeta)" in stated and "without its learning-rate decay" in stated
    assert "sfadamw" not in stated  # listed in the config, not run: not named
    assert "Schedule-Free" not in headline.protocol({}, runs)


def test_each_claims_attribution_line_is_its_own_claims_row():
    """Both workloads have a kbeta-vs-sgd attribution under the same names; each claim row of the front page shows
    the attribution of its own workload, as claims.csv has it (mutation: the attribution looked up by
    optimizer names alone, which shows w1's figures for w2)."""
    attributed = [
        {**claim, "attribution": [{"optimizer": "kbeta", "against": "sgd", "label": "against SGD"}]} for claim in CLAIMS
    ]
    text, _, _, measured = render(grid(), attributed)
    (title,) = [t for t in list_tables(text) if t.startswith("The source projects' claims")]
    _, *rows = list_tables(text)[title]
    assert len(rows) == len(measured) == 2
    for row, (_, claim) in zip(rows, measured.iterrows()):
        assert claim["attribution"].startswith("against SGD (kbeta − sgd): ")
        assert f"attribution: {claim['attribution']}" in row[0]
    assert measured["attribution"].nunique() == 2  # w1's and w2's differ


def test_a_sequential_designs_claims_show_their_statistic_boundary_and_stopping_look():
    """In a sequential design each claim row shows its z statistic against its boundary and the look it stopped
    at, measured on the seeds it stopped with; steps print as an integer beside a claim the grid did not run
    (mutations: the fixed design's p column kept; "100.0 steps" from the float column a not-run claim makes)."""
    stop = {"arm_diverged": 0, "bound": 2.8}
    looks = {
        "looks": [2, 4],
        "alpha": 0.025,
        "claims": {
            "w1-kbeta": {**stop, "status": "supported", "look": 1, "seeds": [0, 1], "z": -5.0},
            "w2-kbeta": {**stop, "status": "inconclusive", "look": 2, "seeds": [0, 1, 2, 3], "z": 1.0, "bound": 2.1},
        },
    }
    elsewhere = {**CLAIMS[0], "id": "elsewhere", "workload": "w3"}
    recorded = {
        "runs.csv": grid(),
        "curves.csv": pd.DataFrame(columns=[*tables.ID_COLUMNS, "step"]),
        "selected.csv": pd.DataFrame(),
    }
    settings = {"baselines": BASELINES}
    built = {**recorded, **aggregate.statistics(recorded, [*CLAIMS, elsewhere], settings, sequential=looks)}
    (title, rows), *_ = [(t, r) for t, r in list_tables(headline.render(built, settings)).items() if "claims" in t]
    header, w1, w2, not_run = rows
    assert "O'Brien-Fleming" in title and header[4] == "paired t on the z scale (group-sequential)"
    assert w1[0] == "**supported**" and w1[4] == "z -5, boundary ±2.8"
    assert w1[5] == "2 of 2 seeds; stopped at look 1 of 2; budget 0, 100 steps"
    assert w2[0].startswith("**inconclusive at the last look**") and "stopped at look 2 of 2" in w2[5]
    assert not_run[0] == "**not run in this grid**" and not_run[5].endswith("– steps")

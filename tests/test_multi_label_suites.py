"""Functional test suites for multi-label models (issue 27): a case expects a set of categories (the
label column's ';'/','-separated names, or a yes/no column per category), passes when the flagged set
is that set, with per-category recall of expected-yes and expected-no; `evaluate --tests` on a
multi-label model (with --threshold CATEGORY=T and --compare) and a multi-label training run's suites."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from moderator_app.cli import main
from moderator_app.core.errors import DataError, SettingsError
from moderator_app.core.evaluation.suite_results import check_comparable, score_category_suite
from moderator_app.core.evaluation.suites import read_suite
from tiny_models import CATEGORY_WORDS, write_csv

CATEGORIES = ["hate", "offensive"]
HATE, OFFENSIVE = CATEGORY_WORDS[0][0], CATEGORY_WORDS[1][0]


def category_suite(folder, rows=None):
    """Five cases whose expected sets the tiny model (a category is yes exactly when one of its words
    is in the text) gets right, and one it cannot: a neutral text said to be hate."""
    write_csv(folder / "policy.lists.csv", [(HATE,), (CATEGORY_WORDS[0][1],)], header=("slur",))
    return write_csv(folder / "policy.csv", rows or [
        ("the weather today is lovely {slur} {slur}", "hate", "hate alone"),
        (f"we went to market {OFFENSIVE} {OFFENSIVE} again", "Offensive", "offensive alone"),
        (f"my neighbours {HATE} {HATE} and {OFFENSIVE} {OFFENSIVE}", "offensive; HATE", "both"),
        ("my friends coffee morning", "", "neither"),
        ("football game was great", "none", "neither"),
        ("reading book garden", "hate", "neither"),  # wrong by construction
    ], header=("text", "label", "functionality"))


# ------------------------------------------------------------------------------ reading
def test_the_label_column_holds_sets_separated_by_semicolons_or_commas_case_aside(tmp_path):
    suite = read_suite(category_suite(tmp_path), multi_label=True).with_categories(CATEGORIES)
    sets = [case.expected_categories for case in suite.cases]
    assert sets == [("hate",), ("hate",), ("offensive",), ("hate", "offensive"), (), (), ("hate",)]
    assert [case.expected for case in suite.cases][3:5] == ["hate;offensive", "none"]
    assert suite.cases[0].template == "the weather today is lovely {slur} {slur}"  # templates expand as ever
    assert len(suite.cases) == 7
    comma = write_csv(tmp_path / "c.csv", [("x", "hate,offensive", "f")], header=("text", "expected", "functionality"))
    assert read_suite(comma, multi_label=True).with_categories(CATEGORIES).cases[0].expected_categories == \
        ("hate", "offensive")


def test_without_a_label_column_each_category_has_a_yes_no_column(tmp_path):
    path = write_csv(tmp_path / "s.csv", [("x", "yes", "0", "f"), ("y", "No", "1", "f"), ("z", "", "no", "f")],
                     header=("text", "Hate", "offensive", "functionality"))
    suite = read_suite(path, multi_label=True)
    with pytest.raises(DataError) as caught:
        suite.with_categories(CATEGORIES)
    assert "s.csv, row 3: the column 'Hate' holds nothing, not yes or no" in caught.value.render()
    path = write_csv(tmp_path / "t.csv", [("x", "yes", "0", "f"), ("y", "No", "1", "f")],
                     header=("text", "Hate", "offensive", "functionality"))
    assert [case.expected_categories for case in read_suite(path, multi_label=True).with_categories(
        CATEGORIES).cases] == [("hate",), ("offensive",)]
    with pytest.raises(DataError, match="no yes/no column for the category offensive"):
        read_suite(write_csv(tmp_path / "u.csv", [("x", "yes", "f")], header=("text", "hate", "functionality")),
                   multi_label=True).with_categories(CATEGORIES)
    with pytest.raises(DataError, match="no label column"):  # a single-label model's suite still needs one
        read_suite(path, multi_label=None).with_labels(CATEGORIES)


def test_a_category_the_model_lacks_names_the_file_row_and_name(tmp_path):
    path = write_csv(tmp_path / "s.csv", [("x", "hate", "f"), ("y", "hate; threat", "f")],
                     header=("text", "label", "functionality"))
    with pytest.raises(DataError) as caught:
        read_suite(path, multi_label=True).with_categories(CATEGORIES)
    assert ("s.csv, row 2: the category 'threat' is not one of the model's categories (hate, offensive)"
            in caught.value.render())


def test_an_empty_label_cell_is_still_an_error_for_a_single_label_model(tmp_path):
    path = write_csv(tmp_path / "s.csv", [("x", "hate", "f"), ("y", "", "f")], header=("text", "label", "functionality"))
    with pytest.raises(DataError, match="row 2: the column 'label' is empty"):
        read_suite(path, multi_label=None).with_labels(["hate", "not-hate"])


# ------------------------------------------------------------------------------ scoring
def test_a_case_passes_when_the_flagged_set_is_the_expected_set_with_per_category_recall(tmp_path):
    suite = read_suite(category_suite(tmp_path), multi_label=True).with_categories(CATEGORIES)
    #                        expected            P(hate) P(offensive)  flagged at 0.5 / 0.6
    probabilities = np.array([[0.9, 0.1],      # {hate}        {hate} ✓
                              [0.4, 0.2],      # {hate}        {}     ✗
                              [0.2, 0.55],     # {offensive}   {}     ✗ (0.55 < 0.6)
                              [0.8, 0.9],      # {hate, off.}  both   ✓
                              [0.1, 0.1],      # {}            {}     ✓
                              [0.7, 0.1],      # {}            {hate} ✗
                              [0.1, 0.7]])     # {hate}        {off.} ✗
    result = score_category_suite(suite, probabilities, CATEGORIES, {"hate": 0.5, "offensive": 0.6}, "m", "given")
    assert [outcome.passed for outcome in result.outcomes] == [True, False, False, True, True, False, False]
    assert (result.overall.passed, result.overall.total) == (3, 7)
    assert {name: (c.passed, c.total) for name, c in result.functionalities.items()} == {
        "hate alone": (1, 2), "offensive alone": (0, 1), "both": (1, 1), "neither": (1, 3)}
    rates = {name: {side: (c.passed, c.total) for side, c in sides.items()} for name, sides in result.by_category.items()}
    # hate: expected yes in rows 1, 2, 4, 7 → flagged in 1, 4 (2/4); expected no in 3, 5, 6 → not flagged in 3, 5 (2/3)
    # offensive: expected yes in 3, 4 → flagged in 4 (1/2); expected no in 1, 2, 5, 6, 7 → not flagged but in 7 (4/5)
    assert rates == {"hate": {"yes": (2, 4), "no": (2, 3)}, "offensive": {"yes": (1, 2), "no": (4, 5)}}
    failing = result.failures[-1]
    assert failing.case.expected == "hate" and failing.predicted == "offensive"
    assert failing.predicted_categories == ("offensive",) and failing.probabilities["offensive"] == pytest.approx(0.7)
    data = result.to_dict()
    assert data["category_thresholds"] == {"hate": 0.5, "offensive": 0.6}
    assert data["by_category"]["hate"]["no"] == {"passed": 2, "total": 3, "pass_rate": pytest.approx(2 / 3)}
    assert data["failures"][0]["expected_categories"] == ["hate"] and data["failures"][0]["predicted_categories"] == []
    # moving offensive's threshold to 0.5 decides row 3 again: it now passes
    lower = score_category_suite(suite, probabilities, CATEGORIES, {"hate": 0.5, "offensive": 0.5})
    assert lower.overall.passed == 4


def test_only_two_multi_label_models_with_the_same_categories_compare():
    multi = SimpleNamespace(multi_label=True, labels=["hate", "offensive"], name_or_path="a")
    check_comparable(multi, SimpleNamespace(multi_label=True, labels=["offensive", "hate"], name_or_path="b"))
    with pytest.raises(SettingsError, match="has the categories hate, threat"):
        check_comparable(multi, SimpleNamespace(multi_label=True, labels=["hate", "threat"], name_or_path="c"))
    with pytest.raises(SettingsError, match="is a multi-label model and d gives one label"):
        check_comparable(multi, SimpleNamespace(multi_label=False, labels=["hate", "not-hate"], name_or_path="d"))


# ------------------------------------------------------------------------------ evaluate --tests
def test_evaluate_runs_a_multi_label_suite_and_writes_json(tiny_multi_label_dir, tmp_path, capsys):
    suite = category_suite(tmp_path)
    out = tmp_path / "tests.json"
    assert main(["evaluate", str(tiny_multi_label_dir), "--tests", str(suite), "--json", str(out),
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    [entry] = json.loads(out.read_text(encoding="utf-8"))["tests"]
    # the tiny model flags a category exactly when its words are in the text: all but the wrong case pass
    assert (entry["passed"], entry["total"]) == (6, 7), entry["failures"]
    [failing] = entry["failures"]
    assert failing["text"] == "reading book garden" and failing["predicted_categories"] == []
    assert entry["by_category"]["hate"]["yes"]["passed"] == 3 and entry["by_category"]["hate"]["yes"]["total"] == 4
    assert "each category at its threshold" in printed and "yes cases" in printed
    assert "'reading book garden': expected hate, got none" in printed
    # --threshold CATEGORY=T: hate flagged everywhere, so the three cases expecting no hate fail and the wrong one passes
    assert main(["evaluate", str(tiny_multi_label_dir), "--tests", str(suite), "--threshold", "hate=0",
                 "--json", str(out), "--overwrite", "--device", "cpu", "--compare", str(tiny_multi_label_dir)]) == 0
    [entry] = json.loads(out.read_text(encoding="utf-8"))["tests"]
    assert entry["category_thresholds"]["hate"] == 0.0 and entry["passed"] == 4
    assert entry["comparison"]["newly_failing_total"] == 3 and entry["comparison"]["newly_passing_total"] == 1


@pytest.mark.parametrize("arguments, message", [
    ([], "policy.csv, row 2: the category 'threat' is not one of the model's categories (hate, offensive)"),
    (["--threshold", "threat=0.3"], "'threat' is not one of the model's categories"),
])
def test_evaluate_refuses_an_unknown_category_in_one_line(tiny_multi_label_dir, tmp_path, capsys, arguments, message):
    rows = [("x", "hate", "f"), ("y", "threat" if not arguments else "hate", "f")]
    suite = write_csv(tmp_path / "policy.csv", rows, header=("text", "label", "functionality"))
    assert main(["evaluate", str(tiny_multi_label_dir), "--tests", str(suite), "--device", "cpu", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error


# ------------------------------------------------------------------------------ a training run
def test_a_multi_label_run_runs_its_suites_at_the_end(tiny_model_dir, tmp_path):
    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.engine import train
    from moderator_app.core.training.events import FunctionalTestsEvent
    from test_multi_label_training import _three_sources

    suite = category_suite(tmp_path)
    events = []
    config = TrainingConfig(categories=CATEGORIES, sources=_three_sources(tmp_path), model_name_or_path=str(tiny_model_dir),
                            output_dir=str(tmp_path / "out"), learning_rate=1e-3, train_batch_size=32, num_epochs=1,
                            max_length=32, logging_steps=4, precision="fp32", test_suites=[str(suite)])
    assert config.problems(require_data=True).get("test_suites") is None
    result = train(config, events.append)
    assert result.reason == "completed"
    [event] = [event for event in events if isinstance(event, FunctionalTestsEvent)]
    [entry] = event.suites
    assert entry["total"] == 7 and set(entry["by_category"]) == set(CATEGORIES)
    saved = json.loads((tmp_path / "out" / "test_results.json").read_text(encoding="utf-8"))
    assert saved[0]["suite"] == str(suite) and saved[0]["category_thresholds"].keys() == set(CATEGORIES)
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "### policy.csv" in card and "| Category | Expected yes: flagged | Expected no: not flagged |" in card
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert kinds[-2:] == ["tests", "finished"]


def test_a_multi_label_run_whose_rows_repeat_a_suite_case_is_refused(tiny_model_dir, tmp_path):
    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.engine import train
    from test_multi_label_training import _three_sources

    sources = _three_sources(tmp_path)
    first_text = (tmp_path / "hate.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    suite = write_csv(tmp_path / "policy.csv", [(first_text.upper(), "hate", "f")],
                      header=("text", "label", "functionality"))
    config = TrainingConfig(categories=CATEGORIES, sources=sources, model_name_or_path=str(tiny_model_dir),
                            output_dir=str(tmp_path / "out"), num_epochs=1, max_length=32, test_suites=[str(suite)])
    with pytest.raises(DataError, match="also training or validation rows"):
        train(config, lambda event: None)
    assert not (tmp_path / "out" / "test_results.json").exists()


def test_the_training_forms_data_check_reads_a_multi_label_runs_suite(tiny_model_dir, tmp_path):
    from moderator_app.core.config import TrainingConfig
    from moderator_app.gui.common.checks import data_report
    from test_multi_label_training import _three_sources

    config = TrainingConfig(categories=CATEGORIES, sources=_three_sources(tmp_path), model_name_or_path=str(tiny_model_dir),
                            output_dir=str(tmp_path / "out"), test_suites=[str(category_suite(tmp_path))])
    assert "Test suite policy.csv: 7 cases from 6 rows" in data_report(config).text


def test_the_retrain_comparison_runs_a_multi_label_runs_suites_on_both_models(tiny_multi_label_dir, tmp_path):
    import shutil

    from moderator_app.core.review.retrain import compare_models

    new = shutil.copytree(tiny_multi_label_dir, tmp_path / "new")
    config = json.loads((new / "training_config.json").read_text())
    (new / "training_config.json").write_text(json.dumps({**config, "test_suites": [str(category_suite(tmp_path))]}))
    [comparison] = compare_models(tiny_multi_label_dir, new, None, None)
    assert comparison.data == "the test suite policy.csv" and comparison.rows == 7
    assert comparison.old["pass rate"] == comparison.new["pass rate"] == pytest.approx(6 / 7)  # one model twice
    assert comparison.notes[0] == "policy.csv: 0 cases newly fail, 0 newly pass with the new model."


def test_evaluate_takes_a_category_threshold_for_its_file_too(tiny_multi_label_dir, tmp_path):
    from tiny_models import synthetic_multi_label_rows

    rows = synthetic_multi_label_rows(20, seed=52)
    data = write_csv(tmp_path / "d.csv", [(text, "yes" if hate else "no", "yes" if offensive else "no")
                                          for text, hate, offensive in rows], header=("text", "hate", "offensive"))
    out = tmp_path / "e.json"
    assert main(["evaluate", str(tiny_multi_label_dir), str(data), "--threshold", "hate=0", "--json", str(out),
                 "--device", "cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["thresholds"]["hate"] == 0.0 and result["categories"]["hate"]["flagged"] == 20

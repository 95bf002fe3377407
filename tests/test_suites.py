"""Functional test suites (issue 23): reading and expanding templates, pass rates per functionality
against a hand-computed fixture, the comparison of two models, and the errors a suite's author sees."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moderator_app.core.errors import DataError
from moderator_app.core.evaluation.suite_results import compare_results, score_suite
from moderator_app.core.evaluation.suites import normalised_text, read_suite
from tiny_models import write_csv

LABELS = ["hate", "not-hate"]


def policy_suite(folder):
    """Two plain cases and two templates over a two-value and a three-value list: 2 + 2 + 3 = 7 cases."""
    write_csv(folder / "policy.lists.csv", [("women", "Muslims"), ("immigrants", "Jews"), ("", "trans people")],
              header=("group", "other"))
    return write_csv(folder / "policy.csv", [
        ("I hate {group}.", "hate", "derogation", "d-1"),
        ("I don't hate {other}.", "not-hate", "negated hate", "n-1"),
        ("You are vermin", "hate", "derogation", "d-2"),
        ("Love my {{braces}}", "not-hate", "positive", "p-1"),
    ], header=("text", "label", "functionality", "case_id"))


def test_templates_expand_over_the_lists_keeping_functionality_and_template(tmp_path):
    suite = read_suite(policy_suite(tmp_path))
    assert [case.text for case in suite.cases] == [
        "I hate women.", "I hate immigrants.", "I don't hate Muslims.", "I don't hate Jews.",
        "I don't hate trans people.", "You are vermin", "Love my {braces}"]
    first, plain = suite.cases[0], suite.cases[5]
    assert first.template == "I hate {group}." and first.fills == {"group": "women"}
    assert first.functionality == "derogation" and first.case_id == "d-1" and first.row == 1
    assert {case.functionality for case in suite.cases[2:5]} == {"negated hate"}
    assert plain.template is None and plain.row == 3
    assert suite.functionalities == ["derogation", "negated hate", "positive"]
    assert suite.templates == 2 and suite.lists_path.endswith("policy.lists.csv")
    assert "7 cases from 4 rows, 3 functionalities" in suite.describe()


def test_several_placeholders_expand_over_every_combination_and_jsonl_works(tmp_path):
    (tmp_path / "s.jsonl").write_text(json.dumps({"text": "{a} and {b}", "expected": "hate",
                                                  "functionality": "f"}) + "\n", encoding="utf-8")
    (tmp_path / "s.lists.jsonl").write_text("\n".join(json.dumps(row) for row in
                                                      ({"a": "x", "b": "1"}, {"a": "y", "b": "2"})) + "\n")
    suite = read_suite(tmp_path / "s.jsonl")
    assert [case.text for case in suite.cases] == ["x and 1", "x and 2", "y and 1", "y and 2"]
    assert suite.cases[3].fills == {"a": "y", "b": "2"}


@pytest.mark.parametrize("rows, lists, words", [
    ([("I hate {tribe}.", "hate", "f")], [("women",)], ["suite.csv, row 1", "unknown placeholder {tribe}",
                                                        "'group'"]),
    ([("ok", "hate", "f"), ("I hate {group}.", "hate", "f")], [("",)], ["suite.csv, row 2", "{group}",
                                                                        "empty list"]),
    ([("fine", "", "f")], None, ["suite.csv, row 1", "'label' is empty"]),
    ([("fine", "hate", "")], None, ["suite.csv, row 1", "'functionality' is empty"]),
    ([("I hate {group}.", "hate", "f")], None, ["row 1", "{group}", "no lists file", "suite.lists.csv"]),
])
def test_suite_errors_name_the_file_row_and_placeholder(tmp_path, rows, lists, words):
    path = write_csv(tmp_path / "suite.csv", rows, header=("text", "label", "functionality"))
    if lists is not None:
        write_csv(tmp_path / "suite.lists.csv", lists, header=("group",))
    with pytest.raises(DataError) as caught:
        read_suite(path)
    message = caught.value.render()
    for word in words:
        assert word in message, message


def test_a_suite_without_a_functionality_column_or_with_a_label_the_model_lacks_is_refused(tmp_path):
    with pytest.raises(DataError, match="no functionality column"):
        read_suite(write_csv(tmp_path / "a.csv", [("x", "hate")], header=("text", "label")))
    suite = read_suite(write_csv(tmp_path / "b.csv", [("x", "HATE", "f"), ("y", "offensive", "f")],
                                 header=("text", "expected", "functionality")))
    with pytest.raises(DataError) as caught:
        suite.with_labels(LABELS)
    assert "b.csv, row 2: the expected label 'offensive' is not one of the model's labels (hate, not-hate)" in \
        caught.value.render()
    assert suite.cases[0].expected == "HATE"
    assert read_suite(write_csv(tmp_path / "c.csv", [("x", "HATE", "f")], header=("text", "expected",
                                                                              "functionality"))).with_labels(
        LABELS).cases[0].expected == "hate"  # the same word, case aside


def test_pass_rates_per_functionality_against_a_hand_computed_fixture(tmp_path):
    suite = read_suite(policy_suite(tmp_path))
    # P(hate) per case, in the suite's order; threshold 0.6
    p_hate = np.array([0.9, 0.55, 0.7, 0.2, 0.65, 0.95, 0.1])
    probabilities = np.stack([p_hate, 1 - p_hate], axis=1)
    result = score_suite(suite, probabilities, LABELS, 0, threshold=0.6)
    # derogation: women 0.9 hate ✓, immigrants 0.55 → not-hate ✗, vermin 0.95 ✓      → 2/3
    # negated hate (expected not-hate): 0.7 ✗, 0.2 ✓, 0.65 ✗                        → 1/3
    # positive: 0.1 → not-hate ✓                                                      → 1/1
    counts = {name: (count.passed, count.total) for name, count in result.functionalities.items()}
    assert counts == {"derogation": (2, 3), "negated hate": (1, 3), "positive": (1, 1)}
    assert (result.overall.passed, result.overall.total) == (4, 7)
    assert result.overall.rate == pytest.approx(4 / 7)
    assert {name: (c.passed, c.total) for name, c in result.by_label.items()} == {"hate": (2, 3), "not-hate": (2, 4)}
    assert [outcome.case.text for outcome in result.failures] == [
        "I hate immigrants.", "I don't hate Muslims.", "I don't hate trans people."]
    assert result.failures[0].predicted == "not-hate" and result.failures[0].score == pytest.approx(0.55)
    # the most probable label instead: 0.55 becomes hate, the rest as before
    assert score_suite(suite, probabilities, LABELS, 0, threshold=None).functionalities["derogation"].passed == 3
    data = result.to_dict(failures=2)
    assert data["passed"] == 4 and data["total"] == 7 and data["failures_total"] == 3 and len(data["failures"]) == 2
    assert data["functionalities"]["negated hate"] == {"passed": 1, "total": 3, "pass_rate": pytest.approx(1 / 3)}


def test_comparison_names_newly_failing_and_newly_passing_cases(tmp_path):
    suite = read_suite(policy_suite(tmp_path))
    old_p = np.array([0.9, 0.55, 0.7, 0.2, 0.65, 0.95, 0.1])
    new_p = np.array([0.9, 0.8, 0.3, 0.2, 0.3, 0.4, 0.1])  # fixes three, breaks "You are vermin"
    old, new = (score_suite(suite, np.stack([p, 1 - p], axis=1), LABELS, 0, 0.6) for p in (old_p, new_p))
    comparison = compare_results(old, new)
    rows = {row.name: (row.old.passed, row.new.passed, row.old.total) for row in comparison.rows}
    assert rows == {"derogation": (2, 2, 3), "negated hate": (1, 3, 3), "positive": (1, 1, 1)}
    assert [new.case.text for _, new in comparison.newly_failing] == ["You are vermin"]
    assert [new.case.text for _, new in comparison.newly_passing] == [
        "I hate immigrants.", "I don't hate Muslims.", "I don't hate trans people."]
    data = comparison.to_dict()
    assert data["newly_failing"][0]["old_predicted"] == "hate" and data["newly_failing"][0]["new_predicted"] == "not-hate"


def test_normalised_text_ignores_case_and_whitespace():
    assert normalised_text("  I  hate\tWOMEN. ") == normalised_text("i hate women.")


def test_the_config_names_a_missing_suite_file(tmp_path):
    from moderator_app.core.config import FIELD_SPECS, TrainingConfig

    assert FIELD_SPECS["test_suites"]["label"] == "Test suites" and FIELD_SPECS["test_suites"]["default"] == []
    config = TrainingConfig(train_file="t.csv", output_dir="o", test_suites=[str(tmp_path / "nope.csv")])
    assert config.problems()["test_suites"] == f"no such file: {tmp_path / 'nope.csv'}"
    assert "test_suites" not in config.problems(require_data=False)  # a saved config is read anywhere
    assert TrainingConfig(test_suites=[3]).problems(require_data=False)["test_suites"] == \
        "each test suite must be a file path"


def test_two_lists_files_beside_a_suite_are_refused(tmp_path):
    path = policy_suite(tmp_path)
    (tmp_path / "policy.lists.tsv").write_text("group\nmen\n", encoding="utf-8")
    with pytest.raises(DataError, match="2 lists files beside it"):
        read_suite(path)

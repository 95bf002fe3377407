"""`moderator-app evaluate MODEL --tests SUITE [--compare OTHER]` end to end with the tiny classifier."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import write_csv

from moderator_app.cli import main


def suite_file(folder):
    """The tiny classifier learned: 'hate' exactly when a text holds one of HATEFUL_WORDS."""
    write_csv(folder / "policy.lists.csv", [("vermin",), ("scum",), ("parasites",)], header=("slur",))
    return write_csv(folder / "policy.csv", [
        ("they are {slur} from the city", "hate", "derogation"),
        ("lovely weather today we went to market", "not-hate", "neutral"),
        ("my neighbours are great friends", "not-hate", "neutral"),
        ("people from the city are lovely", "hate", "implicit"),  # no hateful word: the model fails it
    ], header=("text", "label", "functionality"))


def with_threshold(source, target, threshold):
    """A copy of the classifier deciding at `threshold` (its operating point)."""
    shutil.copytree(source, target)
    (target / "operating_point.json").write_text(json.dumps({
        "rule": "best_f1", "threshold": threshold, "positive_label": "hate", "temperature": 1.0,
        "ece_before": 0.0, "ece_after": 0.0}))
    return target


def test_evaluate_tests_only_prints_the_table_and_writes_json(tmp_path, tiny_classifier_dir, capsys):
    out = tmp_path / "tests.json"
    status = main(["evaluate", str(tiny_classifier_dir), "--tests", str(suite_file(tmp_path)), "--json", str(out),
                   "--device", "cpu"])
    stdout = capsys.readouterr().out
    assert status == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    [suite] = report["tests"]
    assert suite["total"] == 6 and suite["functionalities"]["derogation"] == {"passed": 3, "total": 3,
                                                                              "pass_rate": 1.0}
    assert suite["functionalities"]["implicit"]["passed"] == 0
    assert suite["failures"][0]["text"] == "people from the city are lovely"
    assert suite["failures"][0]["functionality"] == "implicit"
    for words in ("Tests: policy.csv: 6 cases from 4 rows, 3 functionalities", "derogation", "100.0%",
                  "Failing cases (1)", "'people from the city are lovely': expected hate, got not-hate",
                  "By expected label: hate 3/4"):
        assert words in stdout, stdout


def test_evaluate_compares_two_models_on_a_suite(tmp_path, tiny_classifier_dir, capsys):
    strict = with_threshold(tiny_classifier_dir, tmp_path / "strict", 1.0)  # flags (almost) nothing
    out = tmp_path / "c.json"
    status = main(["evaluate", str(tiny_classifier_dir), "--tests", str(suite_file(tmp_path)), "--compare",
                   str(strict), "--threshold", "0.5", "--json", str(out), "--device", "cpu"])
    stdout = capsys.readouterr().out
    assert status == 0
    [suite] = json.loads(out.read_text(encoding="utf-8"))["tests"]
    comparison = suite["comparison"]
    assert comparison["functionalities"]["derogation"]["old"]["passed"] == 0
    assert comparison["functionalities"]["derogation"]["new"]["passed"] == 3
    assert comparison["newly_passing_total"] == 3 and comparison["newly_failing_total"] == 0
    assert suite["threshold"] == 0.5 and suite["compared_with"]["threshold"] == 1.0  # each at its own
    assert "0 cases newly fail, 3 newly pass" in stdout and "was not-hate, now hate" in stdout and "+100.0" in stdout


def test_evaluate_data_and_tests_together(tmp_path, tiny_classifier_dir, capsys):
    data = write_csv(tmp_path / "d.csv", [("they are vermin", "hate"), ("lovely weather", "not-hate")])
    out = tmp_path / "both.json"
    assert main(["evaluate", str(tiny_classifier_dir), str(data), "--tests", str(suite_file(tmp_path)),
                 "--json", str(out), "--device", "cpu"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n"] == 2 and report["tests"][0]["total"] == 6
    assert "Confusion matrix" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    ([], "Nothing to evaluate"),
    (["--compare", "x"], "--compare compares the pass rates of test suites"),
])
def test_evaluate_without_data_or_tests_is_one_line(tmp_path, tiny_classifier_dir, capsys, args, words):
    assert main(["evaluate", str(tiny_classifier_dir), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_a_suite_label_the_model_lacks_exits_2_naming_file_and_row(tmp_path, tiny_classifier_dir, capsys):
    suite = write_csv(tmp_path / "bad.csv", [("x", "hate", "f"), ("y", "offensive", "f")],
                      header=("text", "label", "functionality"))
    assert main(["evaluate", str(tiny_classifier_dir), "--tests", str(suite), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv, row 2" in err and "'offensive'" in err


def test_an_unknown_placeholder_exits_2_before_the_model_loads(tmp_path, capsys):
    suite = write_csv(tmp_path / "t.csv", [("I hate {group}", "hate", "f")], header=("text", "label", "functionality"))
    assert main(["evaluate", str(tmp_path / "no-model"), "--tests", str(suite)]) == 2
    err = capsys.readouterr().err
    assert "t.csv, row 1: unknown placeholder {group}" in err

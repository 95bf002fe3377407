"""The robustness report (core/evaluation/robustness): accuracy and recall on obfuscated copies of
labelled rows against the clean ones, in `evaluate --robustness` and as a core function."""

import json

import numpy as np
import pytest

from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_rows, write_csv

from moderator_app.core.evaluation.robustness import ALL_OBFUSCATED, CLEAN, robustness_report
from moderator_app.core.text.obfuscation import FAMILIES, obfuscated_copies

ROWS = synthetic_rows(40, seed=31)


@pytest.fixture(scope="module")
def classifier(tiny_classifier_dir):
    from moderator_app.core.inference.classifier import Classifier

    return Classifier.load(tiny_classifier_dir, device="cpu", precision="fp32")


def _by_hand(classifier, texts, labels, threshold):
    predicted = classifier.decide(classifier.predict_probabilities(texts), threshold)[0]
    hateful = [p for p, label in zip(predicted, labels) if label == "hate"]
    return (np.mean([p == label for p, label in zip(predicted, labels)]),
            sum(p == "hate" for p in hateful) / len(hateful))


def test_the_report_has_the_clean_rows_each_family_and_all_of_them(classifier):
    texts, labels = [text for text, _ in ROWS], [label for _, label in ROWS]
    report = robustness_report(classifier, texts, labels, threshold=0.5, seed=4)
    assert [row.name for row in report.rows] == [CLEAN, *FAMILIES, ALL_OBFUSCATED]
    assert report.positive_label == "hate" and "NFKC" in report.normalisation
    accuracy, recall = _by_hand(classifier, texts, labels, 0.5)
    assert report.clean.accuracy == pytest.approx(accuracy) and report.clean.recall == pytest.approx(recall)
    for family in FAMILIES:
        copies = obfuscated_copies(texts, family, 4)
        accuracy, recall = _by_hand(classifier, copies, labels, 0.5)
        row = report.row(family)
        assert (row.n, row.accuracy, row.recall) == (40, pytest.approx(accuracy), pytest.approx(recall))
        assert row.changed == sum(copy != text for copy, text in zip(copies, texts)) > 0
    # normalisation undoes zero-width characters: those copies read exactly as the clean rows
    assert report.row("zero_width").accuracy == report.clean.accuracy
    pooled = report.row(ALL_OBFUSCATED)
    assert pooled.n == 40 * len(FAMILIES)
    assert pooled.accuracy == pytest.approx(np.mean([report.row(family).accuracy for family in FAMILIES]))
    again = robustness_report(classifier, texts, labels, threshold=0.5, seed=4)
    assert again.to_dict() == report.to_dict()  # seeded
    assert "Δ recall" in "\n".join(report.lines()) and "leetspeak" in "\n".join(report.lines())


def test_evaluate_robustness_on_the_command_line(tiny_classifier_dir, tmp_path, capsys):
    from moderator_app.cli import main

    data = write_csv(tmp_path / "test.csv", ROWS)
    out = tmp_path / "metrics.json"
    assert main(["evaluate", str(tiny_classifier_dir), str(data), "--robustness", "--json", str(out),
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "Robustness to evasion" in printed and "look-alike letters" in printed
    found = json.loads(out.read_text())
    assert set(found["robustness"]["rows"]) == {CLEAN, *FAMILIES, ALL_OBFUSCATED}
    assert found["robustness"]["rows"][CLEAN]["accuracy"] == pytest.approx(found["accuracy"])
    assert main(["evaluate", str(tiny_classifier_dir), str(data), "--device", "cpu"]) == 0
    assert "Robustness" not in capsys.readouterr().out

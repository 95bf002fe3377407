"""A run's functional test suites (the config's `test_suites`): read and checked before training — a
suite tests a model and is never its training data — and run on the final model at the end, their
results written to the model folder (test_results.json, a model card section) for the Run page and
metrics.jsonl."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

from moderator_app.core.errors import UserError
from moderator_app.core.messages import data_error
from moderator_app.core.evaluation.suites import Suite, normalised_text, read_suite
from moderator_app.core.training.run_folder import CARD_FILE, TEST_RESULTS_FILE

FAILURES_RECORDED = 20  # failing cases per suite in metrics.jsonl and the card (test_results.json has all)


def read_run_suites(paths: Sequence[str], labels: Sequence[str], training_texts: Sequence[Sequence[str]],
                    multi_label: bool = False) -> list[Suite]:
    """The run's suites, expanded, their labels the run's (a multi-label run: each case's expected set of
    its categories), none repeating a training or validation row (case and whitespace aside): the run is
    refused, naming how many and the suite."""
    suites = []
    for path in paths:
        try:
            suite = read_suite(path, multi_label=multi_label)
            suite = suite.with_categories(labels) if multi_label else suite.with_labels(labels)
        except UserError as error:  # the form marks the field it came from
            error.setting = "test_suites"
            raise
        suites.append(suite)
    if not suites:
        return suites
    seen = {normalised_text(text) for texts in training_texts for text in texts if text}
    for suite in suites:
        repeated = [case for case in suite.cases if normalised_text(case.text) in seen]
        if repeated:
            example = repeated[0].text
            raise data_error(f"{len(repeated):,} of the {len(suite.cases):,} cases of the test suite {suite.path} are "
                             f"also training or validation rows (e.g. {example[:60]!r}); a suite tests a model and "
                             "must never be its training data.",
                             "Remove those rows from the training data, or the cases from the suite.",
                             setting="test_suites")
    return suites


def run_suites_at_end(folder: str | Path, suites: Sequence[Suite], device: str = "cpu",
                      batch_size: int | None = None) -> list[dict[str, Any]]:
    """Run `suites` on the model saved in `folder` (at its operating point, written just before), save
    every result to test_results.json and a section of the model card; return each suite's summary."""
    # lazy for start-up speed: the Training tab imports this module as the window opens (the run monitor), and running
    # a suite needs the classifier and the evaluation behind it only at the end of a run
    from moderator_app.core.evaluation.suite_results import card_lines, run_suite
    from moderator_app.core.inference.classifier import Classifier

    classifier = Classifier.load(folder, device=device)
    results = [run_suite(classifier, suite, batch_size=batch_size)[0] for suite in suites]
    target = Path(folder) / TEST_RESULTS_FILE
    _write_atomically(target, [result.to_dict() for result in results])
    card = Path(folder) / CARD_FILE
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    card.write_text(text.rstrip("\n") + "\n\n" + "\n".join(card_lines(results, FAILURES_RECORDED)) + "\n",
                    encoding="utf-8")
    return [result.to_dict(failures=FAILURES_RECORDED) for result in results]


def _write_atomically(target: Path, data: Any) -> None:
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".part", delete=False)
    try:
        with handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def summary_lines(entry: dict[str, Any], failures: int = 5) -> list[str]:
    """A suite's summary (SuiteResult.to_dict) as lines for a log: the pass rate per functionality and
    the first failing cases."""
    lines = [f"tests {Path(entry['suite']).name}: {entry['passed']}/{entry['total']} passed "
             f"({entry['pass_rate']:.0%})"]
    lines += [f"  {name}: {count['passed']}/{count['total']} ({count['pass_rate']:.0%})"
              for name, count in entry["functionalities"].items()]
    for case in entry["failures"][:failures]:
        lines.append(f"  failing [{case['functionality']}] {case['text']!r}: expected {case['expected']}, "
                     f"got {case['predicted']}")
    if entry["failures_total"] > failures:
        lines.append(f"  … and {entry['failures_total'] - failures} more failing cases")
    return lines


def short_summary(entries: Sequence[dict[str, Any]]) -> str:
    """One line for every suite: 'policy.csv 17/20 (85%)'."""
    return " · ".join(f"{Path(entry['suite']).name} {entry['passed']}/{entry['total']} ({entry['pass_rate']:.0%})"
                      for entry in entries)

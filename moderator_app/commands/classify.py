"""`moderator-app classify TEXT... --model M`: print the label and score of each text.

Without TEXT (or with `-`), classifies each line of standard input, streaming, so that
`cat comments.txt | moderator-app classify --model M` works for any length of input. Plain output
is tab-separated: the label, the probability it is based on, named (`P(hate)=0.9731`), and the text; for a
multi-label model, the categories over their thresholds (`hate;offensive`, empty for none), each category's
probability and the text.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

from moderator_app.commands.errors import EXIT_INTERRUPTED, EXIT_OK, report_failure
from moderator_app.commands.label import add_model_arguments, decision_threshold, load_classifier
from moderator_app.core.errors import DataError

STDIN_BATCH_LINES = 1024  # lines classified together: large enough to sort and batch well


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify; none or - reads standard input")
    add_model_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per text (label, score, probabilities, text)")


def run(args: argparse.Namespace) -> int:
    try:
        classify(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`classify | head -1`): not an error. Point stdout at nothing so that
        # Python's final flush does not complain about the closed pipe either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # the one error boundary: one line, exit 2 for bad input
        return report_failure("classify", error)
    return EXIT_OK


def classify(args: argparse.Namespace) -> None:
    from moderator_app.core.inference.classifier import is_empty_text
    from moderator_app.core.inference.labelling import ModelOutputError, check_category_thresholds, check_threshold

    classifier = load_classifier(args)
    if sys.stderr.isatty():  # the model and its precision for a person; a script's stderr stays empty on success
        print(f"Model {classifier.describe()}", file=sys.stderr)
    threshold = decision_threshold(args, classifier)
    check_threshold(classifier, threshold)
    check_category_thresholds(classifier, args.category_thresholds)
    score_name = f"P({classifier.positive_label})" if classifier.is_binary else None
    if classifier.multi_label:
        classify_categories(classifier, args)
        return
    done = 0
    for group in text_groups(args.texts):
        for text, prediction in zip(group, classifier.predict(group, args.batch_size, threshold)):
            done += 1
            if prediction.is_empty and not is_empty_text(text):  # NaN from broken weights, not an empty text
                raise ModelOutputError(f"{classifier.name_or_path}: the model's output is not a number (NaN) for "
                                       f"text {done}; its weights are broken, as after a training run whose loss "
                                       "diverged.", "Choose another model, or train again (a lower "
                                       "{learning_rate} usually helps).")
            print(format_prediction(text, prediction, args.json, score_name))
        sys.stdout.flush()


def classify_categories(classifier, args: argparse.Namespace) -> None:
    """A multi-label model: per text the categories over their thresholds (';'-joined, "" for none),
    each category's probability, and the text; or one JSON object per text."""
    import numpy as np

    from moderator_app.core.inference.labelling import refuse_not_a_number

    done = 0
    for group in text_groups(args.texts):
        probabilities = classifier.predict_probabilities(group, args.batch_size)
        refuse_not_a_number(probabilities, group, classifier, done)
        flags = classifier.decide_categories(probabilities, args.category_thresholds)
        for text, row, flagged in zip(group, probabilities, flags):
            scores = {} if np.isnan(row).any() else dict(zip(classifier.labels, map(float, row)))
            if args.json:
                print(json.dumps({"categories": flagged, "probabilities": scores, "text": text}, ensure_ascii=False))
            else:
                shown = " ".join(f"P({label})={score:.4f}" for label, score in scores.items())
                print(f"{';'.join(flagged)}\t{shown}\t{text}")
        done += len(group)
        sys.stdout.flush()


def text_groups(texts: list[str]):
    if texts and texts != ["-"]:
        yield texts
        return
    lines = stdin_lines()
    while group := list(itertools.islice(lines, STDIN_BATCH_LINES)):
        yield group


def stdin_lines():
    """Standard input's lines as text, decoded strictly as UTF-8: a byte that is not UTF-8 stops the run
    with the line's number rather than classifying replacement characters."""
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # already text (a test's StringIO, an embedding program)
        yield from (line.rstrip("\r\n") for line in sys.stdin)
        return
    for number, raw in enumerate(binary, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            raise DataError(f"standard input, line {number}: not UTF-8 text (byte {error.start + 1} of the line).",
                            "Convert the input to UTF-8, e.g. with iconv, and try again.") from None


def format_prediction(text: str, prediction, as_json: bool, score_name: str | None) -> str:
    if as_json:
        return json.dumps({"label": prediction.label, "score": prediction.score,
                           "probabilities": prediction.probabilities, "text": text}, ensure_ascii=False)
    if prediction.score is None:
        score = ""
    else:  # binary: P(positive label) whichever label won; otherwise the predicted label's own probability
        score = f"{score_name or f'P({prediction.label})'}={prediction.score:.4f}"
    return f"{prediction.label}\t{score}\t{text}"

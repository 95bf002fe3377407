"""`moderator-app classify TEXT... --model M`: print the label and score of each text.

Without TEXT (or with `-`), classifies each line of standard input, streaming, so that
`cat comments.txt | moderator-app classify --model M` works for any length of input.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

from moderator_app.commands.label import (EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, add_model_arguments,
                                          decision_threshold, load_classifier, readable_errors)

STDIN_BATCH_LINES = 1024  # lines classified together: large enough to sort and batch well


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify; none or - reads standard input")
    add_model_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per text (label, score, probabilities, text)")


def run(args: argparse.Namespace) -> int:
    try:
        classifier = load_classifier(args)
        threshold = decision_threshold(args, classifier)
        for group in text_groups(args.texts):
            for text, prediction in zip(group, classifier.predict(group, args.batch_size, threshold)):
                print(format_prediction(text, prediction, args.json))
            sys.stdout.flush()
    except (ValueError, *readable_errors()) as error:  # ValueError: a threshold for a non-binary model
        print(f"moderator-app classify: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def text_groups(texts: list[str]):
    if texts and texts != ["-"]:
        yield texts
        return
    lines = (line.rstrip("\r\n") for line in sys.stdin)
    while group := list(itertools.islice(lines, STDIN_BATCH_LINES)):
        yield group


def format_prediction(text: str, prediction, as_json: bool) -> str:
    if as_json:
        return json.dumps({"label": prediction.label, "score": prediction.score,
                           "probabilities": prediction.probabilities, "text": text}, ensure_ascii=False)
    score = "" if prediction.score is None else f"{prediction.score:.4f}"
    return f"{prediction.label}\t{score}\t{text}"

"""Undoing evasion spellings at inference (core/text/evasion_spellings through normalise_text and Classifier):
what it changes and what it must not, and that label, classify, evaluate, the model card and the
provenance record follow and say it."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import write_csv

from moderator_app.core.text.normalise import normalise_text

CHANGED = {
    # leetspeak inside words
    "you h4te them": "you hate them",
    "what an 1d10t.": "what an idiot.",
    "$lut!": "slut!",
    "sh!t happens": "shit happens",
    "H4TE": "HATE",
    "st00p!d v3rm!n": "stoopid vermin",
    "wh0r3s": "whores",
    "d0n't y0u're": "don't you're",
    "k1ll them all": "kill them all",
    "p3op1e": "people",
    "@user go b@ck h0me": "@user go back home",
    # spaced-out letters
    "you are an i d i o t": "you are an idiot",
    "H A T E them": "HATE them",
    "s c u m!": "scum!",
    # look-alike letters in words mixing scripts (Cyrillic а, е, о, і; Greek ο)
    "h\u0430t\u0435 them": "hate them",
    "\u0456mm\u0456grants g\u03bf home": "immigrants go home",
    "V\u0435RMIN": "VeRMIN",
}

UNCHANGED = [
    "an ordinary sentence, with punctuation!",
    "in 2019 at 3pm on the 4th, 10k people and 90s music",
    "gr8 game b4 lunch, h8 it", "covid19 and mp3 files", "Happy4th", "4ever", "page1", "1on1",
    "3.5 out of 10, 1.5k likes, $94million and $TWTR",
    "I love this 😀🔥 👍🏽", "👨\u200d👩\u200d👧 family",
    "Вот это да, очень хорошо",  # a whole Cyrillic sentence
    "Καλημέρα κόσμε, τι κάνεις;",  # a whole Greek sentence
    "@user @h4ckerman see https://t.co/ab1d3f and www.h4te.com/p4ge or mail a1b@c0.com",
    "#h4te", "u r a loser", "r u a fan?", "don't c u there", "there's a k*ke", "idiot!just", "AGAIN!THE END", "INVOLVED!NO", "#WWG1WGA #vote5sos",
    "don't", "it's", "A B", "x y", "KrdyCxpB4fs",
]


@pytest.mark.parametrize("text, expected", CHANGED.items())
def test_disguised_words_read_as_plain_ones(text, expected):
    assert normalise_text(text, evasion=True) == expected
    assert normalise_text(text) == normalise_text(text, evasion=False) != expected  # off: as before


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_numbers_emoji_other_scripts_urls_and_mentions_are_left_alone(text):
    assert normalise_text(text, evasion=True) == normalise_text(text)


def test_the_report_families_are_undone_on_most_copies():
    """Of each family's seeded copies of a few sentences, the share read exactly as the clean sentence again."""
    from moderator_app.core.text.obfuscation import obfuscated_copies

    texts = ["they are filthy vermin and should leave", "what a stupid idiot", "those people are scum",
             "i hate immigrants so much", "send them back home now"] * 20
    for family, least in (("homoglyphs", 0.95), ("leetspeak", 0.2), ("spaces", 0.1)):
        copies = obfuscated_copies(texts, family, seed=3)
        restored = sum(normalise_text(copy, evasion=True) == text for copy, text in zip(copies, texts))
        assert restored >= least * len(texts), (family, restored)


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "tweeteval_hate_test.csv").exists(), reason="the shared data is absent")
def test_few_rows_of_the_clean_shared_sets_change():
    """On real tweets and forum posts the rewrite is rare (measured on all nine shared files: 89 of 63,554 rows, 0.14%)."""
    files = {"tweeteval_hate_test.csv": ("text", ","), "stormfront.csv": ("text", ","),
             "davidson_labeled_data.csv": ("tweet", ","), "ethos_binary.csv": ("comment", ";")}
    rows = changed = 0
    for name, (column, delimiter) in files.items():
        with open(SHARED / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter=delimiter):
                text = normalise_text(row[column])
                rows += 1
                changed += normalise_text(row[column], evasion=True) != text
    assert rows > 39_000 and changed / rows < 0.003


DISGUISED = ["they are v3rm!n and s\u0441um", "i d i o t s", "h\u0430t\u0435 them"]
PLAIN = ["they are vermin and scum", "idiots", "hate them"]


@pytest.fixture
def evasion_model_dir(tiny_classifier_dir, tmp_path) -> Path:
    """The tiny classifier as a run of today's trainer records it: normalise_evasion on (the default)."""
    from moderator_app.core.config import TrainingConfig

    assert TrainingConfig().normalise_evasion is True
    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder)
    config = json.loads((folder / "training_config.json").read_text())
    (folder / "training_config.json").write_text(json.dumps(dict(config, normalise_text=True, normalise_evasion=True)))
    return folder


def test_the_model_card_says_it(tmp_path):
    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.model_card import write_model_card

    for evasion, said in ((True, "leetspeak inside words undone"), (False, "NFKC, zero-width characters removed\n")):
        config = TrainingConfig(train_file="x.csv", model_name_or_path="tiny", output_dir=str(tmp_path),
                                normalise_evasion=evasion)
        write_model_card(tmp_path, config, ["hate", "not-hate"], None, [], "done", "fp32")
        assert said in (tmp_path / "README.md").read_text()


def test_a_new_model_undoes_them_and_can_be_told_not_to(evasion_model_dir):
    from moderator_app.core.inference.classifier import Classifier

    tiny_classifier_dir = evasion_model_dir
    classifier = Classifier.load(tiny_classifier_dir, device="cpu", precision="fp32")
    assert classifier.normalise_evasion and "spaced-out letters joined" in classifier.normalisation
    np.testing.assert_array_equal(classifier.predict_probabilities(DISGUISED), classifier.predict_probabilities(PLAIN))
    off = Classifier.load(tiny_classifier_dir, device="cpu", precision="fp32", normalise_evasion=False)
    assert off.normalisation == "NFKC, zero-width characters removed"
    assert not np.allclose(off.predict_probabilities(DISGUISED), off.predict_probabilities(PLAIN))
    assert not Classifier.load(tiny_classifier_dir, device="cpu", normalise=False).predict_probabilities(
        DISGUISED).tolist() == classifier.predict_probabilities(PLAIN).tolist()  # --no-normalise: neither


def test_a_model_trained_before_the_setting_keeps_reading_texts_as_it_did(tiny_classifier_dir, tmp_path):
    from moderator_app.core.inference.classifier import Classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder)
    assert "normalise_evasion" not in json.loads((folder / "training_config.json").read_text())
    assert not Classifier.load(folder, device="cpu").normalise_evasion
    assert Classifier.load(folder, device="cpu", normalise_evasion=True).normalise_evasion
    for name in ("training_config.json", "training_summary.json"):  # a model from elsewhere: on
        (folder / name).unlink()
    assert Classifier.load(folder, device="cpu").normalise_evasion


def test_classify_label_and_evaluate_follow_it(evasion_model_dir, tmp_path, capsys):
    from moderator_app.cli import main
    from moderator_app.core.inference.provenance import read_provenance

    tiny_classifier_dir = evasion_model_dir

    def scores(*flags):
        assert main(["classify", "--model", str(tiny_classifier_dir), "--json", "--precision", "fp32", *flags,
                     PLAIN[0], DISGUISED[0]]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [line["text"] for line in lines] == [PLAIN[0], DISGUISED[0]]  # reported as given
        return [line["score"] for line in lines]

    plain, disguised = scores()
    assert plain == disguised
    plain, disguised = scores("--no-normalise-evasion")
    assert plain != disguised

    source = write_csv(tmp_path / "in.csv", [(text, "hate") for text in DISGUISED + PLAIN])
    output = tmp_path / "in.labelled.csv"
    assert main(["label", str(source), "--model", str(tiny_classifier_dir), "--device", "cpu",
                 "--precision", "fp32"]) == 0
    assert "leetspeak inside words undone" in read_provenance(output)["text_normalisation"]
    with open(output, newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert [row["text"] for row in written] == DISGUISED + PLAIN  # the rows the user sees are as they were
    assert [row["score"] for row in written[:3]] == [row["score"] for row in written[3:]]
    assert main(["label", str(source), "--model", str(tiny_classifier_dir), "--device", "cpu", "--overwrite",
                 "--no-normalise-evasion"]) == 0
    assert read_provenance(output)["text_normalisation"] == "NFKC, zero-width characters removed"

    report = tmp_path / "report.json"
    assert main(["evaluate", str(tiny_classifier_dir), str(source), "--robustness", "--json", str(report),
                 "--device", "cpu"]) == 0
    assert "leetspeak inside words undone" in json.loads(report.read_text())["robustness"]["normalisation"]
    capsys.readouterr()

"""Normalisation at inference (core/text/normalise through Classifier): on by default, recorded, switchable."""

import json
import shutil

import numpy as np
from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)

CLEAN = ["they are vermin and scum", "lovely weather today", "ok"]
DISGUISED = ["ｔｈｅｙ are ver\u200bmin and sc\u2060um", "lovely\u00ad weather today", "\ufeffok"]


def test_normalisation_is_on_by_default_and_makes_disguised_texts_read_as_clean(tiny_classifier_dir):
    from moderator_app.core.inference.classifier import Classifier

    classifier = Classifier.load(tiny_classifier_dir, device="cpu", precision="fp32")
    assert classifier.normalise and "NFKC" in classifier.normalisation and "NFKC" in classifier.describe()
    from moderator_app.core.inference.model_info import describe_model
    from moderator_app.gui.review.model_panel import describe_info

    assert "Text normalisation: NFKC" in describe_info(describe_model(classifier))  # the Review tab's model panel
    np.testing.assert_array_equal(classifier.predict_probabilities(DISGUISED), classifier.predict_probabilities(CLEAN))
    assert np.isnan(classifier.predict_probabilities(["\u200b\u2060"])).all()  # nothing left: an empty text


def test_normalisation_switched_off_reads_the_texts_as_they_are(tiny_classifier_dir):
    from moderator_app.core.inference.classifier import Classifier

    classifier = Classifier.load(tiny_classifier_dir, device="cpu", precision="fp32", normalise=False)
    assert classifier.normalisation == "none"
    raw = classifier.predict_probabilities(DISGUISED)
    clean = classifier.predict_probabilities(CLEAN)
    assert not np.allclose(raw[0], clean[0])
    np.testing.assert_array_equal(classifier.predict_probabilities(CLEAN), clean)  # ASCII: the same either way


def test_a_model_trained_without_normalisation_loads_without_it(tiny_classifier_dir, tmp_path):
    from moderator_app.core.inference.classifier import Classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder)
    config = json.loads((folder / "training_config.json").read_text())
    (folder / "training_config.json").write_text(json.dumps(dict(config, normalise_text=False)))
    assert not Classifier.load(folder, device="cpu").normalise
    assert Classifier.load(folder, device="cpu", normalise=True).normalise


def test_the_command_line_switch(tiny_classifier_dir, capsys):
    from moderator_app.cli import main

    def scores(*flags):
        assert main(["classify", "--model", str(tiny_classifier_dir), "--json", "--precision", "fp32", *flags,
                     CLEAN[0], DISGUISED[0]]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [line["text"] for line in lines] == [CLEAN[0], DISGUISED[0]]  # reported as given
        return [line["score"] for line in lines]

    clean, disguised = scores()
    assert clean == disguised
    clean, disguised = scores("--no-normalise")
    assert clean != disguised

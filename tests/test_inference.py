"""Classifier: loading (our folders, plain HF folders, pickle opt-in, refusals) and predicting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tiny_models import synthetic_rows

pytestmark = pytest.mark.precision

LABELS = ("hate", "not-hate")
_BUILT: dict[str, Path] = {}


def build_tiny_classifier(base_dir: Path, folder: Path) -> Path:
    """Fine-tune the tiny RoBERTa for a few steps on synthetic rows (it reaches ~100 % on them) and
    save it as our trainer does: HF folder plus training_config.json and training_summary.json."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    set_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_dir, num_labels=2, id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)})
    rows = synthetic_rows(320, seed=5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(3):
        for start in range(0, len(rows), 32):
            batch = rows[start:start + 32]
            encoded = tokenizer([text for text, _ in batch], padding=True, return_tensors="pt")
            targets = torch.tensor([LABELS.index(label) for _, label in batch])
            model(**encoded, labels=targets).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "training_config.json").write_text(json.dumps({"model_name_or_path": "tiny-roberta", "max_length": 64}))
    (folder / "training_summary.json").write_text(json.dumps({
        "best_epoch": 3, "base_model": "tiny-roberta", "labels": list(LABELS),
        "best_metrics": {"val_loss": 0.05, "accuracy": 0.99, "precision": 0.99, "recall": 0.99, "f1": 0.99}}))
    return folder


def cached_tiny_classifier(tiny_model_dir: Path, tmp_path_factory) -> Path:
    """One trained tiny classifier per test session, shared by the test modules that import this."""
    if "dir" not in _BUILT:
        _BUILT["dir"] = build_tiny_classifier(tiny_model_dir, tmp_path_factory.mktemp("tiny-classifier"))
    return _BUILT["dir"]


@pytest.fixture(scope="session")
def tiny_classifier_dir(tiny_model_dir, tmp_path_factory) -> Path:
    return cached_tiny_classifier(tiny_model_dir, tmp_path_factory)


@pytest.fixture(scope="session")
def classifier(tiny_classifier_dir):
    """The classifier of the logic tests (order, batching, chunking, one-at-a-time equivalence): fp32,
    pinned, because under bf16 a score's last digits depend on the batch it was computed in and `auto`
    picks bf16 on a CPU with native bf16. The bf16 path has tests of its own (test_precision.py)."""
    from moderator_app.core.inference.classifier import Classifier

    return Classifier.load(tiny_classifier_dir, device="cpu", precision="fp32")


def copy_without_training_files(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for name in ("training_config.json", "training_summary.json"):
        (target / name).unlink()
    return target


# ------------------------------------------------------------------------------------ loading
def test_trained_model_round_trip_reports_its_training(classifier):
    assert classifier.labels == list(LABELS)
    assert classifier.positive_label == "hate"
    assert classifier.base_model == "tiny-roberta"
    assert classifier.training_summary["best_metrics"]["f1"] == 0.99
    assert classifier.max_length == 64  # from training_config.json: what the model was trained with
    assert "macro F1 0.990" in classifier.describe()


def test_trained_model_predicts_what_it_learned(classifier):
    rows = synthetic_rows(100, seed=11)
    predictions = classifier.predict([text for text, _ in rows])
    accuracy = sum(p.label == label for p, (_, label) in zip(predictions, rows)) / len(rows)
    assert accuracy >= 0.9
    for prediction in predictions:
        assert set(prediction.probabilities) == set(LABELS)
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert prediction.score == pytest.approx(prediction.probabilities["hate"])


def test_sorted_dynamic_batches_match_one_text_at_a_time(classifier):
    """Sorting by length and padding per batch must not change any result, nor the order."""
    import torch

    texts = [text for text, _ in synthetic_rows(23, seed=3)] + ["short", "a much longer text " * 9, "x"]
    batched = classifier.predict_probabilities(texts, batch_size=4)
    tokenizer, model = classifier.tokenizer, classifier.model
    with torch.inference_mode():
        for text, row in zip(texts, batched):
            encoded = tokenizer(text, truncation=True, max_length=classifier.max_length, return_tensors="pt")
            expected = model(**encoded).logits.softmax(-1)[0].numpy()
            assert row == pytest.approx(expected, abs=1e-5)


def test_batches_of_long_texts_are_capped_by_tokens():
    """Short texts fill whole batches; long ones get fewer per batch; every index comes once, in order."""
    from moderator_app.core.inference.classifier import TOKENS_PER_TEXT_BUDGET, token_budget_batches

    lengths = np.array([512] * 10 + [300] * 5 + [20] * 100)
    order = np.argsort(-lengths, kind="stable")
    batches = list(token_budget_batches(order, lengths, batch_size=16))
    budget = 16 * TOKENS_PER_TEXT_BUDGET
    assert np.concatenate(batches).tolist() == order.tolist()
    assert all(len(batch) * lengths[batch[0]] <= budget or len(batch) == 1 for batch in batches)
    assert [len(batch) for batch in batches[:2]] == [budget // 512] * 2
    assert all(len(batch) == 16 for batch in batches[-6:-1])  # short texts: full batches
    giant = np.array([5000, 3])  # one text longer than the whole budget still gets a batch of its own
    assert [b.tolist() for b in token_budget_batches(np.array([0, 1]), giant, batch_size=1)] == [[0], [1]]


def test_empty_texts_get_an_empty_label_and_no_score(classifier):
    predictions = classifier.predict(["", "   ", None, "scum vermin"])
    assert [p.label for p in predictions[:3]] == ["", "", ""]
    assert all(p.score is None and p.probabilities == {} and p.is_empty for p in predictions[:3])
    assert predictions[3].label in LABELS


def test_very_long_text_is_truncated_not_a_crash(classifier):
    long_text = "vermin scum " * 5000  # ~10,000 tokens, beyond every position embedding
    assert classifier.predict([long_text, "ok"])[0].label == "hate"


def test_threshold_moves_the_decision(classifier):
    texts = [text for text, _ in synthetic_rows(20, seed=4)]
    default = classifier.predict(texts)
    assert [p.label for p in classifier.predict(texts, threshold=0.5)] == [p.label for p in default]
    assert {p.label for p in classifier.predict(texts, threshold=0.0)} == {"hate"}
    # Above every score: nothing is flagged.
    highest = max(p.score for p in default)
    assert {p.label for p in classifier.predict(texts, threshold=min(1.0, highest + 1e-6))} == {"not-hate"}
    with pytest.raises(ValueError, match="between 0 and 1"):
        classifier.predict(texts, threshold=1.5)


def test_plain_hugging_face_folder_without_our_files(tiny_classifier_dir, tmp_path):
    from moderator_app.core.inference.classifier import Classifier

    folder = copy_without_training_files(tiny_classifier_dir, tmp_path / "plain")
    plain = Classifier.load(folder, device="cpu")
    assert plain.training_summary is None
    assert plain.base_model == "roberta"  # only the architecture is known
    assert plain.max_length == 512  # the tokenizer's limit
    assert plain.predict(["scum vermin parasites"])[0].label == "hate"


def test_pickle_weights_need_the_opt_in(tiny_classifier_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    from moderator_app.core.inference.classifier import Classifier, ModelLoadError

    folder = copy_without_training_files(tiny_classifier_dir, tmp_path / "pickled")
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="allow_pickle"):
        Classifier.load(folder, device="cpu")
    pickled = Classifier.load(folder, device="cpu", allow_pickle=True)
    safe = Classifier.load(tiny_classifier_dir, device="cpu", max_length=512)
    texts = ["scum vermin", "the weather is lovely"]
    assert pickled.predict_probabilities(texts) == pytest.approx(safe.predict_probabilities(texts), abs=1e-6)


def test_base_model_without_a_trained_head_is_refused(tiny_model_dir):
    from moderator_app.core.inference.classifier import Classifier, ModelLoadError

    with pytest.raises(ModelLoadError, match="no trained classification head"):
        Classifier.load(tiny_model_dir, device="cpu")


def test_uncached_hub_model_fails_fast_offline():
    from moderator_app.core.hub import ModelNotAvailableError
    from moderator_app.core.inference.classifier import Classifier

    with pytest.raises(ModelNotAvailableError, match="not downloaded"):
        Classifier.load("someone/never-downloaded-model", device="cpu")


def test_folder_without_weights_is_explained(tmp_path):
    from moderator_app.core.inference.classifier import Classifier, ModelLoadError

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="no model weights"):
        Classifier.load(tmp_path, device="cpu")


# ---------------------------------------------------------------------------- positive class
@pytest.mark.parametrize("labels, positive", [
    (["not-hate", "hate"], 1), (["hate", "not-hate"], 0), (["noHate", "hate"], 1),
    (["offensive", "not-offensive"], 0), (["NEGATIVE", "POSITIVE"], 1), (["toxic", "non-toxic"], 0),
    (["1", "0"], 0), (["LABEL_0", "LABEL_1"], 1), (["ham", "spam"], 1),
])
def test_positive_class_is_the_flagged_one(labels, positive):
    from moderator_app.core.inference.classifier import positive_class_index

    assert positive_class_index(labels) == positive


def test_multi_class_models_have_no_positive_class():
    from moderator_app.core.inference.classifier import positive_class_index

    assert positive_class_index(["hate speech", "offensive", "neither"]) is None


def test_model_without_a_padding_token_gets_one(tiny_model_dir, tmp_path):
    """GPT-style classifiers have no padding token; batching must still give each text's own result."""
    from transformers import AutoTokenizer, GPT2Config, GPT2ForSequenceClassification, set_seed

    from moderator_app.core.inference.classifier import Classifier

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.pad_token = None
    tokenizer.save_pretrained(tmp_path)
    set_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2, n_positions=128, num_labels=2,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    GPT2ForSequenceClassification(config).save_pretrained(tmp_path)
    classifier = Classifier.load(tmp_path, device="cpu")
    assert AutoTokenizer.from_pretrained(tmp_path).pad_token is None
    texts = ["short", "a much longer text than the other one, by far"]
    one_at_a_time = np.array([classifier.predict_probabilities([text])[0] for text in texts])
    assert classifier.predict_probabilities(texts) == pytest.approx(one_at_a_time, abs=1e-5)

"""Labels from annotator disagreement (core/training/votes): vote shares as soft targets, rows with
split votes dropped from training and counted, and the soft-target loss."""

import pytest

from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.core.errors import DataError
from moderator_app.core.training.data import load_training_data
from moderator_app.core.sources import parse_source_form
from moderator_app.core.training.votes import DROP_SPLIT, SOFT_TARGETS, soft_cross_entropy
from tiny_models import synthetic_rows, write_csv

VOTE_COLUMNS = {"hate_speech": "hate", "offensive_language": "not-hate", "neither": "not-hate"}
LABEL_MAP = {"0": "hate", "1": "not-hate", "2": "not-hate"}


def _davidson_with_votes(path, count=80):
    """Davidson's shape: class (majority of 3) and the votes per class. Every fourth row's votes are
    split between hate and not-hate; offensive-vs-neither disagreement is not a split (one label)."""
    rows = []
    for index, (text, label) in enumerate(synthetic_rows(count, seed=4)):
        split = index % 4 == 0
        if label == "hate":
            votes = (2, 1, 0) if split else (3, 0, 0)
            klass = 0
        else:
            votes = (1, 2, 0) if split else (0, 2, 1)
            klass = 1
        rows.append((index, sum(votes), *votes, klass, text))
    return write_csv(path, rows, header=("", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"))


def _config(path, **source):
    return TrainingConfig(sources=[{"path": str(path), "text_column": "tweet", "label_column": "class",
                                    "label_map": LABEL_MAP, "vote_columns": VOTE_COLUMNS, **source}])


def test_soft_targets_are_the_vote_shares_and_the_report_counts_split_rows(tmp_path):
    data = load_training_data(_config(_davidson_with_votes(tmp_path / "d.csv")))
    votes = data.report.sources[0]["votes"]
    assert votes["mode"] == "soft" and votes["rows"] == 80 and votes["split"] == 20
    assert votes["split_in_training"] == sum(0 < target[0] < 1 for target in data.train_targets) > 0
    assert votes["dropped_from_training"] == 0
    assert len(data.train_targets) == len(data.train) == 72
    labels = data.label_names
    assert labels == ["hate", "not-hate"]
    shares = {tuple(round(x, 4) for x in target) for target in data.train_targets}
    assert shares == {(1.0, 0.0), (0.0, 1.0), (round(2 / 3, 4), round(1 / 3, 4)), (round(1 / 3, 4), round(2 / 3, 4))}
    for target, label in zip(data.train_targets, data.train["label"]):  # the label column's majority agrees
        assert max(range(2), key=target.__getitem__) == label
    assert "20 of 80 rows split between labels" in data.report.summary()


def test_drop_split_leaves_split_rows_out_of_training_only_and_says_how_many(tmp_path):
    path = _davidson_with_votes(tmp_path / "d.csv")
    data = load_training_data(_config(path, votes="drop_split"))
    votes = data.report.sources[0]["votes"]
    dropped = votes["dropped_from_training"]
    assert dropped == votes["split_in_training"] and dropped > 0
    assert data.report.dropped == {f"{DROP_SPLIT} (d)": dropped}
    assert len(data.train) == 72 - dropped and len(data.validation) == 8  # validation measures on every row
    assert data.report.rows_read == len(data.train) + len(data.validation) + data.report.rows_dropped
    assert not data.train_targets  # hard labels
    assert f"{dropped:,} training rows with split votes left out" in data.report.summary()
    majority = load_training_data(_config(path, votes="majority"))
    assert len(majority.train) == 72 and not majority.train_targets
    assert majority.report.sources[0]["votes"]["split"] == 20


def test_vote_settings_are_checked_and_the_short_form_reads_them(tmp_path):
    path = _davidson_with_votes(tmp_path / "d.csv", count=20)
    with pytest.raises(ConfigError, match="'votes' must be one of soft, drop_split, majority"):
        _config(path, votes="average").validate(require_data=False)
    with pytest.raises(ConfigError, match="'votes' needs 'vote_columns'"):
        TrainingConfig(sources=[{"path": str(path), "votes": "soft"}]).validate(require_data=False)
    with pytest.raises(DataError, match="no vote column 'hate'"):
        load_training_data(_config(path, vote_columns={"hate": "hate"}))
    entry = parse_source_form(f'{path};label_column=class;vote_columns={{"hate_speech": "hate", "neither": '
                              f'"not-hate"}};votes=drop_split')
    assert entry["votes"] == "drop_split" and '"hate_speech"' in entry["vote_columns"]
    TrainingConfig(sources=[entry]).validate(require_data=False)


def test_a_row_without_usable_votes_trains_on_its_label(tmp_path):
    path = write_csv(tmp_path / "v.csv", [("vermin scum here", 0, 3, 0), ("lovely weather", 1, "", 2),
                                          ("scum again", 0, 2, 1), ("coffee morning", 1, 0, 3)],
                     header=("text", "label", "hate_votes", "other_votes"))
    data = load_training_data(TrainingConfig(validation_split=0.5, sources=[
        {"path": str(path), "label_map": {"0": "hate", "1": "not-hate"},
         "vote_columns": {"hate_votes": "hate", "other_votes": "not-hate"}}]))
    assert data.report.sources[0]["votes"]["no_usable_votes"] == 1
    assert "1 rows without usable votes train on their label" in data.report.summary()
    for target, label in zip(data.train_targets, data.train["label"]):
        assert sum(target) == pytest.approx(1.0)


@pytest.mark.parametrize("weights", [None, (2.0, 0.5)])
def test_the_soft_target_loss_is_the_hard_target_loss_on_unanimous_votes(tiny_model_dir, weights):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from moderator_app.core.training.engine import batch_loss

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    encoded = dict(tokenizer(["vermin scum", "lovely weather", "the garden", "coffee morning"], return_tensors="pt",
                             padding=True))
    labels = torch.tensor([0, 1, 1, 0])
    class_weights = None if weights is None else torch.tensor(weights)
    unanimous = torch.nn.functional.one_hot(labels, 2).float()
    with torch.no_grad():
        logits = model(**encoded).logits
        hard = batch_loss(model, dict(encoded, labels=labels), class_weights)
        soft = batch_loss(model, dict(encoded, labels=labels, **{SOFT_TARGETS: unanimous}), class_weights)
        split = batch_loss(model, dict(encoded, labels=labels, **{SOFT_TARGETS: torch.tensor(
            [[2 / 3, 1 / 3], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])}), class_weights)
    assert soft.item() == pytest.approx(hard.item(), rel=1e-6)
    expected = torch.nn.functional.cross_entropy(logits, labels, weight=class_weights)
    assert soft_cross_entropy(logits, unanimous, class_weights).item() == pytest.approx(expected.item(), rel=1e-6)
    assert split.item() != pytest.approx(hard.item(), rel=1e-4)


def test_a_run_trains_on_soft_targets_and_its_card_and_summary_say_so(tiny_model_dir, tmp_path):
    import json

    from moderator_app.core.training.engine import train

    config = _config(_davidson_with_votes(tmp_path / "d.csv", count=64))
    config.model_name_or_path, config.output_dir = str(tiny_model_dir), str(tmp_path / "out")
    config.num_epochs, config.max_length, config.train_batch_size, config.class_weighting = 1, 32, 16, "balanced"
    result = train(config)
    assert result.best_epoch == 1
    summary = json.loads((tmp_path / "out" / "training_summary.json").read_text())
    assert summary["data"]["sources"][0]["votes"]["mode"] == "soft"
    assert "votes: soft" in (tmp_path / "out" / "README.md").read_text()

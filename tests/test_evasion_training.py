"""Evasion-robust training (core/training/evasion): seeded obfuscated copies added to each epoch."""

import json
import pytest

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.data import load_training_data
from moderator_app.core.text.obfuscation import FAMILIES
from moderator_app.core.training.evasion import EvasionCopies, choose_copies, training_families
from tiny_models import synthetic_rows, write_csv

TEXTS = [text for text, _ in synthetic_rows(40, seed=6)]


def test_copies_are_seeded_by_the_seed_and_the_epoch_and_never_empty():
    rows = list(range(len(TEXTS)))
    first = choose_copies(TEXTS, rows, 0.25, seed=1, epoch=0)
    assert first == choose_copies(TEXTS, rows, 0.25, seed=1, epoch=0)
    assert first != choose_copies(TEXTS, rows, 0.25, seed=1, epoch=1)
    assert first != choose_copies(TEXTS, rows, 0.25, seed=2, epoch=0)
    assert len(first) == 10 and len({row for row, _, _ in first}) == 10
    for row, family, text in first:
        assert text.strip() and text != TEXTS[row]
    assert choose_copies(TEXTS, rows, 0.0, seed=1, epoch=0) == []


def test_the_epoch_gets_the_copies_with_their_labels_and_lengths(tiny_model_dir):
    import datasets
    from transformers import AutoTokenizer

    from moderator_app.core.training.batches import epoch_batches as _epoch_batches, tokenize as _tokenize

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    labels = [index % 2 for index in range(len(TEXTS))]
    train, lengths = _tokenize(datasets.Dataset.from_dict({"text": TEXTS, "label": labels}), tokenizer, 32)
    config = TrainingConfig(train_batch_size=8, seed=3, evasion_augment=0.5)
    copies = EvasionCopies(train, TEXTS, 0.5, 3, lambda texts: dict(tokenizer(texts, truncation=True, max_length=32)))
    plain = _epoch_batches(lengths, config, 0)
    batches = _epoch_batches(lengths, config, 0, copies=copies)
    rows = sorted(row for batch in batches for row in batch)
    assert sorted(row for batch in plain for row in batch) == list(range(40))
    assert rows == list(range(60))  # every training row once, and 20 copies
    epoch = copies.dataset(0)
    chosen = choose_copies(TEXTS, list(range(40)), 0.5, 3, 0)
    for index, (row, _, text) in enumerate(chosen):
        copy = epoch[40 + index]
        assert copy["label"] == labels[row]
        assert copy["input_ids"] == tokenizer(text, truncation=True, max_length=32)["input_ids"]
    assert sum(copies.families.values()) == 20
    assert _epoch_batches(lengths, config, 0, copies=copies) == batches  # the same epoch: the same batches
    assert _epoch_batches(lengths, config, 1, copies=copies) != batches


def test_the_data_report_says_how_many_copies(synthetic_csv):
    data = load_training_data(TrainingConfig(train_file=str(synthetic_csv), evasion_augment=0.25))
    assert data.report.evasion_copies == round(0.25 * len(data.train))
    assert f"{data.report.evasion_copies:,} obfuscated copies" in data.report.summary()
    assert load_training_data(TrainingConfig(train_file=str(synthetic_csv))).report.evasion_copies == 0


def test_not_undone_leaves_out_the_kinds_the_models_reading_undoes():
    assert training_families(TrainingConfig()) == FAMILIES  # all, the default
    assert training_families(TrainingConfig(evasion_families="not_undone")) == ("swap", "drop", "spaces", "leetspeak")
    # without the evasion spellings undone, look-alike letters reach the model: they keep their copies
    assert training_families(TrainingConfig(evasion_families="not_undone", normalise_evasion=False)) == \
        ("swap", "drop", "spaces", "leetspeak", "homoglyphs")
    # without any normalisation even zero-width characters reach a model that does not drop them itself
    assert training_families(TrainingConfig(evasion_families="not_undone", normalise_text=False)) == FAMILIES
    assert "evasion_families" in TrainingConfig(train_file="x.csv", output_dir="out",
                                                evasion_families="some").problems()


def test_copies_draw_only_the_kinds_given_and_all_six_as_before():
    rows = list(range(len(TEXTS)))
    # all six: exactly the copies of before the setting (the default draws as it did)
    assert choose_copies(TEXTS, rows, 1.0, seed=4, epoch=0) == choose_copies(TEXTS, rows, 1.0, 4, 0, FAMILIES)
    kinds = training_families(TrainingConfig(evasion_families="not_undone"))
    chosen = choose_copies(TEXTS, rows, 1.0, seed=4, epoch=0, families=kinds)
    assert {family for _, family, _ in chosen} == set(kinds)
    assert all(text.strip() for _, _, text in chosen)
    assert [row for row, _, _ in chosen] == [row for row, _, _ in choose_copies(TEXTS, rows, 1.0, 4, 0)]


def test_the_data_report_names_the_kinds_when_not_all(synthetic_csv):
    data = load_training_data(TrainingConfig(train_file=str(synthetic_csv), evasion_augment=0.25,
                                             evasion_families="not_undone"))
    assert "kinds: swap, drop, spaces, leetspeak (those the model's reading does not undo)" in data.report.summary()
    data = load_training_data(TrainingConfig(train_file=str(synthetic_csv), evasion_augment=0.25))
    assert "kinds:" not in data.report.summary()


def test_the_share_is_checked():
    problems = TrainingConfig(train_file="x.csv", output_dir="out", evasion_augment=1.5).problems()
    assert "evasion_augment" in problems


def test_a_run_with_evasion_copies_trains_on_them_and_the_card_says_so(tiny_model_dir, tmp_path):
    from moderator_app.core.training.engine import train

    path = write_csv(tmp_path / "train.csv", synthetic_rows(60, seed=7))
    config = TrainingConfig(train_file=str(path), model_name_or_path=str(tiny_model_dir),
                            output_dir=str(tmp_path / "out"), num_epochs=1, max_length=32, train_batch_size=8,
                            evasion_augment=0.5)
    result = train(config)
    # 54 training rows + 27 copies = 81 rows: 11 steps of 8
    assert result.global_step == 11
    card = (tmp_path / "out" / "README.md").read_text()
    assert "evasion_augment: 0.5" in card and "text_normalisation at inference: NFKC" in card
    assert "evasion_families: swap, drop, spaces, leetspeak, homoglyphs, zero_width (all:" in card
    # the evasion spellings undone at inference (normalise_evasion, on by default): in the card, the training
    # configuration and the operating point chosen by the model that reads texts so
    assert "spaced-out letters joined ('i d i o t'), leetspeak inside words undone" in card
    assert json.loads((tmp_path / "out" / "training_config.json").read_text())["normalise_evasion"] is True
    point = json.loads((tmp_path / "out" / "operating_point.json").read_text())
    assert "leetspeak inside words undone" in point["text_normalisation"]


def test_a_multi_label_run_trains_each_copy_on_its_rows_targets_unknowns_included(tiny_model_dir, tmp_path,
                                                                                   monkeypatch):
    """With `categories`, a copy carries its row's whole target vector: yes, no and unknown (-1, masked out
    of the loss) as they were, never a guess; the engine's loss sees the originals and the copies' targets."""
    from collections import Counter

    from moderator_app.core.training import engine
    from tiny_models import one_category_sources

    config = TrainingConfig(categories=["hate", "offensive"], sources=one_category_sources(tmp_path, 120),
                            model_name_or_path=str(tiny_model_dir), output_dir=str(tmp_path / "out"), num_epochs=1,
                            max_length=32, train_batch_size=8, evasion_augment=0.5, precision="fp32")
    data = load_training_data(config)
    targets = [tuple(target) for target in data.train["label"]]
    assert {target.count(-1.0) for target in targets} == {1}  # every row has one category unknown
    chosen = choose_copies(data.train["text"], list(range(len(targets))), 0.5, config.seed, 0)
    seen = []
    multi_label_loss = engine.multi_label_loss

    def recorded(model, batch, *args):
        seen.extend(tuple(target) for target in batch["labels"].tolist())
        return multi_label_loss(model, batch, *args)

    monkeypatch.setattr(engine, "multi_label_loss", recorded)
    result = engine.train(config)
    assert result.reason == "completed" and len(chosen) == 54 and result.global_step == (108 + 54 + 7) // 8
    # the epoch's targets: every training row's once, and each copy's equal to its original row's
    assert Counter(seen) == Counter(targets) + Counter(targets[row] for row, _, _ in chosen)

    from transformers import AutoTokenizer

    from moderator_app.core.training.batches import tokenize

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    train_set, _ = tokenize(data.train, tokenizer, 32)
    copies = EvasionCopies(train_set, data.train["text"], 0.5, config.seed,
                           lambda texts: dict(tokenizer(texts, truncation=True, max_length=32)))
    copies.extend(0, [0] * len(train_set), list(range(len(train_set))))
    epoch = copies.dataset(0)
    for index, (row, _, _) in enumerate(chosen):
        assert tuple(epoch[len(train_set) + index]["label"]) == targets[row]

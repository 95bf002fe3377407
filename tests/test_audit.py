"""The data audit (issue 24): label errors, duplicates, leaks, the suspects queue and the corrections.

The label-error logic runs on an injected embedding (bag of words hashed to 64 numbers) over a small
separable fixture; one test runs the real path (the tiny random encoder) end to end."""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest
from tiny_models import HATEFUL_WORDS, NEUTRAL_WORDS, write_csv

from moderator_app.core.audit.audit import TRAINING, VALIDATION, run_audit, summary_lines
from moderator_app.core.audit.duplicates import normalise
from moderator_app.core.audit.embeddings import AuditCancelled
from moderator_app.core.audit.review import open_suspects_queue, suspects_queue_items, write_corrected_copy
from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import UserError
from moderator_app.core.review.store import Decision, DecisionStore


def bag_of_words(texts, report=None, cancelled=None):
    """A stand-in for the encoder: each word hashed into one of 64 dimensions (stable across runs)."""
    import zlib

    features = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.split():
            features[row, zlib.crc32(word.encode()) % 64] += 1.0
    if report:
        report(len(texts), len(texts))
    return features


def separable_rows(count: int, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        hate = index % 2 == 0
        words = rng.sample(HATEFUL_WORDS, 3) if hate else []
        words += rng.sample(NEUTRAL_WORDS, 6)
        rng.shuffle(words)
        rows.append((" ".join(words) + f" n{index}", "hate" if hate else "not-hate"))
    return rows


@pytest.fixture
def flipped_file(tmp_path):
    rows = separable_rows(200)
    flipped = [7, 30, 61, 120, 155]  # rows whose label the fixture flips
    for index in flipped:
        text, label = rows[index]
        rows[index] = (text, "not-hate" if label == "hate" else "hate")
    return write_csv(tmp_path / "flipped.csv", rows), {rows[index][0] for index in flipped}


def test_flipped_labels_rank_first_with_the_label_the_evidence_points_to(flipped_file):
    path, flipped = flipped_file
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words)
    top = [result.rows.texts[item.row] for item in result.suspects[:len(flipped)]]
    assert set(top) == flipped
    for item in result.suspects[:len(flipped)]:
        assert item.suggested != item.given and item.score > 0.5
    assert [item.score for item in result.suspects] == sorted((item.score for item in result.suspects), reverse=True)


def test_planted_exact_and_near_duplicates_with_conflicting_labels_are_grouped(tmp_path):
    rows = separable_rows(60)
    rows += [("The Weather is   lovely &amp; we went to the market @bob http://x.co/abc", "hate"),
             ("the weather is lovely & we went to the market @alice", "not-hate"),  # exact after normalising
             ("we bought apples from the market and they are great, my neighbours said so today", "hate"),
             ("we bought apples from the market and they are great, my neighbours said so today!!", "not-hate")]
    path = write_csv(tmp_path / "dups.csv", rows)
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words)
    texts = result.rows.texts
    exact = [sorted(texts[row] for row in group.rows) for group in result.exact]
    assert sorted([rows[-4][0], rows[-3][0]]) in exact
    group = next(group for group in result.exact if rows[-4][0] in [texts[row] for row in group.rows])
    assert group.conflict and group.labels == {"hate": 1, "not-hate": 1}
    near = next(group for group in result.near if rows[-2][0] in [texts[row] for row in group.rows])
    assert {texts[row] for row in near.rows} == {rows[-2][0], rows[-1][0]} and near.conflict
    assert normalise("A  &amp; B @x https://t.co/1") == normalise("a & b @y")


def test_a_train_validation_leak_is_reported(tmp_path):
    rows = separable_rows(80)
    leaked = "my neighbours are parasites and scum, they went to the football game"
    train = write_csv(tmp_path / "train.csv", rows + [(leaked, "hate")])
    validation = write_csv(tmp_path / "val.csv", separable_rows(20, seed=9) + [(leaked.upper(), "hate")])
    result = run_audit(TrainingConfig(train_file=str(train), validation_file=str(validation)), embed=bag_of_words)
    assert len(result.leaks) == 1
    leak = result.leaks[0]
    assert {result.rows.splits[row] for row in leak.rows} == {TRAINING, VALIDATION}
    assert {result.rows.where(row) for row in leak.rows} == {"train.csv row 81", "val.csv row 21"}
    assert result.counts()["leaking_validation_rows"] == 1
    assert any("Leaks between training and validation: 1 groups" in line for line in summary_lines(result))


def test_the_audit_reads_and_splits_the_rows_exactly_as_training_does(tmp_path):
    from moderator_app.core.training.data import load_training_data

    rows = separable_rows(100) + [("", "hate")]  # an empty text: dropped by both
    path = write_csv(tmp_path / "t.csv", rows)
    config = TrainingConfig(train_file=str(path), validation_split=0.2)
    data = load_training_data(config)
    result = run_audit(config, embed=bag_of_words)
    assert result.rows.texts[:len(data.train)] == list(data.train["text"])
    assert result.rows.texts[len(data.train):] == list(data.validation["text"])
    for row, (_file, file_row) in enumerate(result.rows.origins):  # the row numbers point at the file's rows
        assert rows[file_row - 1] == (result.rows.texts[row], result.rows.labels[row])


def test_split_crowd_votes_are_counted(tmp_path):
    rows = [(index, 3, *(votes := ((3, 0, 0) if index % 3 else (1, 2, 0))), 0 if votes[0] >= 2 else 1, text)
            for index, (text, _label) in enumerate(separable_rows(60))]
    path = write_csv(tmp_path / "votes.csv", rows,
                     header=("", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"))
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words)
    assert result.votes[0]["split"] == 20 and result.votes[0]["rows"] == 60


def test_the_suspects_queue_opens_in_score_order_with_the_audit_and_file_columns(tmp_path, flipped_file):
    path, flipped = flipped_file
    with_extra = write_csv(tmp_path / "extra.csv", [(text, label, f"id{row}") for row, (text, label) in
                                                      enumerate(csv.reader(open(path, encoding="utf-8")))][1:],
                           header=("text", "label", "post_id"))
    result = run_audit(TrainingConfig(train_file=str(with_extra)), embed=bag_of_words)
    items = suspects_queue_items(result)
    assert items.columns == ["given label", "suggested label", "suspect score", "source", "split", "file row",
                             "label", "post_id"]
    assert set(items.texts[:len(flipped)]) == flipped
    first = items.extras[0]
    row = int(first[5])
    assert first[6] == first[0] and first[7] == f"id{row}"
    store = DecisionStore(tmp_path / "d.sqlite3")
    queue = open_suspects_queue(store, result)
    assert queue.columns == items.columns and queue.items == len(result.suspects)
    assert store.queues.items(queue.id).texts == items.texts


def test_a_correction_overrides_the_label_in_the_next_runs_data_report(tmp_path, flipped_file, monkeypatch):
    from moderator_app.core.training.data import load_training_data

    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path / "data"))
    path, flipped = flipped_file
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words)
    store = DecisionStore()
    queue = open_suspects_queue(store, result, name="suspects")
    for item in result.suspects[:3]:  # two corrections and one kept label
        label = item.suggested if item is not result.suspects[2] else item.given
        store.record(Decision(result.rows.texts[item.row], item.suggested, None, label, "model", queue=queue.name,
                              queue_id=queue.id))
    store.close()
    before = load_training_data(TrainingConfig(train_file=str(path)))
    data = load_training_data(TrainingConfig(train_file=str(path), corrections_queue="suspects"))
    assert data.report.corrections["relabelled"] == 2 and data.report.corrections["confirmed"] == 1
    assert "2 rows take the moderator's label instead of the file's, 1 keep theirs" in data.report.summary()
    def labels(loaded):
        return dict(zip([*loaded.train["text"], *loaded.validation["text"]],
                        [*loaded.train["label"], *loaded.validation["label"]]))

    corrected, original = labels(data), labels(before)
    changed = {text for text in corrected if corrected[text] != original[text]}
    assert len(changed) == 2 and changed <= flipped
    with pytest.raises(UserError, match="no queue called 'nope'"):
        load_training_data(TrainingConfig(train_file=str(path), corrections_queue="nope"))


def test_a_corrected_copy_never_overwrites_its_source(tmp_path, flipped_file):
    path, flipped = flipped_file
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words)
    corrections = {result.rows.texts[item.row]: item.suggested for item in result.suspects[:len(flipped)]}
    original = path.read_bytes()
    with pytest.raises(UserError, match="exists already"):
        write_corrected_copy(result, corrections, path)
    existing = tmp_path / "someone-elses.csv"
    existing.write_text("keep me")
    with pytest.raises(UserError, match="exists already"):
        write_corrected_copy(result, corrections, existing)
    assert path.read_bytes() == original and existing.read_text() == "keep me"
    written = write_corrected_copy(result, corrections, tmp_path / "corrected.csv")
    assert written["relabelled"] == len(flipped) and written["rows"] == 200
    fixed = list(csv.reader(open(tmp_path / "corrected.csv", encoding="utf-8")))
    before = list(csv.reader(open(path, encoding="utf-8")))
    assert len(fixed) == len(before) and sum(a != b for a, b in zip(fixed, before)) == len(flipped)
    assert [name for name in tmp_path.iterdir() if name.name.startswith(".")] == []


def test_cancel_leaves_nothing_behind(tmp_path, flipped_file):
    path, _flipped = flipped_file
    before = sorted(tmp_path.rglob("*"))
    stages = []

    def report(stage, done, total):
        stages.append(stage)

    with pytest.raises(AuditCancelled):
        run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words, report=report,
                  cancelled=lambda: "finding duplicates" in stages)
    assert sorted(tmp_path.rglob("*")) == before


def test_the_real_encoder_path_embeds_in_batches_and_can_be_cancelled(tmp_path, tiny_model_dir, flipped_file):
    from moderator_app.core.audit.embeddings import embed_texts, load_encoder

    tokenizer, model = load_encoder(str(tiny_model_dir))
    texts = [text for text, _ in separable_rows(40)]
    batches = []
    features = embed_texts(texts, tokenizer, model, batch_size=8, precision="fp32",
                           report=lambda done, total: batches.append(done))
    assert features.shape == (40, model.config.hidden_size) and batches[-1] == 40 and len(batches) == 5
    assert np.allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-4)
    alone = embed_texts(texts[3:4], tokenizer, model, precision="fp32")  # padding does not change a text's embedding
    assert np.allclose(alone[0], features[3], atol=1e-4)
    with pytest.raises(AuditCancelled):
        embed_texts(texts, tokenizer, model, batch_size=8, cancelled=lambda: len(batches) > 5,
                    report=lambda done, total: batches.append(done))
    path, _ = flipped_file
    result = run_audit(TrainingConfig(train_file=str(path), model_name_or_path=str(tiny_model_dir)))
    assert result.issues is not None and result.issues.probabilities.shape == (200, 2)


def test_all_layers_lays_every_pooled_layer_side_by_side_the_last_first(tiny_model_dir):
    from moderator_app.core.audit.embeddings import embed_texts, encoder_embedder, load_encoder

    tokenizer, model = load_encoder(str(tiny_model_dir))
    texts = [text for text, _ in separable_rows(12)]
    last = embed_texts(texts, tokenizer, model, precision="fp32")
    every = embed_texts(texts, tokenizer, model, precision="fp32", all_layers=True)
    size, blocks = model.config.hidden_size, model.config.num_hidden_layers + 1
    assert every.shape == (12, size * blocks) and blocks > 1
    assert np.allclose(np.linalg.norm(every, axis=1), 1.0, atol=1e-4)
    assert np.allclose(every[:, :size] * np.sqrt(blocks), last, atol=1e-4)  # the first block is the last layer
    assert not np.allclose(every[:, size:2 * size], every[:, :size], atol=1e-3)
    embed = encoder_embedder(str(tiny_model_dir), precision="fp32")
    assert embed.neighbour_columns is None
    assert embed(texts).shape == every.shape and embed.neighbour_columns == size


def test_the_default_averages_three_views_and_a_cancel_stops_between_them(flipped_file):
    from moderator_app.core.audit.label_issues import VIEWS, find_issues, neighbour_probabilities

    path, flipped = flipped_file
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words)
    assert result.issues.views == VIEWS == ("embeddings", "tfidf", "neighbours")
    assert "TF-IDF" in result.method and "25 nearest rows" in result.method and "every layer" in result.method
    texts, labels = result.rows.texts, result.rows.label_ids
    features = bag_of_words(texts)
    alone = find_issues(features, labels, 2, views=("embeddings",))
    assert alone.views == ("embeddings",) and not np.allclose(alone.probabilities, result.issues.probabilities)
    assert find_issues(features, labels, 2).views == ("embeddings", "neighbours")  # no texts: no TF-IDF
    seen = []
    with pytest.raises(AuditCancelled):
        find_issues(features, labels, 2, texts=texts, report=lambda done, total: seen.append((done, total)),
                    cancelled=lambda: len(seen) == 2)
    assert seen == [(0, 3), (1, 3)]
    # the row's own label is left out of its neighbours' vote: three alike rows and one odd one
    points = np.array([[0.0], [0.1], [0.2], [0.15]])
    shares = neighbour_probabilities(points, np.array([0, 0, 0, 1]), 2, k=3)
    assert shares[3, 1] == pytest.approx(1e-3 / (1 + 1e-3)) and np.allclose(shares.sum(axis=1), 1.0)
    assert shares[0, 0] == pytest.approx(2 / 3, abs=1e-2)


def test_the_area_under_the_margin_is_lowest_for_the_flipped_rows(flipped_file):
    from sklearn.model_selection import StratifiedKFold

    from moderator_app.core.audit.audit import audit_rows
    from moderator_app.core.audit.training_margins import margin_probabilities, training_margins

    path, flipped = flipped_file
    rows = audit_rows(TrainingConfig(train_file=str(path)))
    features, labels = bag_of_words(rows.texts), rows.label_ids
    splits = list(StratifiedKFold(5, shuffle=True, random_state=1).split(features, labels))
    aum, shares, held_out = training_margins(features, labels, 2, splits, seed=1)
    lowest = {rows.texts[row] for row in np.argsort(aum)[:2 * len(flipped)]}  # of 200 rows; chance finds none
    assert len(flipped & lowest) >= len(flipped) - 1 and np.median(aum) > 1.0
    assert np.allclose(held_out.sum(axis=1), 1.0) and (held_out.argmax(axis=1) == labels).mean() > 0.8
    again, _, _ = training_margins(features, labels, 2, splits, seed=1)
    assert np.array_equal(aum, again)  # seeded
    probabilities = margin_probabilities(aum, shares, labels)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.allclose(probabilities[np.arange(len(labels)), labels], 1 / (1 + np.exp(-aum)))
    # three labels: what the given label does not get is shared as the training-time probabilities share it
    three = margin_probabilities(np.array([0.0]), np.array([[0.2, 0.6, 0.2]]), np.array([1]))
    assert np.allclose(three, [[0.25, 0.5, 0.25]])
    with pytest.raises(AuditCancelled):
        training_margins(features, labels, 2, splits, cancelled=lambda: True)


def test_the_margins_view_can_be_averaged_in_and_an_unknown_view_is_refused(flipped_file):
    from moderator_app.core.audit.label_issues import ALL_VIEWS, find_issues, method_text

    path, flipped = flipped_file
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words, views=ALL_VIEWS)
    assert result.issues.views == ("embeddings", "tfidf", "neighbours", "margins")
    assert {result.rows.texts[item.row] for item in result.suspects[:len(flipped)]} == flipped
    alone = find_issues(bag_of_words(result.rows.texts), result.rows.label_ids, 2, views=("margins",))
    assert len(alone.flagged) >= 3 and {result.rows.texts[row] for row in alone.flagged[:3]} <= flipped
    assert result.method == method_text(ALL_VIEWS, "distilroberta-base", 5)
    assert "area under the margin" in result.method and "TF-IDF" in result.method
    with pytest.raises(UserError, match="Unknown label-error view"):
        find_issues(bag_of_words(result.rows.texts), result.rows.label_ids, 2, views=("embeddings", "nope"))


def test_a_text_two_sources_label_differently_is_a_cross_source_conflict_in_the_per_source_figures(tmp_path):
    shared = "my neighbours are parasites and scum, they went to the football game"
    first = write_csv(tmp_path / "first.csv", separable_rows(60) + [(shared, "hate")])
    second = write_csv(tmp_path / "second.csv", separable_rows(40, seed=5) + [("  " + shared.upper(), "not-hate")])
    result = run_audit(TrainingConfig(train_file=str(first), sources=[{"path": str(second)}]), embed=bag_of_words)
    group = next(group for group in result.exact if len(group.rows) == 2 and shared in
                 {result.rows.texts[row] for row in group.rows})
    assert group.cross_source and group.conflict
    figures = {figure["source"]: figure for figure in result.per_source}
    assert set(figures) == {"first", "second"}
    for name, rows in (("first", 61), ("second", 41)):
        assert figures[name]["rows"] == rows and figures[name]["rows_shared_with_other_sources"] == 1
        assert figures[name]["disagreement_share"] == 1.0
    assert result.counts()["cross_source_groups"] == 1


# ------------------------------------------------------------------------------------------------ the command line
def run_cli(*argv):
    from moderator_app.cli import main

    return main(["audit", *map(str, argv)])


@pytest.mark.parametrize("argv, words", [
    (["missing.csv"], "missing.csv: file not found"),
    ([], "no data to audit"),
    (["{data}", "--write-corrected", "{tmp}/c.csv"], "needs the corrections"),
    (["{data}", "--json", "{data}"], "exists already"),
    (["{data}", "--model", "{tmp}/no-model"], "no such model folder"),
    (["{data}", "--views", "embeddings,bogus"], "unknown view bogus"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, flipped_file, capsys, argv, words):
    path, _ = flipped_file
    argv = [arg.format(data=path, tmp=tmp_path) for arg in argv]
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_writes_the_json_a_queue_and_a_corrected_copy(tmp_path, flipped_file, tiny_model_dir, capsys,
                                                           monkeypatch):
    import json

    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path / "data"))
    path, _ = flipped_file
    assert run_cli(path, "--model", tiny_model_dir, "--json", tmp_path / "audit.json", "--queue", "suspects") == 0
    out = capsys.readouterr().out
    assert "Likely label errors:" in out and "Leaks between training and validation" in out
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert report["rows"] == 200 and {"suspects", "exact_duplicates", "near_duplicates", "per_source"} <= set(report)
    store = DecisionStore()
    queue_id = store.queues.find("suspects")
    text = store.queues.items(queue_id).texts[0]
    store.record(Decision(text, "hate", None, "hate", "m", queue="suspects", queue_id=queue_id))
    store.close()
    assert run_cli(path, "--model", tiny_model_dir, "--write-corrected", tmp_path / "fixed.csv",
                   "--corrections-from-store", "suspects") == 0
    assert "fixed.csv: 200 rows" in capsys.readouterr().out
    assert (tmp_path / "fixed.csv").is_file()


def test_cli_corrections_queue_audits_the_corrected_labels_and_says_so(tmp_path, flipped_file, tiny_model_dir, capsys,
                                                                      monkeypatch):
    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path / "data"))
    path, flipped = flipped_file
    result = run_audit(TrainingConfig(train_file=str(path)), embed=bag_of_words)
    store = DecisionStore()
    queue = open_suspects_queue(store, result, name="suspects")
    for item in result.suspects[:2]:
        store.record(Decision(result.rows.texts[item.row], item.suggested, None, item.suggested, "m",
                              queue=queue.name, queue_id=queue.id))
    store.close()
    assert run_cli(path, "--model", tiny_model_dir, "--corrections-queue", "suspects", "--json",
                   tmp_path / "audit.json") == 0
    assert "2 rows take the moderator's label instead of the file's" in capsys.readouterr().out
    import json

    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    audited = {row["text"]: row["label"] for row in report["suspects"]}
    corrected = {result.rows.texts[item.row]: item.suggested for item in result.suspects[:2]}
    assert all(audited[text] == label for text, label in corrected.items() if text in audited)
    assert run_cli(path, "--model", tiny_model_dir, "--corrections-queue", "nope") == 2
    err = capsys.readouterr().err
    assert "no queue called 'nope'" in err and err.count("\n") == 1 and "Traceback" not in err

"""core.evaluation.label_map: parsing label maps and applying them to a file's label column."""

from __future__ import annotations

import json

import pytest

from moderator_app.core.errors import DataError, SettingsError
from moderator_app.core.evaluation.label_map import (DROPPED_BY_MAP, MISSING_LABEL, LabelMap, map_labels,
                                                     parse_label_map)

MODEL_LABELS = ["hate", "not-hate"]
DAVIDSON = {"0": "hate", "1": "not-hate", "2": "not-hate"}


def test_parse_from_json_text_file_and_dict(tmp_path):
    path = tmp_path / "davidson.json"
    path.write_text(json.dumps(DAVIDSON), encoding="utf-8")
    assert parse_label_map(json.dumps(DAVIDSON)).mapping == DAVIDSON
    from_file = parse_label_map(str(path))
    assert from_file.mapping == DAVIDSON and str(path) in from_file.origin
    assert parse_label_map({"noHate": "not-hate", 2: None}).mapping == {"noHate": "not-hate", "2": None}
    assert not parse_label_map("") and not parse_label_map(None)


@pytest.mark.parametrize("text, words", [
    ('{"0": "hate",}', "not valid JSON"),
    ('["hate"]', "must be a JSON object"),
    ('{"0": ["hate"]}', "a label must be a text or null"),
    ('{"1": "hate", "1.0": "not-hate"}', "twice"),
    ("no-such-file.json", "neither a JSON object nor an existing file"),
])
def test_malformed_maps_are_settings_errors(text, words):
    with pytest.raises(SettingsError, match=words) as caught:
        parse_label_map(text)
    assert caught.value.setting == "label_map"
    assert "--" not in caught.value.render()  # core names the setting, never a flag


def test_integer_classes_with_a_map():
    mapped = map_labels(["0", "1", "2", "2", "1.0", ""], parse_label_map(DAVIDSON), MODEL_LABELS, "d.csv", "class")
    assert mapped.kind == "integers"
    assert mapped.labels == ["hate", "not-hate", "not-hate", "not-hate", "not-hate", None]
    assert mapped.dropped == {MISSING_LABEL: 1} and mapped.examples[MISSING_LABEL] == [6]


def test_strings_partly_mapped_pass_through_unmapped_known_labels():
    mapped = map_labels([" hate", "noHate", "noHate"], parse_label_map({"noHate": "not-hate"}), MODEL_LABELS,
                        "stormfront.csv", "label")
    assert mapped.kind == "strings" and mapped.labels == ["hate", "not-hate", "not-hate"]


def test_scores_are_cut_at_the_score_threshold_before_the_map():
    label_map = parse_label_map({"1": "hate", "0": "not-hate"})
    values = [0.0, 0.3333, 0.5, 0.6667, 1.0]
    assert map_labels(values, label_map, MODEL_LABELS, "ethos.csv", "isHate").labels == [
        "not-hate", "not-hate", "hate", "hate", "hate"]
    stricter = map_labels(values, label_map, MODEL_LABELS, "ethos.csv", "isHate", score_threshold=0.6)
    assert stricter.labels == ["not-hate", "not-hate", "not-hate", "hate", "hate"]
    assert stricter.kind.startswith("0–1 score (≥ 0.6")


def test_null_drops_rows_and_counts_them():
    mapped = map_labels(["0", "1", "2", "1"], parse_label_map({"0": "hate", "1": None, "2": "not-hate"}),
                        MODEL_LABELS, "d.csv", "class", row_numbers=[10, 11, 12, 13])
    assert mapped.labels == ["hate", None, "not-hate", None]
    assert mapped.dropped == {DROPPED_BY_MAP: 2} and mapped.examples[DROPPED_BY_MAP] == [11, 13]
    assert mapped.kept == 2


def test_an_unmapped_value_is_an_error_naming_the_source_and_value():
    with pytest.raises(DataError) as caught:
        map_labels(["0", "1", "3"], parse_label_map(DAVIDSON), MODEL_LABELS, "davidson.csv", "class")
    message = caught.value.render()
    assert "davidson.csv" in message and "'3'" in message and "row 3" in message and "'class'" in message
    assert caught.value.setting == "label_map"


def test_a_map_to_a_label_the_model_lacks_is_an_error():
    with pytest.raises(DataError, match="'offensive'"):
        map_labels(["1"], parse_label_map({"1": "offensive"}), MODEL_LABELS, "d.csv", "class")


def test_without_a_map_unknown_labels_are_counted_not_dropped_silently():
    mapped = map_labels(["hate", "offensive", "not-hate", "offensive"], LabelMap(), MODEL_LABELS, "t.csv", "label")
    assert mapped.labels == ["hate", None, "not-hate", None]
    assert mapped.unknown == {"offensive": 2}


def test_without_a_map_no_known_label_at_all_is_an_error():
    with pytest.raises(DataError, match="no label in column 'class' is one of the labels") as caught:
        map_labels(["0", "1", "2"], LabelMap(), MODEL_LABELS, "davidson.csv", "class")
    assert "{label_map}" not in caught.value.render() and "'label_map'" in caught.value.render()


def test_without_known_labels_every_mapped_value_is_kept():
    mapped = map_labels(["0", "1", "2"], parse_label_map({"0": "hate", "2": None}), None, "d.csv", "class")
    assert mapped.labels == ["hate", "1", None] and mapped.dropped == {DROPPED_BY_MAP: 1}

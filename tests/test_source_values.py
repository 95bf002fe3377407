"""The value counts behind the training form's label-map table (core/training/source_values)."""

import pytest

from moderator_app.core.errors import DataError, UserError
from moderator_app.core.training.source_values import source_values
from tiny_models import write_csv


def test_counts_each_label_value_as_training_reads_it(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("a", 0), ("b", 2), ("c", 2), ("d", 1), ("e", 2), ("f", "")],
                     header=("tweet", "class"))
    values = source_values(str(path))
    assert (values.text_column, values.label_column, values.label_kind) == ("tweet", "class", "integers")
    assert values.columns == ["tweet", "class"]
    assert values.value_counts == [("2", 3), ("0", 1), ("1", 1)]
    assert values.missing == 1


def test_scores_are_cut_at_the_threshold_and_columns_can_be_chosen(tmp_path):
    path = write_csv(tmp_path / "e.csv", [("x", 0.8, "n"), ("y", 0.2, "n"), ("z", 0.6, "m")],
                     header=("comment", "isHate", "note"))
    assert source_values(str(path), label_column="isHate", score_threshold=0.7).value_counts == [("0", 2), ("1", 1)]
    assert source_values(str(path), "comment", "note").value_counts == [("n", 2), ("m", 1)]


def test_a_missing_column_is_a_user_error(tmp_path):
    path = write_csv(tmp_path / "f.csv", [("x", "hate")])
    with pytest.raises(UserError):
        source_values(str(path), label_column="nope")
    with pytest.raises(DataError):
        source_values(str(tmp_path / "absent.csv"))

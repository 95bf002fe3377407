"""Every real data set in ../shared/data loads with at most a column choice (skipped without it)."""

import pytest

from conftest import SHARED_DATA
from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.data import load_training_data

FILES = sorted(SHARED_DATA.glob("*.csv")) if SHARED_DATA.is_dir() else []
EXPECTED_COLUMNS = {"davidson_labeled_data.csv": ("tweet", "class"), "ethos_binary.csv": ("comment", "isHate")}


@pytest.mark.skipif(not FILES, reason="../shared/data is absent (only CI and developers have it)")
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_shared_file_loads(path):
    data = load_training_data(TrainingConfig(train_file=str(path), output_dir="unused"))
    report = data.report
    assert (report.text_column, report.label_column) == EXPECTED_COLUMNS.get(path.name, ("text", "label"))
    assert len(data.label_names) >= 2
    assert report.rows_read == report.train_rows + report.validation_rows + report.rows_dropped
    assert report.dropped.keys() <= {"empty text", "missing label"}


@pytest.mark.skipif(not FILES, reason="../shared/data is absent")
def test_tweeteval_blank_tweets_are_dropped_and_entities_kept():
    data = load_training_data(TrainingConfig(train_file=str(SHARED_DATA / "tweeteval_hate_train.csv"),
                                             validation_file=str(SHARED_DATA / "tweeteval_hate_val.csv"),
                                             output_dir="unused"))
    assert data.report.dropped == {"empty text": 7, "empty text (validation file)": 1}
    assert data.label_names == ["hate", "not-hate"] and len(data.train) == 8993

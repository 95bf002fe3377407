"""The issue's label maps on the four real sources in ../shared/data (skipped without it)."""

import pytest

from conftest import SHARED_DATA
from moderator_app.core.evaluation.label_map import DROPPED_BY_MAP, parse_label_map
from moderator_app.core.evaluation.labelled_data import read_labelled_rows

LABELS = ["hate", "not-hate"]
needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")


@needs_data
@pytest.mark.parametrize("name, label_map, hate, not_hate, dropped", [
    ("davidson_labeled_data.csv", {"0": "hate", "1": None, "2": "not-hate"}, 1430, 4163, {DROPPED_BY_MAP: 19190}),
    ("stormfront.csv", {"noHate": "not-hate"}, 1196, 9507, {}),
    ("ethos_binary.csv", {"1": "hate", "0": "not-hate"}, 433, 565, {}),
    ("tweeteval_hate_val.csv", {}, 427, 572, {"empty text": 1}),
])
def test_real_sources_map_onto_the_models_labels(name, label_map, hate, not_hate, dropped):
    rows = read_labelled_rows(SHARED_DATA / name, LABELS, label_map=parse_label_map(label_map))
    assert (rows.labels.count("hate"), rows.labels.count("not-hate")) == (hate, not_hate)
    assert rows.dropped == dropped and rows.unknown_labels == {}
    assert rows.rows_read == len(rows.texts) + sum(rows.dropped.values())

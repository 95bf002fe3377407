import os
import sys
from pathlib import Path

import pytest

# Tests never touch the network; a test that tried would fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tiny models gain nothing from intra-op threads, and OpenMP threads spinning on two busy cores
# made the suite several times slower. Set before torch is first imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

from tiny_models import build_tiny_roberta, synthetic_rows, write_csv  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_roberta(tmp_path_factory.mktemp("tiny-roberta"))


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    return write_csv(folder / "train.csv", synthetic_rows(480, seed=1))


@pytest.fixture(scope="session")
def synthetic_val_csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic-val")
    return write_csv(folder / "val.csv", synthetic_rows(120, seed=2))

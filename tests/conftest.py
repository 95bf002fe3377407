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

# the real PostgreSQL server of the shared-store tests (postgres_server, postgres_url)
pytest_plugins = ["postgres_server"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--cpu-bf16", choices=("native", "on", "off"), default="native",
                     help="what the precision rule takes this CPU for: its own detection (native), or one "
                          "with (on) or without (off) native bf16; sets MODERATOR_APP_CPU_BF16 for the "
                          "whole run and the processes it starts. `make test` runs the tests marked "
                          "`precision` both ways, whatever the machine.")


def pytest_configure(config):
    config.addinivalue_line("markers", "precision: a test whose outcome depends on what `auto` precision "
                                       "resolves to; `make test` runs these with --cpu-bf16=on and =off too")
    choice = config.getoption("--cpu-bf16")
    if choice != "native":
        os.environ["MODERATOR_APP_CPU_BF16"] = choice


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


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request, tmp_path) -> str:
    """Where a store test keeps its decision store: an SQLite file, or a database on the session's
    PostgreSQL server (`-k postgres` runs only those; they skip, with the reason, without a server)."""
    if request.param == "sqlite":
        return str(tmp_path / "decisions.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def tiny_multi_label_dir(tmp_path_factory) -> Path:
    """A tiny two-category (hate, offensive) model folder in issue 27's format (tiny_models.tiny_multi_label_model)."""
    from tiny_models import tiny_multi_label_model

    return tiny_multi_label_model(tmp_path_factory.mktemp("multi-label") / "model")

"""How a loaded classifier computes: its inference path, chosen once when the model loads.

A path is a way to run the same model: fp32 as loaded (the reference), bf16 under autocast (every matrix
product re-casts its fp32 weights), bf16 with the weights cast once at load (no autocast: activations,
layer norm and softmax run in bf16 too), or int8 (torch's dynamic quantisation of the linear layers).
A path may be taken only after its *agreement check*: the labels it gives the one-epoch fine-tuned
MiniLM (TweetEval hate) on 20,000 tweets agree with fp32's on at least core.precision.AGREEMENT_BAR of
the rows (`benchmarks/label_throughput.py --paths`, which says when a recorded figure is out of date).
A fresh, untrained head is no judge: its probabilities sit near 0.5 and flip on any rounding.

`auto` takes the fastest path (SPEED_ORDER, measured by the same benchmark) that passed its check and
that the number format chosen by core.precision allows: on a CPU without native bf16 that is fp32, on
one with it the bf16 paths too. It says which (Classifier.describe(), the label summary, the provenance
file and the Review tab's model panel all show Precision.describe()).

torch.compile (inductor) of a path is off unless asked for: on two CPU cores its compilation cost more
than it saved over 20,000 tweets (benchmarks/README.md). When asked for and not available (no C++
compiler, an inductor error), the model runs eagerly and one line says so.

Plain Python at import: torch is imported inside the functions that need it.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from typing import Any

from moderator_app.core.precision import AGREEMENT_BAR, Precision

log = logging.getLogger("moderator_app")


@dataclass(frozen=True)
class InferencePath:
    name: str
    number_format: str  # what core.precision resolved to that this path serves: fp32, bf16 or fp16
    words: str  # for people
    casts_weights: bool = False  # the model is converted once at load and runs without autocast
    quantised: bool = False


PATHS = {path.name: path for path in (
    InferencePath("fp32", "fp32", "fp32 weights, no autocast"),
    InferencePath("bf16-autocast", "bf16", "bf16 autocast over fp32 weights"),
    InferencePath("bf16-weights", "bf16", "weights cast to bf16 once", casts_weights=True),
    InferencePath("int8-dynamic", "fp32", "int8 linear layers (dynamic quantisation), fp32 elsewhere",
                  casts_weights=True, quantised=True),
    InferencePath("fp16-autocast", "fp16", "fp16 autocast over fp32 weights"),
)}

# Share of rows whose label agreed with fp32's (the fine-tuned model at its calibrated threshold, 20,000
# tweets, benchmarks/label_throughput.py --paths); None: not measured, so never taken. fp32 is the reference.
# Measured on a 2-core AMD EPYC with AVX-512 BF16, 2026-12-07 (agreement does not depend on load).
AGREEMENT: dict[str, float | None] = {
    "fp32": 1.0,
    "bf16-autocast": 0.9991,
    "bf16-weights": 0.9986,
    "int8-dynamic": 0.9394,  # 121 of 1,998 tweets differ (2,000 rows only): probabilities move by up to 0.26
    "fp16-autocast": 1.0,  # CUDA only, as before (the recipe's native AMP)
}
# Fastest first on a CPU (label_throughput.py --paths, MiniLM, tweets): a path's place says nothing of its check.
SPEED_ORDER = ("bf16-weights", "int8-dynamic", "bf16-autocast", "fp32")
# Whether compiling pays over a 20,000-tweet run on the CPU (benchmarks/label_throughput.py --compile).
COMPILE_PAYS_ON_CPU = False
# Compiled models see these padded lengths only, so that inductor compiles a few shapes once.
LENGTH_BUCKETS = (16, 32, 64, 128, 256, 512)


def passed_check(name: str) -> bool:
    agreement = AGREEMENT.get(name)
    return agreement is not None and agreement >= AGREEMENT_BAR


def choose_path(precision: Precision, choice: str = "auto") -> InferencePath:
    """The path a classifier resolved to `precision` runs on.

    `auto` on a CPU: the fastest path that passed its agreement check among those of the resolved number
    format (and int8), else fp32. An explicit bf16 or fp32: the fastest path of that format that passed,
    else the format's reference path (bf16 autocast, fp32). Off the CPU: autocast as before (fp16 on
    CUDA), or fp32."""
    kind = precision.device.split(":")[0]
    if precision.name == "fp16":
        return PATHS["fp16-autocast"]
    if kind != "cpu":
        return PATHS["fp32"] if precision.name == "fp32" else PATHS["bf16-autocast"]
    # auto may always fall back to fp32's formats (int8 is one: fp32 outside its linear layers)
    formats = {precision.name, "fp32"} if choice == "auto" else {precision.name}
    for name in SPEED_ORDER:
        path = PATHS[name]
        if path.quantised and choice != "auto":
            continue  # int8 is auto's to choose; an explicit fp32 or bf16 gets that format
        if path.number_format in formats and passed_check(name):
            return path
    if choice == "auto" or precision.name == "fp32":
        return PATHS["fp32"]
    return PATHS["bf16-autocast"]


def precision_of(path: InferencePath, precision: Precision) -> Precision:
    """`precision`, or, when auto's path computes in another format than it (no bf16 path passed its
    check), that format and why."""
    if path.number_format == precision.name:
        return precision
    return Precision(path.number_format, precision.device,
                     f"chosen by auto: no {precision.name} path passed its agreement check with fp32")


def describe_path(path: InferencePath, compiled: bool, note: str = "") -> str:
    """The words appended to the precision's reason, e.g. "path: weights cast to bf16 once (labels agreed
    with fp32 on 99.89 %)"."""
    text = f"path: {path.words}"
    if path.name != "fp32" and AGREEMENT.get(path.name) is not None:
        text += f" (labels agreed with fp32 on {AGREEMENT[path.name]:.2%} in the benchmark)"
    if compiled:
        text += ", compiled"
    if note:
        text += f"; {note}"
    return text


def prepare_model(model, path: InferencePath):
    """The model converted for `path`, once (it is modified in place where that is possible)."""
    import torch

    if path.quantised:
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    if path.casts_weights:
        return model.to(torch.bfloat16)
    return model


def compilation_problem() -> str | None:
    """Why torch.compile cannot run here, in a few words; None when it may."""
    try:
        import torch._dynamo  # noqa: F401
        import torch._inductor  # noqa: F401
    except Exception as error:  # a build without them, or a broken install
        return f"torch.compile is not available ({type(error).__name__})"
    if not any(shutil.which(name) for name in ("c++", "g++", "clang++")):
        return "torch.compile needs a C++ compiler and none was found"
    return None


def compile_model(model) -> tuple[Any, str]:
    """(the compiled model, "") or, when compilation is not available, (the model itself, why not)."""
    problem = compilation_problem()
    if problem is None:
        try:
            import torch

            return torch.compile(model, dynamic=False), ""
        except Exception as error:  # torch.compile refuses this model or platform
            problem = f"torch.compile failed ({first_line(error)})"
    return model, fall_back(problem)


def fall_back(problem: str) -> str:
    """Say, in one line and without a traceback, that the model runs uncompiled; returns the note."""
    note = f"{problem}: running uncompiled"
    log.warning("moderator-app: %s.", note)
    return note


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160]}" if text else type(error).__name__


def bucket_length(length: int, max_length: int) -> int:
    """The padded length a compiled model sees for a batch whose longest text has `length` tokens."""
    for bucket in LENGTH_BUCKETS:
        if length <= bucket:
            return min(bucket, max_length)
    return max_length

"""Which number format a model computes in, and why: the one rule for training and inference.

`auto` means the recipe's "native AMP" on the hardware at hand:
- CUDA: fp16 autocast (with a GradScaler when training), as the recipe ran;
- a CPU that multiplies bf16 natively (AMX-BF16, AVX-512 BF16, Arm BF16) and whose torch can use it
  through oneDNN: bf16 autocast, about twice the fp32 rate;
- anything else, Apple MPS included: fp32. A CPU without native bf16 emulates it, several times
  slower than fp32 (9× for a MiniLM-sized matrix product on an AVX2-only EPYC).
Training under autocast keeps fp32 master weights: only the matrix products run in half precision.

Detection asks torch (`torch.cpu.get_capabilities()`, the cpuinfo flags) and oneDNN
(`torch.ops.mkldnn._is_mkldnn_bf16_supported()`): it is never assumed from the architecture.
Everything else here is plain logic over a `Hardware` value, so that tests can pose as any processor
and the Training form can resolve a choice on the GUI thread from hardware probed in the background.

`MODERATOR_APP_CPU_BF16=on|off` overrides the detection (and so what `auto` picks on a CPU) for this
process and the processes it starts: the test suite runs its precision-sensitive tests both ways with it
(`pytest --cpu-bf16`), so that a machine of either kind checks the other kind's path too. `on` where the
CPU has no native bf16 computes correctly, only slowly (emulated).
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from typing import Any

from moderator_app.core.errors import SettingsError

TRAINING_PRECISIONS = ("auto", "fp16", "bf16", "fp32")
INFERENCE_PRECISIONS = ("auto", "bf16", "fp32")

# auto may pick bf16 on a CPU only while benchmarks/ find it within the bars of issue 15: labels agreeing
# with fp32 on ≥ 99.5 % of rows (label_throughput.py) and validation accuracy within 0.5 point of an fp32
# run (train_vs_hf_trainer.py). Those benchmarks fail and say to set this to False when bf16 misses a bar.
CPU_BF16_MEETS_BARS = True
AGREEMENT_BAR = 0.995
ACCURACY_BAR_POINTS = 0.5

# torch.cpu.get_capabilities() keys of a native bf16 matrix unit, best first, with their names for people.
CPU_BF16_FEATURES = (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX-512 BF16"), ("sve_bf16", "Arm SVE BF16"),
                     ("bf16", "Arm BF16"))
NO_NATIVE_BF16 = "no native bf16 (AMX, AVX-512 BF16 or Arm BF16)"
CPU_BF16_OVERRIDE = "MODERATOR_APP_CPU_BF16"


@dataclass(frozen=True)
class Hardware:
    """What the precision rule needs to know about the machine."""

    cpu_bf16: str | None = None  # the CPU's native bf16 feature ("AVX-512 BF16", …); None: none
    cuda_bf16: bool = False  # the CUDA GPU (if any) computes bf16


@functools.cache
def native_cpu_bf16() -> str | None:
    """The name of this CPU's native bf16 feature when torch can use it, else None (or what
    MODERATOR_APP_CPU_BF16 forces: `on` poses as a native bf16 CPU, `off` as one without)."""
    forced = os.environ.get(CPU_BF16_OVERRIDE, "").strip().lower()
    if forced == "off":
        return None
    if forced == "on":
        return f"{CPU_BF16_OVERRIDE}=on"
    if forced:
        raise SettingsError(f"{CPU_BF16_OVERRIDE} is {forced!r}; it must be on, off or unset.",
                            f"Unset {CPU_BF16_OVERRIDE} to detect the CPU's bf16 support.")
    return _detected_cpu_bf16()


def _detected_cpu_bf16() -> str | None:
    import torch

    get_capabilities = getattr(getattr(torch, "cpu", None), "get_capabilities", None)
    try:
        capabilities = dict(get_capabilities()) if get_capabilities else {}
    except RuntimeError:  # cpuinfo could not read this processor
        capabilities = {}
    feature = next((name for key, name in CPU_BF16_FEATURES if capabilities.get(key) is True), None)
    if feature is None:
        return None
    # torch multiplies bf16 through oneDNN; without its bf16 kernels it falls back to generic code that
    # is slower than fp32 whatever the processor can do.
    try:
        usable = torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        usable = False
    return feature if usable else None


def detect_hardware() -> Hardware:
    import torch

    cuda_bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return Hardware(cpu_bf16=native_cpu_bf16(), cuda_bf16=cuda_bf16)


@dataclass(frozen=True)
class Precision:
    """A resolved precision: `name` is fp16, bf16 or fp32; `reason` says why, in words."""

    name: str
    device: str
    reason: str

    @property
    def scales_loss(self) -> bool:
        """fp16 gradients underflow without a GradScaler; bf16 has fp32's range and needs none."""
        return self.name == "fp16"

    def autocast_arguments(self) -> dict[str, Any]:
        """Keyword arguments of torch.autocast: enabled for fp16/bf16, a no-op for fp32."""
        import torch

        kind = self.device.split(":")[0]
        return dict(device_type=kind if kind in ("cuda", "cpu") else "cpu", enabled=self.name != "fp32",
                    dtype=torch.float16 if self.name == "fp16" else torch.bfloat16)

    def autocast(self):
        """A context in which the model's forward pass runs at this precision."""
        if self.name == "fp32":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(**self.autocast_arguments())

    def describe(self) -> str:
        """One line for people, e.g. "bf16, chosen by auto: this CPU computes bf16 natively (AVX-512 BF16)"."""
        return f"{self.name}, {self.reason}"


def training_precision(choice: str, device: str, hardware: Hardware | None = None) -> Precision:
    """The precision a training run on `device` ("cpu", "cuda", "mps", …) uses for `choice`.

    Raises SettingsError (setting "precision") for a choice the device cannot run."""
    kind = device.split(":")[0]
    if choice == "auto":
        if kind == "cuda":
            return Precision("fp16", device, "chosen by auto: fp16 mixed precision with loss scaling "
                                             "on CUDA, the recipe's native AMP")
        return _auto_off_cuda(device, _hardware(hardware, kind), ", fp32 master weights")
    if choice == "fp16":
        if kind != "cuda":
            raise SettingsError(f"fp16 mixed precision needs a CUDA GPU; this run is on {_device_words(kind)}.",
                                "Set {precision} to auto, bf16 or fp32.", setting="precision")
        return Precision("fp16", device, "as set: fp16 mixed precision with loss scaling")
    if choice == "bf16":
        return _bf16(device, _hardware(hardware, kind), "as set: bf16 autocast, fp32 master weights")
    if choice == "fp32":
        return Precision("fp32", device, "as set: full precision")
    raise SettingsError(f"Unknown precision {choice!r}.", "Set {precision} to one of "
                        f"{', '.join(TRAINING_PRECISIONS)}.", setting="precision")


def inference_precision(choice: str, device: str, hardware: Hardware | None = None) -> Precision:
    """The precision a classifier on `device` predicts in for `choice` (auto, bf16 or fp32).

    Raises SettingsError (setting "precision") for a choice the device cannot run."""
    kind = device.split(":")[0]
    if choice == "auto":
        if kind == "cuda":
            return Precision("fp16", device, "chosen by auto: fp16 autocast on CUDA")
        return _auto_off_cuda(device, _hardware(hardware, kind), "")
    if choice == "bf16":
        return _bf16(device, _hardware(hardware, kind), "as set")
    if choice == "fp32":
        return Precision("fp32", device, "as set: full precision")
    raise SettingsError(f"Unknown precision {choice!r} for predictions.",
                        "Set {precision} to one of " + ", ".join(INFERENCE_PRECISIONS) + ".",
                        setting="precision")


def precision_conflict(choice: str, device: str) -> str | None:
    """What is wrong with `choice` on an explicitly chosen `device`, decided without the hardware
    (for validating a configuration); None when only the hardware can tell, or nothing is."""
    if device not in ("cpu", "mps") or choice not in TRAINING_PRECISIONS:
        return None
    try:
        training_precision(choice, device, Hardware())
    except SettingsError as error:
        return error.render(str)  # the caller names the setting itself
    return None


# ----------------------------------------------------------------------------------------------------
def _hardware(hardware: Hardware | None, kind: str) -> Hardware:
    if hardware is not None:
        return hardware
    return detect_hardware() if kind in ("cpu", "cuda") else Hardware()


def _auto_off_cuda(device: str, hardware: Hardware, bf16_note: str) -> Precision:
    kind = device.split(":")[0]
    if kind != "cpu":
        return Precision("fp32", device, f"chosen by auto: fp32 on {_device_words(kind)}")
    if hardware.cpu_bf16 is None:
        return Precision("fp32", device,
                         f"chosen by auto: this CPU has {NO_NATIVE_BF16}, where bf16 is slower than fp32")
    if not CPU_BF16_MEETS_BARS:
        return Precision("fp32", device, "chosen by auto: bf16 missed the agreement or accuracy bar of the benchmarks")
    return Precision("bf16", device,
                     f"chosen by auto: this CPU computes bf16 natively ({hardware.cpu_bf16}){bf16_note}")


def _bf16(device: str, hardware: Hardware, reason: str) -> Precision:
    kind = device.split(":")[0]
    if kind == "cuda" and not hardware.cuda_bf16:
        raise SettingsError("This GPU cannot compute in bf16.", "Set {precision} to auto, fp16 or fp32.",
                            setting="precision")
    if kind not in ("cuda", "cpu"):
        raise SettingsError(f"bf16 is not available on {_device_words(kind)}.", "Set {precision} to auto or fp32.",
                            setting="precision")
    if kind == "cpu" and hardware.cpu_bf16 is None:
        reason += f" — this CPU has {NO_NATIVE_BF16}, so it is emulated and several times slower than fp32"
    return Precision("bf16", device, reason)


def _device_words(kind: str) -> str:
    return {"cpu": "the CPU", "mps": "Apple MPS", "cuda": "CUDA"}.get(kind, kind)

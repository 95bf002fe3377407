"""The form's "GPUs to use": how many processes a run trains on, one per GPU (data-parallel, through
core/training/local_processes.py). It exists only on a computer with more than one CUDA GPU."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QSpinBox

LABEL = "GPUs to use"
TOOLTIP = ("Train on this many GPUs at once, one process each. The batch size stays the global batch: each GPU "
           "trains on its share of every batch, so the results match a run on one GPU. A stopped run resumes "
           "on the same number of GPUs.")


class GpuCountField(QSpinBox):
    def __init__(self):
        super().__init__()
        self.setRange(1, 1)
        self.setToolTip(TOOLTIP)
        self.gpu_count = 0

    def add_to(self, layout: QFormLayout) -> None:
        """A row of `layout`, hidden until more than one GPU is detected."""
        layout.addRow(LABEL, self)
        self._layout = layout
        layout.setRowVisible(self, False)

    def set_gpu_count(self, count: int) -> None:
        self.gpu_count = count
        self.setMaximum(max(1, count))
        self._layout.setRowVisible(self, count > 1)

    def processes(self, device: str) -> int:
        """The number of training processes for `device` ("auto" means CUDA where GPUs are found)."""
        return self.value() if self.gpu_count > 1 and device in ("auto", "cuda") else 1

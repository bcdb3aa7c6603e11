"""Data for the book's experiments: synthetic sets with known structure, and data that ships offline.

Nothing here downloads anything. Every generator takes a ``seed`` and returns tensors
on the CPU in float32 unless ``dtype`` says otherwise; move them with
``.to(lmlib.device())``. One module per kind of data; the generators are re-exported here.
"""
from lmlib.data.digits import digits
from lmlib.data.mixtures import gaussian_mixture
from lmlib.data.mlp_teacher import mlp_teacher
from lmlib.data.modular import modular_addition
from lmlib.data.power_law import power_law_gaussian
from lmlib.data.regression import sine_regression
from lmlib.data.sequences import induction_sequences
from lmlib.data.staircase import staircase, staircase_function
from lmlib.data.synthetic import low_rank_target, whitened_inputs
from lmlib.data.teacher import teacher_student

__all__ = [
    "whitened_inputs", "low_rank_target", "digits", "gaussian_mixture", "mlp_teacher", "modular_addition",
    "power_law_gaussian", "sine_regression", "induction_sequences", "staircase", "staircase_function",
    "teacher_student",
]

"""Data for the book's experiments: synthetic sets with known structure, and data that ships offline.

Nothing here downloads anything. Every generator takes a ``seed`` and returns tensors
on the CPU in float32 unless ``dtype`` says otherwise; move them with
``.to(lmlib.device())``. One module per kind of data; the common names are re-exported.
"""
from lmlib.data.digits import digits
from lmlib.data.mixtures import gaussian_mixture
from lmlib.data.synthetic import low_rank_target, whitened_inputs
from lmlib.data.sequences import induction_sequences
from lmlib.data.modular import modular_addition

__all__ = ["whitened_inputs", "low_rank_target", "digits", "induction_sequences", "modular_addition"]
__all__ += ["gaussian_mixture"]

"""Answer checks for the exercises of ``chapters/05_universality/same_noise.md``."""
from __future__ import annotations

import torch

from lmlib import diffusion
from lmlib.exercises import Exercise

EXERCISES: dict[str, Exercise] = {
    "gaussian_scale": Exercise(
        reference=lambda: diffusion.gaussian_flow_scale(0.6, 20.0, 0.0),
        rtol=1e-3,
        hint="Solve dx/dσ = (x − D(x; σ))/σ with the linear optimal denoiser of a Gaussian; "
             "the deviation from the mean scales like a square root.",
    ),
    "c_in_max": Exercise(
        reference=lambda: float(diffusion.edm_coefficients(torch.tensor(20.0), 0.5)[2]),
        rtol=1e-3,
        hint="c_in makes the network's input unit-variance: divide by the standard deviation of y + σn.",
    ),
}

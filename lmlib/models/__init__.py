"""Small models whose behaviour the book's theory predicts, one module per family.

Each class is a plain ``nn.Module``; the knobs theory cares about (width, depth,
initialisation scale, parameterization) are explicit constructor arguments. Import
from here (``from lmlib.models import MLP``) or from the family's module.
"""
from lmlib.models.centered import Centered
from lmlib.models.cnn import SmallCNN
from lmlib.models.denoisers import FiLMMLP, TinyUNet
from lmlib.models.diagonal import DiagonalLinear
from lmlib.models.linear import DeepLinear
from lmlib.models.mlp import MLP
from lmlib.models.modular import ModularMLP
from lmlib.models.mup import mup_lr_multipliers, mup_param_groups
from lmlib.models.residual import ResidualMLP
from lmlib.models.transformer import TinyTransformer
from lmlib.models.two_layer import MeanFieldNet, mirror_

__all__ = [
    "DeepLinear", "MLP", "mup_lr_multipliers", "mup_param_groups", "Centered", "DiagonalLinear",
    "MeanFieldNet", "mirror_", "ResidualMLP", "SmallCNN", "FiLMMLP", "TinyUNet", "TinyTransformer",
    "ModularMLP",
]

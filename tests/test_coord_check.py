"""lmlib.coord_check and lmlib.theory.width: measured width exponents against the counting rule."""
from __future__ import annotations

import numpy as np
import pytest

from lmlib.coord_check import CoordCheck, coord_check
from lmlib.theory.width import first_step_exponents, update_exponents


@pytest.mark.parametrize("param, opt, expected", [
    ("sp", "sgd", (-0.5, 0.5, 1.0)), ("ntk", "sgd", (-0.5, -0.5, 0.0)), ("mup", "sgd", (0.0, 0.0, 0.0)),
    ("mup", "adam", (0.0, 0.0, 0.0)), ("sp", "adam", (0.0, 1.0, 1.5)), ("ntk", "adam", (0.0, 0.5, 1.0)),
])
def test_named_parameterizations(param, opt, expected):
    assert update_exponents(param, optimizer=opt) == pytest.approx(expected)


def test_general_rule_and_lr_exponent():
    assert update_exponents("sp", lr_exponent=1.0) == pytest.approx((-1.5, -0.5, 0.0))
    # μP is the rule's unique all-zero point at s = 1 with maximal rates; a smaller output lr kills Δf's own term
    assert first_step_exponents(1.0, (-1.0, 0.0, 1.0)) == pytest.approx((0.0, 0.0, 0.0))
    assert first_step_exponents(1.0, (-1.0, 0.0, 2.0)) == pytest.approx((0.0, 0.0, 0.0))
    assert first_step_exponents(1.0, (-1.0, 0.5, 1.0)) == pytest.approx((0.0, 0.0, 0.0))
    assert first_step_exponents(1.0, (0.0, 0.0, 1.0)) == pytest.approx((-1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="lr_exponents must be three"):
        first_step_exponents(0.5, (0.0, 0.0))
    with pytest.raises(ValueError, match="parameterization must be one of"):
        update_exponents("tp")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        update_exponents("sp", optimizer="lion")


def test_coord_check_mup_is_width_independent():
    cc = coord_check([32, 128, 512], "mup", lr=1.0, steps=1, init_budget=128, seed=3, device="cpu")
    assert cc.delta["h1"].shape == (1, 3)
    for k, e in cc.exponents(1).items():
        assert e == pytest.approx(0.0, abs=0.1), k
    ntk = coord_check([32, 512], "ntk", lr=1.0, steps=1, init_budget=128, seed=3, device="cpu")
    assert ntk.exponents(1)["h2"] == pytest.approx(-0.5, abs=0.1)


@pytest.mark.slow
def test_coord_check_measures_the_predicted_exponents():
    widths = [64, 256, 1024]
    for param, lr, opt in [("ntk", 1.0, "sgd"), ("mup", 1.0, "sgd"), ("mup", 1e-2, "adam"), ("sp", 1e-3, "adam")]:
        cc = coord_check(widths, param, lr=lr, optimizer=opt, steps=1, init_budget=256, seed=3, device="cpu")
        assert isinstance(cc, CoordCheck) and cc.delta["h1"].shape == (1, 3)
        got = cc.exponents(1)
        for k, e in zip(("h1", "h2", "f"), update_exponents(param, optimizer=opt)):
            assert got[k] == pytest.approx(e, abs=0.15), (param, opt, k)
    # init sizes are order one in every parameterization (stable initialisation)
    assert np.all((cc.init_rms["h1"] > 0.3) & (cc.init_rms["h1"] < 3))


def test_coord_check_is_deterministic_and_validates():
    a = coord_check([16, 32], "sp", lr=0.1, steps=2, init_budget=32, seed=5, device="cpu")
    b = coord_check([16, 32], "sp", lr=0.1, steps=2, init_budget=32, seed=5, device="cpu")
    np.testing.assert_array_equal(a.delta["f"], b.delta["f"])
    assert a.loss.shape == (3, 2) and list(a.steps) == [1, 2]
    with pytest.raises(ValueError, match="step must be one of"):
        a.exponents(3)
    with pytest.raises(ValueError, match="two distinct"):
        coord_check([16, 16], "sp", lr=0.1)
    with pytest.raises(ValueError, match="parameterization must be one of"):
        coord_check([16, 32], "abc", lr=0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        coord_check([16, 32], "sp", lr=0.0)
    with pytest.raises(TypeError, match="widths"):
        coord_check(16, "sp", lr=0.1)

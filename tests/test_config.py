import numpy as np
import pytest
import torch

from lmlib import config


def test_scale_default_and_values(monkeypatch):
    assert config.scale() == "quick"
    monkeypatch.setenv("LMLIB_SCALE", " FULL ")
    assert config.scale() == "full"
    assert config.pick(quick=1, full=2) == 2


def test_scale_bogus_names_valid_values(monkeypatch):
    monkeypatch.setenv("LMLIB_SCALE", "bogus")
    with pytest.raises(ValueError, match=r"LMLIB_SCALE='bogus'.*'quick' or 'full'"):
        config.scale()
    with pytest.raises(ValueError, match="valid values"):
        config.pick(quick=1, full=2)


def test_pick_requires_keywords():
    with pytest.raises(TypeError):
        config.pick(1, 2)  # type: ignore[misc]


def test_device_default_and_override(monkeypatch):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert config.device().type == expected
    monkeypatch.setenv("LMLIB_DEVICE", "cpu")
    assert config.device() == torch.device("cpu")
    monkeypatch.setenv("LMLIB_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="LMLIB_DEVICE"):
        config.device()


def test_seed_everything_is_deterministic():
    config.seed_everything(3)
    a = (torch.randn(3), np.random.rand(3))
    config.seed_everything(3)
    b = (torch.randn(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    gen = config.seed_everything(5)
    assert isinstance(gen, torch.Generator)


@pytest.mark.parametrize("bad, err", [(-1, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError)])
def test_seed_everything_rejects_bad_seeds(bad, err):
    with pytest.raises(err, match="seed"):
        config.seed_everything(bad)

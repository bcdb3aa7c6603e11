"""Shared test setup: keep tests from writing into the book's real scoreboard."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_scoreboard(tmp_path, monkeypatch):
    # check() appends to _build/scoreboard.jsonl of the book; tests must never touch it.
    monkeypatch.setenv("LMLIB_SCOREBOARD", str(tmp_path / "scoreboard.jsonl"))
    monkeypatch.delenv("LMLIB_SCALE", raising=False)
    monkeypatch.delenv("LMLIB_DEVICE", raising=False)
    monkeypatch.setenv("LMLIB_PROGRESS", "0")

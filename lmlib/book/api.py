"""The API reference, generated from lmlib's docstrings: every public name, once.

:func:`api_markdown` walks the package (so a new module appears without anyone editing
the API page) and writes, per module, an ``automodule`` directive listing its public
names — those in its ``__all__``, or without one its public functions and classes —
that are *defined* there. A re-export (``lmlib.models.MLP`` is ``lmlib.models.mlp.MLP``)
is documented where it is defined, so no object is described twice.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

__all__ = ["public_names", "api_modules", "api_markdown"]


def public_names(module: ModuleType) -> list[str]:
    """Public functions and classes defined in ``module`` (in ``__all__`` order when it has one).

    Constants named in ``__all__`` are left to the module's docstring.
    """
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items()
                 if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))]
    out = []
    for name in names:
        obj = getattr(module, name, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue  # constants and submodules: described in their module's docstring
        if getattr(obj, "__module__", module.__name__) == module.__name__:
            out.append(name)
    return out


def api_modules(package: str = "lmlib") -> list[ModuleType]:
    """Every module of ``package`` (depth first, sorted), private ones (``_x``) and ``__main__`` excluded."""
    pkg = importlib.import_module(package)
    mods = [pkg]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_"):
            continue
        mods.append(importlib.import_module(info.name))
    return sorted(mods, key=lambda m: m.__name__)


def api_markdown(package: str = "lmlib") -> str:
    """MyST source documenting every module of ``package`` and its public names.

    autodoc writes reStructuredText, so the directives sit in one ``{eval-rst}`` block
    (parsed as MyST, autodoc's output would show as raw text).
    """
    lines = ["```{eval-rst}"]
    for mod in api_modules(package):
        names = public_names(mod)
        lines.append(f".. automodule:: {mod.__name__}")
        if names:
            lines.append(f"   :members: {', '.join(names)}")
        lines.append("")
    lines.append("```")
    return "\n".join(lines) + "\n"

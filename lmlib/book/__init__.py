"""What only builds and checks the book, not the science a chapter calls.

``build`` (the book and its post-build checks), ``notebooks`` (Colab and student
notebooks from the chapters), ``chapters`` (which chapters the table of contents
lists), ``verify`` (rerun chapters headless and compare with the build), and the
Sphinx extension ``sphinx_ext``. Its extra dependencies are the ``[book]`` extra;
the command line is ``python -m lmlib``.
"""

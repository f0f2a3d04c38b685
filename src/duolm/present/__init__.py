"""Presentation: the lecture's figures, the HTML report and the demo.

Everything here reads result objects and draws or writes them; nothing is
estimated (DESIGN.md, "Layers"). Each result prints itself (``summary()``,
``repr``, ``_repr_html_``) through :mod:`duolm._format`; this package adds
what needs a figure or a page:

- :mod:`.plots`: the figures (matplotlib, imported on first use);
- :mod:`.report`: one self-contained HTML page of a fit, both readings;
- :mod:`.demo`: the whole lecture on built-in data, tables and figures.
"""

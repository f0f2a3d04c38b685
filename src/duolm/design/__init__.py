"""The design: formulas, frames and arrays -> a float64 design matrix and its spec.

- :mod:`._formula`: the formula's safety check and its restricted namespace
  (data columns and numeric functions only);
- :mod:`._columns`: frames, mappings, Series and arrays -> float columns, with
  missing, infinite and text values found and named;
- :mod:`._build`: :class:`Design`, :class:`DesignSpec`, :func:`from_formula`,
  :func:`from_arrays`;
- :mod:`._serial`: a spec to and from JSON-ready values (saved fits).
"""

from __future__ import annotations

from duolm.design._build import (
    HEAD_ROWS,
    Design,
    DesignSpec,
    constant_column,
    from_arrays,
    from_formula,
    make_design,
)
from duolm.design._columns import as_frame, is_real_dtype
from duolm.design._formula import ParsedFormula, evaluation_context, parse_formula

__all__ = [
    "HEAD_ROWS",
    "Design",
    "DesignSpec",
    "ParsedFormula",
    "as_frame",
    "constant_column",
    "evaluation_context",
    "from_arrays",
    "from_formula",
    "is_real_dtype",
    "make_design",
    "parse_formula",
]

"""The design: formulas, frames and arrays -> a float64 design matrix and its spec.

- :mod:`._formula`: the formula's safety check and its restricted namespace
  (data columns and numeric functions only);
- :mod:`._columns`: frames, mappings, Series and arrays -> float columns, with
  missing, infinite and text values found and named;
- :mod:`._build`: :class:`Design`, :class:`DesignSpec`, :func:`from_formula`,
  :func:`from_arrays`;
- :mod:`._weights`: the weights of a weighted fit, a column or an array,
  checked and aligned with the kept rows;
- :mod:`._serial`: a spec to and from JSON-ready values (saved fits).
"""

from __future__ import annotations

from duolm.design._build import (
    ARRAY_WEIGHTS,
    HEAD_ROWS,
    Carried,
    Design,
    DesignSpec,
    constant_column,
    from_arrays,
    from_formula,
    make_design,
)
from duolm.design._columns import as_frame, is_real_dtype
from duolm.design._formula import ParsedFormula, evaluation_context, parse_formula
from duolm.design._weights import new_weights, weighted_design, weights_array

__all__ = [
    "ARRAY_WEIGHTS",
    "HEAD_ROWS",
    "Carried",
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
    "new_weights",
    "parse_formula",
    "weighted_design",
    "weights_array",
]

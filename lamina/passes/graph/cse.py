"""`cse`: merge pure ops that compute the same thing (same op, operands, properties, result
types), constants included — DenseElementsAttr compares by content hash. xDSL's driver does the
work; it respects dominance and nested regions."""

from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination


class CSE(CommonSubexpressionElimination):
    """Merge pure ops computing the same value (constants by content)."""

    name = "cse"

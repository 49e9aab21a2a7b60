"""A Graphviz picture of a graph-dialect function: one node per op, edges along SSA uses."""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from lamina.ir.types import ShapedTypeMixin


def _label(t) -> str:
    return t.text() if isinstance(t, ShapedTypeMixin) else str(t)


def graph_to_dot(module: ModuleOp) -> str:
    lines = ["digraph lamina {", "  rankdir=TB;", '  node [shape=box, fontname="monospace"];']
    ids: dict = {}
    for fn in module.ops:
        if not isinstance(fn, func.FuncOp):
            continue
        for k, arg in enumerate(fn.body.block.args):
            ids[arg] = f"arg{k}"
            lines.append(f'  arg{k} [shape=ellipse, label="{arg.name_hint or f"arg{k}"}\\n{_label(arg.type)}"];')
        for n, op in enumerate(fn.body.block.ops):
            node = f"op{n}"
            label = op.name if op.name != "func.return" else "return"
            if op.results:
                label += "\\n" + ", ".join(_label(r.type) for r in op.results)
            lines.append(f'  {node} [label="{label}"];')
            for r in op.results:
                ids[r] = node
            for o in op.operands:
                if o in ids:
                    lines.append(f"  {ids[o]} -> {node};")
    lines.append("}")
    return "\n".join(lines)

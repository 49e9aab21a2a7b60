"""lamina: a deep-learning compiler built as a stack of dialects on xDSL.

    import lamina
    model = lamina.compile("model.onnx")      # or a graph-dialect module, or text IR
    outputs = model(x)                         # numpy arrays in, numpy arrays out
    model.export("model.so"); lamina.load("model.so")
"""

from lamina.ir.diagnostics import LaminaError

__version__ = "0.1.0"


def compile(model, target: str = "llvm", threads: int | None = None, opt_level: int = 3, **options):  # noqa: A001
    from lamina.compiler import compile as _compile

    return _compile(model, target=target, threads=threads, opt_level=opt_level, **options)


def load(path, threads: int | None = None):
    from lamina.runtime.loader import load as _load

    return _load(path, threads)


__all__ = ["LaminaError", "compile", "load", "__version__"]

"""`lamina-opt`: parse text IR, run a pass pipeline, print the result.

xDSL's opt main is not used as the driver: lamina parses with its own Lark grammar and prints
with its own printer, and its diagnostics must be located (`file:line:col`, source line,
caret) and must name the pass that broke the IR. What xDSL offers that fits is reused: the
pipeline syntax (`pass-a,pass-b{opt=1}`, `parse_pipeline`) and `ModulePass.from_pass_spec`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from lamina.ir.diagnostics import LaminaError, capture_warnings
from lamina.ir.verify import VerifiedOps, verify_op_tree
from lamina.tools.atomic_write import write_text_atomically
from lamina.tools.expected_diagnostics import check_diagnostics, parse_expectations

SPLIT_MARKER = "// -----"


def build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lamina-opt",
        description="Run lamina passes over text IR.",
    )
    p.add_argument("file", nargs="?", default="-", help="input file ('-' for stdin)")
    p.add_argument("-p", "--passes", default="", help="pipeline, e.g. 'canonicalize,cse,fold-constants{max-elements=64}'")
    p.add_argument("-o", "--output", default="-", help="output file ('-' for stdout)")
    p.add_argument("--split-input-file", action="store_true", help="treat '// -----' lines as separators of independent inputs")
    p.add_argument("--verify-diagnostics", action="store_true", help="check diagnostics against '// expected-error' annotations")
    p.add_argument("--print-ir-after-all", action="store_true", help="print the IR to stderr after every pass")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="NAME", help="print the IR to stderr after pass NAME")
    p.add_argument("--print-op-generic", action="store_true", help="print every op in MLIR's generic form")
    p.add_argument("--print-debuginfo", action="store_true", help="print op locations")
    p.add_argument("--timing", action="store_true", help="report time per pass on stderr")
    p.add_argument("--dump-dir", metavar="DIR", help="write the IR before and after each pass as numbered files in DIR")
    p.add_argument("--no-verify", action="store_true", help="do not verify the IR after each pass")
    p.add_argument("--list-passes", action="store_true", help="list the available passes and exit")
    p.add_argument("--list-ops", nargs="?", const="", metavar="DIALECT", help="list the ops (of one dialect) and exit")
    return p


@dataclass
class Options:
    pipeline: list[ModulePass]
    generic: bool
    debuginfo: bool
    verify: bool
    print_after_all: bool
    print_after: set[str]
    timing: bool
    dump_dir: str | None
    timings: list[tuple[str, float]] = field(default_factory=list)


def parse_pipeline_spec(spec: str) -> list[ModulePass]:
    from lamina.passes.registry import available_passes

    passes = available_passes()
    if not spec.strip():
        return []
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError as e:  # a BaseException in xDSL, not an Exception
        raise LaminaError(f"bad pass pipeline '{spec}': {e}") from None
    out: list[ModulePass] = []
    for s in specs:
        if s.name not in passes:
            raise LaminaError(f"unknown pass '{s.name}' (see lamina-opt --list-passes)")
        cls = passes[s.name]
        known = [f.name.replace("_", "-") for f in dataclasses.fields(cls)]
        for option in s.parameters:
            if option.replace("_", "-") not in known:
                raise LaminaError(f"pass '{s.name}' has no option '{option}' (options: {', '.join(known) or 'none'})")
        try:
            out.append(cls.from_pass_spec(s))
        except (Exception, ArgSpecParseError) as e:
            raise LaminaError(f"bad options for pass '{s.name}': {str(e).splitlines()[0]}") from None
    return out


def print_ir(module: ModuleOp, opts: Options) -> str:
    from lamina.ir.printer import print_module

    return print_module(module, generic=opts.generic, debuginfo=opts.debuginfo)


def run_pipeline(module: ModuleOp, opts: Options, chunk_index: int) -> None:
    from lamina.dialects.registry import make_context

    ctx = make_context()
    dump_step = 0
    verified = VerifiedOps()
    if opts.dump_dir:
        _dump(opts, chunk_index, dump_step, "input", module)
    for p in opts.pipeline:
        start = time.perf_counter()
        try:
            p.apply(ctx, module)
        except LaminaError:
            raise
        except Exception as e:  # a bug in the pass, not in the input
            if os.environ.get("LAMINA_DEBUG"):
                raise
            raise LaminaError(
                f"internal error in pass '{p.name}': {type(e).__name__}: {e} (set LAMINA_DEBUG=1 for a traceback)"
            ) from None
        opts.timings.append((p.name, time.perf_counter() - start))
        if opts.verify:
            verify_op_tree(module, f"after pass '{p.name}'", verified)
        dump_step += 1
        if opts.dump_dir:
            _dump(opts, chunk_index, dump_step, p.name, module)
        if opts.print_after_all or p.name in opts.print_after:
            sys.stderr.write(f"// -----// IR after {p.name} //----- //\n{print_ir(module, opts)}\n")


def _dump(opts: Options, chunk_index: int, step: int, name: str, module: ModuleOp) -> None:
    assert opts.dump_dir is not None
    os.makedirs(opts.dump_dir, exist_ok=True)
    chunk = f"{chunk_index:02d}-" if chunk_index else ""
    path = os.path.join(opts.dump_dir, f"{chunk}{step:02d}-{name}.mlir")
    write_text_atomically(path, print_ir(module, opts))


def process_chunk(text: str, filename: str, first_line: int, opts: Options, chunk_index: int) -> str:
    from lamina.parser import parse_module

    module = parse_module(text, filename, first_line)
    verify_op_tree(module)
    run_pipeline(module, opts, chunk_index)
    return print_ir(module, opts)


def split_chunks(text: str, split: bool) -> list[tuple[str, int]]:
    """(chunk text, line number of its first line)."""
    if not split:
        return [(text, 1)]
    chunks, current, start = [], [], 1
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip() == SPLIT_MARKER:
            chunks.append(("\n".join(current), start))
            current, start = [], number + 1
        else:
            current.append(line)
    chunks.append(("\n".join(current), start))
    return chunks


def list_ops(dialect: str) -> int:
    from lamina.dialects.registry import all_ops, dialect_op_names

    if dialect:
        names = dialect_op_names(dialect)
        if names is None:
            print(f"error: unknown dialect '{dialect}'", file=sys.stderr)
            return 1
    else:
        names = sorted(all_ops())
    print("\n".join(names))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    if args.list_passes:
        from lamina.passes.registry import available_passes

        for name, cls in sorted(available_passes().items()):
            summary = (cls.__doc__ or "").strip().split("\n")[0]
            print(f"{name:28} {summary}")
        return 0
    if args.list_ops is not None:
        return list_ops(args.list_ops)
    try:
        opts = Options(
            pipeline=parse_pipeline_spec(args.passes),
            generic=args.print_op_generic,
            debuginfo=args.print_debuginfo,
            verify=not args.no_verify,
            print_after_all=args.print_ir_after_all,
            print_after=set(args.print_ir_after),
            timing=args.timing,
            dump_dir=args.dump_dir,
        )
        filename, text = read_input(args.file)
    except LaminaError as e:
        print(e.render(), file=sys.stderr)
        return 1
    outputs: list[str] = []
    failed = False
    for index, (chunk, first_line) in enumerate(split_chunks(text, args.split_input_file)):
        with capture_warnings() as warnings:
            error: LaminaError | None = None
            try:
                outputs.append(process_chunk(chunk, filename, first_line, opts, index if args.split_input_file else 0))
            except LaminaError as e:
                error = e
            except Exception as e:  # a bug in lamina, reported without a traceback
                if os.environ.get("LAMINA_DEBUG"):
                    raise
                error = LaminaError(f"internal error: {type(e).__name__}: {e} (set LAMINA_DEBUG=1 for a traceback)")
        produced = [*warnings, *([error] if error else [])]
        if args.verify_diagnostics:
            problems = check_diagnostics(produced, parse_expectations(chunk, first_line), filename)
            for p in problems:
                print(p, file=sys.stderr)
            failed |= bool(problems)
        else:
            for d in produced:
                print(d.render(), file=sys.stderr)
            failed |= error is not None
    if opts.timing:
        report_timing(opts.timings)
    if failed:
        return 1
    result = "\n// -----\n".join(o.rstrip("\n") for o in outputs) + "\n"
    if args.output == "-":
        sys.stdout.write(result)
    else:
        write_text_atomically(args.output, result)
    return 0


def read_input(path: str) -> tuple[str, str]:
    if path == "-":
        return "<stdin>", sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return path, f.read()
    except OSError as e:
        raise LaminaError(f"cannot read '{path}': {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise LaminaError(f"'{path}' is not UTF-8 text: {e.reason} at byte {e.start}") from None


def report_timing(timings: list[tuple[str, float]]) -> None:
    total = sum(t for _, t in timings) or 1e-12
    lines = ["===- pass execution timing -===", f"{'time (ms)':>12} {'share':>7}  pass"]
    for name, t in timings:
        lines.append(f"{t * 1e3:12.3f} {100 * t / total:6.1f}%  {name}")
    lines.append(f"{total * 1e3:12.3f} {100.0:6.1f}%  total")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

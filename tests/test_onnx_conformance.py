"""ONNX's backend node tests through lamina, compared with the official
`Runner.assert_similar_outputs` at each case's tolerances.

Every case runs through the importer and the reference interpreter: it must pass, or be refused
by the importer as unsupported (listed in docs/onnx-support.md) — never give wrong numbers. A
deterministic sixth of the passing cases is also compiled for the llvm target; `-m slow` compiles
them all. Cases whose shape-deciding operands are graph inputs run with exactly the inputs the
importer names bound at compile time (see conformance.run_case).
"""

import pytest

from lamina.frontend.onnx.conformance import FAIL, PASS, node_cases, run_case

CASES = {c.name: c for c in node_cases()}
NAMES = sorted(CASES)
# The cases lamina imports and runs today; a drop below this is a regression.
MIN_PASSING = 1029


@pytest.mark.parametrize("name", NAMES)
def test_case_is_right_or_refused(name):
    outcome = run_case(CASES[name])
    assert outcome.status != FAIL, outcome.detail


def test_passing_case_count_does_not_regress():
    passing = sum(run_case(CASES[n]).status == PASS for n in NAMES)
    assert passing >= MIN_PASSING


def _compiled_subset(every: int) -> list[str]:
    chosen = []
    for i, name in enumerate(NAMES):
        if i % every == 0 and "float16" not in name and "fp16" not in name:
            chosen.append(name)
    return chosen


def _check_compiled(name):
    if run_case(CASES[name]).status != PASS:
        pytest.skip("not supported by the importer")
    outcome = run_case(CASES[name], compiled=True)
    if outcome.status == FAIL and "f16" in outcome.detail:
        pytest.skip(outcome.detail)
    assert outcome.status == PASS, outcome.detail


@pytest.mark.parametrize("name", _compiled_subset(6))
def test_case_compiled(name):
    _check_compiled(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if n not in set(_compiled_subset(6))])
def test_case_compiled_full(name):
    _check_compiled(name)

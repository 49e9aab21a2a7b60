"""`dce`: remove ops whose results are unused and that have no side effects, repeatedly (xDSL's
liveness-based region DCE). Stores, returns and calls stay."""

from xdsl.transforms.dead_code_elimination import DeadCodeElimination


class DCE(DeadCodeElimination):
    """Remove side-effect-free ops whose results are unused."""

    name = "dce"

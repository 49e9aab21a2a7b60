"""Graph and loop transformations as xDSL ModulePasses; `registry.available_passes()` names them."""

"""Hypothesis profiles. The default run is derandomized so CI is reproducible (a failure seen
there is seen locally with the same command); `HYPOTHESIS_PROFILE=fuzz` draws fresh random
programs for long exploratory runs (combine with LAMINA_DIFF_EXAMPLES=2000)."""

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("fuzz", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

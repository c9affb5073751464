"""Synthetic CRM export with known true parameters (``partner-forecast sample``).

:func:`generate_sample` writes every file of the data contract (DESIGN.md section 2) for a
synthetic partner program, plus ``truth.json`` holding the parameters it was drawn from, so
that the models can be checked to recover them. By default the generative process uses the
same forms as the models (and :mod:`partner_forecast.simulate.inputs`); named profiles
(:mod:`.profiles`) step outside that family to check calibration on other data shapes.

One module per phase, run in this order by :func:`generate_tables` (:mod:`.generate`):

- :mod:`.population`: partners (type, tier, region, onboarding/offboarding) and sellers
  (initial pools, hires, exponential tenures);
- :mod:`.activation`: active sellers per partner-quarter (logistic model with ramp and trend);
- :mod:`.pipeline`: opportunities per partner-quarter (negative binomial on active sellers) and
  their attributes (role, motion, route, covariates, lead data, Student-t log ARR);
- :mod:`.paths`: each deal's semi-Markov walk through the open stages to won or lost;
- :mod:`.activities`: the activity log (selling, learning, engagement, lead_converted,
  deal_closed);
- :mod:`.tables`: ids, missingness and the typed tables (and the optional field history);
  :mod:`.plans`: targets and company figures; :mod:`.messy`: the ``messy_labels`` rewrite;
- :mod:`.writing`: files and ``truth.json``.

Effects by label (``act_type``, ``act_tier``, ``prod_type``, ``size_type``, ``size_role``) sum
to zero; per-partner effects are drawn from their normal distributions (so do not sum to zero
exactly). The export date is ``start + quarters`` quarters and nothing is dated on or after
it: stage history entries after it are unknown, a deal open then sits in the stage it reached.
Activities exist only inside the window (sellers employed before ``start`` have no recorded
activity before it), and every deal is created inside it. Random numbers come from independent
streams spawned from one ``numpy.random.SeedSequence`` (one more per profile): the same seed
and profiles give byte-identical files.
"""

from partner_forecast.data.sample.generate import generate_tables
from partner_forecast.data.sample.params import conversion_logits
from partner_forecast.data.sample.profiles import PROFILES, parse_profiles, profile_help
from partner_forecast.data.sample.truth import Truth
from partner_forecast.data.sample.writing import PARQUET_OVER_MB, generate_sample

__all__ = ["PARQUET_OVER_MB", "PROFILES", "Truth", "conversion_logits", "generate_sample",
           "generate_tables", "parse_profiles", "profile_help"]

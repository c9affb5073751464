"""Deterministic partner-channel metrics (DOMAIN.md sections 2-7), one module per job.

=====================  ===================================================================
module                 what it computes
=====================  ===================================================================
``asr``                pool, active sellers and ASR per partner and quarter
``sellers``            active / enabled / engaged / effective sellers per seller-quarter
``production``         the seed-000 and seed-001 production models, and their history fit
``stage_forecast``     stage-weighted forecast with seed or learned conversion rates
``attribution``        attribution weights by role, pipeline categories, resell/marketplace
``pipeline``           open pipeline on a date, sourced ratio, influence rate, QoQ growth
``coverage``           pipeline coverage against targets (config ``[coverage]``)
``arr``                core partner ARR metrics of a quarter
``kpis``               the five seller KPIs and the eight partner adoption KPIs
``activation``         first deals, % activated partners, paper partnerships
``activation_score``   composite partner activation score, bands and trend
``scorecard``          quarterly seller scorecard: trend, top three, bottom three
``confidence``         deal confidence score and the committed-forecast rule
``periods``            which quarter a metric measures, and its cut
``segments``           ``--by``: one sub-export per segment
``cache``              opt-in per-run memo of shared intermediate tables
=====================  ===================================================================
"""

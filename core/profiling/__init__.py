"""Profiling: pure, vectorised analytics over pseudonymous behavioural data.

The pure modules take plain values (rows, tuples, records) and return plain values keyed by an
opaque pseudonymous id that the caller supplies; none of them reads customers, decrypts, checks
consent or writes audit events.  One module per job:

``rfm``          SQL aggregation (GROUP BY in the database), quintile scores, segment grid, chart
``clv_summary``  (customer, time, amount) rows -> frequency / recency / T / monetary summary
``bgnbd``        BG/NBD maximum likelihood, expected purchases, probability alive
``gamma_gamma``  Gamma-Gamma spend maximum likelihood and expected purchase value
``clv``          both models together and the discounted lifetime value
``churn``        P(alive) threshold and "overdue by k median gaps" rules
``cross_sell``   item co-occurrence (support, confidence, lift) and top-N recommendations
``anomalies``    audit-log access baselines and anomaly flags
``quality``      duplicate candidates, near-identical names, completeness, invalid values

Governed around them (these do read the store, through the gateway, and audit):

``governed``     authorization, the consent filter, audit event + storage of one run
``service``      ``ProfilingService``: rfm, clv, churn, cross_sell runs keyed by pseudonym
``quality_service``  ``DataQualityService``: duplicates, names compared without returning them
``access``       ``AccessAnalytics``: anomalies over the audit log (compliance)
``results``      stored runs and results; ``latest_segments``, ``latest_recommendations``
"""

__version__ = "1.1.0"
"""The version of the profiling code, recorded with every stored run (with hushdb's own version)."""

"""Profiling: pure, vectorised analytics over pseudonymous behavioural data.

Every function here takes plain values (rows, tuples, records) and returns plain values keyed by
an opaque pseudonymous id that the caller supplies; none of them reads customers, decrypts, checks
consent or writes audit events.  The gateway and the ``hushdb profile`` commands do that around
them.  One module per job:

``rfm``          SQL aggregation (GROUP BY in the database), quintile scores, segment grid, chart
``clv_summary``  (customer, time, amount) rows -> frequency / recency / T / monetary summary
``bgnbd``        BG/NBD maximum likelihood, expected purchases, probability alive
``gamma_gamma``  Gamma-Gamma spend maximum likelihood and expected purchase value
``clv``          both models together and the discounted lifetime value
``churn``        P(alive) threshold and "overdue by k median gaps" rules
``cross_sell``   item co-occurrence (support, confidence, lift) and top-N recommendations
``anomalies``    audit-log access baselines and anomaly flags
``quality``      duplicate candidates, near-identical names, completeness, invalid values
"""

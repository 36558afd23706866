"""How right Miles has been: the benchmark's label, its metrics, and the live record of every score.

No torch and no onnxruntime, so the training code, the stream scorer and the predict API compute
every number one way: ``metrics`` (AUROC, ECE and its reliability bins, Spearman, ...), ``outcomes``
(the benchmark's next-day label), ``tracking`` (scores kept and settled against their outcome) and
``live_report`` (the per model version, regime and cohort answer of ``GET /model/accuracy``).
"""

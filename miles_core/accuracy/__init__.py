"""How right Miles has been: the benchmark's label, its metrics, and the live record of every score.

numpy only (no torch, no onnxruntime), so the training code, the stream scorer and the predict API
compute every number one way: ``metrics`` (AUROC, ECE, Spearman, ...), ``outcomes`` (the
benchmark's next-day label), ``tracking`` (scores kept and settled against their outcome) and
``report`` (the per model version and cohort answer of ``GET /model/accuracy``).
"""

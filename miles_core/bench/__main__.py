"""``python -m miles_core.bench`` (what ``make bench`` runs)."""

from miles_core.bench.runner import main

raise SystemExit(main())

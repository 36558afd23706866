"""``python -m infra.bench`` (what ``make bench`` runs)."""

from infra.bench.runner import main

raise SystemExit(main())

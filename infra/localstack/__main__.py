"""``python -m infra.localstack`` (``make run``): see :mod:`infra.localstack.cli`."""

from infra.localstack.cli import main

raise SystemExit(main())

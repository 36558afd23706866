"""``python -m miles_core.cli``: the ``miles`` command without the installed entry point (the image build uses it)."""

from miles_core.cli import main

raise SystemExit(main())

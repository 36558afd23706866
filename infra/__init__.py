"""Dev tooling that hosts the Lambda functions: the local stack (``make run``) and the benchmark.

Lives beside ``miles_core``, not inside it: ``miles_core`` never imports ``infra`` or ``functions``
(a test greps for it), and no image copies ``infra``. Run from the repository root, e.g.
``python -m infra.localstack`` or ``python -m infra.bench``; handlers are found the way Lambda finds
them, from the template's handler strings (see :mod:`infra.localstack.handlers`).
"""

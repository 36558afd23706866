from infra.openapi.document import main

raise SystemExit(main())

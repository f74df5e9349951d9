"""`python -m router`: the same CLI as the `router` console script."""

from router.cli.app import main

raise SystemExit(main())

from riskengine.cli import main

raise SystemExit(main())

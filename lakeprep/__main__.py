from lakeprep.cli import main

raise SystemExit(main())

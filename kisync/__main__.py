from kisync.cli import main

raise SystemExit(main())

from iro_synthetic.cli import main

raise SystemExit(main())

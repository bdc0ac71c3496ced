from gradlab.cli.app import main
raise SystemExit(main())

from moderator_app.cli import main

raise SystemExit(main())

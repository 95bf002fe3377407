"""Subcommands of the `moderator-app` command line; each has add_arguments(parser) and run(args)."""

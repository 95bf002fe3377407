"""Data files that ship inside the package as `moderator_app.assets` (see pyproject.toml):
icons/, the freedesktop desktop entry and the AppStream metainfo. Read them through
moderator_app.resources, never through paths relative to the working directory."""

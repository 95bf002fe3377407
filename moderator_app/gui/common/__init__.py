"""Widgets, dialogs, settings and background tasks shared by the tabs."""

"""Qt-free core: configuration, data loading, training, inference and storage.

Nothing in this package imports Qt; the GUI and the CLI both drive it.
"""

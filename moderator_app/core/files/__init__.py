"""Data files: formats, readers and writers shared by training, labelling and the Review import."""

"""Text transformations shared by training, inference and evaluation: normalisation that cannot change
meaning, and the obfuscations abusers use to evade filters."""

"""GUI tests: real widgets under pytest-qt, offscreen."""

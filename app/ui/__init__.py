"""PySide6: the station window, its screens and widgets, and the wedge scanner filter."""

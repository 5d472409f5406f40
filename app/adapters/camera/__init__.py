"""Cameras as barcode readers: decoder backends behind one interface, a cascade of them, and a
capture loop that turns frames into Scans (DESIGN.md section 4).

Nothing here is imported by the package itself, so that `import app.adapters.camera` stays cheap
(OpenCV, zxing-cpp and zbar load only with `decoders`, `cascade`, `stills` and `capture`).
"""

from __future__ import annotations

BACKENDS = ("auto", "zxing", "zbar", "opencv")
"""What `perpetua decode --backend` offers: the cascade (auto) or one backend alone."""

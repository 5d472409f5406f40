"""End-to-end tests: the program under a real X server and real input."""

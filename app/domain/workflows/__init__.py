"""The station modes' state machines (DESIGN.md section 5), one module each.

`registry.WORKFLOWS` maps each mode to its machine.
"""

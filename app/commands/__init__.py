"""Command groups of the `perpetua` command, one module each, registered in app/cli.py."""

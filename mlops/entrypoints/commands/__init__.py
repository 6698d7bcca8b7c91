"""Sub-commands of `python -m mlops`: one module each, with `register(subparsers)`."""

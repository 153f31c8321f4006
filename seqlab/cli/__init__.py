"""The ``seqlab`` command line: one small module per subcommand.

Each module in this package that defines ``register(subparsers)`` adds a subcommand; the
module imports its heavy dependencies inside the handler so ``seqlab --help`` stays fast.
"""

"""The benchmark's one error."""


class BenchError(Exception):
    """The benchmark cannot run as asked (a bad option, an unreachable database, a role
    process that does not start)."""

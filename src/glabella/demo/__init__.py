"""A synthetic clinic for demonstrations, tests and benchmarks (``glabella demo generate``).

Every patient, name, number and date made here is invented. See ``docs/demo-data.md`` for
the parameters and why each has the value it has. This package is pure; the use case that
writes a generated clinic into the database is ``glabella.services.demo_load``.
"""

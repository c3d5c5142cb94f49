"""Clinic outcomes against the trials: pure computations and SVG charts (the use case that
reads the database is ``glabella.services.analytics``)."""

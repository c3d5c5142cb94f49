"""Clinic outcomes against the trials: pure computations, the service, SVG charts."""

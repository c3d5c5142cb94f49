"""De-identified research export (Safe-Harbor-style): see ``glabella.research.deid``."""

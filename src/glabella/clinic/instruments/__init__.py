"""glabella.clinic.instruments."""

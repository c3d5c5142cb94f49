"""glabella.clinic."""

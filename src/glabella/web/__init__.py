"""glabella.web."""

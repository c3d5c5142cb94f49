"""glabella.services."""

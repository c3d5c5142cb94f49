"""glabella.store."""

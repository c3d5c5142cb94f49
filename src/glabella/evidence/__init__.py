"""glabella.evidence."""

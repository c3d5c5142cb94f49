"""glabella.reports."""

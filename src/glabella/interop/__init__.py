"""glabella.interop."""

"""Glabella: botulinum toxin A for depression — from evidence to bedside and back."""

__version__ = "0.1.0"

"""Recipes that work on any Target: the same register sequences on simulated and real boards."""

"""Entities, value objects and the rules of CONTRACT §1."""

"""Tier ladders at work: monthly evaluation, progress against the next tier, manual overrides."""

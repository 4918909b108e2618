"""Merchants (shops, 店家) of an organization: their accounts, and their sales."""

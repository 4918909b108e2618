"""Organizations (tenants) and the merchants (shops) inside them."""

"""A shopper's opt-out under PIPL: erase what links them to members and stop tracking them."""

"""Shipped data: payer packs, reference code lists."""

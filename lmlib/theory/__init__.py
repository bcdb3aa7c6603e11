"""Closed-form predictions, one module per topic, next to the experiments that test them."""

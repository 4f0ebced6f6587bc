"""The request form with as-you-type suggestions, and deflection events."""

"""orderhub package."""

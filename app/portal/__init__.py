"""Customer pages that compose several domains: the dashboard, usage, readings with their projection, my data."""

"""The back office pages: they call the domain services."""

"""Place tree pages."""

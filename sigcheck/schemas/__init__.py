"""JSON Schemas of sigcheck's public JSON contracts (sigcheck-diff/1), shipped as package data."""

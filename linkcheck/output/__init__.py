"""Output: the text report, JSON, SARIF."""

"""The import pipeline's pure parts: reading cells, matching columns, phones, validating rows."""

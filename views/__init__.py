"""What a person sees: texts, callback data, keyboards, formatting, one module per feature."""

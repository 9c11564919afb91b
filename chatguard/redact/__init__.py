"""The redaction engine: find personal data, replace it with placeholders, restore it."""

"""Thin typed wrappers over Zoho's endpoint families. They know paths, parameters and shapes;
they do not know about Arrow, SQL or sync state."""

"""Optional bridges to other tools; each imports its tool only when used."""

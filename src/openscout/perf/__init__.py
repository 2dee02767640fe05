"""Speed, memory and cost measurement (definitions in DESIGN.md)."""

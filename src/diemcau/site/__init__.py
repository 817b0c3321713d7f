"""The site: the pages a person meets, composed from the domain apps (docs/ARCHITECTURE.md, "Layout")."""

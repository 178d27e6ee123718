"""Memory devices: internal flash arrays, external NOR chips and how they attach."""

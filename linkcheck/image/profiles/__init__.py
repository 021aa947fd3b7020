"""Built-in image profiles: one JSON data file per image family, read by ``linkcheck.image.target``."""

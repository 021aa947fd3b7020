"""Built-in runtime image profiles (data files; see linkcheck.image.runtimes)."""

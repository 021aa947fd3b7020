"""Reading facts from files: the ELF reader, scripts, Java, wheels, and the linkage they show."""

"""Describing a target image: built-in profiles, root filesystem directories, image archives."""

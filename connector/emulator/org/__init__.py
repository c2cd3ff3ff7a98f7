"""The emulated org's module families, one file each; :mod:`..schema` gathers them."""

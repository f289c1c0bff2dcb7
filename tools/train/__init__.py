"""Training of the bundled Vim-Ti on Imagenette (see README.md in this folder)."""

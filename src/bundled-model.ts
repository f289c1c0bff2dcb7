// The model that ships with the package (weights/README.md: a Vim-Ti trained on
// Imagenette, 128 px, int8, 8.6 MB), as a URL relative to this module. This file
// sits one level below the package root both as source (src/) and once bundled
// (dist/), so the one relative path serves the repository, Node and the npm
// package; an app's bundler that meets `new URL('…', import.meta.url)` copies
// the file into the app like any asset.
export const BUNDLED_MODEL_URL = new URL('../weights/vim-ti-imagenette.int8.safetensors', import.meta.url);

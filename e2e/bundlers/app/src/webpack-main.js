// webpack 5 bundles the package's worker and copies the bundled model by itself: no options.
import { start } from './app.js';

start({});
